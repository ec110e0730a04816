/*
 * Plain message connections over loopback: exchanges, floods with partial
 * writes, the send queue's limit, closing from callbacks, the peer's EOF,
 * skipped oversized or unknown messages and a refused connect.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn_harness.h"

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

TCase *
conn_plain_tcase(void)
{
	TCase *tc = tcase_create("plain");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_plain_exchange);
	tcase_add_test(tc, test_plain_flood);
	tcase_add_test(tc, test_queue_limit);
	tcase_add_test(tc, test_close_in_on_message);
	tcase_add_test(tc, test_peer_eof);
	tcase_add_test(tc, test_skipped_messages);
	tcase_add_test(tc, test_close_other_from_idle);
	tcase_add_test(tc, test_connect_refused);
	return tc;
}
