/*
 * The local socket and its tools as a user sees them: what
 * corosync-qnetd-tool and corosync-qdevice-tool print and how they exit
 * when other local clients hold the socket idle, when the daemon closes
 * on them, and when the command line can't be sent (a newline in -c, a
 * command over ipc_max_receive_size).
 *
 * Every test starts its own corosync-qnetd (-f, -s off, 127.0.0.1, a free
 * port, lock file and socket in a scratch directory) with
 * PR_SET_PDEATHSIG(SIGKILL); a normal stop asserts that it exits 0 on
 * SIGTERM.
 *
 * Environment: QNETD_BIN, QNETD_TOOL_BIN, QDEVICE_TOOL_BIN (default: the
 * binaries of this build tree, found relative to this binary);
 * QNETD_TEST_KEEP=1 keeps the scratch directory.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TEST_TIMEOUT	60	/* seconds, per test */
#define IDLE_CLIENTS	12	/* more than the default ipc_max_clients 10 */
#define QNETD_TARGET	"qnetd socket (is QNetd running?)"
#define QDEVICE_TARGET	"QDevice socket (is QDevice running?)"

static char qnetd_bin[PATH_MAX], qnetd_tool[PATH_MAX], qdevice_tool[PATH_MAX];
static char base_dir[256];

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ------------------------------------------------------------------ */
/* The daemon */

struct srv {
	pid_t pid;
	char dir[PATH_MAX];
	char sock[PATH_MAX + 32];
	char log[PATH_MAX + 32];
};

static int
free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port;

	ck_assert_int_ge(fd, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static void
scratch_dir(char *dir, size_t len)
{
	snprintf(dir, len, "%s/XXXXXX", base_dir);
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

/* A connection to the local socket; -1 when there is none. */
static int
ipc_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_uint_lt(strlen(path), sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Does the daemon answer a status command?  Reading its answer to the end
 * also means that it has let this connection go: idle clients that come
 * next find all ipc_max_clients slots free.
 */
static int
srv_answers(const struct srv *s)
{
	char buf[4096];
	size_t got = 0;
	ssize_t n;
	int fd = ipc_connect(s->sock);

	if (fd < 0)
		return 0;
	if (send(fd, "status\n", 7, MSG_NOSIGNAL) != 7) {
		close(fd);
		return 0;
	}
	while ((n = read(fd, buf + got, sizeof(buf) - got)) > 0 &&
	    (got += (size_t)n) < sizeof(buf))
		;
	close(fd);
	return got >= 3 && memcmp(buf, "OK\n", 3) == 0;
}

/* Start qnetd with extra -S settings (or NULL) and wait for its socket. */
static void
srv_start(struct srv *s, const char *extra)
{
	char port[16], settings[3 * PATH_MAX];
	int64_t deadline = now_ms() + 10000;
	int status;

	memset(s, 0, sizeof(*s));
	scratch_dir(s->dir, sizeof(s->dir));
	snprintf(s->sock, sizeof(s->sock), "%s/qnetd.sock", s->dir);
	snprintf(s->log, sizeof(s->log), "%s/qnetd.log", s->dir);
	snprintf(port, sizeof(port), "%d", free_port());
	snprintf(settings, sizeof(settings),
	    "lock_file=%s/qnetd.pid,local_socket_file=%s%s%s", s->dir,
	    s->sock, extra != NULL ? "," : "", extra != NULL ? extra : "");
	s->pid = fork();
	ck_assert_int_ge(s->pid, 0);
	if (s->pid == 0) {
		int out = open(s->log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(out, 1);
		dup2(out, 2);
		execl(qnetd_bin, qnetd_bin, "-f", "-d", "-s", "off", "-l",
		    "127.0.0.1", "-p", port, "-S", settings, (char *)NULL);
		_exit(127);
	}
	while (now_ms() < deadline) {
		ck_assert_msg(waitpid(s->pid, &status, WNOHANG) == 0,
		    "qnetd exited at start (log: %s)", s->log);
		if (srv_answers(s))
			return;
		sleep_ms(5);
	}
	ck_abort_msg("qnetd does not serve its local socket");
}

static void
srv_stop(struct srv *s)
{
	int status;

	ck_assert_msg(waitpid(s->pid, &status, WNOHANG) == 0, "qnetd died");
	kill(s->pid, SIGTERM);
	ck_assert_int_eq(waitpid(s->pid, &status, 0), s->pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "qnetd exit status %d (log: %s)", status, s->log);
}

/* ------------------------------------------------------------------ */
/* Running a tool */

struct run {
	int status;		/* as waitpid() reports it */
	char out[4096];
	char err[4096];
};

static void
slurp(const char *path, char *dst, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f != NULL) {
		n = fread(dst, 1, len - 1, f);
		fclose(f);
	}
	dst[n] = '\0';
}

/* Run argv (NULL-terminated) to its end; stdout and stderr into r. */
static void
run(struct run *r, const char *const *argv)
{
	char dir[PATH_MAX], out[PATH_MAX + 8], err[PATH_MAX + 8];
	pid_t pid;

	scratch_dir(dir, sizeof(dir));
	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(err, sizeof(err), "%s/err", dir);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* What a shell gives it: SIGPIPE at its default action. */
		signal(SIGPIPE, SIG_DFL);
		dup2(open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644), 1);
		dup2(open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644), 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &r->status, 0), pid);
	slurp(out, r->out, sizeof(r->out));
	slurp(err, r->err, sizeof(r->err));
}

#define RUN(r, ...)	run((r), (const char *const[]){ __VA_ARGS__, NULL })

/* It ended by itself with this exit code, not by a signal. */
#define ASSERT_EXIT(r, code) do {					\
	ck_assert_msg(!WIFSIGNALED((r)->status),			\
	    "tool killed by signal %d (stderr: \"%s\")",		\
	    WTERMSIG((r)->status), (r)->err);				\
	ck_assert_msg(WIFEXITED((r)->status) &&				\
	    WEXITSTATUS((r)->status) == (code),				\
	    "tool exit %d, want %d (stderr: \"%s\")",			\
	    WEXITSTATUS((r)->status), (code), (r)->err);		\
} while (0)

static void
assert_status_output(const struct run *r)
{
	ASSERT_EXIT(r, 0);
	ck_assert_msg(strncmp(r->out, "QNetd address:\t\t\t127.0.0.1:", 27) == 0,
	    "status output: \"%s\"", r->out);
	ck_assert_ptr_nonnull(strstr(r->out, "\nConnected clients:\t\t0\n"));
	ck_assert_str_eq(r->err, "");
}

/* A cluster name the daemon takes for a command over 4096 bytes. */
static char *
long_name(size_t len)
{
	char *s = malloc(len + 1);

	ck_assert_ptr_nonnull(s);
	memset(s, 'a', len);
	s[len] = '\0';
	return s;
}

/* ------------------------------------------------------------------ */
/* Idle clients */

/*
 * Twelve local clients that connect and send nothing (more than the
 * default ipc_max_clients of 10) do not lock the tool out: it answers,
 * after they time out (ipc_idle_timeout, 5 s by default), and they are
 * disconnected.
 */
START_TEST(t_idle_clients)
{
	int idle[IDLE_CLIENTS];
	struct srv s;
	struct run r;
	char c;

	srv_start(&s, NULL);
	for (int i = 0; i < IDLE_CLIENTS; i++)
		ck_assert_int_ge(idle[i] = ipc_connect(s.sock), 0);
	/* Like the report: they were there well before the tool. */
	sleep_ms(500);
	RUN(&r, qnetd_tool, "-s", "-p", s.sock);
	assert_status_output(&r);
	/* The tool is not the only one that gets in: a second run too. */
	RUN(&r, qnetd_tool, "-s", "-p", s.sock);
	assert_status_output(&r);
	for (int i = 0; i < IDLE_CLIENTS; i++) {
		struct pollfd p = { .fd = idle[i], .events = POLLIN };

		ck_assert_msg(poll(&p, 1, 30000) == 1 &&
		    read(idle[i], &c, 1) <= 0,
		    "idle client %d not disconnected", i);
		close(idle[i]);
	}
	srv_stop(&s);
}
END_TEST

/* With room for them all (ipc_max_clients), idle clients don't matter. */
START_TEST(t_idle_clients_room)
{
	int idle[IDLE_CLIENTS];
	struct srv s;
	struct run r;

	srv_start(&s, "ipc_max_clients=20,ipc_idle_timeout=0");
	for (int i = 0; i < IDLE_CLIENTS; i++)
		ck_assert_int_ge(idle[i] = ipc_connect(s.sock), 0);
	RUN(&r, qnetd_tool, "-s", "-p", s.sock);
	assert_status_output(&r);
	for (int i = 0; i < IDLE_CLIENTS; i++)
		close(idle[i]);
	srv_stop(&s);
}
END_TEST

/*
 * Stopped while idle clients hold every slot and more wait: it exits 0
 * (under the sanitizers: nothing leaked).
 */
START_TEST(t_stop_with_idle_clients)
{
	int idle[IDLE_CLIENTS];
	struct srv s;

	srv_start(&s, NULL);
	for (int i = 0; i < IDLE_CLIENTS; i++)
		ck_assert_int_ge(idle[i] = ipc_connect(s.sock), 0);
	sleep_ms(200);
	srv_stop(&s);
	for (int i = 0; i < IDLE_CLIENTS; i++)
		close(idle[i]);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Commands that can't be sent as they are */

/*
 * A newline in -c would send two lines; the tool refuses the name, and
 * the daemon keeps answering.
 */
START_TEST(t_newline_in_cluster_name)
{
	struct srv s;
	struct run r;

	srv_start(&s, NULL);
	RUN(&r, qnetd_tool, "-l", "-c", "a\nb", "-p", s.sock);
	ASSERT_EXIT(&r, 1);
	ck_assert_str_eq(r.err, "corosync-qnetd-tool: Cluster name must not "
	    "contain a newline\n");
	ck_assert_str_eq(r.out, "");
	RUN(&r, qnetd_tool, "-s", "-p", s.sock);
	assert_status_output(&r);
	srv_stop(&s);
}
END_TEST

/*
 * A command over ipc_max_receive_size: the daemon answers "Command too
 * long" and closes before it has read all of it; the tool prints that
 * answer instead of dying of SIGPIPE or reporting the reset.
 */
START_TEST(t_command_too_long)
{
	char *name = long_name(100000);
	struct srv s;
	struct run r;

	srv_start(&s, NULL);
	for (int i = 0; i < 5; i++) {
		RUN(&r, qnetd_tool, "-l", "-c", name, "-p", s.sock);
		ASSERT_EXIT(&r, 4);
		ck_assert_str_eq(r.err, "Error: Command too long\n");
	}
	free(name);
	srv_stop(&s);
}
END_TEST

/* ------------------------------------------------------------------ */
/* A daemon that closes without answering */

/* Accepts and closes at once, unread, like a daemon at a limit. */
static pid_t
rude_server(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	pid_t pid;

	ck_assert_int_ge(fd, 0);
	ck_assert_uint_lt(strlen(path), sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path) + 1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;) {
			int c = accept(fd, NULL, NULL);

			if (c >= 0)
				close(c);
		}
	}
	close(fd);
	return pid;
}

/* Exit 3 and one line that says the exchange broke off, not a signal. */
static void
assert_broken_off(const struct run *r, const char *prog, const char *target)
{
	char lost[256], none[256];

	snprintf(lost, sizeof(lost), "%s: Connection to %s lost: ", prog,
	    target);
	snprintf(none, sizeof(none), "%s: No answer from %s: it closed the "
	    "connection\n", prog, target);
	ASSERT_EXIT(r, 3);
	ck_assert_msg(strncmp(r->err, lost, strlen(lost)) == 0 ||
	    strcmp(r->err, none) == 0, "stderr: \"%s\"", r->err);
	ck_assert_str_eq(r->out, "");
}

START_TEST(t_daemon_closes)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	char *name = long_name(100000);
	struct run r;
	pid_t pid;
	int status;

	scratch_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/rude.sock", dir);
	pid = rude_server(path);
	for (int i = 0; i < 5; i++) {
		RUN(&r, qnetd_tool, "-s", "-p", path);
		assert_broken_off(&r, "corosync-qnetd-tool", QNETD_TARGET);
		/* Too long to be sent before the close: a send error. */
		RUN(&r, qnetd_tool, "-l", "-c", name, "-p", path);
		assert_broken_off(&r, "corosync-qnetd-tool", QNETD_TARGET);
		RUN(&r, qdevice_tool, "-s", "-p", path);
		assert_broken_off(&r, "corosync-qdevice-tool", QDEVICE_TARGET);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	free(name);
}
END_TEST

/* No daemon: 3.0.3's message and exit code. */
START_TEST(t_no_daemon)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	struct run r;

	scratch_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/none.sock", dir);
	RUN(&r, qnetd_tool, "-s", "-p", path);
	ASSERT_EXIT(&r, 3);
	ck_assert_str_eq(r.err, "corosync-qnetd-tool: Can't connect to "
	    QNETD_TARGET ": No such file or directory\n");
	RUN(&r, qdevice_tool, "-s", "-p", path);
	ASSERT_EXIT(&r, 3);
	ck_assert_str_eq(r.err, "corosync-qdevice-tool: Can't connect to "
	    QDEVICE_TARGET ": No such file or directory\n");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Set-up */

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* env, or rel (relative to this binary's directory) */
static void
find_bin(char *dst, const char *argv0, const char *env, const char *rel)
{
	const char *e = getenv(env);
	char *slash;

	if (e != NULL) {
		snprintf(dst, PATH_MAX, "%s", e);
		return;
	}
	if (realpath(argv0, dst) == NULL)
		snprintf(dst, PATH_MAX, "%s", argv0);
	if ((slash = strrchr(dst, '/')) != NULL)
		*slash = '\0';
	strncat(dst, rel, PATH_MAX - strlen(dst) - 1);
}

static Suite *
ipc_suite(void)
{
	Suite *s = suite_create("local socket and tools");
	TCase *t;

	t = tcase_create("idle clients");
	tcase_set_timeout(t, TEST_TIMEOUT);
	tcase_add_test(t, t_idle_clients);
	tcase_add_test(t, t_idle_clients_room);
	tcase_add_test(t, t_stop_with_idle_clients);
	suite_add_tcase(s, t);

	t = tcase_create("tool errors");
	tcase_set_timeout(t, TEST_TIMEOUT);
	tcase_add_test(t, t_newline_in_cluster_name);
	tcase_add_test(t, t_command_too_long);
	tcase_add_test(t, t_daemon_closes);
	tcase_add_test(t, t_no_daemon);
	suite_add_tcase(s, t);
	return s;
}

int
main(int argc, char **argv)
{
	SRunner *sr;
	int failed;

	(void)argc;
	find_bin(qnetd_bin, argv[0], "QNETD_BIN", "/../../qnetd/corosync-qnetd");
	find_bin(qnetd_tool, argv[0], "QNETD_TOOL_BIN",
	    "/../../qnetd/corosync-qnetd-tool");
	find_bin(qdevice_tool, argv[0], "QDEVICE_TOOL_BIN",
	    "/../../qdevice/corosync-qdevice-tool");
	snprintf(base_dir, sizeof(base_dir), "/tmp/qnetd-ipc.XXXXXX");
	if (mkdtemp(base_dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	sr = srunner_create(ipc_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (failed != 0 || getenv("QNETD_TEST_KEEP") != NULL)
		printf("scratch directory kept: %s\n", base_dir);
	else
		nftw(base_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return failed == 0 ? 0 : 1;
}
