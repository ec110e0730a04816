/*
 * The algorithms end to end: ffsplit §12.7 byte for byte and the NACK-first
 * 2+2 split, lms wait-then-VOTE_INFO, 2nodelms rules, test; DELIBERATE:
 * ffsplit D1, D2, §14.1, lms D3, lms/2nodelms D6.
 *
 * One of the protocol tests of a real corosync-qnetd over loopback
 * (harness.h); tests/proto/run-against-debian.sh runs them against 3.0.3,
 * where the tests of our deliberate differences (DELIBERATE) expect the
 * 3.0.3 behaviour.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"

/* ------------------------------------------------------------------ */
/* Algorithms end to end */

/* PROTOCOL.md §12.7: one node of a 2-node ffsplit cluster, every byte. */
START_TEST(ffsplit_example)
{
	struct srv s;
	struct qc c;

	SRV_START(&s, "-s", "off");
	qc_connect(&c, &s);
	qc_sendf(&c, "0000 00000010 0000 0004 00000001 0001 0004 64656d6f");
	qc_expect(&c, "0001 00000012 | 0000 0004 00000001 0002 0001 00"
	    " 0003 0001 01");
	qc_sendf(&c, "0003 00000093"
	    " 0000 0004 00000002"
	    " 0004 0024 0000 0001 0002 0003 0004 0005 0006 0007 0008 0009 000a"
	    " 000b 000c 000d 000e 000f 0010 0011"
	    " 0005 0030 0000 0001 0002 0003 0004 0005 0006 0007 0008 0009 000a"
	    " 000b 000c 000d 000e 000f 0010 0011 0012 0013 0014 0015 0016 0017"
	    " 0009 0004 00000001 000b 0002 0001 000c 0004 00001f40"
	    " 0015 0005 01 00000000 000d 000c 00000001 000000000000000a");
	expect_init_reply(&c, 2, 0);
	qc_sendf(&c, "0006 0000000d 0000 0004 00000003 0017 0001 01");
	qc_expect(&c, "0007 0000000d | 0000 0004 00000003 0017 0001 01");
	/* The initial burst: three lists back to back. */
	qc_sendf(&c, "000a 00000025 0000 0004 00000004 0012 0001 00"
	    " 0011 0008 0009 0004 00000001 0011 0008 0009 0004 00000002"
	    " 000a 00000029 0000 0004 00000005 0012 0001 02"
	    " 000d 000c 00000001 000000000000000a"
	    " 0011 0008 0009 0004 00000001"
	    " 000a 00000023 0000 0004 00000006 0012 0001 03 0014 0001 00"
	    " 0011 000d 0009 0004 00000001 0010 0001 01");
	qc_expect(&c, "000b 00000022 | 0000 0004 00000004 0012 0001 00"
	    " 000d 000c 00000001 000000000000000a 0013 0001 03");
	/* VOTE_INFO comes before the reply to the list that decided. */
	qc_expect(&c, "000e 0000001d | 0000 0004 00000001 0013 0001 01"
	    " 000d 000c 00000001 000000000000000a");
	qc_expect(&c, "000b 00000022 | 0000 0004 00000005 0012 0001 02"
	    " 000d 000c 00000001 000000000000000a 0013 0001 05");
	qc_expect(&c, "000b 00000022 | 0000 0004 00000006 0012 0001 03"
	    " 000d 000c 00000001 000000000000000a 0013 0001 05");
	qc_sendf(&c, "000f 00000008 0000 0004 00000001");
	qc_sendf(&c, "000a 00000023 0000 0004 00000007 0012 0001 03 0014 0001 01"
	    " 0011 000d 0009 0004 00000001 0010 0001 01");
	qc_expect(&c, "000b 00000022 | 0000 0004 00000007 0012 0001 03"
	    " 000d 000c 00000001 000000000000000a 0013 0001 05");
	qc_sendf(&c, "0008 00000008 0000 0004 00000001");
	qc_expect(&c, "0009 00000008 | 0000 0004 00000001");
	qc_expect_quiet(&c, QUIET_MS);
	qc_close(&c);
	srv_stop(&s);
}
END_TEST

/*
 * Four ffsplit nodes of cluster "demo", config {1,2,3,4}, one partition
 * in ring R0: the last membership list makes it stable and everybody gets
 * ACK.  All VOTE_INFOs are acknowledged.
 */
static void
ffsplit_four(struct srv *s, struct qc c[4], uint8_t tb_mode)
{
	uint32_t seq;

	for (uint32_t i = 0; i < 4; i++) {
		struct init_p p = init_p(2, i + 1, QN_ALGO_FFSPLIT);

		p.tb.mode = tb_mode;
		p.ring = R0;
		join(&c[i], s, "demo", &p);
	}
	for (int i = 0; i < 4; i++) {
		seq = send_config(&c[i], 1, 2, 3, 4);
		expect_nlr(&c[i], seq, QN_LIST_INITIAL_CONFIG, R0,
		    QN_VOTE_ASK_LATER);
	}
	for (int i = 0; i < 3; i++) {
		/* The others have not sent their membership yet. */
		seq = send_members(&c[i], R0, 0, 1, 2, 3, 4);
		expect_nlr(&c[i], seq, QN_LIST_MEMBERSHIP, R0,
		    QN_VOTE_WAIT_FOR_REPLY);
	}
	seq = send_members(&c[3], R0, 0, 1, 2, 3, 4);
	expect_vote_info(&c[3], 1, QN_VOTE_ACK, R0);
	expect_nlr(&c[3], seq, QN_LIST_MEMBERSHIP, R0, QN_VOTE_NO_CHANGE);
	for (int i = 0; i < 3; i++)
		expect_vote_info(&c[i], 1, QN_VOTE_ACK, R0);
	for (int i = 0; i < 4; i++)
		send_vote_info_reply(&c[i], 1);
	/* Replies are processed in order: the server has them all now. */
	for (int i = 0; i < 4; i++)
		echo_ok(&c[i]);
}

/*
 * Then the split {1,2} (ring R1) / {3,4} (ring R2), reported in node order:
 * only the fourth list makes the membership stable.  Returns the seq of
 * node 4's list; its reply is left unread.
 */
static uint32_t
ffsplit_split(struct qc c[4])
{
	uint32_t seq;

	seq = send_members(&c[0], R1, 0, 1, 2);
	expect_nlr(&c[0], seq, QN_LIST_MEMBERSHIP, R1, QN_VOTE_WAIT_FOR_REPLY);
	seq = send_members(&c[1], R1, 0, 1, 2);
	expect_nlr(&c[1], seq, QN_LIST_MEMBERSHIP, R1, QN_VOTE_WAIT_FOR_REPLY);
	seq = send_members(&c[2], R2, 0, 3, 4);
	expect_nlr(&c[2], seq, QN_LIST_MEMBERSHIP, R2, QN_VOTE_WAIT_FOR_REPLY);
	return send_members(&c[3], R2, 0, 3, 4);
}

/* The split decided for {1,2} (tie-breaker lowest), NACK first. */
static void
ffsplit_split_lowest(struct qc c[4])
{
	uint32_t seq = ffsplit_split(c);

	expect_vote_info(&c[2], 2, QN_VOTE_NACK, R2);
	expect_vote_info(&c[3], 2, QN_VOTE_NACK, R2);
	expect_nlr(&c[3], seq, QN_LIST_MEMBERSHIP, R2, QN_VOTE_NO_CHANGE);
	send_vote_info_reply(&c[2], 2);
	send_vote_info_reply(&c[3], 2);
	expect_vote_info(&c[0], 2, QN_VOTE_ACK, R1);
	expect_vote_info(&c[1], 2, QN_VOTE_ACK, R1);
	send_vote_info_reply(&c[0], 2);
	send_vote_info_reply(&c[1], 2);
	/*
	 * Make sure the server has the replies before anything else happens:
	 * in 3.0.3 a reply that arrives after the next decision and matches
	 * the client's unchanged counter cancels that client's pending ACK.
	 */
	for (int i = 0; i < 4; i++)
		echo_ok(&c[i]);
}

/* BEHAVIOUR.md §2.2.1 example 1: NACKs are acknowledged before any ACK. */
START_TEST(ffsplit_nack_first)
{
	struct srv s;
	struct qc c[4];
	uint32_t seq;

	SRV_START(&s, "-s", "off");
	ffsplit_four(&s, c, QN_TB_LOWEST);
	seq = ffsplit_split(c);
	/* The losers get NACK (node 4's before its own reply) ... */
	expect_vote_info(&c[2], 2, QN_VOTE_NACK, R2);
	expect_vote_info(&c[3], 2, QN_VOTE_NACK, R2);
	expect_nlr(&c[3], seq, QN_LIST_MEMBERSHIP, R2, QN_VOTE_NO_CHANGE);
	/* ... the winners nothing while a NACK is unacknowledged. */
	qc_expect_quiet(&c[0], QUIET_MS);
	qc_expect_quiet(&c[1], 0);
	send_vote_info_reply(&c[2], 1);		/* stale: ignored */
	send_vote_info_reply(&c[2], 2);
	qc_expect_quiet(&c[0], QUIET_MS);
	qc_expect_quiet(&c[1], 0);
	send_vote_info_reply(&c[3], 2);
	expect_vote_info(&c[0], 2, QN_VOTE_ACK, R1);
	expect_vote_info(&c[1], 2, QN_VOTE_ACK, R1);
	send_vote_info_reply(&c[0], 2);
	send_vote_info_reply(&c[1], 2);
	/* A quorum list changes nothing. */
	seq = send_quorum(&c[0], 1, 1, 2);
	expect_nlr(&c[0], seq, QN_LIST_QUORUM, R1, QN_VOTE_NO_CHANGE);
	for (int i = 0; i < 4; i++) {
		qc_expect_quiet(&c[i], i == 0 ? QUIET_MS : 0);
		echo_ok(&c[i]);
	}
	for (int i = 0; i < 4; i++)
		qc_close(&c[i]);
	srv_stop(&s);
}
END_TEST

/*
 * DELIBERATE (D1): node 3 reports heuristics Pass (its partition wins),
 * then Fail.  3.0.3 keeps the vote with {3,4} because candidate 4 still
 * sees node 3's previous Pass; ours gives it back to {1,2} (score 2 vs 1).
 */
START_TEST(ffsplit_d1)
{
	struct srv s;
	struct qc c[4];
	uint32_t seq;

	deliberate("D1 (ffsplit heuristics view)");
	SRV_START(&s, "-s", "off");
	ffsplit_four(&s, c, QN_TB_LOWEST);
	ffsplit_split_lowest(c);

	seq = send_heuristics_change(&c[2], QN_HEUR_PASS);
	expect_vote_info(&c[0], 3, QN_VOTE_NACK, R1);
	expect_vote_info(&c[1], 3, QN_VOTE_NACK, R1);
	expect_hcr(&c[2], seq, QN_VOTE_NO_CHANGE, R2, QN_HEUR_PASS);
	send_vote_info_reply(&c[0], 3);
	send_vote_info_reply(&c[1], 3);
	expect_vote_info(&c[2], 3, QN_VOTE_ACK, R2);
	expect_vote_info(&c[3], 3, QN_VOTE_ACK, R2);
	send_vote_info_reply(&c[2], 3);
	send_vote_info_reply(&c[3], 3);
	for (int i = 0; i < 4; i++)
		echo_ok(&c[i]);		/* the replies are in */

	seq = send_heuristics_change(&c[2], QN_HEUR_FAIL);
	if (debian) {
		expect_vote_info(&c[0], 4, QN_VOTE_NACK, R1);
		expect_vote_info(&c[1], 4, QN_VOTE_NACK, R1);
		expect_hcr(&c[2], seq, QN_VOTE_NO_CHANGE, R2, QN_HEUR_FAIL);
		send_vote_info_reply(&c[0], 4);
		send_vote_info_reply(&c[1], 4);
		expect_vote_info(&c[2], 4, QN_VOTE_ACK, R2);
		expect_vote_info(&c[3], 4, QN_VOTE_ACK, R2);
	} else {
		expect_vote_info(&c[2], 4, QN_VOTE_NACK, R2);
		expect_hcr(&c[2], seq, QN_VOTE_NO_CHANGE, R2, QN_HEUR_FAIL);
		expect_vote_info(&c[3], 4, QN_VOTE_NACK, R2);
		send_vote_info_reply(&c[2], 4);
		send_vote_info_reply(&c[3], 4);
		expect_vote_info(&c[0], 4, QN_VOTE_ACK, R1);
		expect_vote_info(&c[1], 4, QN_VOTE_ACK, R1);
	}
	for (int i = 0; i < 4; i++)
		qc_close(&c[i]);
	srv_stop(&s);
}
END_TEST

/*
 * DELIBERATE (D2): after the split won by {1,2}, node 1's qdevice leaves.
 * 3.0.3 still counts it as active in the re-decision its disconnect
 * triggers, so {1,2} keeps the vote (3 and 4 are sent NACK again, then 2
 * ACK); ours counts {1,2} as one active client: {3,4} wins.
 */
START_TEST(ffsplit_d2)
{
	struct srv s;
	struct qc c[4];

	deliberate("D2 (ffsplit leaving client still active)");
	SRV_START(&s, "-s", "off");
	ffsplit_four(&s, c, QN_TB_LOWEST);
	ffsplit_split_lowest(c);
	qc_close(&c[0]);
	if (debian) {
		expect_vote_info(&c[2], 3, QN_VOTE_NACK, R2);
		expect_vote_info(&c[3], 3, QN_VOTE_NACK, R2);
		send_vote_info_reply(&c[2], 3);
		send_vote_info_reply(&c[3], 3);
		expect_vote_info(&c[1], 3, QN_VOTE_ACK, R1);
	} else {
		expect_vote_info(&c[1], 3, QN_VOTE_NACK, R1);
		qc_expect_quiet(&c[2], QUIET_MS);
		send_vote_info_reply(&c[1], 3);
		expect_vote_info(&c[2], 3, QN_VOTE_ACK, R2);
		expect_vote_info(&c[3], 3, QN_VOTE_ACK, R2);
	}
	for (int i = 1; i < 4; i++)
		qc_close(&c[i]);
	srv_stop(&s);
}
END_TEST

/*
 * DELIBERATE (PROTOCOL.md §14.1): two ffsplit clients finish INIT and leave
 * before sending a config list.  3.0.3 crashes; ours carries on.
 */
START_TEST(ffsplit_no_lists)
{
	struct srv s;
	struct qc c1, c2, c3;
	int status;

	deliberate("§14.1 (list-less ffsplit clients crash 3.0.3)");
	SRV_START(&s, "-s", "off");
	join_simple(&c1, &s, "demo", 1, QN_ALGO_FFSPLIT);
	join_simple(&c2, &s, "demo", 2, QN_ALGO_FFSPLIT);
	qc_close(&c2);
	qc_close(&c1);
	if (debian) {
		ck_assert_msg(srv_wait(&s, TIMEOUT_MS, &status), "3.0.3 "
		    "survived list-less ffsplit clients leaving");
		ck_assert(WIFSIGNALED(status));
		return;
	}
	join_simple(&c3, &s, "demo", 1, QN_ALGO_FFSPLIT);
	echo_ok(&c3);
	qc_close(&c3);
	srv_stop(&s);
}
END_TEST

/* lms: a split is answered "wait for reply", decided HB/4 later. */
START_TEST(lms_split)
{
	struct srv s;
	struct qc c[2];
	uint32_t seq[2];
	int64_t t0;

	SRV_START(&s, "-s", "off");
	for (uint32_t i = 0; i < 2; i++) {
		struct init_p p = init_p(2, i + 1, QN_ALGO_LMS);

		p.hb = 2000;	/* algorithm timer 500 ms, DPD 3 s */
		p.ring = R0;
		join(&c[i], &s, "demo", &p);
	}
	for (int i = 0; i < 2; i++) {
		seq[i] = send_config(&c[i], 1, 2);
		expect_nlr(&c[i], seq[i], QN_LIST_INITIAL_CONFIG, R0,
		    QN_VOTE_NO_CHANGE);
	}
	for (int i = 0; i < 2; i++) {
		seq[i] = send_members(&c[i], R0, 0, 1, 2);
		expect_nlr(&c[i], seq[i], QN_LIST_MEMBERSHIP, R0, QN_VOTE_ACK);
	}
	seq[0] = send_quorum(&c[0], 1, 1, 2);
	expect_nlr(&c[0], seq[0], QN_LIST_QUORUM, R0, QN_VOTE_ACK);
	seq[1] = send_ask_for_vote(&c[1]);
	expect_afvr(&c[1], seq[1], QN_VOTE_ACK, R0);
	/* One partition: a heuristics change changes no vote (ours judges
	 * again, 3.0.3 doesn't), so NO_CHANGE and no VOTE_INFO. */
	seq[1] = send_heuristics_change(&c[1], QN_HEUR_PASS);
	expect_hcr(&c[1], seq[1], QN_VOTE_NO_CHANGE, R0, QN_HEUR_PASS);
	seq[1] = send_heuristics_change(&c[1], QN_HEUR_FAIL);
	expect_hcr(&c[1], seq[1], QN_VOTE_NO_CHANGE, R0, QN_HEUR_FAIL);
	qc_expect_quiet(&c[0], 0);

	/* Split {1} (R1) / {2} (R2): both wait, then the tie-breaker. */
	seq[0] = send_members(&c[0], R1, 0, 1);
	seq[1] = send_members(&c[1], R2, 0, 2);
	expect_nlr(&c[0], seq[0], QN_LIST_MEMBERSHIP, R1,
	    QN_VOTE_WAIT_FOR_REPLY);
	t0 = now_ms();
	expect_nlr(&c[1], seq[1], QN_LIST_MEMBERSHIP, R2,
	    QN_VOTE_WAIT_FOR_REPLY);
	expect_vote_info(&c[0], 1, QN_VOTE_ACK, R1);
	expect_vote_info(&c[1], 1, QN_VOTE_NACK, R2);
	ck_assert_msg(now_ms() - t0 >= 250, "lms decided after %d ms, before "
	    "its HB/4 = 500 ms timer", (int)(now_ms() - t0));
	send_vote_info_reply(&c[0], 1);
	send_vote_info_reply(&c[1], 1);
	/* Decided: the timer is not re-armed. */
	qc_expect_quiet(&c[0], 700);
	qc_expect_quiet(&c[1], 0);
	seq[1] = send_ask_for_vote(&c[1]);
	expect_afvr(&c[1], seq[1], QN_VOTE_NACK, R2);
	for (int i = 0; i < 2; i++)
		qc_close(&c[i]);
	srv_stop(&s);
}
END_TEST

/*
 * DELIBERATE (D3): lms, 2+2 split, tie-breaker node 3.  3.0.3 gives ACK to
 * node 3 only; ours to its whole partition {3,4}.
 */
START_TEST(lms_d3)
{
	struct srv s;
	struct qc c[4];
	uint32_t seq[4];

	deliberate("D3 (lms node-id tie-breaker)");
	SRV_START(&s, "-s", "off");
	for (uint32_t i = 0; i < 4; i++) {
		struct init_p p = init_p(2, i + 1, QN_ALGO_LMS);

		p.hb = 2000;
		p.ring = R0;
		p.tb.mode = QN_TB_NODE_ID;
		p.tb.node_id = 3;
		join(&c[i], &s, "demo", &p);
	}
	for (int i = 0; i < 4; i++) {
		seq[i] = send_config(&c[i], 1, 2, 3, 4);
		expect_nlr(&c[i], seq[i], QN_LIST_INITIAL_CONFIG, R0,
		    QN_VOTE_NO_CHANGE);
		seq[i] = send_members(&c[i], R0, 0, 1, 2, 3, 4);
		expect_nlr(&c[i], seq[i], QN_LIST_MEMBERSHIP, R0, QN_VOTE_ACK);
	}
	seq[0] = send_members(&c[0], R1, 0, 1, 2);
	seq[1] = send_members(&c[1], R1, 0, 1, 2);
	seq[2] = send_members(&c[2], R2, 0, 3, 4);
	seq[3] = send_members(&c[3], R2, 0, 3, 4);
	for (int i = 0; i < 4; i++)
		expect_nlr(&c[i], seq[i], QN_LIST_MEMBERSHIP, i < 2 ? R1 : R2,
		    QN_VOTE_WAIT_FOR_REPLY);
	expect_vote_info(&c[0], 1, QN_VOTE_NACK, R1);
	expect_vote_info(&c[1], 1, QN_VOTE_NACK, R1);
	expect_vote_info(&c[2], 1, QN_VOTE_ACK, R2);
	expect_vote_info(&c[3], 1, debian ? QN_VOTE_NACK : QN_VOTE_ACK, R2);
	for (int i = 0; i < 4; i++)
		qc_close(&c[i]);
	srv_stop(&s);
}
END_TEST

/*
 * DELIBERATE (D6, lms): after a 1/1 split won by node 1, node 1's qdevice
 * leaves.  3.0.3 leaves node 2 at NACK; ours re-evaluates and pushes ACK.
 */
START_TEST(lms_d6)
{
	struct srv s;
	struct qc c[2];
	uint32_t seq[2];

	deliberate("D6 (lms re-decision on disconnect)");
	SRV_START(&s, "-s", "off");
	for (uint32_t i = 0; i < 2; i++) {
		struct init_p p = init_p(2, i + 1, QN_ALGO_LMS);

		p.hb = 2000;
		p.ring = R0;
		join(&c[i], &s, "demo", &p);
		seq[i] = send_config(&c[i], 1, 2);
		expect_nlr(&c[i], seq[i], QN_LIST_INITIAL_CONFIG, R0,
		    QN_VOTE_NO_CHANGE);
		seq[i] = send_members(&c[i], R0, 0, 1, 2);
		expect_nlr(&c[i], seq[i], QN_LIST_MEMBERSHIP, R0, QN_VOTE_ACK);
	}
	seq[0] = send_members(&c[0], R1, 0, 1);
	seq[1] = send_members(&c[1], R2, 0, 2);
	expect_nlr(&c[0], seq[0], QN_LIST_MEMBERSHIP, R1,
	    QN_VOTE_WAIT_FOR_REPLY);
	expect_nlr(&c[1], seq[1], QN_LIST_MEMBERSHIP, R2,
	    QN_VOTE_WAIT_FOR_REPLY);
	expect_vote_info(&c[0], 1, QN_VOTE_ACK, R1);
	expect_vote_info(&c[1], 1, QN_VOTE_NACK, R2);
	send_vote_info_reply(&c[0], 1);
	send_vote_info_reply(&c[1], 1);
	qc_close(&c[0]);
	if (debian)
		qc_expect_quiet(&c[1], 1000);
	else
		expect_vote_info(&c[1], 2, QN_VOTE_ACK, R2);
	qc_close(&c[1]);
	srv_stop(&s);
}
END_TEST

/* 2nodelms: BEHAVIOUR.md §2.4 rules, one by one. */
START_TEST(twonode_rules)
{
	struct srv s;
	struct qc c[2];
	uint32_t seq;
	struct init_p p;

	SRV_START(&s, "-s", "off");
	join_simple(&c[0], &s, "demo", 1, QN_ALGO_2NODELMS);
	join_simple(&c[1], &s, "demo", 2, QN_ALGO_2NODELMS);
	/* Config lists must have two nodes: else error 12. */
	seq = send_config(&c[0], 1, 2, 3);
	expect_error(&c[0], seq, QN_ERR_UNSUPPORTED_DECISION_ALGORITHM);
	seq = send_config(&c[0], 1);
	expect_error(&c[0], seq, QN_ERR_UNSUPPORTED_DECISION_ALGORITHM);
	for (int i = 0; i < 2; i++) {
		seq = send_config(&c[i], 1, 2);
		expect_nlr(&c[i], seq, QN_LIST_INITIAL_CONFIG, R0,
		    QN_VOTE_NO_CHANGE);
	}
	/* Nothing decided yet: ask later. */
	seq = send_ask_for_vote(&c[0]);
	expect_afvr(&c[0], seq, QN_VOTE_ASK_LATER, R0);
	/* Both nodes in the membership: ACK. */
	for (int i = 0; i < 2; i++) {
		seq = send_members(&c[i], R0, 0, 1, 2);
		expect_nlr(&c[i], seq, QN_LIST_MEMBERSHIP, R0, QN_VOTE_ACK);
	}
	/* Split, equal heuristics: the tie-breaker (lowest). */
	seq = send_members(&c[0], R1, 0, 1);
	expect_nlr(&c[0], seq, QN_LIST_MEMBERSHIP, R1, QN_VOTE_ACK);
	seq = send_members(&c[1], R2, 0, 2);
	expect_nlr(&c[1], seq, QN_LIST_MEMBERSHIP, R2, QN_VOTE_NACK);
	seq = send_ask_for_vote(&c[1]);
	expect_afvr(&c[1], seq, QN_VOTE_NACK, R2);
	/* Better heuristics than the other's latest (undefined): ACK. */
	seq = send_members(&c[1], RING(2, 3), QN_HEUR_PASS, 2);
	expect_nlr(&c[1], seq, QN_LIST_MEMBERSHIP, RING(2, 3), QN_VOTE_ACK);
	seq = send_ask_for_vote(&c[1]);
	expect_afvr(&c[1], seq, QN_VOTE_ACK, RING(2, 3));
	/* Worse (fail < undefined): NACK. */
	seq = send_members(&c[1], RING(2, 4), QN_HEUR_FAIL, 2);
	expect_nlr(&c[1], seq, QN_LIST_MEMBERSHIP, RING(2, 4), QN_VOTE_NACK);
	/* Quorum list: no change, no VOTE_INFO. */
	seq = send_quorum(&c[1], 0, 2);
	expect_nlr(&c[1], seq, QN_LIST_QUORUM, RING(2, 4), QN_VOTE_NO_CHANGE);
	/*
	 * DELIBERATE (upstream #14): a heuristics change judges node 2 again
	 * (pass beats node 1's undefined: ACK) and node 1 with it, both told
	 * by VOTE_INFO, the NACK first, and the reply is NO_CHANGE; 3.0.3
	 * answers NO_CHANGE and pushes nothing.
	 */
	deliberate("2nodelms heuristics change");
	seq = send_heuristics_change(&c[1], QN_HEUR_PASS);
	if (debian) {
		expect_hcr(&c[1], seq, QN_VOTE_NO_CHANGE, RING(2, 4),
		    QN_HEUR_PASS);
		qc_expect_quiet(&c[0], QUIET_MS);
	} else {
		send_vote_info_reply(&c[0], expect_vote_info(&c[0], 0,
		    QN_VOTE_NACK, R1));
		send_vote_info_reply(&c[1], expect_vote_info(&c[1], 0,
		    QN_VOTE_ACK, RING(2, 4)));
		expect_hcr(&c[1], seq, QN_VOTE_NO_CHANGE, RING(2, 4),
		    QN_HEUR_PASS);
		qc_expect_quiet(&c[0], QUIET_MS);
	}
	qc_expect_quiet(&c[1], 0);

	/* Newcomer: node 2 comes back in another ring while 1 holds ACK. */
	qc_close(&c[1]);
	p = init_p(2, 2, QN_ALGO_2NODELMS);
	p.ring = RING(2, 5);
	join(&c[1], &s, "demo", &p);
	seq = send_config(&c[1], 1, 2);
	expect_nlr(&c[1], seq, QN_LIST_INITIAL_CONFIG, RING(2, 5),
	    QN_VOTE_NO_CHANGE);
	seq = send_members(&c[1], RING(2, 5), QN_HEUR_PASS, 2);
	expect_nlr(&c[1], seq, QN_LIST_MEMBERSHIP, RING(2, 5), QN_VOTE_NACK);
	/* Not stored: still nothing decided. */
	seq = send_ask_for_vote(&c[1]);
	expect_afvr(&c[1], seq, QN_VOTE_ASK_LATER, RING(2, 5));
	for (int i = 0; i < 2; i++)
		qc_close(&c[i]);
	srv_stop(&s);
}
END_TEST

/*
 * DELIBERATE (D6, 2nodelms): after a 1/1 split won by node 1, node 1's
 * qdevice leaves.  3.0.3 never pushes a vote; ours tells node 2 ACK.
 */
START_TEST(twonode_d6)
{
	struct srv s;
	struct qc c[2];
	uint32_t seq;

	deliberate("D6 (2nodelms re-decision on disconnect)");
	SRV_START(&s, "-s", "off");
	for (uint32_t i = 0; i < 2; i++) {
		join_simple(&c[i], &s, "demo", i + 1, QN_ALGO_2NODELMS);
		seq = send_config(&c[i], 1, 2);
		expect_nlr(&c[i], seq, QN_LIST_INITIAL_CONFIG, R0,
		    QN_VOTE_NO_CHANGE);
		seq = send_members(&c[i], R0, 0, 1, 2);
		expect_nlr(&c[i], seq, QN_LIST_MEMBERSHIP, R0, QN_VOTE_ACK);
	}
	seq = send_members(&c[0], R1, 0, 1);
	expect_nlr(&c[0], seq, QN_LIST_MEMBERSHIP, R1, QN_VOTE_ACK);
	seq = send_members(&c[1], R2, 0, 2);
	expect_nlr(&c[1], seq, QN_LIST_MEMBERSHIP, R2, QN_VOTE_NACK);
	qc_close(&c[0]);
	if (debian)
		qc_expect_quiet(&c[1], 1000);
	else
		expect_vote_info(&c[1], 1, QN_VOTE_ACK, R2);
	seq = send_ask_for_vote(&c[1]);
	expect_afvr(&c[1], seq, debian ? QN_VOTE_NACK : QN_VOTE_ACK, R2);
	qc_close(&c[1]);
	srv_stop(&s);
}
END_TEST

/* test: membership list and ASK_FOR_VOTE → ACK, the rest no change. */
START_TEST(test_algorithm)
{
	struct srv s;
	struct qc c;
	uint32_t seq;

	SRV_START(&s, "-s", "off");
	join_simple(&c, &s, "demo", 1, QN_ALGO_TEST);
	seq = send_config(&c, 1, 2, 3);
	expect_nlr(&c, seq, QN_LIST_INITIAL_CONFIG, R0, QN_VOTE_NO_CHANGE);
	seq = send_list(&c, QN_LIST_CHANGED_CONFIG, RING(0, 0), 0, IDS(5), 0);
	expect_nlr(&c, seq, QN_LIST_CHANGED_CONFIG, R0, QN_VOTE_NO_CHANGE);
	seq = send_members(&c, RING(7, 0x123456789a), 0, 3);
	expect_nlr(&c, seq, QN_LIST_MEMBERSHIP, RING(7, 0x123456789a),
	    QN_VOTE_ACK);
	seq = send_quorum(&c, 0, 1);
	expect_nlr(&c, seq, QN_LIST_QUORUM, RING(7, 0x123456789a),
	    QN_VOTE_NO_CHANGE);
	seq = send_ask_for_vote(&c);
	expect_afvr(&c, seq, QN_VOTE_ACK, RING(7, 0x123456789a));
	seq = send_heuristics_change(&c, QN_HEUR_FAIL);
	expect_hcr(&c, seq, QN_VOTE_NO_CHANGE, RING(7, 0x123456789a),
	    QN_HEUR_FAIL);
	send_vote_info_reply(&c, 1);
	qc_expect_quiet(&c, QUIET_MS);
	qc_close(&c);
	srv_stop(&s);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("qnetd protocol: algorithms");
	TCase *tc = harness_tcase(s, "algorithms", TEST_TIMEOUT);

	tcase_add_test(tc, ffsplit_example);
	tcase_add_test(tc, ffsplit_nack_first);
	tcase_add_test(tc, ffsplit_d1);
	tcase_add_test(tc, ffsplit_d2);
	tcase_add_test(tc, ffsplit_no_lists);
	tcase_add_test(tc, lms_split);
	tcase_add_test(tc, lms_d3);
	tcase_add_test(tc, lms_d6);
	tcase_add_test(tc, twonode_rules);
	tcase_add_test(tc, twonode_d6);
	tcase_add_test(tc, test_algorithm);
	return harness_run(s, H_PROTO);
}
