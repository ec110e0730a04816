/*
 * Node lists at the size limit against a real corosync-qnetd over loopback
 * (issue 10, item 4; man/corosync-qnetd.8, LIMITS): 20 clients of one
 * cluster send 2,700-node lists (32 KB each, under max_client_receive_size)
 * and ring changes, as fast as the daemon reads them, while a new cluster
 * must be decided within 2 s.  The flooding cluster's clients must all be
 * answered, keep their connections (no dead-peer loss while their reading
 * was paused) and end with the vote for their full membership.
 *
 * Each test starts its own daemon (-f -d -s off, 127.0.0.1, a free port,
 * lock file and IPC socket in a scratch directory), killed with the test
 * (PR_SET_PDEATHSIG) and asserted to exit 0 on SIGTERM.
 *
 * Environment: QNETD_BIN (default: ../../qnetd/corosync-qnetd relative to
 * this binary), QNETD_TEST_KEEP=1 keeps the scratch directory.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"
#include "buf.h"
#include "msg.h"
#include "reader.h"

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))
#define TEST_TIMEOUT	240	/* seconds: the sanitizer build is slow */
#define FLOOD_CLIENTS	20
#define LIST_NODES	2700	/* 12 bytes each: 32,412-byte messages */
#define RING_CHANGES	5
/* Config, first membership, then one membership per ring change. */
#define FLOOD_LISTS	(2 + RING_CHANGES)
/*
 * The heartbeat minimum: a dead-peer timeout of 1.5 s, shorter than the
 * time the flooding cluster's messages wait while its reading is paused.
 */
#define HEARTBEAT_MS	1000
#define DECIDED_MS	2000	/* the deadline for the other cluster */
#define FLOOD_DONE_MS	120000	/* every flood list answered */

static const char *qnetd_bin;
static char bin_buf[PATH_MAX];
static char base_dir[256];

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------ */
/* The daemon */

struct srv {
	pid_t pid;
	int port;
	char dir[PATH_MAX];
	char log[PATH_MAX + 32];
	char settings[3 * PATH_MAX];
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
print_log(const struct srv *s)
{
	FILE *f = fopen(s->log, "r");
	char line[1024];

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		printf("qnetd: %s", line);
	fclose(f);
	fflush(stdout);
}

static int
connect_to(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	ck_assert_int_ge(fd, 0);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Start with extra -S settings (NULL: none) and wait until it listens. */
static void
srv_start(struct srv *s, const char *extra)
{
	int64_t deadline = now_ms() + 10000;
	char port[16];
	int fd, status;

	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "%s/srvXXXXXX", base_dir);
	ck_assert_ptr_nonnull(mkdtemp(s->dir));
	snprintf(s->log, sizeof(s->log), "%s/qnetd.log", s->dir);
	snprintf(s->settings, sizeof(s->settings), "lock_file=%s/qnetd.pid,"
	    "local_socket_file=%s/qnetd.sock%s%s", s->dir, s->dir,
	    extra ? "," : "", extra ? extra : "");
	s->port = free_port();
	snprintf(port, sizeof(port), "%d", s->port);
	s->pid = fork();
	ck_assert_int_ge(s->pid, 0);
	if (s->pid == 0) {
		fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(qnetd_bin, qnetd_bin, "-f", "-d", "-s", "off", "-l",
		    "127.0.0.1", "-p", port, "-S", s->settings, (char *)NULL);
		_exit(127);
	}
	while (now_ms() < deadline) {
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			print_log(s);
			ck_abort_msg("qnetd exited at start (log above)");
		}
		if ((fd = connect_to(s->port)) >= 0) {
			close(fd);
			return;
		}
		usleep(5000);
	}
	print_log(s);
	ck_abort_msg("qnetd does not listen (log above)");
}

/* SIGTERM: it must exit 0 (a sanitizer report at exit would not). */
static void
srv_stop(struct srv *s)
{
	int status;

	kill(s->pid, SIGTERM);
	ck_assert_int_eq(waitpid(s->pid, &status, 0), s->pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		print_log(s);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "qnetd exit status %d", status);
}

/* The daemon's user + system CPU time so far, in ms. */
static int64_t
srv_cpu_ms(const struct srv *s)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)s->pid);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	/* Fields 14 and 15, counted after the command's closing ')'. */
	ck_assert_ptr_nonnull(p = strrchr(buf, ')'));
	ck_assert_int_eq(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u "
	    "%*u %*u %llu %llu", &ut, &st), 2);
	return (int64_t)((ut + st) * 1000 / (unsigned long long)
	    sysconf(_SC_CLK_TCK));
}

static int
log_has(const struct srv *s, const char *needle)
{
	FILE *f = fopen(s->log, "r");
	char line[2048];
	int found = 0;

	if (f == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

/* ------------------------------------------------------------------ */
/* Clients driven by one poll loop: what to send, what came back */

struct cli {
	int fd;
	uint32_t node_id;
	uint32_t seq;
	struct buf out;		/* encoded, not yet written */
	size_t out_off;
	struct reader rd;
	int list_replies;	/* NODE_LIST_REPLYs */
	uint8_t vote;		/* last ACK or NACK, 0 = none */
	struct qn_ring_id vote_ring;
	int closed;
	int64_t next_echo;	/* a qdevice sends one every heartbeat */
};

static void
put_msg(struct cli *c, struct msg *m)
{
	m->seq = c->seq++;
	m->has |= QN_BIT(QN_OPT_SEQ);
	ck_assert_int_eq(msg_encode(m, &c->out, SIZE_MAX), 0);
}

/* PREINIT and INIT, pipelined: without TLS nothing waits for the replies. */
static void
cli_open(struct cli *c, const struct srv *s, const char *cluster,
    uint32_t node_id, uint32_t heartbeat)
{
	struct msg m;

	memset(c, 0, sizeof(*c));
	ck_assert_int_ge(c->fd = connect_to(s->port), 0);
	fcntl(c->fd, F_SETFL, O_NONBLOCK);
	c->node_id = node_id;
	c->seq = 1;
	c->next_echo = now_ms() + heartbeat;
	buf_init(&c->out);
	reader_init(&c->rd, 1 << 16);
	msg_init(&m, QN_MSG_PREINIT);
	m.cluster_name = cluster;
	m.cluster_name_len = strlen(cluster);
	m.has = QN_BIT(QN_OPT_CLUSTER_NAME);
	put_msg(c, &m);
	msg_init(&m, QN_MSG_INIT);
	m.supported_messages = msg_all_messages;
	m.supported_options = msg_all_options;
	m.node_id = node_id;
	m.algorithm = QN_ALGO_FFSPLIT;
	m.heartbeat_interval = heartbeat;
	m.tie_breaker.mode = QN_TB_LOWEST;
	m.ring_id = (struct qn_ring_id){ 1, 1 };
	m.has = QN_BIT(QN_OPT_SUPPORTED_MESSAGES) |
	    QN_BIT(QN_OPT_SUPPORTED_OPTIONS) | QN_BIT(QN_OPT_NODE_ID) |
	    QN_BIT(QN_OPT_ALGORITHM) | QN_BIT(QN_OPT_HEARTBEAT_INTERVAL) |
	    QN_BIT(QN_OPT_TIE_BREAKER) | QN_BIT(QN_OPT_RING_ID);
	put_msg(c, &m);
}

/* A config (ring seq 0) or membership list of nodes 1..count. */
static void
put_list(struct cli *c, uint64_t ring_seq, const struct qn_node *nodes,
    size_t count)
{
	struct msg m;

	msg_init(&m, QN_MSG_NODE_LIST);
	m.node_list_type = ring_seq == 0 ? QN_LIST_INITIAL_CONFIG :
	    QN_LIST_MEMBERSHIP;
	m.nodes = (struct qn_node *)nodes;
	m.node_count = count;
	m.has = QN_BIT(QN_OPT_NODE_LIST_TYPE) | QN_BIT(QN_OPT_NODE_INFO);
	if (ring_seq != 0) {
		m.ring_id = (struct qn_ring_id){ 1, ring_seq };
		m.has |= QN_BIT(QN_OPT_RING_ID);
	}
	put_msg(c, &m);
}

/* What a qdevice does with a reply: note votes, answer VOTE_INFO. */
static void
cli_got(struct cli *c, const struct msg *r)
{
	struct msg m;

	switch (r->type) {
	case QN_MSG_NODE_LIST_REPLY:
		c->list_replies++;
		break;
	case QN_MSG_VOTE_INFO:
		msg_init(&m, QN_MSG_VOTE_INFO_REPLY);
		m.seq = r->seq;
		m.has = QN_BIT(QN_OPT_SEQ);
		ck_assert_int_eq(msg_encode(&m, &c->out, SIZE_MAX), 0);
		break;
	case QN_MSG_INIT_REPLY:
		ck_assert_int_eq(r->reply_error_code, 0);
		return;
	default:
		return;
	}
	if (r->vote == QN_VOTE_ACK || r->vote == QN_VOTE_NACK) {
		c->vote = r->vote;
		c->vote_ring = r->ring_id;
	}
}

static void
cli_read(struct cli *c)
{
	enum reader_status st;
	const uint8_t *data;
	uint8_t *dst;
	size_t want, len;
	struct msg r;
	ssize_t n;

	for (;;) {
		dst = reader_space(&c->rd, &want);
		if ((n = read(c->fd, dst, want)) < 0 &&
		    (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			c->closed = 1;
			return;
		}
		if ((st = reader_commit(&c->rd, (size_t)n)) == READER_MORE)
			continue;
		ck_assert_int_eq(st, READER_MESSAGE);
		data = reader_message(&c->rd, &len);
		ck_assert_int_eq(msg_decode(data, len, &r), DECODE_OK);
		cli_got(c, &r);
		msg_free(&r);
		reader_next(&c->rd);
	}
}

static void
cli_write(struct cli *c)
{
	ssize_t n;

	while (c->out_off < c->out.len) {
		n = send(c->fd, c->out.data + c->out_off,
		    c->out.len - c->out_off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			c->closed = 1;
			return;
		}
		c->out_off += (size_t)n;
	}
	c->out.len = c->out_off = 0;
}

/* One poll round over n clients, at most ms; echoes as they are due. */
static void
pump(struct cli *v, size_t n, int ms)
{
	struct pollfd p[FLOOD_CLIENTS + 1];
	struct msg m;

	ck_assert_uint_le(n, ARRAY_LEN(p));
	for (size_t i = 0; i < n; i++) {
		if (now_ms() >= v[i].next_echo) {
			msg_init(&m, QN_MSG_ECHO_REQUEST);
			put_msg(&v[i], &m);
			v[i].next_echo += HEARTBEAT_MS;
		}
	}
	for (size_t i = 0; i < n; i++)
		p[i] = (struct pollfd){ .fd = v[i].closed ? -1 : v[i].fd,
		    .events = POLLIN | (v[i].out_off < v[i].out.len ?
		    POLLOUT : 0) };
	if (poll(p, n, ms) <= 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (p[i].revents & POLLOUT)
			cli_write(&v[i]);
		if (p[i].revents & (POLLIN | POLLHUP | POLLERR))
			cli_read(&v[i]);
	}
}

static void
cli_close(struct cli *c)
{
	close(c->fd);
	buf_free(&c->out);
	reader_free(&c->rd);
}

/* ------------------------------------------------------------------ */
/* Tests */

/*
 * Maximum-size lists from 20 clients of cluster "big", and meanwhile a new
 * cluster "other" is decided within 2 s.  extra: settings for the daemon;
 * watch_ms: 0 to wait until every list is answered, else how long to
 * watch a flood slowed down by the cluster's CPU budget.
 */
static void
flood_with_other_cluster(const char *extra, int64_t watch_ms)
{
	static struct qn_node nodes[LIST_NODES];
	struct cli v[FLOOD_CLIENTS + 1], *other = &v[FLOOD_CLIENTS];
	struct qn_node one = { .node_id = 1 };
	int64_t t0, t_other = -1, decided = -1, cpu0, cpu, deadline;
	int answered, all = FLOOD_CLIENTS * FLOOD_LISTS;
	struct srv s;

	for (size_t i = 0; i < LIST_NODES; i++)
		nodes[i] = (struct qn_node){ .node_id = (uint32_t)i + 1 };
	srv_start(&s, extra);
	for (size_t i = 0; i < FLOOD_CLIENTS; i++) {
		cli_open(&v[i], &s, "big", (uint32_t)i + 1, HEARTBEAT_MS);
		put_list(&v[i], 0, nodes, LIST_NODES);
		/* Ring 1, then 5 changes: every one a full-size list. */
		for (uint64_t r = 1; r <= RING_CHANGES + 1; r++)
			put_list(&v[i], r, nodes, LIST_NODES);
	}
	cpu0 = srv_cpu_ms(&s);
	t0 = now_ms();
	deadline = t0 + (watch_ms ? watch_ms : FLOOD_DONE_MS);
	do {
		/* Once the flood is under way, the other cluster arrives. */
		if (t_other < 0 && v[0].list_replies >= 1) {
			cli_open(other, &s, "other", 1, HEARTBEAT_MS);
			put_list(other, 0, &one, 1);
			put_list(other, 1, &one, 1);
			t_other = now_ms();
		}
		pump(v, t_other < 0 ? FLOOD_CLIENTS : FLOOD_CLIENTS + 1, 50);
		if (decided < 0 && t_other >= 0 && other->vote == QN_VOTE_ACK)
			decided = now_ms() - t_other;
		answered = 0;
		for (size_t i = 0; i <= FLOOD_CLIENTS; i++) {
			ck_assert_msg(i == FLOOD_CLIENTS || !v[i].closed,
			    "big node %zu was disconnected", i + 1);
			ck_assert_msg(i < FLOOD_CLIENTS || t_other < 0 ||
			    !other->closed, "other was disconnected");
			answered += i < FLOOD_CLIENTS ? v[i].list_replies : 0;
		}
		if (t_other >= 0 && decided < 0)
			ck_assert_msg(now_ms() - t_other <= DECIDED_MS,
			    "cluster \"other\" not decided within %d ms "
			    "(%d of %d flood lists answered)", DECIDED_MS,
			    answered, all);
	} while ((watch_ms > 0 || answered < all || decided < 0) &&
	    now_ms() < deadline);
	cpu = srv_cpu_ms(&s) - cpu0;
	printf("%d clients x %d lists of %d nodes%s%s: %d answered in %" PRId64
	    " ms, qnetd CPU %" PRId64 " ms (%.2f ms a list); other cluster "
	    "decided in %" PRId64 " ms\n", FLOOD_CLIENTS, FLOOD_LISTS,
	    LIST_NODES, extra ? ", " : "", extra ? extra : "", answered,
	    now_ms() - t0, cpu, answered ? (double)cpu / answered : 0.0,
	    decided);
	fflush(stdout);
	ck_assert_int_ge(decided, 0);
	if (watch_ms == 0) {
		ck_assert_msg(answered == all, "only %d of %d flood lists "
		    "answered", answered, all);
		/* The last ring is stable: every node ends with its ACK. */
		deadline = now_ms() + 10000;
		for (size_t i = 0; i < FLOOD_CLIENTS; i++)
			while (v[i].vote_ring.seq != RING_CHANGES + 1 &&
			    now_ms() < deadline)
				pump(v, FLOOD_CLIENTS + 1, 50);
		for (size_t i = 0; i < FLOOD_CLIENTS; i++)
			ck_assert_msg(v[i].vote == QN_VOTE_ACK &&
			    v[i].vote_ring.seq == RING_CHANGES + 1, "big node "
			    "%zu: vote %d for ring %" PRIu64, i + 1, v[i].vote,
			    v[i].vote_ring.seq);
	} else {
		/* Slowed down, not stopped. */
		ck_assert_int_gt(answered, 0);
		if (!log_has(&s, "Limit max_cluster_cpu_per_second = "))
			print_log(&s);
		ck_assert_msg(log_has(&s, "Limit max_cluster_cpu_per_second "
		    "= "), "the budget was never reached");
	}
	for (size_t i = 0; i <= FLOOD_CLIENTS; i++) {
		ck_assert(!v[i].closed);
		cli_close(&v[i]);
	}
	ck_assert_int_eq(log_has(&s, "doesn't sent any message"), 0);
	srv_stop(&s);
}

/* The defaults: every list answered, the last ring decided. */
START_TEST(t_big_lists_defaults)
{
	flood_with_other_cluster(NULL, 0);
}
END_TEST

/*
 * A budget the flood runs into at once: the cluster is slowed down, not
 * cut off, and for the whole watch (longer than the 1.5 s dead-peer
 * timeout) clients whose messages wait unread keep their connections.
 */
START_TEST(t_big_lists_budget)
{
	flood_with_other_cluster("max_cluster_cpu_per_second=1", 4000);
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

static void
find_bin(const char *argv0)
{
	const char *env = getenv("QNETD_BIN");
	char *slash;

	if (env != NULL) {
		qnetd_bin = env;
		return;
	}
	if (realpath(argv0, bin_buf) == NULL)
		snprintf(bin_buf, sizeof(bin_buf), "%s", argv0);
	if ((slash = strrchr(bin_buf, '/')) != NULL)
		*slash = '\0';
	strncat(bin_buf, "/../../qnetd/corosync-qnetd",
	    sizeof(bin_buf) - strlen(bin_buf) - 1);
	qnetd_bin = bin_buf;
}

int
main(int argc, char **argv)
{
	Suite *s = suite_create("qnetd node lists at the size limit");
	TCase *t = tcase_create("floods");
	SRunner *sr;
	int failed;

	(void)argc;
	signal(SIGPIPE, SIG_IGN);
	find_bin(argv[0]);
	snprintf(base_dir, sizeof(base_dir), "/tmp/qnetd-lists.XXXXXX");
	if (mkdtemp(base_dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	tcase_set_timeout(t, TEST_TIMEOUT);
	tcase_add_test(t, t_big_lists_defaults);
	tcase_add_test(t, t_big_lists_budget);
	suite_add_tcase(s, t);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (failed != 0 || getenv("QNETD_TEST_KEEP") != NULL)
		printf("scratch directory kept: %s\n", base_dir);
	else
		nftw(base_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return failed == 0 ? 0 : 1;
}
