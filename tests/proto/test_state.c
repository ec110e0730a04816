/*
 * Decisions that survive (issue 12): ffsplit's keep-active-partition
 * memory outlives its cluster's clients and a restart of the daemon
 * (state_dir), and a restarted arbiter holds a 50:50 tie for the
 * partition that held the vote instead of handing it out by the order of
 * arrival or the tie-breaker.  3.0.3 forgets everything (D17): there the
 * late partition loses, which the tests skip as DELIBERATE.
 *
 * The example of the issue: 2 nodes, ffsplit, KAP on, tie-breaker lowest;
 * node 2 alone holds the vote; the arbiter restarts; node 1 comes back
 * split from node 2 and reaches the arbiter first.  The vote must end on
 * node 2.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"

#define HOLD_MS		2000
#define HOLD_SETTINGS	"keep_active_partition_tie_breaker=1,tie_hold_time=2000"

static void
state_join(struct qc *c, const struct srv *s, uint32_t node)
{
	struct init_p p = init_p(2, node, QN_ALGO_FFSPLIT);

	join(c, s, "state", &p);
	expect_nlr(c, send_config(c, 1, 2), QN_LIST_INITIAL_CONFIG, R0,
	    QN_VOTE_ASK_LATER);
}

/* Node 2 alone gets the vote (the only partition with half the votes). */
static void
node2_holds_vote(struct qc *c2, const struct srv *s)
{
	uint32_t seq;

	state_join(c2, s, 2);
	seq = send_members(c2, R2, 0, 2);
	send_vote_info_reply(c2, expect_vote_info(c2, 0, QN_VOTE_ACK, R2));
	expect_nlr(c2, seq, QN_LIST_MEMBERSHIP, R2, QN_VOTE_NO_CHANGE);
}

/* Start a daemon on state_dir (its own directory if NULL). */
static void
start_with(struct srv *s, const char *state_dir, const char *settings)
{
	srv_prepare(s);
	if (state_dir != NULL)
		snprintf(s->state_dir, sizeof(s->state_dir), "%s", state_dir);
	SRV_LAUNCH(s, "-s", "off", "-S", settings);
}

static void
start_on(struct srv *s, const char *state_dir)
{
	start_with(s, state_dir, HOLD_SETTINGS);
}

static void
assert_json_has(const struct srv *s, const char *needle)
{
	struct buf out;

	buf_init(&out);
	ck_assert_int_eq(ipc_request(s, "list json\n", &out), 0);
	ck_assert_msg(strstr((char *)out.data, needle) != NULL,
	    "\"%s\" not in list json:\n%s", needle, (char *)out.data);
	buf_free(&out);
}

/*
 * The example with a restart: node 1 arrives first and is told
 * NACK, why, until node 2 is back; then node 2 wins by keep-active-
 * partition, after node 1 acknowledged its NACK.
 */
START_TEST(restart_holds_tie_for_old_partition)
{
	struct srv s1, s2;
	struct qc c1, c2;
	uint32_t seq;
	char path[PATH_MAX + 32];
	struct stat st;

	if (debian) {
		deliberate("decision memory across a restart (D17): not run");
		return;
	}
	start_on(&s1, NULL);
	node2_holds_vote(&c2, &s1);
	qc_close(&c2);
	srv_stop(&s1);		/* the last save at exit */
	snprintf(path, sizeof(path), "%s/state.json", s1.dir);
	ck_assert_msg(stat(path, &st) == 0, "no %s", path);

	start_on(&s2, s1.dir);
	ASSERT_LOG(&s2, "Decision memory of 1 cluster(s) loaded");
	state_join(&c1, &s2, 1);
	seq = send_members(&c1, R1, 0, 1);
	send_vote_info_reply(&c1, expect_vote_info(&c1, 0, QN_VOTE_NACK, R1));
	expect_nlr(&c1, seq, QN_LIST_MEMBERSHIP, R1, QN_VOTE_NO_CHANGE);
	ASSERT_LOG(&s2, "NACK: holding the tie for partition {2}, which held "
	    "the vote before the restart, for up to 2 s");
	assert_json_has(&s2, "holding the tie for partition {2}");
	assert_json_has(&s2, "\"decision_memory\":{\"quorate_partition\":[2],"
	    "\"ring_id\":{\"node_id\":3,\"seq\":2,");
	assert_json_has(&s2, "\"generation\":1,\"tie_held_ms\":");

	state_join(&c2, &s2, 2);
	seq = send_members(&c2, R2, 0, 2);
	send_vote_info_reply(&c1, expect_vote_info(&c1, 0, QN_VOTE_NACK, R1));
	expect_nlr(&c2, seq, QN_LIST_MEMBERSHIP, R2, QN_VOTE_NO_CHANGE);
	send_vote_info_reply(&c2, expect_vote_info(&c2, 0, QN_VOTE_ACK, R2));
	ASSERT_LOG(&s2, "keep-active-partition: {2} was the quorate partition");
	/* And it stays so: the hold is over, nothing more comes. */
	qc_expect_quiet(&c1, HOLD_MS + 500);
	qc_close(&c1);
	qc_close(&c2);
	srv_stop(&s2);
}
END_TEST

/* The remembered partition does not come back: the hold ends, node 1 wins. */
START_TEST(restart_hold_ends)
{
	struct srv s1, s2;
	struct qc c1, c2;
	uint32_t seq;
	int64_t t0;

	if (debian) {
		deliberate("decision memory across a restart (D17): not run");
		return;
	}
	start_on(&s1, NULL);
	node2_holds_vote(&c2, &s1);
	qc_close(&c2);
	srv_stop(&s1);

	start_on(&s2, s1.dir);
	state_join(&c1, &s2, 1);
	t0 = now_ms();
	seq = send_members(&c1, R1, 0, 1);
	send_vote_info_reply(&c1, expect_vote_info(&c1, 0, QN_VOTE_NACK, R1));
	expect_nlr(&c1, seq, QN_LIST_MEMBERSHIP, R1, QN_VOTE_NO_CHANGE);
	echo_ok(&c1);
	send_vote_info_reply(&c1, expect_vote_info(&c1, 0, QN_VOTE_ACK, R1));
	ck_assert_msg(now_ms() - t0 >= HOLD_MS - 300, "hold ended early");
	ASSERT_LOG(&s2, "is the only one with half");
	qc_close(&c1);
	srv_stop(&s2);
}
END_TEST

/*
 * Without keep-active-partition a tie never depends on what came before:
 * nothing is held after a restart, node 1 wins at once (as without one).
 */
START_TEST(restart_kap_off_not_held)
{
	struct srv s1, s2;
	struct qc c1, c2;
	uint32_t seq;

	if (debian) {
		deliberate("decision memory across a restart (D17): not run");
		return;
	}
	start_with(&s1, NULL, "tie_hold_time=2000");
	node2_holds_vote(&c2, &s1);
	qc_close(&c2);
	srv_stop(&s1);

	start_with(&s2, s1.dir, "tie_hold_time=2000");
	ASSERT_LOG(&s2, "Decision memory of 1 cluster(s) loaded");
	state_join(&c1, &s2, 1);
	seq = send_members(&c1, R1, 0, 1);
	send_vote_info_reply(&c1, expect_vote_info(&c1, 0, QN_VOTE_ACK, R1));
	expect_nlr(&c1, seq, QN_LIST_MEMBERSHIP, R1, QN_VOTE_NO_CHANGE);
	ck_assert_int_eq(log_count(&s2, "holding the tie"), 0);
	qc_close(&c1);
	srv_stop(&s2);
}
END_TEST

/* Without the saved state (another directory) node 1 wins at once, as 3.0.3. */
START_TEST(restart_without_state_forgets)
{
	struct srv s1, s2;
	struct qc c1, c2;
	uint32_t seq;

	start_on(&s1, NULL);
	node2_holds_vote(&c2, &s1);
	qc_close(&c2);
	srv_stop(&s1);

	start_on(&s2, NULL);
	state_join(&c1, &s2, 1);
	seq = send_members(&c1, R1, 0, 1);
	send_vote_info_reply(&c1, expect_vote_info(&c1, 0, QN_VOTE_ACK, R1));
	expect_nlr(&c1, seq, QN_LIST_MEMBERSHIP, R1, QN_VOTE_NO_CHANGE);
	qc_close(&c1);
	srv_stop(&s2);
}
END_TEST

/* A blip: every client of the cluster gone, no restart; memory kept. */
START_TEST(blip_holds_tie)
{
	struct srv s;
	struct qc c1, c2;
	uint32_t seq;

	if (debian) {
		deliberate("decision memory beyond the last client (D17): "
		    "not run");
		return;
	}
	start_on(&s, NULL);
	node2_holds_vote(&c2, &s);
	qc_close(&c2);
	state_join(&c1, &s, 1);
	seq = send_members(&c1, R1, 0, 1);
	send_vote_info_reply(&c1, expect_vote_info(&c1, 0, QN_VOTE_NACK, R1));
	expect_nlr(&c1, seq, QN_LIST_MEMBERSHIP, R1, QN_VOTE_NO_CHANGE);
	ASSERT_LOG(&s, "holding the tie for partition {2}, which held the "
	    "vote before its clients disconnected");
	state_join(&c2, &s, 2);
	seq = send_members(&c2, R2, 0, 2);
	send_vote_info_reply(&c1, expect_vote_info(&c1, 0, QN_VOTE_NACK, R1));
	expect_nlr(&c2, seq, QN_LIST_MEMBERSHIP, R2, QN_VOTE_NO_CHANGE);
	send_vote_info_reply(&c2, expect_vote_info(&c2, 0, QN_VOTE_ACK, R2));
	qc_close(&c1);
	qc_close(&c2);
	srv_stop(&s);
}
END_TEST

/*
 * lms keeps its result in the memory too (shown, saved); it holds no tie
 * after a restart.
 */
START_TEST(lms_result_remembered)
{
	struct srv s1, s2;
	struct qc c;
	struct init_p p = init_p(2, 1, QN_ALGO_LMS);
	uint32_t seq;

	if (debian) {
		deliberate("decision memory (D17): not run");
		return;
	}
	start_on(&s1, NULL);
	join(&c, &s1, "lms", &p);
	seq = send_config(&c, 1, 2);
	expect_nlr(&c, seq, QN_LIST_INITIAL_CONFIG, R0, QN_VOTE_NO_CHANGE);
	seq = send_members(&c, R1, 0, 1);
	expect_nlr(&c, seq, QN_LIST_MEMBERSHIP, R1, QN_VOTE_ACK);
	assert_json_has(&s1, "\"decision_memory\":{\"quorate_partition\":[1],"
	    "\"ring_id\":{\"node_id\":1,\"seq\":2,");
	qc_close(&c);
	srv_stop(&s1);

	start_on(&s2, s1.dir);
	join(&c, &s2, "lms", &p);
	seq = send_config(&c, 1, 2);
	expect_nlr(&c, seq, QN_LIST_INITIAL_CONFIG, R0, QN_VOTE_NO_CHANGE);
	assert_json_has(&s2, "\"quorate_partition\":[1],");
	assert_json_has(&s2, "\"tie_held_ms\":0}");
	qc_close(&c);
	srv_stop(&s2);
}
END_TEST

/* A corrupt state file: one line, a fresh start, the 3.0.3 decision. */
START_TEST(corrupt_state_fresh_start)
{
	struct srv s;
	struct qc c1;
	char dir[PATH_MAX], path[PATH_MAX + 32];
	uint32_t seq;
	FILE *f;

	if (debian) {
		deliberate("state_dir (D17): not run");
		return;
	}
	scratch_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/state.json", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs("{\"format\":\"corosync-qnetd-state\",\"version\":1,\"clus", f);
	fclose(f);
	start_on(&s, dir);
	ASSERT_LOG(&s, "state.json ignored, starting afresh: not valid JSON "
	    "(truncated)");
	state_join(&c1, &s, 1);
	seq = send_members(&c1, R1, 0, 1);
	send_vote_info_reply(&c1, expect_vote_info(&c1, 0, QN_VOTE_ACK, R1));
	expect_nlr(&c1, seq, QN_LIST_MEMBERSHIP, R1, QN_VOTE_NO_CHANGE);
	qc_close(&c1);
	srv_stop(&s);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("qnetd protocol: state");
	TCase *tc = harness_tcase(s, "state", TEST_TIMEOUT);

	tcase_add_test(tc, restart_holds_tie_for_old_partition);
	tcase_add_test(tc, restart_hold_ends);
	tcase_add_test(tc, restart_kap_off_not_held);
	tcase_add_test(tc, restart_without_state_forgets);
	tcase_add_test(tc, blip_holds_tie);
	tcase_add_test(tc, lms_result_remembered);
	tcase_add_test(tc, corrupt_state_fresh_start);
	return harness_run(s, H_PROTO);
}
