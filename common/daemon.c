#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "daemon.h"

int
daemonize(void)
{
	pid_t pid = fork();
	int fd;

	if (pid == -1)
		return -1;
	if (pid > 0)
		_exit(EXIT_SUCCESS);
	if (setsid() == -1)
		return -1;
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	return chdir("/");
}
