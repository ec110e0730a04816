/*
 * Message connections over loopback TCP: plain exchanges, queueing,
 * partial writes, closing from callbacks, oversized input, and the
 * STARTTLS upgrade with NSS certificates made by certutil for the run.
 *
 * TLS cases fork the client into its own process with its own NSS
 * database, as qdevice and qnetd run on different hosts; the client
 * reports through its exit status and stderr.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <check.h>
#include <qb/qblog.h>
#include <cert.h>

#include "buf.h"
#include "conn.h"
#include "msg.h"
#include "net.h"
#include "proto.h"
#include "tls.h"
#include "tls_anchor.h"

#define T_DATA		QN_MSG_ECHO_REQUEST	/* any known type */
#define T_UNKNOWN	99
#define MAX_SIZE	(2u * 1024 * 1024)
#define BIG_BODY	(1024u * 1024)
#define TLS_BIG_BODY	(300u * 1024)
#define SMALL_SNDBUF	4096
#define RUN_TIMEOUT_NS	(20ull * 1000 * 1000 * 1000)

static char nss_dir[64];	/* certificates made once for all cases */

/* ---------------------------------------------------------------- messages */

/* A message whose body starts with idx and continues with a pattern. */
static uint8_t *
msg_make(uint16_t type, uint32_t idx, size_t body, size_t *len)
{
	uint8_t *m = malloc(QN_HEADER_SIZE + body);
	size_t i;

	if (m == NULL)
		abort();
	m[0] = type >> 8;
	m[1] = (uint8_t)type;
	m[2] = (uint8_t)(body >> 24);
	m[3] = (uint8_t)(body >> 16);
	m[4] = (uint8_t)(body >> 8);
	m[5] = (uint8_t)body;
	for (i = 0; i < body; i++)
		m[QN_HEADER_SIZE + i] = (uint8_t)(idx * 31 + i);
	if (body >= 4) {
		m[6] = (uint8_t)(idx >> 24);
		m[7] = (uint8_t)(idx >> 16);
		m[8] = (uint8_t)(idx >> 8);
		m[9] = (uint8_t)idx;
	}
	*len = QN_HEADER_SIZE + body;
	return m;
}

/* Index of a message from msg_make(), or -1 when it is damaged. */
static long
msg_index(const uint8_t *m, size_t len)
{
	uint32_t idx;
	size_t i;

	if (len < QN_HEADER_SIZE + 4 || get_u32(m + 2) != len - QN_HEADER_SIZE)
		return -1;
	idx = get_u32(m + 6);
	for (i = 4; i < len - QN_HEADER_SIZE; i++)
		if (m[QN_HEADER_SIZE + i] != (uint8_t)(idx * 31 + i))
			return -1;
	return idx;
}

static int
send_msg(struct conn *c, uint16_t type, uint32_t idx, size_t body)
{
	size_t len;
	uint8_t *m = msg_make(type, idx, body, &len);
	int rc = conn_send_raw(c, m, len);

	free(m);
	return rc;
}

/* ------------------------------------------------------------------- peers */

struct peer;
typedef void (*msg_hook)(struct peer *p, enum reader_status st,
    const uint8_t *m, size_t len);

struct peer {
	struct conn conn;
	struct env *env;
	int up;			/* between conn_init/connect and on_closed */
	int connected, closed, drained, errors;
	enum conn_error err;
	int err_errno;
	unsigned nmsg, nbad;
	enum reader_status st[8];	/* first statuses received */
	size_t len[8];
	msg_hook hook;
	void (*on_up)(struct peer *p);
	void (*refill)(struct peer *p);
	unsigned to_send, sent;
	size_t max_recv, max_send, max_queue;
	void *data;
};

static void
peer_message(struct conn *c, enum reader_status st, const uint8_t *m,
    size_t len)
{
	struct peer *p = c->owner;

	if (p->nmsg < 8) {
		p->st[p->nmsg] = st;
		p->len[p->nmsg] = len;
	}
	p->nmsg++;
	if (p->hook != NULL)
		p->hook(p, st, m, len);
}

static void
peer_error(struct conn *c, enum conn_error e)
{
	struct peer *p = c->owner;

	p->err_errno = errno;
	p->errors++;
	p->err = e;
	conn_close(c);
}

static void
peer_connected(struct conn *c)
{
	struct peer *p = c->owner;

	p->connected = 1;
	if (p->on_up != NULL)
		p->on_up(p);
}

static void
peer_drained(struct conn *c)
{
	struct peer *p = c->owner;

	p->drained++;
	if (p->refill != NULL)
		p->refill(p);
}

static void
peer_closed(struct conn *c)
{
	struct peer *p = c->owner;

	p->closed++;
	p->up = 0;
}

static const struct conn_cb peer_cb = {
	.on_message = peer_message,
	.on_error = peer_error,
	.on_connected = peer_connected,
	.on_drained = peer_drained,
	.on_closed = peer_closed,
};

static void
peer_init(struct peer *p, struct env *e)
{
	memset(p, 0, sizeof(*p));
	p->env = e;
	p->max_recv = MAX_SIZE;
	p->max_send = MAX_SIZE;
	p->max_queue = 32;
}

/* ------------------------------------------------------------ environment */

struct env {
	uv_loop_t loop;
	struct conn_ctx ctx;
	uv_timer_t tick;	/* wakes the loop so RUN_UNTIL sees time pass */
	int lfd;
	uv_poll_t lpoll;
	uint16_t port;
	int accepted;
	char peer_addr[NET_ADDR_STRLEN];
	struct peer srv, cli;
};

static void
on_tick(uv_timer_t *t)
{
	(void)t;
}

static void
on_listen(uv_poll_t *h, int status, int events)
{
	struct env *e = h->data;
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd;

	(void)status;
	(void)events;
	while ((fd = net_accept(e->lfd, &ss, &sl)) >= 0) {
		e->accepted++;
		if (e->srv.up) {
			close(fd);
			continue;
		}
		net_format_addr((struct sockaddr *)&ss, e->peer_addr,
		    sizeof(e->peer_addr));
		if (conn_init(&e->srv.conn, &e->ctx, fd, &peer_cb, &e->srv,
		    e->srv.max_recv, e->srv.max_send, e->srv.max_queue) != 0) {
			close(fd);
			continue;
		}
		e->srv.up = 1;
	}
}

static uint16_t
local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* Loop, context and peers; a listening socket unless lfd is given (>= 0). */
static int
env_init(struct env *e, int lfd)
{
	memset(e, 0, sizeof(*e));
	peer_init(&e->srv, e);
	peer_init(&e->cli, e);
	e->lfd = lfd;
	if (uv_loop_init(&e->loop) != 0 || conn_ctx_init(&e->ctx, &e->loop) != 0)
		return -1;
	uv_timer_init(&e->loop, &e->tick);
	uv_timer_start(&e->tick, on_tick, 10, 10);
	if (lfd < 0)
		return 0;
	e->port = local_port(lfd);
	uv_poll_init(&e->loop, &e->lpoll, lfd);
	e->lpoll.data = e;
	uv_poll_start(&e->lpoll, UV_READABLE, on_listen);
	return 0;
}

static int
listen_local(void)
{
	char err[NET_ERR_LEN];
	int fd = net_listen("127.0.0.1", 0, 4, 16, err);

	if (fd < 0)
		fprintf(stderr, "%s\n", err);
	return fd;
}

static int
env_connect(struct env *e, uint16_t port)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (conn_connect(&e->cli.conn, &e->ctx, (struct sockaddr *)&sin,
	    sizeof(sin), &peer_cb, &e->cli, e->cli.max_recv, e->cli.max_send,
	    e->cli.max_queue) != 0)
		return -1;
	e->cli.up = 1;
	return 0;
}

#define RUN_UNTIL(e, expr) do {						\
	uint64_t end_ = uv_hrtime() + RUN_TIMEOUT_NS;			\
	while (!(expr) && uv_hrtime() < end_)				\
		uv_run(&(e)->loop, UV_RUN_ONCE);			\
} while (0)

/* Close what is open and check every handle went away. */
static int
env_done(struct env *e)
{
	if (e->srv.up)
		conn_close(&e->srv.conn);
	if (e->cli.up)
		conn_close(&e->cli.conn);
	if (e->lfd >= 0) {
		uv_close((uv_handle_t *)&e->lpoll, NULL);
		close(e->lfd);
	}
	uv_close((uv_handle_t *)&e->tick, NULL);
	conn_ctx_close(&e->ctx);
	uv_run(&e->loop, UV_RUN_DEFAULT);
	return uv_loop_close(&e->loop);
}

/* A listening environment; the test sets limits, then calls connect_plain. */
static void
start_plain(struct env *e)
{
	int lfd = listen_local();

	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(env_init(e, lfd), 0);
}

static void
connect_plain(struct env *e)
{
	ck_assert_int_eq(env_connect(e, e->port), 0);
	RUN_UNTIL(e, e->cli.connected && e->srv.up);
	ck_assert(e->cli.connected && e->srv.up);
}

/* -------------------------------------------------------------- net tests */

START_TEST(test_format_addr)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	char buf[NET_ADDR_STRLEN];

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(54321);
	inet_pton(AF_INET, "10.0.0.1", &sin.sin_addr);
	net_format_addr((struct sockaddr *)&sin, buf, sizeof(buf));
	ck_assert_str_eq(buf, "10.0.0.1:54321");

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(54321);
	inet_pton(AF_INET6, "::ffff:10.0.0.1", &sin6.sin6_addr);
	net_format_addr((struct sockaddr *)&sin6, buf, sizeof(buf));
	ck_assert_str_eq(buf, "::ffff:10.0.0.1:54321");

	inet_pton(AF_INET6, "::1", &sin6.sin6_addr);
	net_format_addr((struct sockaddr *)&sin6, buf, sizeof(buf));
	ck_assert_str_eq(buf, "::1:54321");

	inet_pton(AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255",
	    &sin6.sin6_addr);
	sin6.sin6_port = htons(65535);
	net_format_addr((struct sockaddr *)&sin6, buf, sizeof(buf));
	ck_assert_str_eq(buf, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff:65535");
}
END_TEST

START_TEST(test_resolve)
{
	char err[NET_ERR_LEN];
	struct addrinfo *res, *ai;

	ck_assert_int_eq(net_resolve("127.0.0.1", 5403, 4, &res, err), 0);
	ck_assert_int_eq(res->ai_family, AF_INET);
	ck_assert_int_eq(ntohs(((struct sockaddr_in *)res->ai_addr)->sin_port),
	    5403);
	freeaddrinfo(res);
	ck_assert_int_eq(net_resolve("127.0.0.1", 5403, 6, &res, err), -1);
	ck_assert_int_eq(net_resolve("::1", 5403, 4, &res, err), -1);
	ck_assert_int_eq(net_resolve("::1", 5403, 6, &res, err), 0);
	ck_assert_int_eq(res->ai_family, AF_INET6);
	freeaddrinfo(res);
	ck_assert_int_eq(net_resolve("localhost", 1, 4, &res, err), 0);
	for (ai = res; ai != NULL; ai = ai->ai_next)
		ck_assert_int_eq(ai->ai_family, AF_INET);
	freeaddrinfo(res);
	ck_assert_int_eq(net_resolve("localhost", 1, 5, &res, err), -1);
	ck_assert_ptr_nonnull(strstr(err, "IP version"));
	ck_assert_int_eq(net_resolve("no-such-host.invalid", 1, 0, &res, err),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "no-such-host.invalid"));
}
END_TEST

/* Accepted peers are shown as 3.0.3 shows them for each listener kind. */
static void
check_peer_addr(int lfd, const char *connect_to, const char *prefix)
{
	struct env e;
	struct sockaddr_storage ss;
	struct addrinfo *res;
	char err[NET_ERR_LEN], want[NET_ADDR_STRLEN];
	int fd;

	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(env_init(&e, lfd), 0);
	ck_assert_int_eq(net_resolve(connect_to, e.port, 0, &res, err), 0);
	ck_assert_int_eq(conn_connect(&e.cli.conn, &e.ctx, res->ai_addr,
	    res->ai_addrlen, &peer_cb, &e.cli, 64, 64, 4), 0);
	freeaddrinfo(res);
	e.cli.up = 1;
	RUN_UNTIL(&e, e.cli.connected && e.srv.up);
	ck_assert(e.srv.up);
	fd = e.cli.conn.fd;
	socklen_t sl = sizeof(ss);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
	snprintf(want, sizeof(want), "%s:%u", prefix, local_port(fd));
	ck_assert_str_eq(e.peer_addr, want);
	ck_assert_int_eq(env_done(&e), 0);
}

START_TEST(test_listen_kinds)
{
	char err[NET_ERR_LEN];
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd;

	/* Default: the IPv6 wildcard, IPv4 peers mapped. */
	fd = net_listen(NULL, 0, 0, 16, err);
	ck_assert_msg(fd >= 0, "%s", err);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
	if (ss.ss_family == AF_INET6) {
		check_peer_addr(fd, "127.0.0.1", "::ffff:127.0.0.1");
		check_peer_addr(net_listen(NULL, 0, 6, 16, err), "::1", "::1");
	} else {
		close(fd);	/* no IPv6 here: the IPv4 wildcard */
	}
	check_peer_addr(net_listen(NULL, 0, 4, 16, err), "127.0.0.1",
	    "127.0.0.1");
	check_peer_addr(net_listen("127.0.0.1", 0, 0, 16, err), "127.0.0.1",
	    "127.0.0.1");
	check_peer_addr(net_listen("localhost", 0, 4, 16, err), "127.0.0.1",
	    "127.0.0.1");

	/* A family restriction the address does not satisfy. */
	ck_assert_int_eq(net_listen("127.0.0.1", 0, 6, 16, err), -1);
	ck_assert_int_eq(net_listen("no-such-host.invalid", 0, 0, 16, err),
	    -1);
}
END_TEST

START_TEST(test_listen_busy)
{
	char err[NET_ERR_LEN];
	int fd = listen_local(), fd2;
	char port[8];

	ck_assert_int_ge(fd, 0);
	snprintf(port, sizeof(port), "%u", local_port(fd));
	fd2 = net_listen("127.0.0.1", local_port(fd), 4, 16, err);
	ck_assert_int_eq(fd2, -1);
	ck_assert_ptr_nonnull(strstr(err, "bind"));
	ck_assert_ptr_nonnull(strstr(err, port));
	close(fd);
}
END_TEST

/* ------------------------------------------------------------ plain tests */

static void
echo_hook(struct peer *p, enum reader_status st, const uint8_t *m,
    size_t len)
{
	if (st == READER_MESSAGE)
		ck_assert_int_eq(conn_send_raw(&p->conn, m, len), 0);
}

static void
count_hook(struct peer *p, enum reader_status st, const uint8_t *m,
    size_t len)
{
	if (st != READER_MESSAGE || msg_index(m, len) != p->nmsg - 1)
		p->nbad++;
}

START_TEST(test_plain_exchange)
{
	struct env e;
	unsigned i;

	start_plain(&e);
	e.srv.hook = echo_hook;
	e.cli.hook = count_hook;
	connect_plain(&e);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(send_msg(&e.cli.conn, T_DATA, i, 10 + i), 0);
	/* Queued, not written: nothing is sent during conn_send. */
	ck_assert_uint_eq(e.cli.conn.q_len, 3);
	RUN_UNTIL(&e, e.cli.nmsg == 3);
	ck_assert_uint_eq(e.srv.nmsg, 3);
	ck_assert_uint_eq(e.cli.nmsg, 3);
	ck_assert_uint_eq(e.cli.nbad, 0);
	ck_assert(!conn_is_tls(&e.cli.conn));
	ck_assert(!conn_peer_cert_present(&e.srv.conn));
	ck_assert(!conn_client_cert_sent(&e.cli.conn));
	ck_assert(!uv_is_active((uv_handle_t *)&e.ctx.idle));
	ck_assert_int_eq(e.srv.errors + e.cli.errors, 0);
	ck_assert_int_eq(env_done(&e), 0);
	ck_assert_int_eq(e.srv.closed, 1);
	ck_assert_int_eq(e.cli.closed, 1);
}
END_TEST

/* Sizes vary; one message in the middle is a megabyte. */
static size_t
flood_body(unsigned idx, unsigned total)
{
	return idx == total / 2 ? BIG_BODY : 4 + (idx * 37) % 3000;
}

static void
flood_refill(struct peer *p)
{
	while (p->sent < p->to_send) {
		if (send_msg(&p->conn, T_DATA, p->sent,
		    flood_body(p->sent, p->to_send)) != 0)
			return;		/* queue full: on_drained comes back */
		p->sent++;
	}
}

START_TEST(test_plain_flood)
{
	struct env e;
	int small = 4096;

	start_plain(&e);
	e.ctx.max_batch = 4;
	e.cli.max_queue = 8;
	e.cli.to_send = 3000;
	e.cli.refill = flood_refill;
	e.cli.on_up = flood_refill;
	e.srv.hook = count_hook;
	ck_assert_int_eq(env_connect(&e, e.port), 0);
	/* A small send buffer makes writes partial. */
	ck_assert_int_eq(setsockopt(e.cli.conn.fd, SOL_SOCKET, SO_SNDBUF,
	    &small, sizeof(small)), 0);
	RUN_UNTIL(&e, e.srv.nmsg == e.cli.to_send || e.srv.errors ||
	    e.cli.errors);
	ck_assert_uint_eq(e.srv.nmsg, e.cli.to_send);
	ck_assert_uint_eq(e.srv.nbad, 0);
	ck_assert_int_gt(e.cli.drained, 0);
	ck_assert_int_eq(e.srv.errors + e.cli.errors, 0);
	ck_assert_int_eq(env_done(&e), 0);
}
END_TEST

START_TEST(test_queue_limit)
{
	struct env e;
	unsigned i;

	start_plain(&e);
	e.cli.max_queue = 4;
	e.cli.max_send = 100;
	connect_plain(&e);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(send_msg(&e.cli.conn, T_DATA, i, 20), 0);
	ck_assert_int_eq(send_msg(&e.cli.conn, T_DATA, 4, 20), -1);
	ck_assert_uint_eq(e.cli.conn.q_len, 4);
	RUN_UNTIL(&e, e.srv.nmsg == 4 && e.cli.drained == 1);
	ck_assert_uint_eq(e.srv.nmsg, 4);
	ck_assert_int_eq(e.cli.drained, 1);
	/* Size limit: header included. */
	ck_assert_int_eq(send_msg(&e.cli.conn, T_DATA, 5, 100 - 6), 0);
	ck_assert_int_eq(send_msg(&e.cli.conn, T_DATA, 6, 100 - 5), -1);
	RUN_UNTIL(&e, e.srv.nmsg == 5);
	ck_assert_uint_eq(e.srv.nmsg, 5);
	ck_assert_int_eq(e.srv.errors + e.cli.errors, 0);
	ck_assert_int_eq(env_done(&e), 0);
}
END_TEST

static void
close_hook(struct peer *p, enum reader_status st, const uint8_t *m,
    size_t len)
{
	(void)st;
	(void)m;
	(void)len;
	conn_close(&p->conn);
	/* Nothing can be queued on a closed connection. */
	ck_assert_int_eq(send_msg(&p->conn, T_DATA, 0, 4), -1);
}

START_TEST(test_close_in_on_message)
{
	struct env e;
	unsigned i;

	start_plain(&e);
	e.srv.hook = close_hook;
	connect_plain(&e);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(send_msg(&e.cli.conn, T_DATA, i, 8), 0);
	RUN_UNTIL(&e, e.srv.closed && e.cli.closed);
	ck_assert_uint_eq(e.srv.nmsg, 1);
	ck_assert_int_eq(e.srv.errors, 0);
	ck_assert_int_eq(e.srv.closed, 1);
	/* Unread data makes the kernel reset instead of FIN. */
	ck_assert_int_eq(e.cli.errors, 1);
	ck_assert(e.cli.err == CONN_EOF || e.cli.err == CONN_IO);
	ck_assert_int_eq(env_done(&e), 0);
	ck_assert_int_eq(e.srv.closed, 1);
}
END_TEST

START_TEST(test_peer_eof)
{
	struct env e;

	start_plain(&e);
	connect_plain(&e);
	ck_assert_int_eq(send_msg(&e.cli.conn, T_DATA, 0, 8), 0);
	RUN_UNTIL(&e, e.srv.nmsg == 1);
	conn_close(&e.cli.conn);
	RUN_UNTIL(&e, e.srv.errors == 1);
	ck_assert_int_eq(e.srv.errors, 1);
	ck_assert_int_eq(e.srv.err, CONN_EOF);
	ck_assert_int_eq(e.cli.errors, 0);
	ck_assert_int_eq(env_done(&e), 0);
}
END_TEST

START_TEST(test_skipped_messages)
{
	struct env e;
	size_t len;
	uint8_t *m;

	start_plain(&e);
	e.srv.hook = echo_hook;	/* replies to complete messages only */
	e.cli.hook = count_hook;
	connect_plain(&e);
	conn_set_limits(&e.srv.conn, 64, MAX_SIZE);
	ck_assert_int_eq(send_msg(&e.cli.conn, T_DATA, 0, 100), 0);
	ck_assert_int_eq(send_msg(&e.cli.conn, T_UNKNOWN, 1, 10), 0);
	ck_assert_int_eq(send_msg(&e.cli.conn, T_DATA, 0, 64 - 6), 0);
	RUN_UNTIL(&e, e.srv.nmsg == 3);
	ck_assert_uint_eq(e.srv.nmsg, 3);
	ck_assert_int_eq(e.srv.st[0], READER_TOO_LONG);
	ck_assert_uint_eq(e.srv.len[0], QN_HEADER_SIZE);
	ck_assert_int_eq(e.srv.st[1], READER_UNSUPPORTED);
	ck_assert_int_eq(e.srv.st[2], READER_MESSAGE);
	ck_assert_uint_eq(e.srv.len[2], 64);
	/* The connection still works both ways. */
	RUN_UNTIL(&e, e.cli.nmsg == 1);
	ck_assert_uint_eq(e.cli.nmsg, 1);
	ck_assert_uint_eq(e.cli.nbad, 0);
	m = msg_make(T_DATA, 1, 64 - 5, &len);
	ck_assert_int_eq(conn_send_raw(&e.cli.conn, m, len), 0);
	free(m);
	RUN_UNTIL(&e, e.srv.nmsg == 4);
	ck_assert_int_eq(e.srv.st[3], READER_TOO_LONG);
	ck_assert_int_eq(e.srv.errors + e.cli.errors, 0);
	ck_assert_int_eq(env_done(&e), 0);
}
END_TEST

/* on_drained of the client closes the server side of the connection. */
static void
close_server_refill(struct peer *p)
{
	conn_close(&p->env->srv.conn);
}

START_TEST(test_close_other_from_idle)
{
	struct env e;

	start_plain(&e);
	e.cli.max_queue = 1;
	connect_plain(&e);
	/* The server waits on the ready list behind the client. */
	ck_assert_int_eq(send_msg(&e.srv.conn, T_DATA, 0, 8), 0);
	ck_assert_int_eq(send_msg(&e.cli.conn, T_DATA, 0, 8), 0);
	ck_assert_int_eq(send_msg(&e.cli.conn, T_DATA, 1, 8), -1);
	e.cli.refill = close_server_refill;
	RUN_UNTIL(&e, e.srv.closed && e.cli.errors);
	ck_assert_int_eq(e.cli.drained, 1);
	ck_assert_int_eq(e.srv.closed, 1);
	ck_assert_int_eq(e.srv.errors, 0);
	/* The server's message was dropped with the connection. */
	ck_assert_uint_eq(e.cli.nmsg, 0);
	ck_assert_int_eq(e.cli.errors, 1);
	/* The client's failed poll is stopped after the batch, then idle. */
	uv_run(&e.loop, UV_RUN_NOWAIT);
	ck_assert(!uv_is_active((uv_handle_t *)&e.ctx.idle));
	ck_assert_int_eq(env_done(&e), 0);
}
END_TEST

START_TEST(test_connect_refused)
{
	struct env e;
	int lfd = listen_local();
	uint16_t port = local_port(lfd);

	close(lfd);
	ck_assert_int_eq(env_init(&e, -1), 0);
	if (env_connect(&e, port) != 0) {
		ck_assert_int_eq(errno, ECONNREFUSED);
	} else {
		RUN_UNTIL(&e, e.cli.errors);
		ck_assert_int_eq(e.cli.errors, 1);
		ck_assert_int_eq(e.cli.err, CONN_CONNECT);
		ck_assert_int_eq(e.cli.err_errno, ECONNREFUSED);
		ck_assert(!e.cli.connected);
	}
	ck_assert_int_eq(env_done(&e), 0);
}
END_TEST

/* -------------------------------------------------------------- TLS tests */

/*
 * Certificates as the certutil scripts lay them out (BEHAVIOUR.md §6): the
 * qnetd database holds QNet CA and the server certificates; every client
 * database trusts QNet CA and holds its "Cluster Cert".  A second CA, which
 * nobody trusts, signs one client and one expired server certificate.
 * QNet CA also signs an expired cluster certificate and one that the qnetd
 * database explicitly distrusts ("p"): both must still be refused when the
 * server checks certificates from trusted roots in memory (tls_anchor.h).
 */
static const char make_certs[] =
	"set -e\n"
	"cd \"$1\"\n"
	": > pw\n"
	"head -c 64 /dev/urandom > noise\n"
	"for db in server ca2 client nocert wrongca wrongcn expiredcl"
	" distrust; do\n"
	"  mkdir $db; certutil -N -d sql:$db -f pw\n"
	"done\n"
	"ca() { printf 'y\\n\\ny\\n' | certutil -S -d sql:$1 -f pw -z noise"
	" -n \"$2\" -s \"CN=$2\" -x -t CT,, -2 -m 1 -v 1200; }\n"
	"ca server 'QNet CA'\n"
	"ca ca2 'Other CA'\n"
	"srv() { certutil -S -d sql:server -f pw -z noise -n \"$1\""
	" -s \"CN=$2\" -c 'QNet CA' -t u,u,u -m $3 $4; }\n"
	"srv 'QNetd Cert' 'Qnetd Server' 2 '-v 1200'\n"
	"srv 'Wrong Name Cert' 'Other Server' 3 '-v 1200'\n"
	"srv 'Expired Cert' 'Qnetd Server' 4 '-w -24 -v 12'\n"
	"srv 'Expired Wrong Name Cert' 'Other Server' 5 '-w -24 -v 12'\n"
	"certutil -R -d sql:server -f pw -z noise -s 'CN=Qnetd Server'"
	" -o untrusted.crq\n"
	"certutil -C -d sql:ca2 -f pw -c 'Other CA' -i untrusted.crq"
	" -o untrusted.crt -m 6 -w -24 -v 12\n"
	"certutil -A -d sql:server -n 'Expired Untrusted Cert' -t u,u,u"
	" -i untrusted.crt\n"
	"certutil -L -d sql:server -n 'QNet CA' -a > ca.pem\n"
	"for db in client nocert wrongca wrongcn expiredcl distrust; do\n"
	"  certutil -A -d sql:$db -n 'QNet CA' -t CT,c,c -a -i ca.pem\n"
	"done\n"
	"cluster() {\n"
	"  certutil -R -d sql:$1 -f pw -z noise -s \"CN=$2\" -o $1.crq\n"
	"  certutil -C -d sql:$3 -f pw -c \"$4\" -i $1.crq -o $1.crt -m $5"
	" ${6:--v 1200}\n"
	"  certutil -A -d sql:$1 -n 'Cluster Cert' -t u,u,u -i $1.crt\n"
	"}\n"
	"cluster client demo server 'QNet CA' 10\n"
	"cluster wrongcn wrong server 'QNet CA' 11\n"
	"cluster wrongca demo ca2 'Other CA' 12\n"
	"cluster expiredcl demo server 'QNet CA' 13 '-w -24 -v 12'\n"
	"cluster distrust demo server 'QNet CA' 14\n"
	"certutil -A -d sql:server -n 'Distrusted Cluster' -t p,p,p"
	" -i distrust.crt\n";

static int
certs_create(void)
{
	char cmd[sizeof(make_certs) + 128];
	FILE *f;

	strcpy(nss_dir, "/tmp/test_conn.XXXXXX");
	if (mkdtemp(nss_dir) == NULL)
		return -1;
	snprintf(cmd, sizeof(cmd), "sh -s '%s' >'%s/certutil.log' 2>&1",
	    nss_dir, nss_dir);
	if ((f = popen(cmd, "w")) == NULL)
		return -1;
	fputs(make_certs, f);
	if (pclose(f) != 0) {
		fprintf(stderr, "certutil failed, see %s/certutil.log\n",
		    nss_dir);
		return -1;
	}
	return 0;
}

static void
certs_remove(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", nss_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", nss_dir);
}

struct tls_case {
	const char *server_cert;
	int require_client_cert;
	const char *client_db;
	int expect_ok;			/* both sides exchange inside TLS */
	int expect_cert_sent;		/* the client presented its cert */
	const char *cluster_name;	/* its certificate matches this */
	int expect_expiry_warning;
};

/*
 * The message flow of a qdevice: one plain message and its reply, then
 * STARTTLS, then at once (no reply awaited) small messages, which travel
 * in one TLS record, and a big one, each answered by the server.
 */
enum { IDX_PLAIN, IDX_SMALL, IDX_BIG = IDX_SMALL + 5, IDX_COUNT };

static size_t
tls_body(unsigned idx)
{
	return idx == IDX_BIG ? TLS_BIG_BODY : 4 + idx * 10;
}

/* Partial writes everywhere, in the middle of TLS records too. */
static void
small_sndbuf(struct conn *c)
{
	int n = SMALL_SNDBUF;

	if (setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &n, sizeof(n)) != 0)
		abort();
}

/* --- client, in its own process --- */

struct client_ctx {
	const struct tls_case *tc;
	struct tls_client *cl;
	int fail;
	int warned;
};

#define CFAIL(cc, ...) do {						\
	fprintf(stderr, "tls client: " __VA_ARGS__);			\
	fputc('\n', stderr);						\
	(cc)->fail = 1;							\
} while (0)

static void
client_up(struct peer *p)
{
	struct client_ctx *cc = p->data;

	small_sndbuf(&p->conn);
	if (send_msg(&p->conn, T_DATA, IDX_PLAIN, tls_body(IDX_PLAIN)) != 0)
		CFAIL(cc, "cannot queue the plain message");
}

static void
client_hook(struct peer *p, enum reader_status st, const uint8_t *m,
    size_t len)
{
	struct client_ctx *cc = p->data;
	struct msg starttls;
	long idx = msg_index(m, len);
	int rc = 0;
	unsigned i;

	if (st != READER_MESSAGE || idx != (long)p->nmsg - 1) {
		CFAIL(cc, "unexpected message %u (index %ld)", p->nmsg, idx);
		return;
	}
	if (idx != IDX_PLAIN)
		return;
	if (conn_is_tls(&p->conn))
		CFAIL(cc, "TLS before STARTTLS");
	msg_init(&starttls, QN_MSG_STARTTLS);
	msg_set_seq(&starttls, 2);
	if (conn_send(&p->conn, &starttls) != 0 ||
	    conn_starttls_client(&p->conn, cc->cl) != 0)
		CFAIL(cc, "cannot start TLS");
	for (i = IDX_SMALL; i <= IDX_BIG; i++)
		rc |= send_msg(&p->conn, T_DATA, i, tls_body(i));
	if (rc != 0)
		CFAIL(cc, "cannot queue messages after STARTTLS");
}

static void
capture_log(int32_t target, struct qb_log_callsite *cs, struct timespec *ts,
    const char *msg)
{
	(void)target;
	(void)ts;
	if (cs->priority == LOG_WARNING &&
	    strcmp(msg, "Server certificate is expired.") == 0) {
		struct client_ctx *cc = qb_log_target_user_data_get(target);

		cc->warned++;
	}
}

static void
client_checks(struct client_ctx *cc, struct env *e)
{
	const struct tls_case *tc = cc->tc;
	struct peer *p = &e->cli;

	if (!tc->expect_ok) {
		if (p->errors != 1 || p->nmsg != 1)
			CFAIL(cc, "expected a refused handshake, got %d errors"
			    " and %u messages", p->errors, p->nmsg);
		return;
	}
	if (p->errors != 0 || p->nmsg != IDX_COUNT)
		CFAIL(cc, "%d errors (%d, %s), %u messages", p->errors,
		    p->err, tls_error(), p->nmsg);
	if (!conn_is_tls(&p->conn))
		CFAIL(cc, "not TLS");
	if (conn_client_cert_sent(&p->conn) != tc->expect_cert_sent)
		CFAIL(cc, "client certificate sent: %d",
		    conn_client_cert_sent(&p->conn));
	if (!conn_peer_cert_matches(&p->conn, "Qnetd Server") ||
	    conn_peer_cert_matches(&p->conn, "Other Server"))
		CFAIL(cc, "server certificate name");
	if (cc->warned != tc->expect_expiry_warning)
		CFAIL(cc, "expiry warnings: %d", cc->warned);
}

static int
client_main(const struct tls_case *tc, uint16_t port)
{
	char db[128];
	struct client_ctx cc;
	struct env e;
	int t;

	memset(&cc, 0, sizeof(cc));
	cc.tc = tc;
	qb_log_init("test_conn", LOG_USER, LOG_DEBUG);
	qb_log_ctl(QB_LOG_SYSLOG, QB_LOG_CONF_ENABLED, QB_FALSE);
	t = qb_log_custom_open(capture_log, NULL, NULL, &cc);
	qb_log_ctl(t, QB_LOG_CONF_ENABLED, QB_TRUE);
	qb_log_filter_ctl(t, QB_LOG_FILTER_ADD, QB_LOG_FILTER_FILE, "*",
	    LOG_DEBUG);
	snprintf(db, sizeof(db), "%s/%s", nss_dir, tc->client_db);
	if (tls_init(db) != 0) {
		fprintf(stderr, "tls client: NSS: %s\n", tls_error());
		return 2;
	}
	cc.cl = tls_client_new("Qnetd Server", "Cluster Cert");
	if (cc.cl == NULL || env_init(&e, -1) != 0)
		return 3;
	e.cli.data = &cc;
	e.cli.on_up = client_up;
	e.cli.hook = client_hook;
	if (env_connect(&e, port) != 0)
		return 4;
	RUN_UNTIL(&e, cc.fail || e.cli.errors || e.cli.nmsg == IDX_COUNT);
	client_checks(&cc, &e);
	if (env_done(&e) != 0)
		CFAIL(&cc, "handles left on the loop");
	tls_client_free(cc.cl);
	if (tls_shutdown() != 0)
		CFAIL(&cc, "NSS objects left at shutdown");
	qb_log_fini();
	return cc.fail;
}

/* --- server, in the test process --- */

struct server_ctx {
	const struct tls_case *tc;
	struct tls_server *srv;
	int starttls, peer_cert, name_ok, name_other, name_wrong;
};

static void
server_hook(struct peer *p, enum reader_status st, const uint8_t *m,
    size_t len)
{
	struct server_ctx *sc = p->data;
	long idx;

	ck_assert_int_eq(st, READER_MESSAGE);
	if (get_u16(m) == QN_MSG_STARTTLS) {
		ck_assert(!conn_is_tls(&p->conn));
		ck_assert_int_eq(conn_starttls_server(&p->conn, sc->srv), 0);
		sc->starttls = 1;
		return;
	}
	idx = msg_index(m, len);
	ck_assert_int_ge(idx, 0);
	ck_assert_int_eq(conn_is_tls(&p->conn), idx != IDX_PLAIN);
	if (idx == IDX_PLAIN)
		small_sndbuf(&p->conn);
	if (idx == IDX_SMALL) {
		sc->peer_cert = conn_peer_cert_present(&p->conn);
		sc->name_ok = conn_peer_cert_matches(&p->conn, "demo");
		sc->name_other = conn_peer_cert_matches(&p->conn, "other");
		sc->name_wrong = conn_peer_cert_matches(&p->conn, "wrong");
	}
	ck_assert_int_eq(send_msg(&p->conn, T_DATA, (uint32_t)idx,
	    tls_body((unsigned)idx)), 0);
}

static void
run_tls_case(const struct tls_case *tc)
{
	struct server_ctx sc;
	struct env e;
	char db[128];
	int lfd = listen_local(), status;
	uint16_t port;
	pid_t pid;

	ck_assert_int_ge(lfd, 0);
	port = local_port(lfd);
	/* NSS must not be initialised before fork(). */
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(lfd);
		exit(client_main(tc, port));
	}

	memset(&sc, 0, sizeof(sc));
	sc.tc = tc;
	snprintf(db, sizeof(db), "%s/server", nss_dir);
	ck_assert_msg(tls_init(db) == 0, "%s", tls_error());
	sc.srv = tls_server_new(tc->server_cert, tc->require_client_cert);
	ck_assert_msg(sc.srv != NULL, "%s", tls_error());
	ck_assert_int_eq(env_init(&e, lfd), 0);
	e.srv.hook = server_hook;
	e.srv.data = &sc;
	/* Decrypted messages wait inside NSS for the idle handler. */
	e.ctx.max_batch = 1;
	/* The client closes when it is done, or the handshake fails. */
	RUN_UNTIL(&e, e.srv.closed);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "client process failed (status 0x%x)", status);
	ck_assert_int_eq(e.srv.closed, 1);
	ck_assert(sc.starttls);
	if (tc->expect_ok) {
		/* plain, STARTTLS, small and big inside TLS */
		ck_assert_uint_eq(e.srv.nmsg, 1 + IDX_COUNT);
		ck_assert_int_eq(e.srv.err, CONN_EOF);
		ck_assert_int_eq(sc.peer_cert, tc->expect_cert_sent);
		ck_assert_int_eq(sc.name_ok, tc->cluster_name != NULL &&
		    strcmp(tc->cluster_name, "demo") == 0);
		ck_assert_int_eq(sc.name_wrong, tc->cluster_name != NULL &&
		    strcmp(tc->cluster_name, "wrong") == 0);
		ck_assert_int_eq(sc.name_other, 0);
	} else {
		ck_assert_uint_eq(e.srv.nmsg, 2);
		ck_assert_int_eq(e.srv.err, CONN_TLS);
	}
	ck_assert(!uv_is_active((uv_handle_t *)&e.ctx.idle));
	ck_assert_int_eq(env_done(&e), 0);
	tls_server_free(sc.srv);
	ck_assert_int_eq(tls_shutdown(), 0);
}

static const struct tls_case tls_ok = {
	"QNetd Cert", 1, "client", 1, 1, "demo", 0
};
static const struct tls_case tls_no_client_auth = {
	"QNetd Cert", 0, "client", 1, 0, NULL, 0
};
static const struct tls_case tls_client_wrong_cn = {
	"QNetd Cert", 1, "wrongcn", 1, 1, "wrong", 0
};
static const struct tls_case tls_client_no_cert = {
	"QNetd Cert", 1, "nocert", 0, 0, NULL, 0
};
static const struct tls_case tls_client_wrong_ca = {
	"QNetd Cert", 1, "wrongca", 0, 0, NULL, 0
};
static const struct tls_case tls_client_expired = {
	"QNetd Cert", 1, "expiredcl", 0, 0, NULL, 0
};
static const struct tls_case tls_client_distrusted = {
	"QNetd Cert", 1, "distrust", 0, 0, NULL, 0
};
static const struct tls_case tls_server_wrong_name = {
	"Wrong Name Cert", 1, "client", 0, 0, NULL, 0
};
static const struct tls_case tls_server_expired = {
	"Expired Cert", 1, "client", 1, 1, "demo", 1
};
static const struct tls_case tls_server_expired_wrong_name = {
	"Expired Wrong Name Cert", 1, "client", 0, 0, NULL, 0
};
static const struct tls_case tls_server_expired_untrusted = {
	"Expired Untrusted Cert", 1, "client", 0, 0, NULL, 0
};

START_TEST(test_tls_ok)
{
	run_tls_case(&tls_ok);
}
END_TEST

START_TEST(test_tls_no_client_auth)
{
	run_tls_case(&tls_no_client_auth);
}
END_TEST

START_TEST(test_tls_client_wrong_cn)
{
	run_tls_case(&tls_client_wrong_cn);
}
END_TEST

START_TEST(test_tls_client_no_cert)
{
	run_tls_case(&tls_client_no_cert);
}
END_TEST

START_TEST(test_tls_client_wrong_ca)
{
	run_tls_case(&tls_client_wrong_ca);
}
END_TEST

START_TEST(test_tls_client_expired)
{
	run_tls_case(&tls_client_expired);
}
END_TEST

START_TEST(test_tls_client_distrusted)
{
	run_tls_case(&tls_client_distrusted);
}
END_TEST

/* The certificate a cluster db's certutil -C wrote, as the server sees it. */
static CERTCertificate *
cluster_cert(const char *db)
{
	char path[128];
	unsigned char der[4096];
	SECItem item = { siBuffer, der, 0 };
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s.crt", nss_dir, db);
	ck_assert_ptr_nonnull(f = fopen(path, "rb"));
	n = fread(der, 1, sizeof(der), f);
	fclose(f);
	ck_assert(n > 0 && n < sizeof(der));
	item.len = (unsigned int)n;
	/* A temporary certificate, with the trust the database gives it. */
	return CERT_NewTempCertificate(CERT_GetDefaultCertDB(), &item, NULL,
	    PR_FALSE, PR_TRUE);
}

static int
anchors_accept(const struct tls_anchors *a, const char *db)
{
	CERTCertificate *cert = cluster_cert(db);
	int ok;

	ck_assert_ptr_nonnull(cert);
	ok = tls_anchors_accept(a, cert, NULL);
	CERT_DestroyCertificate(cert);
	return ok;
}

/*
 * The in-memory check takes the common case (a cluster certificate signed
 * by QNet CA) and leaves everything else to NSS's own check.
 */
START_TEST(test_tls_anchors)
{
	struct tls_anchors *a;
	char db[128];

	snprintf(db, sizeof(db), "%s/server", nss_dir);
	ck_assert_int_eq(tls_init(db), 0);
	/* QNet CA ("CT,,") is one; Other CA is not in this database. */
	ck_assert_ptr_nonnull(a = tls_anchors_load());
	ck_assert_int_eq(anchors_accept(a, "client"), 1);
	ck_assert_int_eq(anchors_accept(a, "wrongcn"), 1);
	ck_assert_int_eq(anchors_accept(a, "wrongca"), 0);
	ck_assert_int_eq(anchors_accept(a, "expiredcl"), 0);
	ck_assert_int_eq(anchors_accept(a, "distrust"), 0);
	ck_assert_int_eq(anchors_accept(NULL, "client"), 0);
	tls_anchors_free(a);
	ck_assert_int_eq(tls_shutdown(), 0);
}
END_TEST

START_TEST(test_tls_server_wrong_name)
{
	run_tls_case(&tls_server_wrong_name);
}
END_TEST

START_TEST(test_tls_server_expired)
{
	run_tls_case(&tls_server_expired);
}
END_TEST

START_TEST(test_tls_server_expired_wrong_name)
{
	run_tls_case(&tls_server_expired_wrong_name);
}
END_TEST

START_TEST(test_tls_server_expired_untrusted)
{
	run_tls_case(&tls_server_expired_untrusted);
}
END_TEST

START_TEST(test_tls_missing_server_cert)
{
	char db[128];

	snprintf(db, sizeof(db), "%s/server", nss_dir);
	ck_assert_int_eq(tls_init(db), 0);
	ck_assert_ptr_null(tls_server_new("No Such Cert", 1));
	ck_assert_str_ne(tls_error(), "");
	ck_assert_int_eq(tls_shutdown(), 0);
}
END_TEST

/* ------------------------------------------------------------------- main */

static Suite *
conn_suite(void)
{
	Suite *s = suite_create("conn");
	TCase *tc;

	tc = tcase_create("net");
	tcase_add_test(tc, test_format_addr);
	tcase_add_test(tc, test_resolve);
	tcase_add_test(tc, test_listen_kinds);
	tcase_add_test(tc, test_listen_busy);
	suite_add_tcase(s, tc);

	tc = tcase_create("plain");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_plain_exchange);
	tcase_add_test(tc, test_plain_flood);
	tcase_add_test(tc, test_queue_limit);
	tcase_add_test(tc, test_close_in_on_message);
	tcase_add_test(tc, test_peer_eof);
	tcase_add_test(tc, test_skipped_messages);
	tcase_add_test(tc, test_close_other_from_idle);
	tcase_add_test(tc, test_connect_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("tls");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_tls_ok);
	tcase_add_test(tc, test_tls_no_client_auth);
	tcase_add_test(tc, test_tls_client_wrong_cn);
	tcase_add_test(tc, test_tls_client_no_cert);
	tcase_add_test(tc, test_tls_client_wrong_ca);
	tcase_add_test(tc, test_tls_client_expired);
	tcase_add_test(tc, test_tls_client_distrusted);
	tcase_add_test(tc, test_tls_anchors);
	tcase_add_test(tc, test_tls_server_wrong_name);
	tcase_add_test(tc, test_tls_server_expired);
	tcase_add_test(tc, test_tls_server_expired_wrong_name);
	tcase_add_test(tc, test_tls_server_expired_untrusted);
	tcase_add_test(tc, test_tls_missing_server_cert);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(conn_suite());
	int failed;

	signal(SIGPIPE, SIG_IGN);
	if (certs_create() != 0)
		return EXIT_FAILURE;
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	certs_remove();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
