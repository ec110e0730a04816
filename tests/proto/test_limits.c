/*
 * Abuse limits of a real corosync-qnetd over loopback (man/corosync-qnetd.8,
 * LIMITS): the pre-INIT timeout, client, per-address and cluster limits,
 * the open files limit, slow readers and writers, floods.
 *
 * Every test starts its own daemon (harness.h; -f -d, 127.0.0.1, a free
 * port, lock file and IPC socket in a scratch directory), killed with a
 * failed test and asserted to exit 0 on SIGTERM at a normal stop (a
 * sanitizer report at exit fails).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define WAIT_MS		5000	/* a reply, or a close, that must come */

/* ------------------------------------------------------------------ */
/* init_timeout */

/* An idle connection is dropped at init_timeout, with a log line. */
START_TEST(t_init_timeout_idle)
{
	struct srv s;
	struct qc c;
	int64_t t;

	srv_prepare(&s);
	SRV_LAUNCH(&s, "-s", "off", "-S", "init_timeout=700");
	qc_connect(&c, &s);
	t = qc_wait_closed(&c, 5000);
	ck_assert_msg(t >= 600 && t < 3000, "closed after %" PRId64 " ms", t);
	ASSERT_LOG(&s, "Limit init_timeout = 700 reached by client 127.0.0.1:");
	qc_close(&c);
	srv_term(&s);
}
END_TEST

/* Messages before INIT don't move the deadline; a refused INIT neither. */
START_TEST(t_init_timeout_messages)
{
	struct srv s;
	struct qc c;
	struct init_p p;
	struct msg r;
	int64_t t0, t;

	srv_prepare(&s);
	SRV_LAUNCH(&s, "-s", "off", "-S", "init_timeout=1000");
	qc_connect(&c, &s);
	t0 = now_ms();
	qc_preinit(&c, "x");
	/* A heartbeat that is too short: INIT refused (error 13). */
	p = init_p(++c.seq, 1, QN_ALGO_FFSPLIT);
	p.hb = 1;
	send_init(&c, &p);
	ck_assert_int_eq(qc_read_msg(&c, &r, WAIT_MS), RECV_MSG);
	ck_assert_int_eq(r.reply_error_code, QN_ERR_INVALID_HEARTBEAT_INTERVAL);
	msg_free(&r);
	for (;;) {
		struct buf b;
		ssize_t n;

		buf_init(&b);
		echo_encode(&c, &b);
		n = send(c.fd, b.data, b.len, MSG_NOSIGNAL);
		buf_free(&b);
		if (n < 0 || qc_read_msg(&c, &r, 150) == RECV_CLOSED)
			break;
		msg_free(&r);
		ck_assert_int_lt(now_ms() - t0, 4000);
	}
	t = now_ms() - t0;
	ck_assert_msg(t >= 900 && t < 2500, "closed after %" PRId64 " ms", t);
	qc_close(&c);
	srv_term(&s);
}
END_TEST

/* After INIT the deadline is gone; 3.0.3's dead-peer timer rules. */
START_TEST(t_init_timeout_then_dpd)
{
	struct srv s;
	struct qc c;
	int64_t t;

	srv_prepare(&s);
	SRV_LAUNCH(&s, "-s", "off", "-S", "init_timeout=500");
	qc_connect(&c, &s);
	ck_assert_int_eq(qc_join(&c, "x", 1, QN_ALGO_FFSPLIT, 1000), 0);
	/* Alive past init_timeout while it sends heartbeats... */
	for (int i = 0; i < 6; i++) {
		sleep_ms(250);
		ck_assert_int_ge(qc_echo(&c, WAIT_MS), 0);
	}
	/* ... then silent: dropped 1.5 x 1000 ms after its last message. */
	t = qc_wait_closed(&c, 5000);
	ck_assert_msg(t >= 1300 && t < 2500, "closed after %" PRId64 " ms", t);
	ASSERT_LOG(&s, "doesn't sent any message during 1500ms");
	qc_close(&c);
	srv_term(&s);
}
END_TEST

/* init_timeout=0 restores 3.0.3: no deadline before INIT. */
START_TEST(t_init_timeout_off)
{
	struct srv s;
	struct qc c;

	srv_prepare(&s);
	SRV_LAUNCH(&s, "-s", "off", "-S", "init_timeout=0");
	qc_connect(&c, &s);
	ck_assert_int_eq(qc_wait_closed(&c, 1500), -1);
	qc_close(&c);
	srv_term(&s);
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
	struct buf b;
	int64_t t0;
	int closed = 0;

	srv_prepare(&s);
	SRV_LAUNCH(&s, "-s", "off");
	qc_connect(&c, &s);
	ck_assert_int_eq(qc_join(&c, "x", 1, QN_ALGO_FFSPLIT, 1000), 0);
	t0 = now_ms();
	buf_init(&b);
	echo_encode(&c, &b);
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
	srv_term(&s);
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
	SRV_LAUNCH(&s, "-s", "off", "-m", "3");
	for (int i = 0; i < 3; i++)
		qc_connect(&c[i], &s);
	/* The three are served. */
	qc_preinit(&c[0], "x");
	for (int i = 0; i < 50; i++) {
		qc_connect(&x, &s);
		ck_assert_int_ge(qc_wait_closed(&x, WAIT_MS), 0);
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
	srv_term(&s);
}
END_TEST

/* Per source address (IP, not port), refused at accept. */
START_TEST(t_max_clients_per_address)
{
	struct srv s;
	struct qc a[2], x, other;

	srv_prepare(&s);
	SRV_LAUNCH(&s, "-s", "off", "-S", "max_clients_per_address=2");
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(qc_connect_from(&a[i], &s, "127.0.0.1", 0), 0);
		qc_preinit(&a[i], "x");
	}
	ck_assert_int_eq(qc_connect_from(&x, &s, "127.0.0.1", 0), 0);
	ck_assert_int_ge(qc_wait_closed(&x, WAIT_MS), 0);
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
	srv_term(&s);
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
	refused = qc_wait_closed(&x, WAIT_MS) >= 0;
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
	SRV_LAUNCH(&s, "-s", "off", "-S", "init_timeout=0");
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
	srv_term(&s);
}
END_TEST

/* max_clusters: INIT of one more cluster gets error 10 (internal). */
START_TEST(t_max_clusters)
{
	struct srv s;
	struct qc a, b, c, a2;

	srv_prepare(&s);
	SRV_LAUNCH(&s, "-s", "off", "-S", "max_clusters=2");
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
	srv_term(&s);
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
	SRV_LAUNCH(&s, "-s", "off", "-m", "1000");
	ASSERT_LOG(&s, "max_clients (-m) 1000 needs");
	ck_assert_int_gt(log_count(&s, "raise the hard limit"), 0);
	for (size_t i = 0; i < ARRAY_LEN(c); i++) {
		struct msg m, r;

		qc_connect(&c[i], &s);
		msg_init(&m, QN_MSG_PREINIT);
		msg_set_seq(&m, 1);
		msg_set_cluster_name(&m, "x", 1);
		qc_send_msg(&c[i], &m);
		if (qc_read_msg(&c[i], &r, WAIT_MS) == RECV_MSG) {
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
	srv_term(&s);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Slow readers and floods */

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
	SRV_LAUNCH(&s, "-s", "off", "-S", "max_client_message_rate=0");
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
			ck_assert_int_ge(qc_echo(&good, WAIT_MS), 0);
			dropped = log_count(&s, "send queue full") > 0;
			if (!dropped)
				sleep_ms(20);
		}
	}
	ck_assert_msg(dropped, "a client that never reads was not dropped");
	ASSERT_LOG(&s, "Limit max_client_send_bytes = 262144 reached by "
	    "client 127.0.0.1:");
	ck_assert_int_ge(qc_echo(&good, WAIT_MS), 0);
	buf_free(&b);
	qc_close(&bad);
	qc_close(&good);
	srv_term(&s);
}
END_TEST

/* The same with only the message count bound (3.0.3's). */
START_TEST(t_slow_reader_buffers)
{
	struct srv s;
	struct qc bad;
	int64_t t0 = now_ms();

	srv_prepare(&s);
	SRV_LAUNCH(&s, "-s", "off", "-S", "max_client_message_rate=0,"
	    "max_client_send_bytes=0,max_client_send_buffers=4");
	ck_assert_int_eq(qc_connect_from(&bad, &s, NULL, 4096), 0);
	ck_assert_int_eq(qc_join(&bad, "x", 1, QN_ALGO_FFSPLIT, 8000), 0);
	fcntl(bad.fd, F_SETFL, O_NONBLOCK);
	while (log_count(&s, "send queue full") == 0 &&
	    now_ms() - t0 < 20000) {
		struct buf b;

		buf_init(&b);
		for (int i = 0; i < 64; i++) {
			echo_encode(&bad, &b);
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
	srv_term(&s);
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
	int64_t rtt[60], t0, flood_end;
	long rss0, rss1;
	size_t replies = 0, got = 0;
	uint8_t tmp[65536];

	srv_prepare(&s);
	SRV_LAUNCH(&s, "-s", "off", "-S", "max_client_message_rate=200");
	qc_connect(&flood, &s);
	qc_connect(&quiet, &s);
	ck_assert_int_eq(qc_join(&flood, "f", 1, QN_ALGO_FFSPLIT, 8000), 0);
	ck_assert_int_eq(qc_join(&quiet, "q", 1, QN_ALGO_FFSPLIT, 8000), 0);
	rss0 = srv_rss_kb(&s);
	fcntl(flood.fd, F_SETFL, O_NONBLOCK);
	buf_init(&b);
	for (int i = 0; i < 256; i++) {
		echo_encode(&flood, &b);
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
		rtt[k] = qc_echo(&quiet, WAIT_MS);
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
	srv_term(&s);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("qnetd limits");
	TCase *t;

	t = harness_tcase(s, "init_timeout", TEST_TIMEOUT);
	tcase_add_test(t, t_init_timeout_idle);
	tcase_add_test(t, t_init_timeout_messages);
	tcase_add_test(t, t_init_timeout_then_dpd);
	tcase_add_test(t, t_init_timeout_off);
	tcase_add_test(t, t_slow_writer);

	t = harness_tcase(s, "client limits", TEST_TIMEOUT);
	tcase_add_test(t, t_max_clients);
	tcase_add_test(t, t_max_clients_per_address);
	tcase_add_test(t, t_per_address_default);
	tcase_add_test(t, t_max_clusters);
	tcase_add_test(t, t_open_files_limit);

	t = harness_tcase(s, "readers and floods", TEST_TIMEOUT);
	tcase_add_test(t, t_slow_reader);
	tcase_add_test(t, t_slow_reader_buffers);
	tcase_add_test(t, t_flood_fairness);
	return harness_run(s, 0);
}
