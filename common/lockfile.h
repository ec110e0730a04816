/* The pid lock file that keeps a second instance from starting. */
#ifndef QN_LOCKFILE_H
#define QN_LOCKFILE_H

/*
 * Create the parent directory (0770) if needed, open the file (0640), take
 * an exclusive lock held for the life of the process and write our pid.
 * Returns the descriptor, -1 with errno set (EAGAIN: another instance).
 */
int	lockfile_take(const char *path);

/*
 * Remove the file if it is still the one fd locked (not one another
 * instance made after it was deleted), then close fd and with it the
 * lock.  -1 with errno if the unlink failed.
 */
int	lockfile_release(int fd, const char *path);

#endif
