/*
 * Abuse limits, faults and bad configuration of a real corosync-qnetd over
 * loopback (man/corosync-qnetd.8, LIMITS): the pre-INIT timeout, client,
 * per-address and cluster limits, slow readers and writers, floods, the
 * open files limit, clients that vanish at awkward moments (PROTOCOL.md
 * §14.1, mid-message, mid-TLS-handshake), a log on a full disk, and
 * configuration errors that must end the daemon cleanly.
 *
 * Every test starts its own daemon (-f -d, 127.0.0.1, a free port, lock
 * file and IPC socket in a scratch directory); the daemon gets
 * PR_SET_PDEATHSIG(SIGKILL), so it dies with a failed test, and a normal
 * stop asserts that it exits 0 on SIGTERM (sanitizer reports at exit fail).
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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "proto.h"
#include "buf.h"
#include "msg.h"
#include "reader.h"

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))
#define TIMEOUT_MS	5000	/* a reply that must come */
#define TEST_TIMEOUT	60	/* seconds, per test */

static const char *qnetd_bin;
static char bin_buf[PATH_MAX];
static char base_dir[256];
static char nss_dir[PATH_MAX];	/* server certificate "QNetd Cert" */
static int have_nss;

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
	int port;
	char dir[PATH_MAX];
	char sock[PATH_MAX + 32];
	char lock[PATH_MAX + 32];
	char log[PATH_MAX + 32];
	int stderr_full;	/* stderr is /dev/full (a full disk) */
	int no_debug;		/* log at the default level: no -d */
	rlim_t nofile;		/* the daemon's hard open files limit, 0: ours */
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

/* Is something listening on the TCP port? */
static int
port_listening(int port)
{
	static const char *const files[] = { "/proc/net/tcp", "/proc/net/tcp6" };
	char want[8];

	snprintf(want, sizeof(want), ":%04X", port);
	for (size_t i = 0; i < ARRAY_LEN(files); i++) {
		FILE *f = fopen(files[i], "r");
		char line[512], local[80], remote[80], st[8];

		if (f == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL) {
			if (sscanf(line, " %*s %79s %79s %7s", local, remote,
			    st) == 3 && strcmp(st, "0A") == 0 &&
			    strlen(local) > 5 &&
			    strcmp(local + strlen(local) - 5, want) == 0) {
				fclose(f);
				return 1;
			}
		}
		fclose(f);
	}
	return 0;
}

static void
srv_prepare(struct srv *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "%s/srvXXXXXX", base_dir);
	ck_assert_ptr_nonnull(mkdtemp(s->dir));
	snprintf(s->sock, sizeof(s->sock), "%s/qnetd.sock", s->dir);
	snprintf(s->lock, sizeof(s->lock), "%s/qnetd.pid", s->dir);
	snprintf(s->log, sizeof(s->log), "%s/qnetd.log", s->dir);
	s->port = free_port();
}

/* Start the daemon with extra arguments (NULL-terminated); don't wait. */
static void
srv_spawn(struct srv *s, const char *const *args)
{
	char port[16], settings[3 * PATH_MAX];
	const char *argv[64];
	size_t n = 0;

	snprintf(port, sizeof(port), "%d", s->port);
	snprintf(settings, sizeof(settings),
	    "lock_file=%s,local_socket_file=%s", s->lock, s->sock);
	argv[n++] = qnetd_bin;
	argv[n++] = "-f";
	if (!s->no_debug)
		argv[n++] = "-d";
	argv[n++] = "-l";
	argv[n++] = "127.0.0.1";
	argv[n++] = "-p";
	argv[n++] = port;
	argv[n++] = "-S";
	argv[n++] = settings;
	for (; *args != NULL && n < ARRAY_LEN(argv) - 1; args++)
		argv[n++] = *args;
	argv[n] = NULL;

	s->pid = fork();
	ck_assert_int_ge(s->pid, 0);
	if (s->pid == 0) {
		int fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		int devnull = open("/dev/null", O_RDONLY);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (s->nofile != 0) {
			struct rlimit rl = { s->nofile, s->nofile };

			setrlimit(RLIMIT_NOFILE, &rl);
		}
		dup2(devnull, 0);
		dup2(fd, 1);
		if (s->stderr_full)
			fd = open("/dev/full", O_WRONLY);
		dup2(fd, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
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

/* Start and wait until it listens. */
static void
srv_start(struct srv *s, const char *const *args)
{
	int64_t deadline = now_ms() + 10000;
	int status;

	srv_spawn(s, args);
	while (now_ms() < deadline) {
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			s->pid = 0;
			print_log(s);
			ck_abort_msg("qnetd exited at start (log above)");
		}
		if (port_listening(s->port))
			return;
		sleep_ms(5);
	}
	print_log(s);
	ck_abort_msg("qnetd does not listen (log above)");
}

#define SRV_START(s, ...) \
	srv_start((s), (const char *const[]){ __VA_ARGS__, NULL })

static int
srv_alive(const struct srv *s)
{
	int status;

	return s->pid > 0 && waitpid(s->pid, &status, WNOHANG) == 0;
}

/* Wait up to ms for the daemon to end: 1 and *status, or 0. */
static int
srv_wait(struct srv *s, int ms, int *status)
{
	int64_t deadline = now_ms() + ms;

	while (waitpid(s->pid, status, WNOHANG) == 0) {
		if (now_ms() > deadline)
			return 0;
		sleep_ms(5);
	}
	s->pid = 0;
	return 1;
}

/* SIGTERM: it must exit 0 (a sanitizer report at exit would not). */
static void
srv_stop(struct srv *s)
{
	int status;

	ck_assert_msg(srv_alive(s), "qnetd died");
	kill(s->pid, SIGTERM);
	if (!srv_wait(s, 10000, &status)) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, &status, 0);
		ck_abort_msg("qnetd did not stop on SIGTERM");
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		print_log(s);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "qnetd exit status %d", status);
}

/* Lines of the log that contain needle. */
static int
log_count(const struct srv *s, const char *needle)
{
	FILE *f = fopen(s->log, "r");
	char line[2048];
	int n = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, needle) != NULL)
			n++;
	fclose(f);
	return n;
}

static int
log_wait(const struct srv *s, const char *needle, int ms)
{
	int64_t deadline = now_ms() + ms;

	while (log_count(s, needle) == 0) {
		if (now_ms() > deadline)
			return 0;
		sleep_ms(20);
	}
	return 1;
}

#define ASSERT_LOG(s, needle) do {					\
	if (!log_wait((s), (needle), TIMEOUT_MS))			\
		print_log(s);						\
	ck_assert_msg(log_count((s), (needle)) > 0,			\
	    "no log line with \"%s\"", (needle));			\
} while (0)

static long
srv_rss_kb(const struct srv *s)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)s->pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* ------------------------------------------------------------------ */
/* A client */

struct qc {
	int fd;
	SSL *ssl;		/* after STARTTLS and qc_tls_connect() */
	struct reader rd;
	uint32_t seq;
};

/* Connect from src (NULL: the kernel's choice); -1 if refused. */
static int
qc_connect_from(struct qc *c, const struct srv *s, const char *src,
    int rcvbuf)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)s->port) };
	int one = 1;

	memset(c, 0, sizeof(*c));
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(c->fd, 0);
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (rcvbuf > 0)
		setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
		    sizeof(rcvbuf));
	if (src != NULL) {
		struct sockaddr_in b = { .sin_family = AF_INET };

		inet_pton(AF_INET, src, &b.sin_addr);
		ck_assert_int_eq(bind(c->fd, (struct sockaddr *)&b,
		    sizeof(b)), 0);
	}
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	reader_init(&c->rd, 1 << 20);
	c->seq = 1;
	return 0;
}

static void
qc_connect(struct qc *c, const struct srv *s)
{
	ck_assert_int_eq(qc_connect_from(c, s, NULL, 0), 0);
}

static void
qc_close(struct qc *c)
{
	SSL_free(c->ssl);
	c->ssl = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	reader_free(&c->rd);
}

/* Wait until OpenSSL can go on after error e (of SSL_read or SSL_write). */
static int
qc_tls_wait(struct qc *c, int e, int ms)
{
	struct pollfd p = { .fd = c->fd,
	    .events = e == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN };

	if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
		return -1;
	return ms > 0 && poll(&p, 1, ms) > 0 ? 0 : -1;
}

static void
qc_write(struct qc *c, const void *p, size_t len)
{
	const uint8_t *b = p;

	while (c->ssl != NULL && len > 0) {
		int n = SSL_write(c->ssl, b, (int)len);

		if (n <= 0) {
			ck_assert_msg(qc_tls_wait(c, SSL_get_error(c->ssl, n),
			    TIMEOUT_MS) == 0, "SSL_write failed");
			continue;
		}
		b += n;
		len -= (size_t)n;
	}
	while (len > 0) {
		ssize_t n = send(c->fd, b, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		ck_assert_msg(n > 0, "send: %s", strerror(errno));
		b += n;
		len -= (size_t)n;
	}
}

static void
qc_send(struct qc *c, const struct msg *m)
{
	struct buf b;

	buf_init(&b);
	ck_assert_int_eq(msg_encode(m, &b, SIZE_MAX), 0);
	qc_write(c, b.data, b.len);
	buf_free(&b);
}

/*
 * The next message into *m (decoded; msg_free it).  0, -1 on timeout,
 * -2 when the server closed the connection.
 */
static int
qc_recv(struct qc *c, struct msg *m, int ms)
{
	int64_t deadline = now_ms() + ms;

	msg_init(m, 0);
	for (;;) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		size_t want, len;
		uint8_t *dst = reader_space(&c->rd, &want);
		enum reader_status st;
		ssize_t n;
		int left = (int)(deadline - now_ms());

		if (c->ssl != NULL) {
			int r = SSL_read(c->ssl, dst, (int)want);
			int e = r > 0 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, r);

			if (e != SSL_ERROR_NONE && e != SSL_ERROR_WANT_READ &&
			    e != SSL_ERROR_WANT_WRITE)
				return -2;
			if (e != SSL_ERROR_NONE) {
				if (qc_tls_wait(c, e, left) != 0)
					return -1;
				continue;
			}
			n = r;
		} else {
			if (left <= 0 || poll(&p, 1, left) <= 0)
				return -1;
			n = read(c->fd, dst, want);
			if (n <= 0)
				return -2;
		}
		st = reader_commit(&c->rd, (size_t)n);
		if (st == READER_MORE)
			continue;
		ck_assert_int_eq(st, READER_MESSAGE);
		{
			const uint8_t *data = reader_message(&c->rd, &len);

			ck_assert_int_eq(msg_decode(data, len, m), DECODE_OK);
		}
		reader_next(&c->rd);
		return 0;
	}
}

/* Milliseconds until the server closes the connection, -1 if it doesn't. */
static int64_t
qc_wait_closed(struct qc *c, int ms)
{
	int64_t start = now_ms(), deadline = start + ms;
	char tmp[65536];

	for (;;) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		int left = (int)(deadline - now_ms());
		ssize_t n;

		if (left <= 0 || poll(&p, 1, left) <= 0)
			return -1;
		n = read(c->fd, tmp, sizeof(tmp));
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return now_ms() - start;
	}
}

static void
qc_preinit(struct qc *c, const char *cluster)
{
	struct msg m, r;

	msg_init(&m, QN_MSG_PREINIT);
	m.seq = c->seq++;
	m.cluster_name = cluster;
	m.cluster_name_len = strlen(cluster);
	m.has = QN_BIT(QN_OPT_SEQ) | QN_BIT(QN_OPT_CLUSTER_NAME);
	qc_send(c, &m);
	ck_assert_int_eq(qc_recv(c, &r, TIMEOUT_MS), 0);
	ck_assert_int_eq(r.type, QN_MSG_PREINIT_REPLY);
	msg_free(&r);
}

static void
init_msg(struct msg *m, struct qc *c, uint32_t node, uint8_t algo,
    uint32_t hb)
{
	msg_init(m, QN_MSG_INIT);
	m->seq = c->seq++;
	m->supported_messages = msg_all_messages;
	m->supported_options = msg_all_options;
	m->node_id = node;
	m->algorithm = algo;
	m->heartbeat_interval = hb;
	m->tie_breaker.mode = QN_TB_LOWEST;
	m->ring_id = (struct qn_ring_id){ 1, 1 };
	m->has = QN_BIT(QN_OPT_SEQ) | QN_BIT(QN_OPT_SUPPORTED_MESSAGES) |
	    QN_BIT(QN_OPT_SUPPORTED_OPTIONS) | QN_BIT(QN_OPT_NODE_ID) |
	    QN_BIT(QN_OPT_ALGORITHM) | QN_BIT(QN_OPT_HEARTBEAT_INTERVAL) |
	    QN_BIT(QN_OPT_TIE_BREAKER) | QN_BIT(QN_OPT_RING_ID);
}

/* PREINIT + INIT; returns INIT_REPLY's error code. */
static int
qc_join(struct qc *c, const char *cluster, uint32_t node, uint8_t algo,
    uint32_t hb)
{
	struct msg m, r;
	int e;

	qc_preinit(c, cluster);
	init_msg(&m, c, node, algo, hb);
	qc_send(c, &m);
	ck_assert_int_eq(qc_recv(c, &r, TIMEOUT_MS), 0);
	ck_assert_int_eq(r.type, QN_MSG_INIT_REPLY);
	e = r.reply_error_code;
	msg_free(&r);
	return e;
}

static void
echo_msg(struct msg *m, struct qc *c)
{
	msg_init(m, QN_MSG_ECHO_REQUEST);
	m->seq = c->seq++;
	m->has = QN_BIT(QN_OPT_SEQ);
}

/* An ECHO_REQUEST answered within ms: its round trip, or -1. */
static int64_t
qc_echo(struct qc *c, int ms)
{
	int64_t t0 = now_ms();
	struct msg m, r;
	uint32_t seq;

	echo_msg(&m, c);
	seq = m.seq;
	qc_send(c, &m);
	for (;;) {
		if (qc_recv(c, &r, ms) != 0)
			return -1;
		if (r.type == QN_MSG_ECHO_REPLY && r.seq == seq) {
			msg_free(&r);
			return now_ms() - t0;
		}
		msg_free(&r);
	}
}

/* A whole ECHO_REQUEST of len bytes: seq plus an unknown option (ignored). */
static void
big_echo(struct buf *b, uint32_t seq, size_t len)
{
	size_t pad = len - QN_HEADER_SIZE - 8 - 4;

	buf_init(b);
	buf_put_u16(b, QN_MSG_ECHO_REQUEST);
	buf_put_u32(b, (uint32_t)(len - QN_HEADER_SIZE));
	buf_put_u16(b, QN_OPT_SEQ);
	buf_put_u16(b, 4);
	buf_put_u32(b, seq);
	buf_put_u16(b, 0x7777);
	buf_put_u16(b, (uint16_t)pad);
	for (size_t i = 0; i < pad; i++)
		buf_put_u8(b, 0);
	ck_assert(!b->failed);
}

static void
send_node_lists(struct qc *c, uint32_t node)
{
	struct qn_node nodes[2] = { { .node_id = 1 }, { .node_id = 2 } };
	struct msg m;
	uint8_t types[] = { QN_LIST_INITIAL_CONFIG, QN_LIST_MEMBERSHIP,
	    QN_LIST_QUORUM };

	(void)node;
	for (size_t i = 0; i < ARRAY_LEN(types); i++) {
		msg_init(&m, QN_MSG_NODE_LIST);
		m.seq = c->seq++;
		m.node_list_type = types[i];
		m.nodes = nodes;
		m.node_count = 2;
		m.has = QN_BIT(QN_OPT_SEQ) | QN_BIT(QN_OPT_NODE_LIST_TYPE) |
		    QN_BIT(QN_OPT_NODE_INFO);
		if (types[i] == QN_LIST_MEMBERSHIP) {
			m.ring_id = (struct qn_ring_id){ 1, 1 };
			m.has |= QN_BIT(QN_OPT_RING_ID);
		}
		if (types[i] == QN_LIST_QUORUM) {
			nodes[0].state = nodes[1].state = QN_NODE_STATE_MEMBER;
			m.quorate = 1;
			m.has |= QN_BIT(QN_OPT_QUORATE);
		}
		qc_send(c, &m);
	}
}

/* The server works: a new client joins, gets a vote, echoes. */
static void
assert_serving(const struct srv *s, const char *cluster)
{
	struct qc c;
	struct msg r;
	int got_vote = 0;

	qc_connect(&c, s);
	ck_assert_int_eq(qc_join(&c, cluster, 1, QN_ALGO_FFSPLIT, 8000), 0);
	send_node_lists(&c, 1);
	/* ffsplit pushes the ACK in a VOTE_INFO. */
	while (!got_vote && qc_recv(&c, &r, TIMEOUT_MS) == 0) {
		got_vote = (r.type == QN_MSG_NODE_LIST_REPLY ||
		    r.type == QN_MSG_VOTE_INFO) && r.vote == QN_VOTE_ACK;
		msg_free(&r);
	}
	ck_assert_msg(got_vote, "no ACK for a new client");
	ck_assert_int_ge(qc_echo(&c, TIMEOUT_MS), 0);
	qc_close(&c);
}

/* ------------------------------------------------------------------ */
/* init_timeout */

/* An idle connection is dropped at init_timeout, with a log line. */
START_TEST(t_init_timeout_idle)
{
	struct srv s;
	struct qc c;
	int64_t t;

	srv_prepare(&s);
	SRV_START(&s, "-s", "off", "-S", "init_timeout=700");
	qc_connect(&c, &s);
	t = qc_wait_closed(&c, 5000);
	ck_assert_msg(t >= 600 && t < 3000, "closed after %" PRId64 " ms", t);
	ASSERT_LOG(&s, "Limit init_timeout = 700 reached by client 127.0.0.1:");
	qc_close(&c);
	srv_stop(&s);
}
END_TEST

/* Messages before INIT don't move the deadline; a refused INIT neither. */
START_TEST(t_init_timeout_messages)
{
	struct srv s;
	struct qc c;
	struct msg m, r;
	int64_t t0, t;

	srv_prepare(&s);
	SRV_START(&s, "-s", "off", "-S", "init_timeout=1000");
	qc_connect(&c, &s);
	t0 = now_ms();
	qc_preinit(&c, "x");
	/* A heartbeat that is too short: INIT refused (error 13). */
	init_msg(&m, &c, 1, QN_ALGO_FFSPLIT, 1);
	qc_send(&c, &m);
	ck_assert_int_eq(qc_recv(&c, &r, TIMEOUT_MS), 0);
	ck_assert_int_eq(r.reply_error_code, QN_ERR_INVALID_HEARTBEAT_INTERVAL);
	msg_free(&r);
	for (;;) {
		struct buf b;
		ssize_t n;

		buf_init(&b);
		echo_msg(&m, &c);
		msg_encode(&m, &b, SIZE_MAX);
		n = send(c.fd, b.data, b.len, MSG_NOSIGNAL);
		buf_free(&b);
		if (n < 0 || qc_recv(&c, &r, 150) == -2)
			break;
		msg_free(&r);
		ck_assert_int_lt(now_ms() - t0, 4000);
	}
	t = now_ms() - t0;
	ck_assert_msg(t >= 900 && t < 2500, "closed after %" PRId64 " ms", t);
	qc_close(&c);
	srv_stop(&s);
}
END_TEST

/* After INIT the deadline is gone; 3.0.3's dead-peer timer rules. */
START_TEST(t_init_timeout_then_dpd)
{
	struct srv s;
	struct qc c;
	int64_t t;

	srv_prepare(&s);
	SRV_START(&s, "-s", "off", "-S", "init_timeout=500");
	qc_connect(&c, &s);
	ck_assert_int_eq(qc_join(&c, "x", 1, QN_ALGO_FFSPLIT, 1000), 0);
	/* Alive past init_timeout while it sends heartbeats... */
	for (int i = 0; i < 6; i++) {
		sleep_ms(250);
		ck_assert_int_ge(qc_echo(&c, TIMEOUT_MS), 0);
	}
	/* ... then silent: dropped 1.5 x 1000 ms after its last message. */
	t = qc_wait_closed(&c, 5000);
	ck_assert_msg(t >= 1300 && t < 2500, "closed after %" PRId64 " ms", t);
	ASSERT_LOG(&s, "doesn't sent any message during 1500ms");
	qc_close(&c);
	srv_stop(&s);
}
END_TEST

/* init_timeout=0 restores 3.0.3: no deadline before INIT. */
START_TEST(t_init_timeout_off)
{
	struct srv s;
	struct qc c;

	srv_prepare(&s);
	SRV_START(&s, "-s", "off", "-S", "init_timeout=0");
	qc_connect(&c, &s);
	ck_assert_int_eq(qc_wait_closed(&c, 1500), -1);
	qc_close(&c);
	srv_stop(&s);
}
END_TEST

/*
 * A slow writer: one byte every 300 ms of a valid message.  Only complete
 * messages re-arm the dead-peer timer, so it is dropped 1.5 s after its
 * last complete message although bytes keep coming.
 */
START_TEST(t_slow_writer)
{
	struct srv s;
	struct qc c;
	struct msg m;
	struct buf b;
	int64_t t0;
	int closed = 0;

	srv_prepare(&s);
	SRV_START(&s, "-s", "off");
	qc_connect(&c, &s);
	ck_assert_int_eq(qc_join(&c, "x", 1, QN_ALGO_FFSPLIT, 1000), 0);
	t0 = now_ms();
	buf_init(&b);
	echo_msg(&m, &c);
	ck_assert_int_eq(msg_encode(&m, &b, SIZE_MAX), 0);
	for (size_t i = 0; i < b.len && !closed; i++) {
		ssize_t n = send(c.fd, b.data + i, 1, MSG_NOSIGNAL);

		if (n <= 0 || qc_wait_closed(&c, 300) >= 0)
			closed = 1;
	}
	if (!closed)
		closed = qc_wait_closed(&c, 3000) >= 0;
	ck_assert_msg(closed, "a dribbling client was not dropped");
	ck_assert_int_lt(now_ms() - t0, 2600);
	ASSERT_LOG(&s, "doesn't sent any message during 1500ms");
	buf_free(&b);
	qc_close(&c);
	srv_stop(&s);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Client limits */

/* -m: exact count, refusals logged once per burst, room again after. */
START_TEST(t_max_clients)
{
	struct srv s;
	struct qc c[3], x;

	srv_prepare(&s);
	SRV_START(&s, "-s", "off", "-m", "3");
	for (int i = 0; i < 3; i++)
		qc_connect(&c[i], &s);
	/* The three are served. */
	qc_preinit(&c[0], "x");
	for (int i = 0; i < 50; i++) {
		qc_connect(&x, &s);
		ck_assert_int_ge(qc_wait_closed(&x, TIMEOUT_MS), 0);
		qc_close(&x);
	}
	ASSERT_LOG(&s, "Limit max_clients (-m) = 3 reached by client");
	ck_assert_int_eq(log_count(&s, "Limit max_clients"), 1);
	/* One leaves: one more may come, and it is served. */
	qc_close(&c[1]);
	sleep_ms(100);
	qc_connect(&x, &s);
	qc_preinit(&x, "x");
	qc_close(&x);
	for (int i = 0; i < 3; i++)
		qc_close(&c[i]);
	srv_stop(&s);
}
END_TEST

/* Per source address (IP, not port), refused at accept. */
START_TEST(t_max_clients_per_address)
{
	struct srv s;
	struct qc a[2], x, other;

	srv_prepare(&s);
	SRV_START(&s, "-s", "off", "-S", "max_clients_per_address=2");
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(qc_connect_from(&a[i], &s, "127.0.0.1", 0), 0);
		qc_preinit(&a[i], "x");
	}
	ck_assert_int_eq(qc_connect_from(&x, &s, "127.0.0.1", 0), 0);
	ck_assert_int_ge(qc_wait_closed(&x, TIMEOUT_MS), 0);
	qc_close(&x);
	ASSERT_LOG(&s, "Limit max_clients_per_address = 2 reached by client "
	    "127.0.0.1:");
	/* Another address is not affected. */
	ck_assert_int_eq(qc_connect_from(&other, &s, "127.0.0.2", 0), 0);
	qc_preinit(&other, "x");
	/* A connection of the full address ends: room for one again. */
	qc_close(&a[0]);
	sleep_ms(100);
	ck_assert_int_eq(qc_connect_from(&x, &s, "127.0.0.1", 0), 0);
	qc_preinit(&x, "x");
	qc_close(&x);
	qc_close(&a[1]);
	qc_close(&other);
	srv_stop(&s);
}
END_TEST

/*
 * Fill one source address up to the default max_clients_per_address
 * (1024); the last one's PREINIT round trip shows that all were admitted
 * (they are admitted in the order they connect).
 */
static void
fill_address(struct qc *c, const struct srv *s, const char *src, int n)
{
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(qc_connect_from(&c[i], s, src, 0), 0);
	qc_preinit(&c[n - 1], "x");
}

/* Does a new connection from src get closed at once? */
static int
refused_from(const struct srv *s, const char *src)
{
	struct qc x;
	int refused;

	ck_assert_int_eq(qc_connect_from(&x, s, src, 0), 0);
	refused = qc_wait_closed(&x, TIMEOUT_MS) >= 0;
	qc_close(&x);
	return refused;
}

/*
 * The default 1024 per address refuses the 1,025th client behind one NAT
 * gateway.  It is logged at the default level once per address and
 * interval, however often that address retries, and a second address at
 * its limit within the same interval gets its own line.
 */
START_TEST(t_per_address_default)
{
	enum { PER_ADDRESS = 1024 };
	struct rlimit rl;
	struct qc *a = calloc(PER_ADDRESS, sizeof(*a));
	struct qc *b = calloc(PER_ADDRESS, sizeof(*b));
	struct qc other;
	struct srv s;

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 2 * PER_ADDRESS + 64)
		ck_abort_msg("open files hard limit %llu too low for this "
		    "test", (unsigned long long)rl.rlim_max);
	rl.rlim_cur = rl.rlim_max;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);

	srv_prepare(&s);
	s.no_debug = 1;
	/* No INIT in this test: nothing may be dropped for that meanwhile. */
	SRV_START(&s, "-s", "off", "-S", "init_timeout=0");
	fill_address(a, &s, "127.0.0.1", PER_ADDRESS);
	for (int i = 0; i < 20; i++)
		ck_assert_msg(refused_from(&s, "127.0.0.1"),
		    "connection %d over the limit was accepted", 1025 + i);
	ASSERT_LOG(&s, "Limit max_clients_per_address = 1024 reached by "
	    "client 127.0.0.1:");
	ck_assert_int_eq(log_count(&s, "reached by client 127.0.0.1:"), 1);

	/* Another address connects, and has its own limit and log line. */
	ck_assert_int_eq(qc_connect_from(&other, &s, "127.0.0.3", 0), 0);
	qc_preinit(&other, "x");
	fill_address(b, &s, "127.0.0.2", PER_ADDRESS);
	ck_assert(refused_from(&s, "127.0.0.2"));
	ASSERT_LOG(&s, "Limit max_clients_per_address = 1024 reached by "
	    "client 127.0.0.2:");
	ck_assert_int_eq(log_count(&s, "reached by client 127.0.0.2:"), 1);
	ck_assert_int_eq(log_count(&s, "reached by client 127.0.0.1:"), 1);

	for (int i = 0; i < PER_ADDRESS; i++) {
		qc_close(&a[i]);
		qc_close(&b[i]);
	}
	qc_close(&other);
	free(a);
	free(b);
	srv_stop(&s);
}
END_TEST

/* max_clusters: INIT of one more cluster gets error 10 (internal). */
START_TEST(t_max_clusters)
{
	struct srv s;
	struct qc a, b, c, a2;

	srv_prepare(&s);
	SRV_START(&s, "-s", "off", "-S", "max_clusters=2");
	qc_connect(&a, &s);
	qc_connect(&b, &s);
	qc_connect(&c, &s);
	qc_connect(&a2, &s);
	ck_assert_int_eq(qc_join(&a, "a", 1, QN_ALGO_FFSPLIT, 8000), 0);
	ck_assert_int_eq(qc_join(&b, "b", 1, QN_ALGO_FFSPLIT, 8000), 0);
	ck_assert_int_eq(qc_join(&c, "c", 1, QN_ALGO_FFSPLIT, 8000),
	    QN_ERR_INTERNAL_ERROR);
	ASSERT_LOG(&s, "Limit max_clusters = 2 reached by client");
	/* A known cluster still takes nodes. */
	ck_assert_int_eq(qc_join(&a2, "a", 2, QN_ALGO_FFSPLIT, 8000), 0);
	/* Once cluster b is gone, c fits (a new connection, as qdevice). */
	qc_close(&b);
	qc_close(&c);
	sleep_ms(200);
	qc_connect(&c, &s);
	ck_assert_int_eq(qc_join(&c, "c", 1, QN_ALGO_FFSPLIT, 8000), 0);
	qc_close(&a);
	qc_close(&a2);
	qc_close(&c);
	srv_stop(&s);
}
END_TEST

/*
 * The daemon's hard open files limit is 150: -m 1000 can't be had.  It
 * says so at start, and the clients beyond what the limit allows are
 * refused at accept with a log line naming the limit, while those in are
 * served.
 */
START_TEST(t_open_files_limit)
{
	struct srv s;
	struct qc c[160];
	int accepted = 0;

	srv_prepare(&s);
	s.nofile = 150;
	SRV_START(&s, "-s", "off", "-m", "1000");
	ASSERT_LOG(&s, "max_clients (-m) 1000 needs");
	ck_assert_int_gt(log_count(&s, "raise the hard limit"), 0);
	for (size_t i = 0; i < ARRAY_LEN(c); i++) {
		struct msg m, r;

		qc_connect(&c[i], &s);
		msg_init(&m, QN_MSG_PREINIT);
		m.seq = 1;
		m.cluster_name = "x";
		m.cluster_name_len = 1;
		m.has = QN_BIT(QN_OPT_SEQ) | QN_BIT(QN_OPT_CLUSTER_NAME);
		qc_send(&c[i], &m);
		if (qc_recv(&c[i], &r, TIMEOUT_MS) == 0) {
			accepted++;
			msg_free(&r);
		}
	}
	ck_assert_int_gt(accepted, 20);
	ck_assert_int_lt(accepted, 150);
	ASSERT_LOG(&s, "Limit open files (RLIMIT_NOFILE)");
	for (size_t i = 0; i < ARRAY_LEN(c); i++)
		qc_close(&c[i]);
	assert_serving(&s, "after");
	srv_stop(&s);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Slow readers and floods */

/*
 * A client that never reads: its replies fill the socket, then its send
 * queue; it is disconnected with a log line naming the limit.  Another
 * client is served throughout.
 */
START_TEST(t_slow_reader)
{
	struct srv s;
	struct qc bad, good;
	struct buf b;
	int64_t t0 = now_ms();
	int dropped = 0;

	srv_prepare(&s);
	SRV_START(&s, "-s", "off", "-S", "max_client_message_rate=0");
	ck_assert_int_eq(qc_connect_from(&bad, &s, NULL, 4096), 0);
	qc_connect(&good, &s);
	ck_assert_int_eq(qc_join(&bad, "x", 1, QN_ALGO_FFSPLIT, 8000), 0);
	ck_assert_int_eq(qc_join(&good, "y", 1, QN_ALGO_FFSPLIT, 8000), 0);
	fcntl(bad.fd, F_SETFL, O_NONBLOCK);
	big_echo(&b, 100, 16000);
	while (!dropped && now_ms() - t0 < 20000) {
		ssize_t n = send(bad.fd, b.data, b.len, MSG_NOSIGNAL);

		if (n < 0 && errno != EAGAIN)
			dropped = 1;
		else if (n < 0 || (size_t)n < b.len) {
			/* It is full both ways: is the server still there? */
			ck_assert_int_ge(qc_echo(&good, TIMEOUT_MS), 0);
			dropped = log_count(&s, "send queue full") > 0;
			if (!dropped)
				sleep_ms(20);
		}
	}
	ck_assert_msg(dropped, "a client that never reads was not dropped");
	ASSERT_LOG(&s, "Limit max_client_send_bytes = 262144 reached by "
	    "client 127.0.0.1:");
	ck_assert_int_ge(qc_echo(&good, TIMEOUT_MS), 0);
	buf_free(&b);
	qc_close(&bad);
	qc_close(&good);
	srv_stop(&s);
}
END_TEST

/* The same with only the message count bound (3.0.3's). */
START_TEST(t_slow_reader_buffers)
{
	struct srv s;
	struct qc bad;
	struct msg m;
	int64_t t0 = now_ms();

	srv_prepare(&s);
	SRV_START(&s, "-s", "off", "-S", "max_client_message_rate=0,"
	    "max_client_send_bytes=0,max_client_send_buffers=4");
	ck_assert_int_eq(qc_connect_from(&bad, &s, NULL, 4096), 0);
	ck_assert_int_eq(qc_join(&bad, "x", 1, QN_ALGO_FFSPLIT, 8000), 0);
	fcntl(bad.fd, F_SETFL, O_NONBLOCK);
	while (log_count(&s, "send queue full") == 0 &&
	    now_ms() - t0 < 20000) {
		struct buf b;

		buf_init(&b);
		for (int i = 0; i < 64; i++) {
			echo_msg(&m, &bad);
			msg_encode(&m, &b, SIZE_MAX);
		}
		if (send(bad.fd, b.data, b.len, MSG_NOSIGNAL) < 0 &&
		    errno != EAGAIN)
			break;
		buf_free(&b);
		sleep_ms(1);
	}
	ASSERT_LOG(&s, "Limit max_client_send_buffers = 4 reached by client");
	qc_close(&bad);
	assert_serving(&s, "after");
	srv_stop(&s);
}
END_TEST

/*
 * One client floods ECHO_REQUESTs (reading the replies); another's echo
 * round trips stay short, the flooder is held to the rate and the
 * daemon's memory does not grow.
 */
START_TEST(t_flood_fairness)
{
	struct srv s;
	struct qc flood, quiet;
	struct buf b;
	struct msg m;
	int64_t rtt[60], t0, flood_end;
	long rss0, rss1;
	size_t replies = 0, got = 0;
	uint8_t tmp[65536];

	srv_prepare(&s);
	SRV_START(&s, "-s", "off", "-S", "max_client_message_rate=200");
	qc_connect(&flood, &s);
	qc_connect(&quiet, &s);
	ck_assert_int_eq(qc_join(&flood, "f", 1, QN_ALGO_FFSPLIT, 8000), 0);
	ck_assert_int_eq(qc_join(&quiet, "q", 1, QN_ALGO_FFSPLIT, 8000), 0);
	rss0 = srv_rss_kb(&s);
	fcntl(flood.fd, F_SETFL, O_NONBLOCK);
	buf_init(&b);
	for (int i = 0; i < 256; i++) {
		echo_msg(&m, &flood);
		msg_encode(&m, &b, SIZE_MAX);
	}
	t0 = now_ms();
	flood_end = t0 + 3000;
	for (size_t k = 0; k < ARRAY_LEN(rtt); k++) {
		/* Flood between the quiet client's echoes. */
		int64_t until = now_ms() + 40;

		while (now_ms() < until) {
			ssize_t n;

			(void)!send(flood.fd, b.data, b.len, MSG_NOSIGNAL);
			while ((n = read(flood.fd, tmp, sizeof(tmp))) > 0)
				got += (size_t)n;
		}
		rtt[k] = qc_echo(&quiet, TIMEOUT_MS);
		ck_assert_int_ge(rtt[k], 0);
	}
	(void)flood_end;
	/* Echo replies of this size: 12 bytes each. */
	replies = got / 12;
	for (size_t i = 1; i < ARRAY_LEN(rtt); i++)
		for (size_t j = i; j > 0 && rtt[j - 1] > rtt[j]; j--) {
			int64_t t = rtt[j];

			rtt[j] = rtt[j - 1];
			rtt[j - 1] = t;
		}
	printf("flood: %zu replies in %" PRId64 " ms; quiet client echo "
	    "p50 %" PRId64 " ms, max %" PRId64 " ms\n", replies,
	    now_ms() - t0, rtt[ARRAY_LEN(rtt) / 2], rtt[ARRAY_LEN(rtt) - 1]);
	/* 200/s plus a one-second burst, over about 2.4 s. */
	ck_assert_int_lt(replies, 200 * 5);
	ck_assert_int_lt(rtt[ARRAY_LEN(rtt) - 2], 100);
	ASSERT_LOG(&s, "Limit max_client_message_rate = 200 reached by client");
	rss1 = srv_rss_kb(&s);
	ck_assert_msg(rss1 - rss0 < 8192, "RSS grew from %ld to %ld kB", rss0,
	    rss1);
	buf_free(&b);
	qc_close(&flood);
	qc_close(&quiet);
	srv_stop(&s);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Clients vanishing at awkward moments */

/*
 * PROTOCOL.md §14.1: two clients of one cluster complete INIT and leave
 * before any node list (3.0.3 crashes).  Each algorithm, twice.
 */
START_TEST(t_init_then_gone)
{
	static const uint8_t algos[] = { QN_ALGO_FFSPLIT, QN_ALGO_LMS,
	    QN_ALGO_2NODELMS, QN_ALGO_TEST };
	struct srv s;

	srv_prepare(&s);
	SRV_START(&s, "-s", "off");
	for (size_t a = 0; a < ARRAY_LEN(algos); a++) {
		for (int round = 0; round < 2; round++) {
			struct qc c1, c2;

			qc_connect(&c1, &s);
			qc_connect(&c2, &s);
			ck_assert_int_eq(qc_join(&c1, "gone", 1, algos[a], 8000),
			    0);
			ck_assert_int_eq(qc_join(&c2, "gone", 2, algos[a], 8000),
			    0);
			qc_close(&c1);
			qc_close(&c2);
			sleep_ms(50);
			ck_assert_msg(srv_alive(&s), "qnetd died (algorithm %u)",
			    algos[a]);
		}
	}
	/* One with lists, one without, the listed one stays. */
	{
		struct qc c1, c2;
		struct msg r;

		qc_connect(&c1, &s);
		qc_connect(&c2, &s);
		ck_assert_int_eq(qc_join(&c1, "half", 1, QN_ALGO_FFSPLIT, 8000),
		    0);
		send_node_lists(&c1, 1);
		ck_assert_int_eq(qc_join(&c2, "half", 2, QN_ALGO_FFSPLIT, 8000),
		    0);
		qc_close(&c2);
		sleep_ms(100);
		while (qc_recv(&c1, &r, 300) == 0)
			msg_free(&r);
		ck_assert_int_ge(qc_echo(&c1, TIMEOUT_MS), 0);
		qc_close(&c1);
	}
	assert_serving(&s, "after");
	srv_stop(&s);
}
END_TEST

/* Mid-message: a header promising more, a partial body, then gone. */
START_TEST(t_gone_mid_message)
{
	static const uint8_t partial[] = { 0, 3, 0, 0, 0, 100, 0, 0, 0, 4 };
	/* Longer than max_client_receive_size: being skipped. */
	static const uint8_t huge[] = { 0, 8, 0x7f, 0xff, 0xff, 0xff, 1, 2 };
	struct srv s;

	srv_prepare(&s);
	SRV_START(&s, "-s", "off");
	for (int i = 0; i < 20; i++) {
		struct qc c;

		qc_connect(&c, &s);
		if (i % 3 == 1)
			qc_preinit(&c, "x");
		if (i % 2 == 0)
			qc_write(&c, partial, 3 + (size_t)i % 7);
		else
			qc_write(&c, huge, sizeof(huge));
		qc_close(&c);
	}
	{
		/* After INIT, a node list cut in the middle. */
		struct qc c;
		struct msg m;
		struct buf b;
		struct qn_node nodes[2] = { { .node_id = 1 }, { .node_id = 2 } };

		qc_connect(&c, &s);
		ck_assert_int_eq(qc_join(&c, "x", 1, QN_ALGO_FFSPLIT, 8000), 0);
		msg_init(&m, QN_MSG_NODE_LIST);
		m.seq = 9;
		m.node_list_type = QN_LIST_INITIAL_CONFIG;
		m.nodes = nodes;
		m.node_count = 2;
		m.has = QN_BIT(QN_OPT_SEQ) | QN_BIT(QN_OPT_NODE_LIST_TYPE) |
		    QN_BIT(QN_OPT_NODE_INFO);
		buf_init(&b);
		msg_encode(&m, &b, SIZE_MAX);
		qc_write(&c, b.data, b.len - 5);
		buf_free(&b);
		qc_close(&c);
	}
	sleep_ms(100);
	assert_serving(&s, "after");
	srv_stop(&s);
}
END_TEST

static void
qc_starttls(struct qc *c)
{
	struct msg m;

	msg_init(&m, QN_MSG_STARTTLS);
	m.seq = c->seq++;
	m.has = QN_BIT(QN_OPT_SEQ);
	qc_send(c, &m);
}

/*
 * Mid-TLS-handshake: after STARTTLS, a ClientHello and gone; a ClientHello
 * cut short; gone after the server's first flight; and garbage instead of
 * TLS.  The daemon serves on.
 */
START_TEST(t_gone_mid_tls)
{
	char settings[PATH_MAX + 32];
	SSL_CTX *ctx;
	struct srv s;

	if (!have_nss) {
		printf("note: no NSS certutil: mid-TLS test skipped\n");
		return;
	}
	snprintf(settings, sizeof(settings), "nss_db_dir=%s", nss_dir);
	srv_prepare(&s);
	SRV_START(&s, "-s", "on", "-c", "off", "-S", settings);
	ctx = SSL_CTX_new(TLS_client_method());
	ck_assert_ptr_nonnull(ctx);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	for (int mode = 0; mode < 4; mode++) {
		for (int i = 0; i < 5; i++) {
			struct qc c;
			SSL *ssl;
			int r;

			qc_connect(&c, &s);
			qc_preinit(&c, "tls");
			qc_starttls(&c);
			if (mode == 3) {
				qc_write(&c, "GET / HTTP/1.0\r\n\r\n", 18);
				qc_wait_closed(&c, TIMEOUT_MS);
				qc_close(&c);
				continue;
			}
			if (mode == 1) {
				/* A ClientHello record header, 6 of 200 bytes. */
				static const uint8_t hello[] = { 0x16, 3, 1, 0,
				    0xc8, 1, 0, 0, 0xc4, 3, 3 };

				qc_write(&c, hello, sizeof(hello));
				qc_close(&c);
				continue;
			}
			ssl = SSL_new(ctx);
			fcntl(c.fd, F_SETFL, O_NONBLOCK);
			SSL_set_fd(ssl, c.fd);
			/* The ClientHello goes out; on loopback the handshake
			 * may even finish at once. */
			r = SSL_connect(ssl);
			if (mode == 2 && r <= 0) {
				struct pollfd p = { .fd = c.fd,
				    .events = POLLIN };

				poll(&p, 1, TIMEOUT_MS);
				(void)SSL_connect(ssl);
			}
			SSL_free(ssl);
			qc_close(&c);
		}
		ck_assert_msg(srv_alive(&s), "qnetd died (mode %d)", mode);
	}
	SSL_CTX_free(ctx);
	assert_serving(&s, "after");
	srv_stop(&s);
}
END_TEST

/* An OpenSSL handshake on fd (made non-blocking) within ms: its SSL or NULL. */
static SSL *
tls_connect_within(SSL_CTX *ctx, int fd, int ms)
{
	int64_t deadline = now_ms() + ms;
	SSL *ssl = SSL_new(ctx);
	int r;

	fcntl(fd, F_SETFL, O_NONBLOCK);
	SSL_set_fd(ssl, fd);
	while (now_ms() < deadline) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if ((r = SSL_connect(ssl)) == 1)
			return ssl;
		if (SSL_get_error(ssl, r) != SSL_ERROR_WANT_READ)
			break;
		poll(&p, 1, 50);
	}
	SSL_free(ssl);
	return NULL;
}

/* Does an OpenSSL handshake on fd finish within ms? */
static int
tls_handshake_within(SSL_CTX *ctx, int fd, int ms)
{
	SSL *ssl = tls_connect_within(ctx, fd, ms);

	SSL_free(ssl);
	return ssl != NULL;
}

/*
 * max_tls_handshakes=1: while one handshake is in progress (a client that
 * sent STARTTLS and stalls), the next waits; it proceeds once the first
 * is over, or has stalled for tls_handshake_stall_timeout.  A client that
 * gives up while waiting costs no handshake.
 */
START_TEST(t_tls_handshake_slots)
{
	char settings[PATH_MAX + 96];
	struct qc staller, waiter, quitter;
	SSL_CTX *ctx;
	struct srv s;

	if (!have_nss) {
		printf("note: no NSS certutil: TLS handshake test skipped\n");
		return;
	}
	snprintf(settings, sizeof(settings), "nss_db_dir=%s,"
	    "max_tls_handshakes=1,tls_handshake_stall_timeout=2000", nss_dir);
	srv_prepare(&s);
	SRV_START(&s, "-s", "on", "-c", "off", "-S", settings);
	ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	qc_connect(&staller, &s);
	qc_preinit(&staller, "tls");
	qc_starttls(&staller);
	sleep_ms(100);
	/* One that gives up while waiting. */
	qc_connect(&quitter, &s);
	qc_preinit(&quitter, "tls");
	qc_starttls(&quitter);
	qc_connect(&waiter, &s);
	qc_preinit(&waiter, "tls");
	qc_starttls(&waiter);
	ck_assert_msg(!tls_handshake_within(ctx, waiter.fd, 700),
	    "a second handshake ran beside the first");
	ASSERT_LOG(&s, "Limit max_tls_handshakes = 1 reached by client");
	qc_close(&quitter);
	qc_close(&waiter);
	qc_connect(&waiter, &s);
	qc_preinit(&waiter, "tls");
	qc_starttls(&waiter);
	sleep_ms(100);
	/* The stalled one ends: the quitter is skipped, the waiter served. */
	qc_close(&staller);
	ck_assert_msg(tls_handshake_within(ctx, waiter.fd, TIMEOUT_MS),
	    "the waiting handshake did not proceed");
	ASSERT_LOG(&s, "gone while waiting for its TLS handshake");
	qc_close(&waiter);
	/* A staller that stays holds its slot for 2 s only. */
	qc_connect(&staller, &s);
	qc_preinit(&staller, "tls");
	qc_starttls(&staller);
	sleep_ms(100);
	qc_connect(&waiter, &s);
	qc_preinit(&waiter, "tls");
	qc_starttls(&waiter);
	ck_assert_msg(tls_handshake_within(ctx, waiter.fd, 3500),
	    "a stalled handshake blocks the others for good");
	qc_close(&waiter);
	qc_close(&staller);
	SSL_CTX_free(ctx);
	assert_serving(&s, "after");
	srv_stop(&s);
}
END_TEST

/* A ClientHello as OpenSSL sends it: into out, and its length. */
static size_t
client_hello(uint8_t *out, size_t cap)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	BIO *from = BIO_new(BIO_s_mem()), *to = BIO_new(BIO_s_mem());
	SSL *ssl;
	int n;

	ck_assert_ptr_nonnull(ctx);
	ssl = SSL_new(ctx);
	SSL_set_bio(ssl, from, to);
	ck_assert_int_le(SSL_connect(ssl), 0);
	n = BIO_read(to, out, (int)cap);
	ck_assert_int_gt(n, 0);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	return (size_t)n;
}

/*
 * The attack of issue 10 (item 3), in a child process until it is killed:
 * per_second connections from the addresses srcs in turn, each sending
 * PREINIT, STARTTLS and a ClientHello at once and then nothing, reading
 * nothing.  Its connections end with it.
 */
static pid_t
stall_attack(const struct srv *s, const char *const *srcs, size_t nsrcs,
    int per_second)
{
	uint8_t hello[4096];
	size_t hello_len = client_hello(hello, sizeof(hello));
	struct buf b;
	struct msg m;
	pid_t pid;

	buf_init(&b);
	msg_init(&m, QN_MSG_PREINIT);
	m.seq = 1;
	m.cluster_name = "attack";
	m.cluster_name_len = strlen(m.cluster_name);
	m.has = QN_BIT(QN_OPT_SEQ) | QN_BIT(QN_OPT_CLUSTER_NAME);
	ck_assert_int_eq(msg_encode(&m, &b, SIZE_MAX), 0);
	msg_init(&m, QN_MSG_STARTTLS);
	m.seq = 2;
	m.has = QN_BIT(QN_OPT_SEQ);
	ck_assert_int_eq(msg_encode(&m, &b, SIZE_MAX), 0);
	buf_put(&b, hello, hello_len);
	ck_assert(!b.failed);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int64_t next = now_ms();

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (size_t i = 0;; i++) {
			struct sockaddr_in to = { .sin_family = AF_INET,
			    .sin_port = htons((uint16_t)s->port),
			    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
			struct sockaddr_in from = { .sin_family = AF_INET };
			int fd = socket(AF_INET, SOCK_STREAM, 0);

			inet_pton(AF_INET, srcs[i % nsrcs], &from.sin_addr);
			if (fd >= 0 && bind(fd, (struct sockaddr *)&from,
			    sizeof(from)) == 0 && connect(fd,
			    (struct sockaddr *)&to, sizeof(to)) == 0)
				(void)send(fd, b.data, b.len, MSG_NOSIGNAL);
			next += 1000 / per_second;
			if (next > now_ms())
				sleep_ms((int)(next - now_ms()));
		}
	}
	buf_free(&b);
	return pid;
}

/*
 * A well-behaved TLS client from 127.0.0.1: PREINIT, STARTTLS, handshake,
 * INIT and its node lists.  Milliseconds from its connect to its ACK, or
 * -1 when that did not come within ms.
 */
static int64_t
tls_client_vote_within(const struct srv *s, SSL_CTX *ctx, int ms)
{
	int64_t t0 = now_ms(), deadline = t0 + ms;
	struct qc c;
	struct msg m, r;
	int got_vote = 0;

	ck_assert_int_eq(qc_connect_from(&c, s, "127.0.0.1", 0), 0);
	qc_preinit(&c, "good");
	qc_starttls(&c);
	c.ssl = tls_connect_within(ctx, c.fd, (int)(deadline - now_ms()));
	if (c.ssl != NULL) {
		init_msg(&m, &c, 1, QN_ALGO_FFSPLIT, 8000);
		qc_send(&c, &m);
		if (qc_recv(&c, &r, (int)(deadline - now_ms())) == 0) {
			ck_assert_int_eq(r.type, QN_MSG_INIT_REPLY);
			ck_assert_int_eq(r.reply_error_code, 0);
			msg_free(&r);
			send_node_lists(&c, 1);
		}
	}
	while (c.ssl != NULL && !got_vote &&
	    qc_recv(&c, &r, (int)(deadline - now_ms())) == 0) {
		got_vote = (r.type == QN_MSG_NODE_LIST_REPLY ||
		    r.type == QN_MSG_VOTE_INFO) && r.vote == QN_VOTE_ACK;
		msg_free(&r);
	}
	qc_close(&c);
	return got_vote ? now_ms() - t0 : -1;
}

/*
 * Handshake slots can't be starved (issue 10, item 3): with
 * max_tls_handshakes 16, 25 connections a second that send a ClientHello
 * and stall, from one address and then spread over eight.  Good TLS
 * clients that come one after the other once the attack is under way
 * (so at any moment of it, and after a qdevice's 8 s connect timeout has
 * passed since it began) each get their vote within those 8 s.
 */
#define GOOD_CLIENTS	5

START_TEST(t_tls_handshake_starvation)
{
	static const char *const one[] = { "127.0.0.2" };
	static const char *const eight[] = { "127.0.0.2", "127.0.0.3",
	    "127.0.0.4", "127.0.0.5", "127.0.0.6", "127.0.0.7", "127.0.0.8",
	    "127.0.0.9" };
	static const struct {
		const char *const *srcs;
		size_t n;
	} attacks[] = { { one, ARRAY_LEN(one) }, { eight, ARRAY_LEN(eight) } };
	char settings[PATH_MAX + 64];
	SSL_CTX *ctx;

	if (!have_nss) {
		printf("note: no NSS certutil: handshake starvation test "
		    "skipped\n");
		return;
	}
	snprintf(settings, sizeof(settings), "nss_db_dir=%s,"
	    "max_tls_handshakes=16", nss_dir);
	ctx = SSL_CTX_new(TLS_client_method());
	ck_assert_ptr_nonnull(ctx);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	for (size_t i = 0; i < ARRAY_LEN(attacks); i++) {
		struct srv s;
		int64_t t = -1, worst = 0;
		pid_t pid;

		srv_prepare(&s);
		SRV_START(&s, "-s", "on", "-c", "off", "-S", settings);
		pid = stall_attack(&s, attacks[i].srcs, attacks[i].n, 25);
		/* Every slot taken, the queue growing. */
		sleep_ms(3000);
		for (int k = 0; k < GOOD_CLIENTS; k++) {
			if ((t = tls_client_vote_within(&s, ctx, 8000)) < 0)
				break;
			worst = t > worst ? t : worst;
			sleep_ms(150);
		}
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		ck_assert_msg(t >= 0, "a good TLS client got no vote within "
		    "8 s while %zu address(es) stalled TLS handshakes",
		    attacks[i].n);
		printf("note: under attack from %zu address(es), %d good TLS "
		    "clients voted, the slowest after %" PRId64 " ms\n",
		    attacks[i].n, GOOD_CLIENTS, worst);
		assert_serving(&s, "after");
		srv_stop(&s);
	}
	SSL_CTX_free(ctx);
}
END_TEST

/* The log can't be written (disk full): the daemon serves on. */
START_TEST(t_log_disk_full)
{
	struct srv s;
	struct qc c[3];

	srv_prepare(&s);
	s.stderr_full = 1;
	SRV_START(&s, "-s", "off", "-S", "init_timeout=300");
	for (int i = 0; i < 3; i++)
		qc_connect(&c[i], &s);
	ck_assert_int_ge(qc_wait_closed(&c[0], TIMEOUT_MS), 0);
	assert_serving(&s, "full");
	for (int i = 0; i < 3; i++)
		qc_close(&c[i]);
	srv_stop(&s);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Bad configuration: a message naming it, exit non-zero, nothing left */

/*
 * Run the daemon with args; it must exit non-zero within 10 s, say
 * something containing expect on stderr, and leave neither a listener nor
 * the IPC socket file.
 */
static void
assert_refused(struct srv *s, const char *expect, const char *const *args)
{
	int status;

	srv_spawn(s, args);
	if (!srv_wait(s, 10000, &status)) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, &status, 0);
		print_log(s);
		ck_abort_msg("qnetd did not exit");
	}
	if (log_count(s, expect) == 0)
		print_log(s);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) != 0,
	    "status %d", status);
	ck_assert_msg(log_count(s, expect) > 0, "no message \"%s\"", expect);
	ck_assert_int_eq(log_count(s, "AddressSanitizer"), 0);
	ck_assert(!port_listening(s->port));
	ck_assert_msg(access(s->sock, F_OK) != 0, "socket file left behind");
}

#define ASSERT_REFUSED(s, expect, ...) \
	assert_refused((s), (expect), (const char *const[]){ __VA_ARGS__, NULL })

START_TEST(t_bad_setting)
{
	struct srv s;

	srv_prepare(&s);
	ASSERT_REFUSED(&s, "Unknown option 'no_such_key'", "-s", "off", "-S",
	    "no_such_key=1");
	srv_prepare(&s);
	ASSERT_REFUSED(&s, "Invalid value '-1' for option 'max_clusters'",
	    "-s", "off", "-S", "max_clusters=-1");
	srv_prepare(&s);
	ASSERT_REFUSED(&s, "Invalid value '99999999999' for option "
	    "'init_timeout'", "-s", "off", "-S", "init_timeout=99999999999");
	srv_prepare(&s);
	ASSERT_REFUSED(&s, "Invalid value 'x' for option "
	    "'max_clients_per_address'", "-s", "off", "-S",
	    "max_clients_per_address=x");
	srv_prepare(&s);
	ASSERT_REFUSED(&s, "max clients value -5 is invalid", "-s", "off",
	    "-m", "-5");
}
END_TEST

START_TEST(t_bad_nss)
{
	char settings[PATH_MAX + 64];
	struct srv s;

	srv_prepare(&s);
	snprintf(settings, sizeof(settings), "nss_db_dir=%s/none", s.dir);
	ASSERT_REFUSED(&s, "Can't open NSS DB directory", "-s", "on", "-S",
	    settings);
	/* A directory that is no NSS database. */
	srv_prepare(&s);
	snprintf(settings, sizeof(settings), "nss_db_dir=%s", s.dir);
	{
		char junk[PATH_MAX + 16];
		FILE *f;

		snprintf(junk, sizeof(junk), "%s/cert9.db", s.dir);
		ck_assert_ptr_nonnull(f = fopen(junk, "w"));
		fputs("this is not a database\n", f);
		fclose(f);
	}
	ASSERT_REFUSED(&s, "NSS error", "-s", "on", "-S", settings);
	if (!have_nss)
		return;
	/* The certificate is not there. */
	srv_prepare(&s);
	snprintf(settings, sizeof(settings), "nss_db_dir=%s,cert_nickname="
	    "No Such Cert", nss_dir);
	ASSERT_REFUSED(&s, "can't load certificate 'No Such Cert'", "-s", "on",
	    "-S", settings);
}
END_TEST

START_TEST(t_lock_held)
{
	struct srv a, b;

	srv_prepare(&a);
	SRV_START(&a, "-s", "off");
	srv_prepare(&b);
	/* The same lock file, another port and socket. */
	snprintf(b.lock, sizeof(b.lock), "%s", a.lock);
	ASSERT_REFUSED(&b, "Another instance is running", "-s", "off");
	assert_serving(&a, "still");
	srv_stop(&a);
}
END_TEST

START_TEST(t_socket_path_too_long)
{
	struct srv s;
	char *p;

	srv_prepare(&s);
	p = s.sock + strlen(s.dir);
	*p++ = '/';
	while (p < s.sock + 200)
		*p++ = 'x';
	*p = '\0';
	ASSERT_REFUSED(&s, "Can't create local socket", "-s", "off");
	ck_assert_int_gt(log_count(&s, "too long"), 0);
}
END_TEST

/* The port is taken: the IPC socket created before is removed again. */
START_TEST(t_port_in_use)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct srv s;
	int fd, one = 1;

	srv_prepare(&s);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)s.port);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(fd, 1), 0);
	srv_spawn(&s, (const char *const[]){ "-s", "off", NULL });
	{
		int status;

		ck_assert(srv_wait(&s, 10000, &status));
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) != 0);
	}
	ck_assert_int_gt(log_count(&s, "Can't create listening socket"), 0);
	ck_assert_msg(access(s.sock, F_OK) != 0, "socket file left behind");
	close(fd);
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

/* A self-signed server certificate "QNetd Cert" in an NSS database. */
static void
make_nss(void)
{
	char cmd[4 * PATH_MAX];

	snprintf(nss_dir, sizeof(nss_dir), "%s/nssdb", base_dir);
	snprintf(cmd, sizeof(cmd), "command -v certutil >/dev/null && "
	    "mkdir -p '%s' && certutil -N -d 'sql:%s' --empty-password && "
	    "head -c 64 /dev/urandom > '%s/noise' && "
	    "certutil -S -d 'sql:%s' -n 'QNetd Cert' -s 'CN=qnetd' -x "
	    "-t 'CT,,' -z '%s/noise' -v 12 >'%s/certutil.log' 2>&1",
	    nss_dir, nss_dir, base_dir, nss_dir, base_dir, base_dir);
	have_nss = system(cmd) == 0;
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

static Suite *
limits_suite(void)
{
	Suite *s = suite_create("qnetd limits and faults");
	TCase *t;

	t = tcase_create("init_timeout");
	tcase_set_timeout(t, TEST_TIMEOUT);
	tcase_add_test(t, t_init_timeout_idle);
	tcase_add_test(t, t_init_timeout_messages);
	tcase_add_test(t, t_init_timeout_then_dpd);
	tcase_add_test(t, t_init_timeout_off);
	tcase_add_test(t, t_slow_writer);
	suite_add_tcase(s, t);

	t = tcase_create("client limits");
	tcase_set_timeout(t, TEST_TIMEOUT);
	tcase_add_test(t, t_max_clients);
	tcase_add_test(t, t_max_clients_per_address);
	tcase_add_test(t, t_per_address_default);
	tcase_add_test(t, t_max_clusters);
	tcase_add_test(t, t_open_files_limit);
	suite_add_tcase(s, t);

	t = tcase_create("readers and floods");
	tcase_set_timeout(t, TEST_TIMEOUT);
	tcase_add_test(t, t_slow_reader);
	tcase_add_test(t, t_slow_reader_buffers);
	tcase_add_test(t, t_flood_fairness);
	suite_add_tcase(s, t);

	t = tcase_create("faults");
	tcase_set_timeout(t, TEST_TIMEOUT);
	tcase_add_test(t, t_init_then_gone);
	tcase_add_test(t, t_gone_mid_message);
	tcase_add_test(t, t_gone_mid_tls);
	tcase_add_test(t, t_tls_handshake_slots);
	tcase_add_test(t, t_tls_handshake_starvation);
	tcase_add_test(t, t_log_disk_full);
	suite_add_tcase(s, t);

	t = tcase_create("bad configuration");
	tcase_set_timeout(t, TEST_TIMEOUT);
	tcase_add_test(t, t_bad_setting);
	tcase_add_test(t, t_bad_nss);
	tcase_add_test(t, t_lock_held);
	tcase_add_test(t, t_socket_path_too_long);
	tcase_add_test(t, t_port_in_use);
	suite_add_tcase(s, t);
	return s;
}

int
main(int argc, char **argv)
{
	SRunner *sr;
	int failed;

	(void)argc;
	signal(SIGPIPE, SIG_IGN);
	find_bin(argv[0]);
	snprintf(base_dir, sizeof(base_dir), "/tmp/qnetd-limits.XXXXXX");
	if (mkdtemp(base_dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	make_nss();
	sr = srunner_create(limits_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (failed != 0 || getenv("QNETD_TEST_KEEP") != NULL)
		printf("scratch directory kept: %s\n", base_dir);
	else
		nftw(base_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return failed == 0 ? 0 : 1;
}
