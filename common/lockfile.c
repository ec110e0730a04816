#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lockfile.h"

int
lockfile_take(const char *path)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	char *dir, pid[32];
	int fd, n, saved;

	if ((dir = strdup(path)) == NULL)
		return -1;
	if (mkdir(dirname(dir), 0770) != 0 && errno != EEXIST) {
		saved = errno;
		free(dir);
		errno = saved;
		return -1;
	}
	free(dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0640)) == -1)
		return -1;
	if (fcntl(fd, F_SETLK, &fl) == -1) {
		saved = (errno == EACCES) ? EAGAIN : errno;
		close(fd);
		errno = saved;
		return -1;
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || write(fd, pid, (size_t)n) != n) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int
lockfile_release(int fd, const char *path)
{
	struct stat ours, now;
	int rc = 0;

	if (fd < 0)
		return 0;
	/* Remove the file only while it is still the one we locked. */
	if (fstat(fd, &ours) == 0 && stat(path, &now) == 0 &&
	    ours.st_dev == now.st_dev && ours.st_ino == now.st_ino)
		rc = unlink(path);
	close(fd);
	return rc;
}
