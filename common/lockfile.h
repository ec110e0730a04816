/* The pid lock file that keeps a second instance from starting. */
#ifndef QN_LOCKFILE_H
#define QN_LOCKFILE_H

/*
 * Create the parent directory (0770) if needed, open the file (0640), take
 * an exclusive lock held for the life of the process and write our pid.
 * Returns the descriptor, -1 with errno set (EAGAIN: another instance).
 */
int	lockfile_take(const char *path);

#endif
