/*
 * The ACK gate (D24): no ACK that an earlier one could overlap, after a
 * restart and when a holder leaves; none held when nothing can overlap.
 *
 * One of the protocol tests of a real corosync-qnetd over loopback
 * (harness.h); tests/proto/run-against-debian.sh runs them against 3.0.3,
 * where the tests of our deliberate differences (DELIBERATE) expect the
 * 3.0.3 behaviour.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <string.h>

#include "harness.h"

/* ------------------------------------------------------------------ */
/* The ACK gate (D24): no ACK that an earlier one could overlap */

/* Heartbeat 1 s: the default grace (3.5 heartbeats) is 3.5 s. */
#define GATE_HB		1000
#define GATE_GRACE	3500

static void
gate_join(struct qc *c, const struct srv *s, uint32_t node, uint16_t algo)
{
	struct init_p p = init_p(2, node, algo);

	p.hb = GATE_HB;
	join(c, s, "gate", &p);
}

/*
 * Keep c alive (echoes, which also prove nothing else came) until loop
 * time until.
 */
static void
gate_quiet_until(struct qc *c, int64_t until)
{

	while (now_ms() < until) {
		echo_ok(c);
		sleep_ms(200);
	}
}

/*
 * A restarted arbiter: node 1 of a 2-node ffsplit cluster arrives alone.
 * Node 2 may still cast the ACK an earlier arbiter gave it, so node 1's
 * ACK is held for the grace, then pushed (3.0.3: at once).
 */
START_TEST(gate_restart_alone)
{
	struct srv s;
	struct qc c;
	struct buf out;
	uint32_t seq;
	int64_t t0 = now_ms();

	/* 3.0.3 has no gate: it ACKs at once, in its own order (D24). */
	if (debian) {
		deliberate("ACKs held while an earlier one may count (D24): "
		    "not run");
		return;
	}

	keep_gate = 1;
	SRV_START(&s, "-s", "off");
	gate_join(&c, &s, 1, QN_ALGO_FFSPLIT);
	seq = send_config(&c, 1, 2);
	expect_nlr(&c, seq, QN_LIST_INITIAL_CONFIG, R0, QN_VOTE_ASK_LATER);
	seq = send_members(&c, R0, 0, 1);
	expect_nlr(&c, seq, QN_LIST_MEMBERSHIP, R0, QN_VOTE_NO_CHANGE);
	/* What an admin sees meanwhile: the ACK held, and for whom. */
	buf_init(&out);
	ck_assert_int_eq(ipc_request(&s, "list json\n", &out), 0);
	ck_assert_msg(strstr((char *)out.data, "\"ack_held\":{\"for_ms\":") &&
	    strstr((char *)out.data, "\"waiting_for\":\"node 2 may still "
	    "cast an earlier ACK"), "no held ACK listed:\n%s",
	    (char *)out.data);
	buf_free(&out);
	gate_quiet_until(&c, t0 + GATE_GRACE - 700);
	expect_vote_info(&c, 1, QN_VOTE_ACK, R0);
	send_vote_info_reply(&c, 1);
	echo_ok(&c);
	buf_init(&out);
	ck_assert_int_eq(ipc_request(&s, "list json\n", &out), 0);
	ck_assert_msg(strstr((char *)out.data, "\"ack_held\":null") &&
	    strstr((char *)out.data, "held back"), "ACK not listed as "
	    "released:\n%s", (char *)out.data);
	buf_free(&out);
	qc_close(&c);
	srv_stop(&s);
}
END_TEST

/* The same with lms, which replies ACK: the reply waits, VOTE_INFO follows. */
START_TEST(gate_restart_alone_lms)
{
	struct srv s;
	struct qc c;
	uint32_t seq;
	int64_t t0 = now_ms();

	/* 3.0.3 has no gate: it ACKs at once, in its own order (D24). */
	if (debian) {
		deliberate("ACKs held while an earlier one may count (D24): "
		    "not run");
		return;
	}

	keep_gate = 1;
	SRV_START(&s, "-s", "off");
	gate_join(&c, &s, 1, QN_ALGO_LMS);
	seq = send_config(&c, 1, 2);
	expect_nlr(&c, seq, QN_LIST_INITIAL_CONFIG, R0, QN_VOTE_NO_CHANGE);
	seq = send_members(&c, R0, 0, 1);
	expect_nlr(&c, seq, QN_LIST_MEMBERSHIP, R0, QN_VOTE_WAIT_FOR_REPLY);
	gate_quiet_until(&c, t0 + GATE_GRACE - 700);
	expect_vote_info(&c, 0, QN_VOTE_ACK, R0);
	qc_close(&c);
	srv_stop(&s);
}
END_TEST

/*
 * Every configured node connected and in one partition: nothing can
 * overlap, the ACKs go out at once.  Then a split: node 2 is told NACK
 * before node 1 gets ACK, so that ACK is not held either.
 */
START_TEST(gate_whole_cluster)
{
	struct srv s;
	struct qc c[2];
	uint32_t seq;
	int64_t t0 = now_ms();

	keep_gate = 1;
	SRV_START(&s, "-s", "off");
	for (int i = 0; i < 2; i++) {
		gate_join(&c[i], &s, (uint32_t)i + 1, QN_ALGO_FFSPLIT);
		seq = send_config(&c[i], 1, 2);
		expect_nlr(&c[i], seq, QN_LIST_INITIAL_CONFIG, R0,
		    QN_VOTE_ASK_LATER);
	}
	seq = send_members(&c[0], R0, 0, 1, 2);
	expect_nlr(&c[0], seq, QN_LIST_MEMBERSHIP, R0,
	    QN_VOTE_WAIT_FOR_REPLY);
	seq = send_members(&c[1], R0, 0, 1, 2);
	expect_vote_info(&c[1], 1, QN_VOTE_ACK, R0);
	expect_nlr(&c[1], seq, QN_LIST_MEMBERSHIP, R0, QN_VOTE_NO_CHANGE);
	expect_vote_info(&c[0], 1, QN_VOTE_ACK, R0);
	ck_assert_msg(now_ms() - t0 < GATE_GRACE, "the ACKs were held");
	send_vote_info_reply(&c[0], 1);
	send_vote_info_reply(&c[1], 1);

	seq = send_members(&c[1], R2, 0, 2);
	expect_nlr(&c[1], seq, QN_LIST_MEMBERSHIP, R2,
	    QN_VOTE_WAIT_FOR_REPLY);
	seq = send_members(&c[0], R1, 0, 1);
	expect_nlr(&c[0], seq, QN_LIST_MEMBERSHIP, R1, QN_VOTE_NO_CHANGE);
	expect_vote_info(&c[1], 2, QN_VOTE_NACK, R2);
	send_vote_info_reply(&c[1], 2);
	expect_vote_info(&c[0], 2, QN_VOTE_ACK, R1);
	ck_assert_msg(now_ms() - t0 < GATE_GRACE, "the split's ACK was held");
	qc_close(&c[0]);
	qc_close(&c[1]);
	srv_stop(&s);
}
END_TEST

/*
 * A running arbiter after the start grace: node 1 holds the ACK of a
 * split and its connection ends.  Node 2 gets the vote only once node 1
 * can no longer be counting it: its qdevice closed the connection, so
 * 1.5 heartbeats (quorum.device.timeout and slack); 3.0.3: at once.
 */
START_TEST(gate_holder_leaves)
{
	struct srv s;
	struct qc c[2];
	uint32_t seq;
	int64_t t_left;

	/* 3.0.3 has no gate: it ACKs at once, in its own order (D24). */
	if (debian) {
		deliberate("ACKs held while an earlier one may count (D24): "
		    "not run");
		return;
	}

	keep_gate = 1;
	SRV_START(&s, "-s", "off");
	sleep_ms(GATE_GRACE);
	for (int i = 0; i < 2; i++) {
		gate_join(&c[i], &s, (uint32_t)i + 1, QN_ALGO_FFSPLIT);
		seq = send_config(&c[i], 1, 2);
		expect_nlr(&c[i], seq, QN_LIST_INITIAL_CONFIG, R0,
		    QN_VOTE_ASK_LATER);
	}
	seq = send_members(&c[0], R1, 0, 1);
	send_vote_info_reply(&c[0], expect_vote_info(&c[0], 0, QN_VOTE_ACK,
	    R1));
	expect_nlr(&c[0], seq, QN_LIST_MEMBERSHIP, R1, QN_VOTE_NO_CHANGE);
	seq = send_members(&c[1], R2, 0, 2);
	send_vote_info_reply(&c[1], expect_vote_info(&c[1], 0, QN_VOTE_NACK,
	    R2));
	expect_nlr(&c[1], seq, QN_LIST_MEMBERSHIP, R2, QN_VOTE_NO_CHANGE);
	send_vote_info_reply(&c[0], expect_vote_info(&c[0], 0, QN_VOTE_ACK,
	    R1));

	qc_close(&c[0]);
	t_left = now_ms();
	gate_quiet_until(&c[1], t_left + GATE_HB);
	expect_vote_info(&c[1], 0, QN_VOTE_ACK, R2);
	qc_close(&c[1]);
	srv_stop(&s);
}
END_TEST

/*
 * A vote moved within one ring (2nodelms, a heuristics change, not
 * 3.0.3): the ring doesn't change, so node 1's ACK counts in corosync
 * until its qdevice applies the NACK.  Node 2's ACK waits for node 1 to
 * acknowledge that NACK and a settle time after; if it never does, for
 * the grace after it.
 */
static void
gate_split_2nodelms(struct qc c[2], const struct srv *s)
{
	uint32_t seq;

	for (int i = 0; i < 2; i++) {
		gate_join(&c[i], s, (uint32_t)i + 1, QN_ALGO_2NODELMS);
		seq = send_config(&c[i], 1, 2);
		expect_nlr(&c[i], seq, QN_LIST_INITIAL_CONFIG, R0,
		    QN_VOTE_NO_CHANGE);
	}
	seq = send_members(&c[0], R1, 0, 1);
	expect_nlr(&c[0], seq, QN_LIST_MEMBERSHIP, R1, QN_VOTE_ACK);
	seq = send_members(&c[1], R2, 0, 2);
	expect_nlr(&c[1], seq, QN_LIST_MEMBERSHIP, R2, QN_VOTE_NACK);
}

/* Both alive, and nothing but echo replies, until loop time until. */
static void
quiet_both(struct qc c[2], int64_t until)
{
	while (now_ms() < until) {
		echo_ok(&c[0]);
		echo_ok(&c[1]);
		sleep_ms(100);
	}
}

START_TEST(gate_moved_vote_waits_for_nack)
{
	struct srv s;
	struct qc c[2];
	uint32_t seq, nack;
	int64_t t_nack;

	if (debian) {
		deliberate("votes moved by heuristics (upstream #14): not run");
		return;
	}

	keep_gate = 1;
	SRV_START(&s, "-s", "off");
	sleep_ms(GATE_GRACE);
	gate_split_2nodelms(c, &s);

	/* Acknowledged: node 2's ACK follows the acknowledgement. */
	seq = send_heuristics_change(&c[0], QN_HEUR_FAIL);
	nack = expect_vote_info(&c[0], 0, QN_VOTE_NACK, R1);
	expect_hcr(&c[0], seq, QN_VOTE_NO_CHANGE, R1, QN_HEUR_FAIL);
	quiet_both(c, now_ms() + 500);
	send_vote_info_reply(&c[0], nack);
	/* And for corosync on node 1 to apply it (a settle time). */
	quiet_both(c, now_ms() + 500);
	send_vote_info_reply(&c[1], expect_vote_info(&c[1], 0, QN_VOTE_ACK,
	    R2));

	/* Never acknowledged: node 1's ACK waits for the grace. */
	seq = send_heuristics_change(&c[0], QN_HEUR_PASS);
	(void)expect_vote_info(&c[1], 0, QN_VOTE_NACK, R2);
	t_nack = now_ms();
	expect_hcr(&c[0], seq, QN_VOTE_NO_CHANGE, R1, QN_HEUR_PASS);
	quiet_both(c, t_nack + GATE_GRACE - 700);
	send_vote_info_reply(&c[0], expect_vote_info(&c[0], 0, QN_VOTE_ACK,
	    R1));
	qc_close(&c[0]);
	qc_close(&c[1]);
	srv_stop(&s);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("qnetd protocol: gate");
	TCase *tc = harness_tcase(s, "gate", TEST_TIMEOUT);

	tcase_add_test(tc, gate_restart_alone);
	tcase_add_test(tc, gate_restart_alone_lms);
	tcase_add_test(tc, gate_whole_cluster);
	tcase_add_test(tc, gate_holder_leaves);
	tcase_add_test(tc, gate_moved_vote_waits_for_nack);
	return harness_run(s, H_PROTO);
}
