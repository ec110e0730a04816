/*
 * The harness of the connection tests: messages with a checkable body,
 * peers that count what their callbacks saw, and an environment of one
 * loop with a listening socket and a client and a server peer.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn_harness.h"

/* ---------------------------------------------------------------- messages */

/* A message whose body starts with idx and continues with a pattern. */
uint8_t *
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
long
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

int
send_msg(struct conn *c, uint16_t type, uint32_t idx, size_t body)
{
	size_t len;
	uint8_t *m = msg_make(type, idx, body, &len);
	int rc = conn_send_raw(c, m, len);

	free(m);
	return rc;
}

/* ------------------------------------------------------------------- peers */

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

const struct conn_cb peer_cb = {
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

uint16_t
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
int
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

int
listen_local(void)
{
	char err[NET_ERR_LEN];
	int fd = net_listen("127.0.0.1", 0, 4, 16, err);

	if (fd < 0)
		fprintf(stderr, "%s\n", err);
	return fd;
}

int
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

/* Close what is open and check every handle went away. */
int
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
void
start_plain(struct env *e)
{
	int lfd = listen_local();

	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(env_init(e, lfd), 0);
}

void
connect_plain(struct env *e)
{
	ck_assert_int_eq(env_connect(e, e->port), 0);
	RUN_UNTIL(e, e->cli.connected && e->srv.up);
	ck_assert(e->cli.connected && e->srv.up);
}
