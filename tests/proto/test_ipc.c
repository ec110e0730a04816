/*
 * The local socket and its tools as a user sees them: what
 * corosync-qnetd-tool and corosync-qdevice-tool print and how they exit
 * when other local clients hold the socket idle, when the daemon closes
 * on them, and when the command line can't be sent (a newline in -c, a
 * command over ipc_max_receive_size).
 *
 * Every test starts its own corosync-qnetd (harness.h; -f, -s off,
 * 127.0.0.1, a free port, lock file and socket in a scratch directory),
 * killed with a failed test; a normal stop asserts that it exits 0 on
 * SIGTERM.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define IDLE_CLIENTS	12	/* more than the default ipc_max_clients 10 */
#define QNETD_TARGET	"qnetd socket (is QNetd running?)"
#define QDEVICE_TARGET	"QDevice socket (is QDevice running?)"

/*
 * Start qnetd with extra -S settings (or NULL) and wait until it answers a
 * status command on its local socket.  Reading that answer to the end also
 * means it has let the connection go: idle clients that come next find
 * all ipc_max_clients slots free (deterministic against an old daemon).
 */
static void
ipc_srv_start(struct srv *s, const char *extra)
{
	int64_t deadline;
	struct buf out;
	int ok = 0;

	srv_prepare(s);
	if (extra != NULL)
		SRV_LAUNCH(s, "-s", "off", "-S", extra);
	else
		SRV_LAUNCH(s, "-s", "off");
	deadline = now_ms() + 10000;
	while (!ok && now_ms() < deadline) {
		buf_init(&out);
		ok = ipc_request(s, "status\n", &out) == 0 && out.len >= 3 &&
		    memcmp(out.data, "OK\n", 3) == 0;
		buf_free(&out);
		if (!ok)
			sleep_ms(5);
	}
	ck_assert_msg(ok, "qnetd does not answer on its local socket");
}

/* ------------------------------------------------------------------ */
/* Running a tool */

struct run {
	int status;		/* as waitpid() reports it */
	char out[4096];
	char err[4096];
};

/* Run argv (NULL-terminated) to its end (30 s); stdout and stderr into r. */
static void
run(struct run *r, const char *const *argv)
{
	struct buf out, err;

	buf_init(&out);
	buf_init(&err);
	r->status = run_wait((char *const *)argv, &out, &err, 30000);
	snprintf(r->out, sizeof(r->out), "%s", (char *)out.data);
	snprintf(r->err, sizeof(r->err), "%s", (char *)err.data);
	buf_free(&out);
	buf_free(&err);
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

	ipc_srv_start(&s, NULL);
	for (int i = 0; i < IDLE_CLIENTS; i++)
		ck_assert_int_ge(idle[i] = ipc_connect(s.sock), 0);
	/* Like the report: they were there well before the tool. */
	sleep_ms(500);
	RUN(&r, tool_bin, "-s", "-p", s.sock);
	assert_status_output(&r);
	/* The tool is not the only one that gets in: a second run too. */
	RUN(&r, tool_bin, "-s", "-p", s.sock);
	assert_status_output(&r);
	for (int i = 0; i < IDLE_CLIENTS; i++) {
		struct pollfd p = { .fd = idle[i], .events = POLLIN };

		ck_assert_msg(poll(&p, 1, 30000) == 1 &&
		    read(idle[i], &c, 1) <= 0,
		    "idle client %d not disconnected", i);
		close(idle[i]);
	}
	srv_term(&s);
}
END_TEST

/* With room for them all (ipc_max_clients), idle clients don't matter. */
START_TEST(t_idle_clients_room)
{
	int idle[IDLE_CLIENTS];
	struct srv s;
	struct run r;

	ipc_srv_start(&s, "ipc_max_clients=20,ipc_idle_timeout=0");
	for (int i = 0; i < IDLE_CLIENTS; i++)
		ck_assert_int_ge(idle[i] = ipc_connect(s.sock), 0);
	RUN(&r, tool_bin, "-s", "-p", s.sock);
	assert_status_output(&r);
	for (int i = 0; i < IDLE_CLIENTS; i++)
		close(idle[i]);
	srv_term(&s);
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

	ipc_srv_start(&s, NULL);
	for (int i = 0; i < IDLE_CLIENTS; i++)
		ck_assert_int_ge(idle[i] = ipc_connect(s.sock), 0);
	sleep_ms(200);
	srv_term(&s);
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

	ipc_srv_start(&s, NULL);
	RUN(&r, tool_bin, "-l", "-c", "a\nb", "-p", s.sock);
	ASSERT_EXIT(&r, 1);
	ck_assert_str_eq(r.err, "corosync-qnetd-tool: Cluster name must not "
	    "contain a newline\n");
	ck_assert_str_eq(r.out, "");
	RUN(&r, tool_bin, "-s", "-p", s.sock);
	assert_status_output(&r);
	srv_term(&s);
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

	ipc_srv_start(&s, NULL);
	for (int i = 0; i < 5; i++) {
		RUN(&r, tool_bin, "-l", "-c", name, "-p", s.sock);
		ASSERT_EXIT(&r, 4);
		ck_assert_str_eq(r.err, "Error: Command too long\n");
	}
	free(name);
	srv_term(&s);
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
		RUN(&r, tool_bin, "-s", "-p", path);
		assert_broken_off(&r, "corosync-qnetd-tool", QNETD_TARGET);
		/* Too long to be sent before the close: a send error. */
		RUN(&r, tool_bin, "-l", "-c", name, "-p", path);
		assert_broken_off(&r, "corosync-qnetd-tool", QNETD_TARGET);
		RUN(&r, qdevice_tool_bin, "-s", "-p", path);
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
	RUN(&r, tool_bin, "-s", "-p", path);
	ASSERT_EXIT(&r, 3);
	ck_assert_str_eq(r.err, "corosync-qnetd-tool: Can't connect to "
	    QNETD_TARGET ": No such file or directory\n");
	RUN(&r, qdevice_tool_bin, "-s", "-p", path);
	ASSERT_EXIT(&r, 3);
	ck_assert_str_eq(r.err, "corosync-qdevice-tool: Can't connect to "
	    QDEVICE_TARGET ": No such file or directory\n");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("local socket and tools");
	TCase *t;

	t = harness_tcase(s, "idle clients", TEST_TIMEOUT);
	tcase_add_test(t, t_idle_clients);
	tcase_add_test(t, t_idle_clients_room);
	tcase_add_test(t, t_stop_with_idle_clients);

	t = harness_tcase(s, "tool errors", TEST_TIMEOUT);
	tcase_add_test(t, t_newline_in_cluster_name);
	tcase_add_test(t, t_command_too_long);
	tcase_add_test(t, t_daemon_closes);
	tcase_add_test(t, t_no_daemon);
	return harness_run(s, 0);
}
