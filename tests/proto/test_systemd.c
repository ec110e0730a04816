/*
 * corosync-qnetd under systemd: a fake NOTIFY_SOCKET (a datagram socket
 * the test binds) hears READY=1, a STATUS= line with the right counts,
 * WATCHDOG=1 again and again, and on SIGHUP RELOADING=1 + MONOTONIC_USEC
 * then READY=1, while a connected client keeps its connection and its
 * vote.  Also local_socket_umask / local_socket_gid, the start-up line at
 * the default log level and the -v compatibility line of both daemons.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define COMPAT_LINE	"Compatible with upstream corosync-qdevice 3.0.4\n"

/* The fake systemd end: bound, NOTIFY_SOCKET set for the daemon. */
static int
notify_socket(const char *dir)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_uint_lt(strlen(dir) + 8, sizeof(sun.sun_path));
	memcpy(sun.sun_path, dir, strlen(dir));
	memcpy(sun.sun_path + strlen(dir), "/notify", 8);
	ck_assert_msg(bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0,
	    "bind %s: %s", sun.sun_path, strerror(errno));
	setenv("NOTIFY_SOCKET", sun.sun_path, 1);
	return fd;
}

/*
 * The next datagram (NUL-terminated into buf) within ms, skipping
 * WATCHDOG=1 pings when skip_pings; 0 when none came.
 */
static int
next_note(int fd, char *buf, size_t len, int ms, int skip_pings)
{
	int64_t deadline = now_ms() + ms;

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		int64_t left = deadline - now_ms();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return 0;
		if ((n = recv(fd, buf, len - 1, 0)) < 0)
			return 0;
		buf[n] = '\0';
		if (!(skip_pings && strcmp(buf, "WATCHDOG=1") == 0))
			return 1;
	}
}

/* Datagrams until one contains needle (1) or ms pass (0). */
static int
wait_note(int fd, const char *needle, char *buf, size_t len, int ms)
{
	int64_t deadline = now_ms() + ms;

	while (now_ms() < deadline)
		if (next_note(fd, buf, len, (int)(deadline - now_ms()), 0) &&
		    strstr(buf, needle) != NULL)
			return 1;
	return 0;
}

static uint64_t
monotonic_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/*
 * WATCHDOG_PID must name the daemon itself: a wrapper sets it to its own
 * pid and execs the daemon, which keeps that pid.
 */
static void
use_watchdog_wrapper(const char *dir, uint64_t usec)
{
	static char wrapper[PATH_MAX + 32];
	char env[64];
	FILE *f;

	snprintf(wrapper, sizeof(wrapper), "%s/qnetd-wd.sh", dir);
	f = fopen(wrapper, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "#!/bin/sh\nWATCHDOG_PID=$$ exec '%s' \"$@\"\n", qnetd_bin);
	fclose(f);
	ck_assert_int_eq(chmod(wrapper, 0755), 0);
	snprintf(env, sizeof(env), "%llu", (unsigned long long)usec);
	setenv("WATCHDOG_USEC", env, 1);
	qnetd_bin = wrapper;
}

/*
 * Join cluster "sd" as node (lms, membership {1, 2}) and wait for an ACK;
 * lms, because ffsplit answers no ASK_FOR_VOTE.
 */
static void
join_acked(struct qc *c, const struct srv *s, uint32_t node)
{
	struct msg r;
	int acked = 0;

	qc_connect(c, s);
	ck_assert_int_eq(qc_join(c, "sd", node, QN_ALGO_LMS, 8000), 0);
	send_node_lists(c);
	/* Everything that comes, every VOTE_INFO answered, until quiet. */
	while (qc_read_msg(c, &r, acked ? QUIET_MS : TIMEOUT_MS) == RECV_MSG) {
		acked |= (r.type == QN_MSG_NODE_LIST_REPLY ||
		    r.type == QN_MSG_VOTE_INFO) && r.vote == QN_VOTE_ACK;
		if (r.type == QN_MSG_VOTE_INFO)
			send_vote_info_reply(c, r.seq);
		msg_free(&r);
	}
	ck_assert_msg(acked, "node %u got no ACK", (unsigned)node);
}

/* ASK_FOR_VOTE: the reply's vote. */
static uint8_t
ask_vote(struct qc *c)
{
	struct msg r;
	uint32_t seq = send_ask_for_vote(c);
	uint8_t vote = 0;

	while (qc_read_msg(c, &r, TIMEOUT_MS) == RECV_MSG) {
		int done = r.type == QN_MSG_ASK_FOR_VOTE_REPLY && r.seq == seq;

		if (done)
			vote = r.vote;

		msg_free(&r);
		if (done)
			return vote;
	}
	ck_abort_msg("no ASK_FOR_VOTE_REPLY");
	return 0;
}

START_TEST(t_notify)
{
	struct srv s;
	struct qc a, b, idle;
	char note[512], dir[PATH_MAX];
	int fd, pings = 0;
	uint64_t before, after, mono;
	const char *p;

	scratch_dir(dir, sizeof(dir));
	fd = notify_socket(dir);
	/* 400 ms: a ping every 200 ms. */
	use_watchdog_wrapper(dir, 400000);
	SRV_START(&s, "-s", "off");

	ck_assert_msg(wait_note(fd, "READY=1", note, sizeof(note), TIMEOUT_MS),
	    "no READY=1");
	ck_assert_msg(strstr(note, "STATUS=0 clusters, 0 clients, 0 without a "
	    "vote") != NULL, "READY came with \"%s\"", note);

	/* Two clients with the vote, one connection that never INITs. */
	join_acked(&a, &s, 1);
	join_acked(&b, &s, 2);
	qc_connect(&idle, &s);
	ck_assert_msg(wait_note(fd, "STATUS=1 cluster, 3 clients, 1 without a "
	    "vote", note, sizeof(note), TIMEOUT_MS), "STATUS never said 1 "
	    "cluster, 3 clients, 1 without a vote (last: \"%s\")", note);

	/* The loop pings while it turns. */
	for (int64_t end = now_ms() + TIMEOUT_MS; pings < 3 && now_ms() < end;)
		if (next_note(fd, note, sizeof(note), 1000, 0) &&
		    strcmp(note, "WATCHDOG=1") == 0)
			pings++;
	ck_assert_int_ge(pings, 3);

	/* SIGHUP: RELOADING=1 + MONOTONIC_USEC=now, then READY=1. */
	before = monotonic_usec();
	ck_assert_int_eq(kill(s.pid, SIGHUP), 0);
	ck_assert_msg(next_note(fd, note, sizeof(note), TIMEOUT_MS, 1),
	    "nothing after SIGHUP");
	after = monotonic_usec();
	ck_assert_msg(strncmp(note, "RELOADING=1\n", 12) == 0, "after SIGHUP: "
	    "\"%s\"", note);
	p = strstr(note, "MONOTONIC_USEC=");
	ck_assert_ptr_nonnull(p);
	mono = strtoull(p + strlen("MONOTONIC_USEC="), NULL, 10);
	ck_assert_msg(mono >= before && mono <= after, "MONOTONIC_USEC=%llu "
	    "not in [%llu, %llu]", (unsigned long long)mono,
	    (unsigned long long)before, (unsigned long long)after);
	ck_assert_msg(next_note(fd, note, sizeof(note), TIMEOUT_MS, 1),
	    "no READY=1 after RELOADING=1");
	ck_assert_msg(strncmp(note, "READY=1\n", 8) == 0, "after RELOADING: "
	    "\"%s\"", note);
	ck_assert_msg(strstr(note, "STATUS=1 cluster, 3 clients, 1 without a "
	    "vote") != NULL, "READY after reload came with \"%s\"", note);

	/* Nobody lost anything. */
	ck_assert(srv_alive(&s));
	ck_assert_int_eq(ask_vote(&a), QN_VOTE_ACK);
	ck_assert_int_eq(ask_vote(&b), QN_VOTE_ACK);
	alive_before_init(&idle);
	ASSERT_LOG(&s, "SIGHUP: reloading");

	/* A second SIGHUP is no different. */
	ck_assert_int_eq(kill(s.pid, SIGHUP), 0);
	ck_assert_msg(wait_note(fd, "READY=1", note, sizeof(note), TIMEOUT_MS),
	    "no READY=1 after the second SIGHUP");
	ck_assert(srv_alive(&s));
	qc_close(&a);
	qc_close(&b);
	qc_close(&idle);
	ck_assert_msg(wait_note(fd, "STATUS=0 clusters, 0 clients, 0 without "
	    "a vote", note, sizeof(note), TIMEOUT_MS), "STATUS after the "
	    "clients left: \"%s\"", note);
	srv_term(&s);
	ck_assert_msg(wait_note(fd, "STOPPING=1", note, sizeof(note),
	    TIMEOUT_MS), "no STOPPING=1");
	close(fd);
}
END_TEST

/* Not started by systemd: a SIGHUP still only reloads. */
START_TEST(t_sighup_without_systemd)
{
	struct srv s;
	struct qc a;

	unsetenv("NOTIFY_SOCKET");
	SRV_START(&s, "-s", "off");
	join_acked(&a, &s, 1);
	ck_assert_int_eq(kill(s.pid, SIGHUP), 0);
	ASSERT_LOG(&s, "SIGHUP: reloading");
	ck_assert(srv_alive(&s));
	ck_assert_int_eq(ask_vote(&a), QN_VOTE_ACK);
	qc_close(&a);
	srv_term(&s);
}
END_TEST

/* A group to give the socket: not our own where we may (root). */
static gid_t
other_group(void)
{
	gid_t groups[64];
	int n;

	if (geteuid() == 0)
		return getgid() == 4242 ? 4243 : 4242;
	n = getgroups((int)ARRAY_LEN(groups), groups);
	for (int i = 0; i < n; i++)
		if (groups[i] != getegid())
			return groups[i];
	return getegid();
}

START_TEST(t_socket_umask_gid)
{
	struct srv s;
	struct stat st;
	char opt[64];
	gid_t gid = other_group();
	struct group *gr = getgrgid(gid);

	/* By name when the group has one, else by number. */
	if (gr != NULL)
		snprintf(opt, sizeof(opt), "local_socket_umask=0007,"
		    "local_socket_gid=%s", gr->gr_name);
	else
		snprintf(opt, sizeof(opt), "local_socket_umask=0007,"
		    "local_socket_gid=%u", (unsigned)gid);
	srv_prepare(&s);
	s.no_debug = 1;
	SRV_LAUNCH(&s, "-s", "off", "-S", opt);
	ck_assert_int_eq(stat(s.sock, &st), 0);
	ck_assert_msg((st.st_mode & 0777) == 0770, "socket mode %o, not 770",
	    (unsigned)(st.st_mode & 0777));
	ck_assert_int_eq(st.st_gid, gid);
	/* The start-up line is there at the default level. */
	ASSERT_LOG(&s, "QNetd listening on 127.0.0.1:");
	ASSERT_LOG(&s, "TLS Unsupported");
	srv_term(&s);

	/* Without them: the process umask (the test's 022), our group. */
	umask(022);
	SRV_START(&s, "-s", "off");
	ck_assert_int_eq(stat(s.sock, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0755);
	ck_assert_int_eq(st.st_gid, getegid());
	srv_term(&s);
}
END_TEST

START_TEST(t_socket_settings_invalid)
{
	struct buf out, err;

	buf_init(&out);
	buf_init(&err);
	ck_assert_int_eq(RUN_QNETD(&out, &err, "-S", "local_socket_umask=9"),
	    1);
	ck_assert_msg(strstr((char *)err.data, "local_socket_umask") != NULL,
	    "%s", (char *)err.data);
	buf_reset(&err);
	ck_assert_int_eq(RUN_QNETD(&out, &err, "-S",
	    "local_socket_gid=no-such-group-here"), 1);
	ck_assert_msg(strstr((char *)err.data, "local_socket_gid") != NULL,
	    "%s", (char *)err.data);
	buf_free(&out);
	buf_free(&err);
}
END_TEST

START_TEST(t_version_compat)
{
	struct buf out, err;
	char qdevice[PATH_MAX], tmp[PATH_MAX];
	char *argv[] = { qdevice, (char *)"-v", NULL };
	const char *nl;

	buf_init(&out);
	buf_init(&err);
	ck_assert_int_eq(RUN_QNETD(&out, &err, "-v"), 0);
	/* 3.0.3's first line, then which release we follow. */
	nl = strchr((char *)out.data, '\n');
	ck_assert_ptr_nonnull(nl);
	ck_assert_msg(strncmp((char *)out.data, "Corosync Qdevice Network "
	    "Daemon, version '", 42) == 0, "%s", (char *)out.data);
	ck_assert_msg(strncmp(nl + 1, COMPAT_LINE, strlen(COMPAT_LINE)) == 0,
	    "second line of -v: %s", nl + 1);
	ck_assert_msg(strstr((char *)out.data, "\nSupported algorithms: ") !=
	    NULL, "%s", (char *)out.data);

	/* corosync-qdevice, next to its tool. */
	snprintf(tmp, sizeof(tmp), "%s", qdevice_tool_bin);
	snprintf(qdevice, sizeof(qdevice), "%s/corosync-qdevice", dirname(tmp));
	if (!is_executable(qdevice)) {
		note("no %s: its -v not checked", qdevice);
		return;
	}
	buf_reset(&out);
	ck_assert_int_eq(run_capture(argv, &out, &err, 10000), 0);
	nl = strchr((char *)out.data, '\n');
	ck_assert_ptr_nonnull(nl);
	ck_assert_msg(strncmp((char *)out.data, "Corosync Qdevice Daemon, "
	    "version '", 34) == 0, "%s", (char *)out.data);
	ck_assert_str_eq(nl + 1, COMPAT_LINE);
	buf_free(&out);
	buf_free(&err);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("systemd");
	TCase *t;

	t = harness_tcase(s, "notify", TEST_TIMEOUT);
	tcase_add_test(t, t_notify);
	tcase_add_test(t, t_sighup_without_systemd);
	t = harness_tcase(s, "local socket", TEST_TIMEOUT);
	tcase_add_test(t, t_socket_umask_gid);
	tcase_add_test(t, t_socket_settings_invalid);
	t = harness_tcase(s, "version", TEST_TIMEOUT);
	tcase_add_test(t, t_version_compat);
	return harness_run(s, H_PROTO);
}
