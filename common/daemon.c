#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "lockfile.h"
#include "log.h"
#include "settings.h"

void
daemon_die(const char *prog, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_FAILURE);
}

void
daemon_setting(const char *prog, const struct setting *table, void *dst,
    const char *arg)
{
	char err[256], warn[256];

	if (settings_parse(table, dst, arg, err, sizeof(err), warn,
	    sizeof(warn)) != 0)
		daemon_die(prog, "%s", err);
	if (warn[0])
		fprintf(stderr, "%s: %s\n", prog, warn);
}

void
daemon_log_open(const char *prog, int foreground, int debug)
{
	struct log_opts lo = { .foreground = foreground, .debug = debug > 0,
	    .priority_bump = debug > 1 };

	log_open(prog, &lo);
}

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

int
daemon_lock(const char *path)
{
	int fd = lockfile_take(path);

	if (fd != -1)
		return fd;
	if (errno == EAGAIN)
		log_err("Another instance is running");
	else
		log_err("Can't acquire lock file %s: %s", path,
		    strerror(errno));
	return -1;
}

void
daemon_ipc_settings(const char *prog, struct ipc_settings *set)
{
	const char *u = set->umask_text, *g = set->gid_text;
	long long v;
	struct group *gr;

	set->umask = -1;
	set->gid = -1;
	if (u != NULL && u[0] != '\0') {
		char *end;

		errno = 0;
		v = strtoll(u, &end, 8);
		if (errno != 0 || *end != '\0' || v < 0 || v > 0777)
			daemon_die(prog, "local_socket_umask %s is not an octal "
			    "umask (0-0777)", u);
		set->umask = (int)v;
	}
	if (g == NULL || g[0] == '\0' || strcmp(g, "-1") == 0)
		return;
	if (parse_ll(g, 0, INT_MAX, &v) == 0)
		set->gid = v;
	else if ((gr = getgrnam(g)) != NULL)
		set->gid = (long long)gr->gr_gid;
	else
		daemon_die(prog, "local_socket_gid %s is neither a group nor a "
		    "group id", g);
}

int
daemon_ipc_start(struct ipc_server *s, uv_loop_t *loop, const char *path,
    const struct ipc_settings *set)
{
	mode_t old = 0;
	int rc;

	s->max_clients = (size_t)set->max_clients;
	s->max_receive = (size_t)set->max_receive_size;
	s->max_send = (size_t)set->max_send_size;
	s->idle_timeout = (uint64_t)set->idle_timeout;
	/* bind() creates the socket file with the process umask. */
	if (set->umask >= 0)
		old = umask((mode_t)set->umask);
	rc = ipc_server_start(s, loop, path, (int)set->backlog);
	if (set->umask >= 0)
		umask(old);
	if (rc != 0) {
		log_crit("Can't create local socket %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (set->gid >= 0 && chown(path, (uid_t)-1, (gid_t)set->gid) != 0) {
		log_crit("Can't change the group of local socket %s to %lld: "
		    "%s", path, set->gid, strerror(errno));
		ipc_server_stop(s);
		return -1;
	}
	return 0;
}

void
daemon_signals_start(struct daemon_signals *s, uv_loop_t *loop,
    uv_signal_cb cb, void *data)
{
	uv_signal_init(loop, &s->sigint);
	uv_signal_init(loop, &s->sigterm);
	s->sigint.data = s->sigterm.data = data;
	uv_signal_start(&s->sigint, cb, SIGINT);
	uv_signal_start(&s->sigterm, cb, SIGTERM);
	s->stop_started = 1;
}

void
daemon_ignore_sighup(void)
{
	signal(SIGHUP, SIG_IGN);
}

void
daemon_sighup_start(struct daemon_signals *s, uv_loop_t *loop,
    uv_signal_cb cb, void *data)
{
	uv_signal_init(loop, &s->sighup);
	s->sighup.data = data;
	uv_signal_start(&s->sighup, cb, SIGHUP);
	/* A handle that waits for a signal must not keep the loop alive. */
	uv_unref((uv_handle_t *)&s->sighup);
	s->hup_started = 1;
}

void
daemon_signals_close(struct daemon_signals *s)
{
	if (s->stop_started) {
		uv_close((uv_handle_t *)&s->sigint, NULL);
		uv_close((uv_handle_t *)&s->sigterm, NULL);
		s->stop_started = 0;
	}
	if (s->hup_started) {
		uv_close((uv_handle_t *)&s->sighup, NULL);
		s->hup_started = 0;
	}
}

void
daemon_print_compat(void)
{
	printf("Compatible with upstream corosync-qdevice %s\n",
	    DAEMON_COMPAT_RELEASE);
}

static void
close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

void
daemon_loop_drain(uv_loop_t *loop)
{
	uv_walk(loop, close_walk, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
}
