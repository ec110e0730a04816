/*
 * Liveness: dead-peer timing (re-arm, skipped messages, SET_OPTION, dpd
 * off), DELIBERATE D23, -m, hostile clients next to a good one,
 * DELIBERATE TCP_NODELAY.
 *
 * One of the protocol tests of a real corosync-qnetd over loopback
 * (harness.h); tests/proto/run-against-debian.sh runs them against 3.0.3,
 * where the tests of our deliberate differences (DELIBERATE) expect the
 * 3.0.3 behaviour.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness.h"

/* ------------------------------------------------------------------ */
/* Dead-peer detection (PROTOCOL.md §7.6) */

START_TEST(dead_peer)
{
	struct srv s;
	struct qc c;
	struct init_p p;
	int64_t last;
	int ms;

	SRV_START(&s, "-s", "off");
	/* Heartbeat 1000: dropped 1.5 s after the last message. */
	p = init_p(2, 1, QN_ALGO_FFSPLIT);
	p.hb = 1000;
	join(&c, &s, "demo", &p);
	/* Without the re-arm it would go 0.9 s after this echo. */
	sleep_ms(600);
	last = now_ms();
	echo_ok(&c);		/* re-arms the timer */
	ms = wait_dropped(&c, last, 6000);
	ck_assert_msg(ms >= 1000, "dropped %d ms after the last message, "
	    "heartbeat 1000", ms);
	qc_close(&c);

	/* Skipped (unknown-type) messages do not re-arm it. */
	p = init_p(2, 2, QN_ALGO_FFSPLIT);
	p.hb = 1000;
	join(&c, &s, "demo", &p);
	last = now_ms();
	for (;;) {
		struct buf got;
		int r;

		ck_assert_msg(now_ms() - last < 6000, "unknown-type messages "
		    "keep the connection alive");
		if (qc_write(&c, "\x00\x12\x00\x00\x00\x01\x00", 7) != 0)
			break;
		buf_init(&got);
		r = qc_recv(&c, 200, &got);
		buf_free(&got);
		if (r == RECV_CLOSED)
			break;
	}
	ck_assert_msg(now_ms() - last >= 1000, "dropped after %d ms",
	    (int)(now_ms() - last));
	qc_close(&c);

	/* SET_OPTION heartbeat 2000: 3 s. */
	p = init_p(2, 3, QN_ALGO_FFSPLIT);
	p.hb = 1000;
	join(&c, &s, "demo", &p);
	last = now_ms();
	qc_sendf(&c, "0006 00000010 0000 0004 00000003 000c 0004 000007d0");
	qc_expect(&c, "0007 00000010 | 0000 0004 00000003 000c 0004 000007d0");
	ms = wait_dropped(&c, last, 10000);
	ck_assert_msg(ms >= 2000, "dropped %d ms after the last message, "
	    "heartbeat 2000", ms);
	qc_close(&c);
	srv_stop(&s);

	/* dpd_enabled=off: never dropped. */
	SRV_START(&s, "-s", "off", "-S", "dpd_enabled=off");
	p = init_p(2, 1, QN_ALGO_FFSPLIT);
	p.hb = 1000;
	join(&c, &s, "demo", &p);
	qc_expect_quiet(&c, 2500);
	echo_ok(&c);
	qc_close(&c);
	srv_stop(&s);
}
END_TEST

/*
 * DELIBERATE (D23): a refused INIT leaves no state behind.  3.0.3 still
 * adopts the heartbeat of an INIT it refuses (here: no tie-breaker, 7), so
 * the connection is dropped 1.5 s later; ours keeps the pre-INIT timeout.
 */
START_TEST(init_refused_no_state)
{
	struct srv s;
	struct qc c;
	struct init_p p;
	int64_t last;

	deliberate("D23 (refused INIT leaves state)");
	SRV_START(&s, "-s", "off");
	qc_connect(&c, &s);
	send_preinit(&c, 1, "demo");
	expect_preinit_reply(&c, 1, 0, 1);
	p = init_p(2, 1, QN_ALGO_FFSPLIT);
	p.hb = 1000;
	p.omit = OMIT_TB;
	last = now_ms();
	send_init(&c, &p);
	ck_assert_uint_eq(recv_init_error(&c, 2),
	    QN_ERR_DOESNT_CONTAIN_REQUIRED_OPTION);
	if (debian) {
		ck_assert_int_ge(wait_dropped(&c, last, 6000), 1000);
	} else {
		qc_expect_quiet(&c, 2500);
		alive_before_init(&c);
		/* And the node id is free for the cluster. */
		p = init_p(9, 1, QN_ALGO_FFSPLIT);
		send_init(&c, &p);
		expect_init_reply(&c, 9, 0);
	}
	qc_close(&c);
	srv_stop(&s);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Limits and robustness */

/* -m 2: the third connection is closed at once, without a message. */
START_TEST(max_clients)
{
	struct srv s;
	struct qc c[3];
	int64_t deadline;

	SRV_START(&s, "-s", "off", "-m", "2");
	for (int i = 0; i < 2; i++) {
		qc_connect(&c[i], &s);
		send_preinit(&c[i], 1, "demo");
		expect_preinit_reply(&c[i], 1, 0, 1);
	}
	qc_connect(&c[2], &s);
	send_preinit(&c[2], 1, "demo");		/* may fail: closed */
	qc_expect_closed(&c[2], TIMEOUT_MS);
	qc_close(&c[2]);
	alive_before_init(&c[0]);
	alive_before_init(&c[1]);
	/* A slot freed is a slot for a new client. */
	qc_close(&c[1]);
	deadline = now_ms() + TIMEOUT_MS;
	for (;;) {
		struct buf got;
		int r;

		qc_connect(&c[2], &s);
		send_preinit(&c[2], 1, "demo");
		buf_init(&got);
		r = qc_recv(&c[2], TIMEOUT_MS, &got);
		buf_free(&got);
		if (r == RECV_MSG)
			break;
		qc_close(&c[2]);
		ck_assert_msg(now_ms() < deadline, "no slot after a client "
		    "left");
		sleep_ms(50);
	}
	alive_before_init(&c[2]);
	qc_close(&c[2]);
	qc_close(&c[0]);
	srv_stop(&s);
}
END_TEST

static uint32_t
xorshift(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/*
 * Hostile clients (random bytes, huge lengths, truncated and malformed
 * messages) while a good client of another cluster keeps changing its
 * membership and sending echoes: every one of its requests is answered.
 */
START_TEST(hostile_clients)
{
	enum { HOSTILE = 4, ROUNDS = 60 };
	struct srv s;
	struct qc good, bad[HOSTILE];
	uint32_t x = 0x2545f491, seq;
	uint8_t junk[2048];

	SRV_START(&s, "-s", "off");
	join_simple(&good, &s, "good", 1, QN_ALGO_FFSPLIT);
	seq = send_config(&good, 1, 2);
	expect_nlr(&good, seq, QN_LIST_INITIAL_CONFIG, R0, QN_VOTE_ASK_LATER);
	for (int i = 0; i < HOSTILE; i++)
		qc_connect(&bad[i], &s);

	for (int round = 0; round < ROUNDS; round++) {
		for (int i = 0; i < HOSTILE; i++) {
			size_t len = 1 + xorshift(&x) % sizeof(junk);
			struct buf drain;

			for (size_t k = 0; k < len; k++)
				junk[k] = (uint8_t)xorshift(&x);
			switch (xorshift(&x) % 5) {
			case 0:		/* a huge body */
				memcpy(junk, "\x00\x08\x7f\xff\xff\xff", 6);
				break;
			case 1:		/* unknown type, huge body */
				memcpy(junk, "\xab\xcd\xff\xff\xff\xff", 6);
				break;
			case 2:		/* known type, random TLVs */
				junk[0] = 0;
				junk[1] = (uint8_t)(xorshift(&x) % 18);
				junk[2] = junk[3] = 0;
				junk[4] = (uint8_t)((len - 6) >> 8);
				junk[5] = (uint8_t)(len - 6);
				if (len < 6)
					len = 6;
				break;
			default:	/* random bytes */
				break;
			}
			if (qc_write(&bad[i], junk, len) != 0) {
				qc_close(&bad[i]);
				qc_connect(&bad[i], &s);
				continue;
			}
			/* Read (and drop) whatever it was answered. */
			buf_init(&drain);
			while (qc_recv(&bad[i], 0, &drain) == RECV_MSG)
				;
			buf_free(&drain);
		}
		if (round % 10 == 0) {
			struct qn_ring_id r = RING(1, 100 + (uint64_t)round);

			seq = send_members(&good, r, 0, 1);
			expect_vote_info(&good, 0, QN_VOTE_ACK, r);
			expect_nlr(&good, seq, QN_LIST_MEMBERSHIP, r,
			    QN_VOTE_NO_CHANGE);
			qc_sendf(&good, "000f 00000008 0000 0004 %08" PRIx32,
			    (uint32_t)(round / 10 + 1));
		}
		echo_ok(&good);
	}
	for (int i = 0; i < HOSTILE; i++)
		qc_close(&bad[i]);
	echo_ok(&good);
	qc_close(&good);
	srv_stop(&s);
}
END_TEST

/*
 * DELIBERATE: ours sets TCP_NODELAY on client connections (3.0.3 does not,
 * so a second queued message waits for the peer's delayed ACK, §14.2).
 * Read from the server's own socket through pidfd_getfd().
 */
START_TEST(tcp_nodelay)
{
#if defined(SYS_pidfd_open) && defined(SYS_pidfd_getfd)
	struct srv s;
	struct qc c;
	char path[64];
	DIR *d;
	struct dirent *e;
	int pidfd, found = -1;

	deliberate("TCP_NODELAY");
	SRV_START(&s, "-s", "off");
	qc_connect(&c, &s);
	send_preinit(&c, 1, "demo");
	expect_preinit_reply(&c, 1, 0, 1);
	pidfd = (int)syscall(SYS_pidfd_open, s.pid, 0);
	if (pidfd < 0) {
		note("pidfd_open: %s: tcp_nodelay skipped", strerror(errno));
		goto out;
	}
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)s.pid);
	ck_assert_ptr_nonnull(d = opendir(path));
	while (found < 0 && (e = readdir(d)) != NULL) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		int fd, v = 0;
		socklen_t vlen = sizeof(v);
		uint16_t port = 0;

		if (e->d_name[0] == '.')
			continue;
		fd = (int)syscall(SYS_pidfd_getfd, pidfd, atoi(e->d_name), 0);
		if (fd < 0) {
			if (errno == EPERM || errno == ENOSYS) {
				note("pidfd_getfd: %s: tcp_nodelay skipped",
				    strerror(errno));
				found = -2;
			}
			continue;
		}
		if (getpeername(fd, (struct sockaddr *)&peer, &len) == 0) {
			if (peer.ss_family == AF_INET)
				port = ntohs(((struct sockaddr_in *)&peer)->
				    sin_port);
			else if (peer.ss_family == AF_INET6)
				port = ntohs(((struct sockaddr_in6 *)&peer)->
				    sin6_port);
		}
		if (port == c.local_port &&
		    getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &vlen) == 0)
			found = v != 0;
		close(fd);
	}
	closedir(d);
	close(pidfd);
	if (found == -2)
		goto out;
	ck_assert_msg(found >= 0, "the server's socket of our connection was "
	    "not found");
	if (debian)
		ck_assert_msg(found == 0, "3.0.3 sets TCP_NODELAY?");
	else
		ck_assert_msg(found == 1, "TCP_NODELAY is not set on the "
		    "server's client socket");
out:
	qc_close(&c);
	srv_stop(&s);
#else
	note("no pidfd_getfd: tcp_nodelay skipped");
#endif
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("qnetd protocol: liveness");
	TCase *tc = harness_tcase(s, "liveness", TEST_TIMEOUT);

	tcase_add_test(tc, dead_peer);
	tcase_add_test(tc, init_refused_no_state);
	tcase_add_test(tc, max_clients);
	tcase_add_test(tc, hostile_clients);
	tcase_add_test(tc, tcp_nodelay);
	return harness_run(s, H_PROTO);
}
