/*
 * Unit tests of the qdevice's client-side policy (qdevice/policy.c) and
 * cast-vote timer (qdevice/cast.c) against BEHAVIOUR.md §3.6-§3.7 and
 * PROTOCOL.md §9-§10.2: which disconnect reasons reconnect with which
 * algorithm, which end the daemon and with what status, how received votes
 * are applied (stale ring ids mean "no change"), what each algorithm votes
 * when the connection ends, and what votequorum is told as a result.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cast.h"
#include "policy.h"
#include "proto.h"

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

static const uint8_t algos[] = {
	QN_ALGO_TEST, QN_ALGO_FFSPLIT, QN_ALGO_2NODELMS, QN_ALGO_LMS
};

/* ------------------------------------------------------------------ */
/* Disconnect reasons */

static const enum disc_reason retry[] = {
	DISC_MSG_DECODE_ERROR, DISC_SERVER_CLOSED_CONNECTION,
	DISC_CANT_READ_MESSAGE, DISC_CANT_SEND_MESSAGE, DISC_CANT_CONNECT,
	DISC_ECHO_REPLY_NOT_RECEIVED, DISC_SERVER_SENT_DUPLICATE_NODE_ID,
	DISC_SERVER_SENT_TIE_BREAKER_DIFFERS,
	DISC_SERVER_SENT_ALGORITHM_DIFFERS,
	/* Ours: the cluster agreed on another host of the list. */
	DISC_ARBITER_SWITCH,
	/* Ours: a renewed client certificate, once safe (SIGHUP). */
	DISC_CLIENT_CERT_RENEWED,
};

static const enum disc_reason exit_but_lms[] = {
	DISC_UNEXPECTED_MSG, DISC_UNSUPPORTED_MSG, DISC_REQUIRED_OPTION_MISSING,
	DISC_INCOMPATIBLE_TLS, DISC_INCOMPATIBLE_MSG_SIZE,
	DISC_SERVER_SENT_ERROR, DISC_SERVER_DOESNT_SUPPORT_ALGORITHM,
	DISC_SERVER_DOESNT_SUPPORT_OPTION, DISC_CANT_START_TLS,
	DISC_CANT_ALLOCATE_MSG_BUFFER, DISC_ALGO_ERROR,
	DISC_ALGO_ECHO_REPLY_ERROR,
};

static const enum disc_reason forced[] = {
	DISC_COROSYNC_CONNECTION_CLOSED, DISC_LOCAL_SOCKET_CLOSED,
	DISC_CANT_SCHEDULE_VOTING_TIMER, DISC_CANT_REGISTER_CALLBACK,
	DISC_HEURISTICS_WORKER_CLOSED,
};

START_TEST(reasons_that_reconnect)
{
	for (size_t a = 0; a < ARRAY_LEN(algos); a++)
		ck_assert_int_eq(disc_reason_action(retry[_i], algos[a]),
		    DISC_RECONNECT);
	ck_assert_int_eq(disc_reason_forced(retry[_i]), 0);
}
END_TEST

START_TEST(reasons_that_exit_but_lms)
{
	enum disc_reason r = exit_but_lms[_i];

	ck_assert_int_eq(disc_reason_action(r, QN_ALGO_FFSPLIT), DISC_EXIT);
	ck_assert_int_eq(disc_reason_action(r, QN_ALGO_2NODELMS), DISC_EXIT);
	ck_assert_int_eq(disc_reason_action(r, QN_ALGO_TEST), DISC_EXIT);
	ck_assert_int_eq(disc_reason_action(r, QN_ALGO_LMS), DISC_RECONNECT);
	ck_assert_int_eq(disc_reason_forced(r), 0);
	ck_assert_int_eq(disc_reason_exit_status(r), 1);
}
END_TEST

START_TEST(forced_reasons)
{
	enum disc_reason r = forced[_i];

	for (size_t a = 0; a < ARRAY_LEN(algos); a++)
		ck_assert_int_eq(disc_reason_action(r, algos[a]), DISC_EXIT);
	ck_assert_int_eq(disc_reason_forced(r), 1);
	/* Only a shutdown request ends the daemon successfully. */
	ck_assert_int_eq(disc_reason_exit_status(r),
	    r == DISC_LOCAL_SOCKET_CLOSED ? 0 : 1);
}
END_TEST

START_TEST(every_reason_classified)
{
	size_t n = ARRAY_LEN(retry) + ARRAY_LEN(exit_but_lms) +
	    ARRAY_LEN(forced);

	/* Every reason but DISC_NONE is in exactly one table above. */
	ck_assert_uint_eq(n, DISC_REASON_COUNT - 1);
	for (int r = 0; r < DISC_REASON_COUNT; r++) {
		ck_assert_ptr_nonnull(disc_reason_str(r));
		ck_assert_str_ne(disc_reason_str(r), "Unknown reason");
	}
	ck_assert_str_eq(disc_reason_str(DISC_REASON_COUNT), "Unknown reason");
}
END_TEST

START_TEST(init_reply_errors)
{
	/* 17, 15, 16 may go away when the other nodes change: retried. */
	ck_assert_int_eq(disc_reason_for_init_error(QN_ERR_DUPLICATE_NODE_ID),
	    DISC_SERVER_SENT_DUPLICATE_NODE_ID);
	ck_assert_int_eq(disc_reason_for_init_error(
	    QN_ERR_TIE_BREAKER_DIFFERS_FROM_OTHER_NODES),
	    DISC_SERVER_SENT_TIE_BREAKER_DIFFERS);
	ck_assert_int_eq(disc_reason_for_init_error(
	    QN_ERR_ALGORITHM_DIFFERS_FROM_OTHER_NODES),
	    DISC_SERVER_SENT_ALGORITHM_DIFFERS);
	for (uint16_t code = 1; code <= 19; code++) {
		enum disc_reason r = disc_reason_for_init_error(code);

		if (code >= 15 && code <= 17)
			continue;
		ck_assert_int_eq(r, DISC_SERVER_SENT_ERROR);
		ck_assert_int_eq(disc_reason_action(r, QN_ALGO_FFSPLIT),
		    DISC_EXIT);
	}
}
END_TEST

/* ------------------------------------------------------------------ */
/* Votes received and votes on disconnect */

START_TEST(received_votes)
{
	struct qn_ring_id sent = { 1, 0x10 };
	struct qn_ring_id other_seq = { 1, 0x14 }, other_node = { 2, 0x10 };
	uint8_t algo = algos[_i];

	for (uint8_t v = QN_VOTE_ACK; v <= QN_VOTE_NO_CHANGE; v++) {
		ck_assert_uint_eq(policy_received_vote(algo, v, &sent, &sent), v);
		ck_assert_uint_eq(policy_received_vote(algo, v, &other_seq,
		    &sent), QN_VOTE_NO_CHANGE);
		ck_assert_uint_eq(policy_received_vote(algo, v, &other_node,
		    &sent), QN_VOTE_NO_CHANGE);
	}
}
END_TEST

START_TEST(vote_on_disconnect)
{
	for (int quorate = 0; quorate <= 1; quorate++) {
		for (int wfa = 0; wfa <= 1; wfa++) {
			ck_assert_uint_eq(policy_vote_on_disconnect(
			    QN_ALGO_FFSPLIT, quorate, wfa), QN_VOTE_NACK);
			ck_assert_uint_eq(policy_vote_on_disconnect(
			    QN_ALGO_LMS, quorate, wfa), quorate && wfa ?
			    QN_VOTE_NO_CHANGE : QN_VOTE_NACK);
			ck_assert_uint_eq(policy_vote_on_disconnect(
			    QN_ALGO_2NODELMS, quorate, wfa), QN_VOTE_NO_CHANGE);
			ck_assert_uint_eq(policy_vote_on_disconnect(
			    QN_ALGO_TEST, quorate, wfa), QN_VOTE_NO_CHANGE);
			ck_assert_int_eq(policy_keep_on_missing_echo(
			    QN_ALGO_LMS, quorate, wfa), quorate && wfa);
			ck_assert_int_eq(policy_keep_on_missing_echo(
			    QN_ALGO_FFSPLIT, quorate, wfa), 0);
			ck_assert_int_eq(policy_keep_on_missing_echo(
			    QN_ALGO_2NODELMS, quorate, wfa), 0);
			ck_assert_int_eq(policy_keep_on_missing_echo(
			    QN_ALGO_TEST, quorate, wfa), 0);
		}
	}
}
END_TEST

START_TEST(vote_on_event_while_disconnected)
{
	ck_assert_uint_eq(policy_vote_on_event_disconnected(QN_VOTE_ACK),
	    QN_VOTE_NACK);
	for (uint8_t v = QN_VOTE_UNDEFINED; v <= QN_VOTE_NO_CHANGE; v++)
		if (v != QN_VOTE_ACK)
			ck_assert_uint_eq(policy_vote_on_event_disconnected(v),
			    QN_VOTE_NO_CHANGE);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The cast-vote timer: what votequorum is told */

struct polls {
	int count;
	int last;		/* cast_vote of the last poll */
	int fail;		/* make polls fail */
	int failed;		/* the fail callback ran */
};

static int
poll_cb(void *arg, int cast_vote)
{
	struct polls *p = arg;

	p->count++;
	p->last = cast_vote;
	return p->fail ? -1 : 0;
}

static void
fail_cb(void *arg)
{
	((struct polls *)arg)->failed++;
}

static uv_loop_t loop;
static struct cast cast;
static struct polls polls;

static void
cast_setup(void)
{
	memset(&polls, 0, sizeof(polls));
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	cast_init(&cast, &loop, 20, poll_cb, fail_cb, &polls);
}

static void
cast_teardown(void)
{
	cast_close(&cast);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
}

/* Let the timer tick for about ms milliseconds. */
static void
run_for(uint64_t ms)
{
	uint64_t end = uv_now(&loop) + ms;

	while (uv_now(&loop) < end) {
		uv_run(&loop, UV_RUN_ONCE);
		uv_update_time(&loop);
	}
}

START_TEST(cast_ack_nack_poll_at_once)
{
	ck_assert_int_eq(cast_running(&cast), 0);
	ck_assert_int_eq(cast_set_vote(&cast, QN_VOTE_ACK), 0);
	ck_assert_int_eq(polls.count, 1);
	ck_assert_int_eq(polls.last, 1);
	ck_assert_int_eq(cast_running(&cast), 1);
	ck_assert_int_eq(cast_casting(&cast), 1);

	ck_assert_int_eq(cast_set_vote(&cast, QN_VOTE_NACK), 0);
	ck_assert_int_eq(polls.count, 2);
	ck_assert_int_eq(polls.last, 0);
	ck_assert_int_eq(cast_running(&cast), 1);
	ck_assert_int_eq(cast_casting(&cast), 0);

	/* And then every interval. */
	run_for(110);
	ck_assert_int_ge(polls.count, 5);
	ck_assert_int_eq(polls.last, 0);
}
END_TEST

START_TEST(cast_stop_and_no_change)
{
	static const uint8_t stops[] = { QN_VOTE_ASK_LATER,
	    QN_VOTE_WAIT_FOR_REPLY };

	for (size_t i = 0; i < ARRAY_LEN(stops); i++) {
		int before;

		cast_set_vote(&cast, QN_VOTE_ACK);
		before = polls.count;
		ck_assert_int_eq(cast_set_vote(&cast, stops[i]), 0);
		ck_assert_int_eq(polls.count, before);
		ck_assert_int_eq(cast_running(&cast), 0);
		ck_assert_int_eq(cast_casting(&cast), 0);
		run_for(60);
		ck_assert_int_eq(polls.count, before);	/* no polls: vote lapses */
	}
	/* NO_CHANGE keeps a stopped timer stopped and a running one running. */
	ck_assert_int_eq(cast_set_vote(&cast, QN_VOTE_NO_CHANGE), 0);
	ck_assert_int_eq(cast_running(&cast), 0);
	cast_set_vote(&cast, QN_VOTE_ACK);
	polls.count = 0;
	ck_assert_int_eq(cast_set_vote(&cast, QN_VOTE_NO_CHANGE), 0);
	ck_assert_int_eq(polls.count, 0);
	ck_assert_int_eq(cast_casting(&cast), 1);
}
END_TEST

START_TEST(cast_paused)
{
	cast_pause(&cast, 1);
	/* Paused: the vote is taken but votequorum is not told. */
	ck_assert_int_eq(cast_set_vote(&cast, QN_VOTE_ACK), 0);
	ck_assert_int_eq(polls.count, 0);
	ck_assert_int_eq(cast_running(&cast), 1);
	run_for(70);
	ck_assert_int_eq(polls.count, 0);
	cast_pause(&cast, 0);
	run_for(50);
	ck_assert_int_ge(polls.count, 1);
	ck_assert_int_eq(polls.last, 1);
}
END_TEST

START_TEST(cast_poll_failure)
{
	polls.fail = 1;
	/* The immediate poll reports to the caller... */
	ck_assert_int_eq(cast_set_vote(&cast, QN_VOTE_NACK), -1);
	ck_assert_int_eq(polls.failed, 0);
	/* ...a timer poll to the fail callback. */
	run_for(30);
	ck_assert_int_ge(polls.failed, 1);
}
END_TEST

/*
 * Whole sequences: a connected node gets a vote, then loses the server.
 * What it then tells votequorum depends on the algorithm (§3.7).
 */
static const struct {
	uint8_t algo;
	int quorate, wfa;
	int running, casting;		/* after the disconnect */
} after_loss[] = {
	{ QN_ALGO_FFSPLIT, 1, 1, 1, 0 },
	{ QN_ALGO_FFSPLIT, 0, 0, 1, 0 },
	{ QN_ALGO_LMS, 1, 1, 1, 1 },
	{ QN_ALGO_LMS, 1, 0, 1, 0 },
	{ QN_ALGO_LMS, 0, 1, 1, 0 },
	{ QN_ALGO_2NODELMS, 0, 0, 1, 1 },
	{ QN_ALGO_TEST, 0, 0, 1, 1 },
};

START_TEST(vote_sequence_per_algorithm)
{
	struct qn_ring_id sent = { 1, 8 }, stale = { 1, 4 };
	uint8_t algo = after_loss[_i].algo;

	/* A stale NACK changes nothing, the vote for our ring id counts. */
	cast_set_vote(&cast, policy_received_vote(algo, QN_VOTE_WAIT_FOR_REPLY,
	    &sent, &sent));
	ck_assert_int_eq(cast_running(&cast), 0);
	cast_set_vote(&cast, policy_received_vote(algo, QN_VOTE_ACK, &sent,
	    &sent));
	cast_set_vote(&cast, policy_received_vote(algo, QN_VOTE_NACK, &stale,
	    &sent));
	ck_assert_int_eq(cast_casting(&cast), 1);

	cast_set_vote(&cast, policy_vote_on_disconnect(algo,
	    after_loss[_i].quorate, after_loss[_i].wfa));
	ck_assert_int_eq(cast_running(&cast), after_loss[_i].running);
	ck_assert_int_eq(cast_casting(&cast), after_loss[_i].casting);
	ck_assert_int_eq(polls.last, after_loss[_i].casting);

	/* Any later event while disconnected takes a kept ACK away. */
	cast_set_vote(&cast, policy_vote_on_event_disconnected(cast.vote));
	ck_assert_int_eq(cast_casting(&cast), 0);
	ck_assert_int_eq(cast_running(&cast), 1);
}
END_TEST

/*
 * A renewed client certificate: reconnect now, or wait until dropping the
 * connection cannot cost this node quorum.  2-node ffsplit: each node 1
 * vote, the Qdevice 1, expected 3, quorum 2.
 */
static const struct {
	const char *what;
	struct policy_quorum q;
	int safe;
} cert_cases[] = {
	{ "both nodes up, ACK counted: quorate without it",
	    { QN_VOTE_ACK, QN_VOTE_NACK, 1, 3, 1, 2 }, 1 },
	{ "one node up, ACK counted: quorum hangs on it",
	    { QN_VOTE_ACK, QN_VOTE_NACK, 1, 2, 1, 2 }, 0 },
	{ "one node up, NACK: no vote to lose",
	    { QN_VOTE_NACK, QN_VOTE_NACK, 0, 1, 0, 2 }, 1 },
	{ "ACK not counted by votequorum",
	    { QN_VOTE_ACK, QN_VOTE_NACK, 1, 2, 0, 2 }, 1 },
	{ "ACK but not quorate anyway",
	    { QN_VOTE_ACK, QN_VOTE_NACK, 0, 2, 1, 3 }, 1 },
	{ "ASK_LATER casts nothing",
	    { QN_VOTE_ASK_LATER, QN_VOTE_NACK, 1, 2, 1, 2 }, 1 },
	{ "2nodelms keeps its vote over a disconnect",
	    { QN_VOTE_ACK, QN_VOTE_NO_CHANGE, 1, 2, 1, 2 }, 1 },
	{ "Qdevice with 3 votes, 4 nodes, 2 down: 2 < quorum 4",
	    { QN_VOTE_ACK, QN_VOTE_NACK, 1, 5, 3, 4 }, 0 },
	{ "Qdevice with 3 votes, 4 nodes up: 4 >= quorum 4",
	    { QN_VOTE_ACK, QN_VOTE_NACK, 1, 7, 3, 4 }, 1 },
	{ "inconsistent counts (qdevice above total) wait",
	    { QN_VOTE_ACK, QN_VOTE_NACK, 1, 1, 2, 0 }, 0 },
};

START_TEST(cert_reconnect_decision)
{
	ck_assert_msg(policy_cert_reconnect_safe(&cert_cases[_i].q) ==
	    cert_cases[_i].safe, "%s", cert_cases[_i].what);
}
END_TEST

/* The decision follows the algorithm's vote on disconnect. */
START_TEST(cert_reconnect_by_algorithm)
{
	struct policy_quorum q = { QN_VOTE_ACK, 0, 1, 2, 1, 2 };

	q.vote_on_disconnect = policy_vote_on_disconnect(QN_ALGO_FFSPLIT, 1, 0);
	ck_assert_int_eq(policy_cert_reconnect_safe(&q), 0);
	q.vote_on_disconnect = policy_vote_on_disconnect(QN_ALGO_LMS, 1, 0);
	ck_assert_int_eq(policy_cert_reconnect_safe(&q), 0);
	q.vote_on_disconnect = policy_vote_on_disconnect(QN_ALGO_LMS, 1, 1);
	ck_assert_int_eq(policy_cert_reconnect_safe(&q), 1);
	q.vote_on_disconnect = policy_vote_on_disconnect(QN_ALGO_2NODELMS, 1,
	    0);
	ck_assert_int_eq(policy_cert_reconnect_safe(&q), 1);
}
END_TEST

static Suite *
policy_suite(void)
{
	Suite *s = suite_create("qdevice policy");
	TCase *tc;

	tc = tcase_create("disconnect reasons");
	tcase_add_loop_test(tc, reasons_that_reconnect, 0, ARRAY_LEN(retry));
	tcase_add_loop_test(tc, reasons_that_exit_but_lms, 0,
	    ARRAY_LEN(exit_but_lms));
	tcase_add_loop_test(tc, forced_reasons, 0, ARRAY_LEN(forced));
	tcase_add_test(tc, every_reason_classified);
	tcase_add_test(tc, init_reply_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("votes");
	tcase_add_loop_test(tc, received_votes, 0, ARRAY_LEN(algos));
	tcase_add_test(tc, vote_on_disconnect);
	tcase_add_test(tc, vote_on_event_while_disconnected);
	suite_add_tcase(s, tc);

	tc = tcase_create("renewed certificate");
	tcase_add_loop_test(tc, cert_reconnect_decision, 0,
	    ARRAY_LEN(cert_cases));
	tcase_add_test(tc, cert_reconnect_by_algorithm);
	suite_add_tcase(s, tc);

	tc = tcase_create("cast-vote timer");
	tcase_add_checked_fixture(tc, cast_setup, cast_teardown);
	tcase_add_test(tc, cast_ack_nack_poll_at_once);
	tcase_add_test(tc, cast_stop_and_no_change);
	tcase_add_test(tc, cast_paused);
	tcase_add_test(tc, cast_poll_failure);
	tcase_add_loop_test(tc, vote_sequence_per_algorithm, 0,
	    ARRAY_LEN(after_loss));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(policy_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
