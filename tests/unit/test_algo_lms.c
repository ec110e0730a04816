/*
 * lms: the worked examples of BEHAVIOUR.md §2.3.1 (with the D3 rows showing
 * our fixed result), the newcomer rule (D5, kept) and re-decisions when a
 * client leaves (D6).
 */
#include <stdlib.h>

#include "test_algo.h"

#define LMS	QN_ALGO_LMS
#define P	QN_HEUR_PASS
#define F	QN_HEUR_FAIL
#define U	QN_HEUR_UNDEFINED

/*
 * The running nodes connect in ring 1.1 with 4 nodes configured and report
 * a membership of all four: one partition, ACK at once.
 */
static void
setup(struct qnetd *w, const char *running, uint8_t tb_mode,
    uint32_t tb_node)
{
	struct h_client *hc;

	for (uint32_t id = 1; id <= 4; id++) {
		if (!h_in_ids(running, id))
			continue;
		hc = h_connect(w, "lms", id, LMS, tb_mode, tb_node,
		    h_ring(1, 1));
		ck_assert_int_eq(h_config(w, hc, 1, "1,2,3,4"),
		    QN_VOTE_NO_CHANGE);
		ck_assert_int_eq(h_membership(w, hc, h_ring(1, 1), "1,2,3,4",
		    U), QN_VOTE_ACK);
		ck_assert_str_eq(hc->c.reason, "lms: only partition");
	}
}

static const char *
partition_of(const char *const *parts, uint32_t id)
{
	for (; *parts != NULL; parts++)
		if (h_in_ids(*parts, id))
			return *parts;
	ck_abort_msg("node %u in no partition", id);
	return NULL;
}

/* Each running node reports its partition, ring "first member.2". */
static void
split(struct qnetd *w, const char *const *parts, const char *pass,
    const char *fail, int expect_wait)
{
	for (uint32_t id = 1; id <= 4; id++) {
		struct h_client *hc = h_node(w, id);
		const char *part;
		int v;

		if (hc == NULL)
			continue;
		part = partition_of(parts, id);
		v = h_membership(w, hc, h_ring((uint32_t)strtoul(part, NULL,
		    10), 2), part, pass && h_in_ids(pass, id) ? P :
		    fail && h_in_ids(fail, id) ? F : U);
		if (expect_wait) {
			ck_assert_int_eq(v, QN_VOTE_WAIT_FOR_REPLY);
			ck_assert(hc->timer_armed);
			ck_assert_uint_eq(hc->timer_ms, 2000);	/* HB/4 */
		}
	}
}

static void
assert_votes(struct qnetd *w, const char *ack, const char *row)
{
	for (size_t i = 0; i < w->nclients; i++) {
		struct h_client *hc = w->clients[i];

		if (hc->gone)
			continue;
		ck_assert_msg(hc->vote == (h_in_ids(ack, hc->c.node_id) ?
		    QN_VOTE_ACK : QN_VOTE_NACK), "%s: node %u has vote %u",
		    row, hc->c.node_id, hc->vote);
	}
}

static const struct lms_row {
	const char *name;
	const char *running;
	const char *parts[5];
	uint8_t tb_mode;
	uint32_t tb_node;
	const char *pass, *fail;
	const char *ack;
	const char *reason;		/* of the first running node */
} rows[] = {
	{ "1,2/3,4 lowest", "1,2,3,4", { "1,2", "3,4" }, QN_TB_LOWEST, 0,
	    NULL, NULL, "1,2", "lms: tie (score 2, size 2), tie-breaker "
	    "lowest node 1 is in ring 1.2" },
	{ "1,2/3,4 highest", "1,2,3,4", { "1,2", "3,4" }, QN_TB_HIGHEST, 0,
	    NULL, NULL, "3,4", "lms: tie (score 2, size 2), tie-breaker "
	    "highest node 4 is in ring 3.2" },
	/* D3 fixed: 3.0.3 gives ACK to node 3 only. */
	{ "1,2/3,4 node 3", "1,2,3,4", { "1,2", "3,4" }, QN_TB_NODE_ID, 3,
	    NULL, NULL, "3,4", "lms: tie (score 2, size 2), tie-breaker "
	    "node 3 is in ring 3.2" },
	/* D3 fixed: 3.0.3 gives ACK to node 1 only. */
	{ "1,2/3,4 node 1", "1,2,3,4", { "1,2", "3,4" }, QN_TB_NODE_ID, 1,
	    NULL, NULL, "1,2", "lms: tie (score 2, size 2), tie-breaker "
	    "node 1 is in ring 1.2" },
	{ "1,2/3,4 lowest, 3 pass", "1,2,3,4", { "1,2", "3,4" },
	    QN_TB_LOWEST, 0, "3", NULL, "3,4", "lms: partition of ring 3.2 "
	    "has the highest heuristics score (3 vs 2)" },
	{ "1,2/3,4 lowest, 1 fail", "1,2,3,4", { "1,2", "3,4" },
	    QN_TB_LOWEST, 0, NULL, "1", "3,4", "lms: partition of ring 3.2 "
	    "has the highest heuristics score (2 vs 1)" },
	{ "1/2,3,4 lowest", "1,2,3,4", { "1", "2,3,4" }, QN_TB_LOWEST, 0,
	    NULL, NULL, "2,3,4", "lms: partition of ring 2.2 has most nodes "
	    "(3 vs 1)" },
	{ "1,2/3/4 highest", "1,2,3,4", { "1,2", "3", "4" }, QN_TB_HIGHEST,
	    0, NULL, NULL, "1,2", "lms: partition of ring 1.2 has most nodes "
	    "(2 vs 1)" },
	{ "1/2/3/4 lowest", "1,2,3,4", { "1", "2", "3", "4" }, QN_TB_LOWEST,
	    0, NULL, NULL, "1", "lms: tie (score 1, size 1), tie-breaker "
	    "lowest node 1 is in ring 1.2" },
	{ "1,2/3,4, node 2 without qdevice", "1,3,4", { "1,2", "3,4" },
	    QN_TB_LOWEST, 0, NULL, NULL, "3,4", "lms: partition of ring 3.2 "
	    "has most nodes (2 vs 1)" },
	{ "only node 4, in {4}", "4", { "1,2,3", "4" }, QN_TB_LOWEST, 0,
	    NULL, NULL, "4", "lms: only partition" },
	/*
	 * Not in the table: only partitions that tie for the best score
	 * take part in the tie-breaker; 3.0.3 gives the vote to node 1,
	 * whose partition scores lowest.
	 */
	{ "1/2/3/4 lowest, 1 fail", "1,2,3,4", { "1", "2", "3", "4" },
	    QN_TB_LOWEST, 0, NULL, "1", "2", "lms: tie (score 1, size 1), "
	    "tie-breaker lowest node 2 is in ring 2.2" },
	/* Not in the table: equal scores, then the node count decides. */
	{ "1,2/3/4, 1 fail", "1,2,3,4", { "1,2", "3", "4" }, QN_TB_HIGHEST,
	    0, NULL, "1", "1,2", "lms: partition of ring 1.2 has most nodes "
	    "(2 vs 1)" },
};

START_TEST(worked_examples)
{
	const struct lms_row *r = &rows[_i];
	struct qnetd *w = h_world();
	int several = r->running[1] != '\0';

	setup(w, r->running, r->tb_mode, r->tb_node);
	/* Every membership is answered WAIT; the timer decides HB/4 later. */
	split(w, r->parts, r->pass, r->fail, several);
	ck_assert_int_eq(h_fire_timers(w) > 0, several);
	assert_votes(w, r->ack, r->name);
	ck_assert_str_eq(w->clients[0]->c.reason, r->reason);
	/* Pushed with the timer's own counter. */
	if (several)
		ck_assert_uint_eq(w->clients[0]->c.timer_vote_info_seq, 1);
	h_world_free(w);
}
END_TEST

/*
 * D3: a tie between {1,2} and {3,4} where 2 and 4 run no qdevice.  The
 * node-id tie-breaker names node 4: its partition is found through the
 * membership node 3 stored.  A tie-breaker node in no partition: nobody wins.
 */
START_TEST(d3_tie_breaker_node_without_client)
{
	static const struct {
		uint32_t tb_node;
		const char *ack, *reason;
	} cases[] = {
		{ 4, "3", "lms: tie (score 1, size 1), tie-breaker node 4 is "
		    "in ring 3.2" },
		{ 9, "", "lms: tie (score 1, size 1) and tie-breaker node 9 "
		    "is in no partition" },
	};
	struct qnetd *w = h_world();

	setup(w, "1,3", QN_TB_NODE_ID, cases[_i].tb_node);
	split(w, (const char *const[]){ "1,2", "3,4", NULL }, NULL, NULL, 1);
	h_fire_timers(w);
	assert_votes(w, cases[_i].ack, "D3 node id");
	ck_assert_str_eq(h_node(w, 1)->c.reason, cases[_i].reason);
	h_world_free(w);
}
END_TEST

/* D3: 3.0.3 never picks node ids above 2147483647 for "lowest". */
START_TEST(d3_lowest_without_cap)
{
	struct qnetd *w = h_world();
	struct h_client *a, *b;

	a = h_connect(w, "lms", 3000000001u, LMS, QN_TB_LOWEST, 0,
	    h_ring(7, 1));
	b = h_connect(w, "lms", 3000000002u, LMS, QN_TB_LOWEST, 0,
	    h_ring(7, 1));
	h_membership(w, a, h_ring(7, 1), "3000000001,3000000002", U);
	h_membership(w, b, h_ring(7, 1), "3000000001,3000000002", U);
	h_membership(w, a, h_ring(7, 2), "3000000001", U);
	h_membership(w, b, h_ring(8, 2), "3000000002", U);
	h_fire_timers(w);
	ck_assert_uint_eq(a->vote, QN_VOTE_ACK);
	ck_assert_uint_eq(b->vote, QN_VOTE_NACK);
	h_world_free(w);
}
END_TEST

/*
 * Quorum lists, ASK_FOR_VOTE and heuristics changes evaluate with the
 * stored ring id; config lists are answered NO_CHANGE.
 */
START_TEST(other_messages)
{
	struct qnetd *w = h_world();
	struct h_client *a;
	size_t mark;

	setup(w, "1,2", QN_TB_LOWEST, 0);
	a = h_node(w, 1);
	ck_assert_int_eq(h_quorum(w, a, 1, "1,2"), QN_VOTE_ACK);
	ck_assert_int_eq(h_ask(w, a), QN_VOTE_ACK);
	ck_assert_int_eq(h_config(w, a, 0, "1,2,3"), QN_VOTE_NO_CHANGE);
	/* Judged again (not 3.0.3): still the only partition, nothing sent. */
	mark = w->nev;
	ck_assert_int_eq(h_heuristics(w, a, F), QN_VOTE_NO_CHANGE);
	ck_assert_uint_eq(h_count(w, mark, H_VOTE_INFO), 0);
	ck_assert_str_eq(a->c.reason, "lms: only partition");
	ck_assert_int_eq(decide_vote_info_reply(&a->c, 42), QN_ERR_NONE);
	/* Split: the quorum list right after the membership decides at once. */
	ck_assert_int_eq(h_membership(w, a, h_ring(1, 2), "1", U),
	    QN_VOTE_WAIT_FOR_REPLY);
	ck_assert_int_eq(h_membership(w, h_node(w, 2), h_ring(2, 2), "2", U),
	    QN_VOTE_WAIT_FOR_REPLY);
	ck_assert_int_eq(h_quorum(w, a, 0, "1"), QN_VOTE_ACK);
	ck_assert(!a->timer_armed);
	ck_assert_int_eq(h_quorum(w, h_node(w, 2), 0, "2"), QN_VOTE_NACK);
	h_world_free(w);
}
END_TEST

/*
 * D5, kept: a newcomer is refused while another partition holds the vote,
 * and the refusal is not stored.  D6: when the holder leaves, the newcomer
 * is evaluated again and gets ACK by VOTE_INFO.
 */
START_TEST(newcomer_then_holder_leaves)
{
	struct qnetd *w = h_world();
	struct h_client *a, *b;
	long vi;

	a = h_connect(w, "lms", 1, LMS, QN_TB_LOWEST, 0, h_ring(1, 5));
	ck_assert_int_eq(h_membership(w, a, h_ring(1, 5), "1", U),
	    QN_VOTE_ACK);
	b = h_connect(w, "lms", 2, LMS, QN_TB_LOWEST, 0, h_ring(2, 5));
	ck_assert_int_eq(h_membership(w, b, h_ring(2, 5), "2", U),
	    QN_VOTE_NACK);
	ck_assert_str_eq(b->c.reason, "newcomer: node 1 of another partition "
	    "already holds the vote");
	ck_assert_uint_eq(b->c.algo_result, 0);
	ck_assert_int_eq(h_quorum(w, b, 0, "2"), QN_VOTE_NACK);
	ck_assert_uint_eq(b->c.algo_result, 0);

	h_leave(w, a, 0);
	vi = h_find(w, 0, H_VOTE_INFO, 2, QN_VOTE_ACK);
	ck_assert_int_ge(vi, 0);
	ck_assert_uint_eq(w->ev[vi].seq, 1);
	ck_assert(qn_ring_id_eq(&w->ev[vi].ring, &(struct qn_ring_id){ 2, 5 }));
	ck_assert_uint_eq(b->vote, QN_VOTE_ACK);
	h_world_free(w);
}
END_TEST

/*
 * D6: 1/1 split won by node 1; node 1's qdevice leaves → node 2 gets
 * VOTE_INFO(ACK) at once (3.0.3 leaves it at NACK).
 */
START_TEST(d6_winner_leaves)
{
	struct qnetd *w = h_world();
	size_t mark;
	long vi;

	setup(w, "1,2", QN_TB_LOWEST, 0);
	split(w, (const char *const[]){ "1", "2", NULL }, NULL, NULL, 1);
	h_fire_timers(w);
	assert_votes(w, "1", "split");
	mark = w->nev;
	h_leave(w, h_node(w, 1), 0);
	vi = h_find(w, mark, H_VOTE_INFO, 2, QN_VOTE_ACK);
	ck_assert_int_ge(vi, 0);
	ck_assert_uint_eq(w->ev[vi].seq, 2);	/* the timer's counter */
	ck_assert_str_eq(w->ev[vi].reason, "lms: only partition");
	assert_votes(w, "2", "node 1 left");
	h_world_free(w);
}
END_TEST

/* D6: nothing is pushed when nobody's vote changes, nor on shutdown. */
START_TEST(d6_no_push_without_change)
{
	struct qnetd *w = h_world();
	size_t mark;

	setup(w, "1,2,3,4", QN_TB_LOWEST, 0);
	split(w, (const char *const[]){ "1,2", "3,4", NULL }, NULL, NULL, 1);
	h_fire_timers(w);
	mark = w->nev;
	h_leave(w, h_node(w, 4), 0);
	ck_assert_uint_eq(w->nev, mark);
	assert_votes(w, "1,2", "4 left");
	h_leave(w, h_node(w, 1), 1);
	ck_assert_uint_eq(w->nev, mark);
	h_world_free(w);
}
END_TEST

/* D6 with a client still waiting: its timer is replaced by the push. */
START_TEST(d6_waiting_client_is_told)
{
	struct qnetd *w = h_world();
	struct h_client *b;

	setup(w, "1,2", QN_TB_LOWEST, 0);
	b = h_node(w, 2);
	/* 2 moves to ring 2.2; 1 never reports it and leaves. */
	ck_assert_int_eq(h_membership(w, b, h_ring(2, 2), "2", U),
	    QN_VOTE_WAIT_FOR_REPLY);
	h_leave(w, h_node(w, 1), 0);
	ck_assert_int_ge(h_find(w, 0, H_VOTE_INFO, 2, QN_VOTE_ACK), 0);
	ck_assert(!b->timer_armed);
	ck_assert_uint_eq(b->vote, QN_VOTE_ACK);
	h_world_free(w);
}
END_TEST

/*
 * Heuristics (upstream #14, not 3.0.3): {1,2}/{3,4} tie, lowest gives 1,2
 * the vote.  Node 3's heuristics pass: score 3 vs 2, the vote moves to
 * 3,4 at once, by VOTE_INFO to every node, the NACKs first, and the reply
 * to 3 is NO_CHANGE (a NACK in a reply could not be acknowledged, and the
 * ACK gate must wait for that).  When they fail, 3,4 score 1 vs 2 and the
 * vote goes back.
 */
START_TEST(heuristics_change_moves_vote)
{
	struct qnetd *w = h_world();
	struct h_client *c3;
	long nack1, nack2, ack3, ack4;
	size_t mark;

	setup(w, "1,2,3,4", QN_TB_LOWEST, 0);
	split(w, (const char *const[]){ "1,2", "3,4", NULL }, NULL, NULL, 1);
	h_fire_timers(w);
	assert_votes(w, "1,2", "split");
	c3 = h_node(w, 3);

	mark = w->nev;
	ck_assert_int_eq(h_heuristics(w, c3, P), QN_VOTE_NO_CHANGE);
	ck_assert_str_eq(c3->c.reason, "lms: partition of ring 3.2 has the "
	    "highest heuristics score (3 vs 2)");
	nack1 = h_find(w, mark, H_VOTE_INFO, 1, QN_VOTE_NACK);
	nack2 = h_find(w, mark, H_VOTE_INFO, 2, QN_VOTE_NACK);
	ack3 = h_find(w, mark, H_VOTE_INFO, 3, QN_VOTE_ACK);
	ack4 = h_find(w, mark, H_VOTE_INFO, 4, QN_VOTE_ACK);
	ck_assert_int_ge(nack1, 0);
	ck_assert_int_ge(nack2, 0);
	ck_assert_int_gt(ack3, nack1);
	ck_assert_int_gt(ack3, nack2);
	ck_assert_int_gt(ack4, nack1);
	ck_assert_int_gt(ack4, nack2);
	ck_assert_uint_eq(h_count(w, mark, H_VOTE_INFO), 4);
	assert_votes(w, "3,4", "3 passes");

	mark = w->nev;
	ck_assert_int_eq(h_heuristics(w, c3, F), QN_VOTE_NO_CHANGE);
	ck_assert_int_gt(h_find(w, mark, H_VOTE_INFO, 1, QN_VOTE_ACK),
	    h_find(w, mark, H_VOTE_INFO, 3, QN_VOTE_NACK));
	ck_assert_int_ge(h_find(w, mark, H_VOTE_INFO, 3, QN_VOTE_NACK), 0);
	ck_assert_int_ge(h_find(w, mark, H_VOTE_INFO, 4, QN_VOTE_NACK), 0);
	ck_assert_int_gt(h_find(w, mark, H_VOTE_INFO, 1, QN_VOTE_ACK),
	    h_find(w, mark, H_VOTE_INFO, 4, QN_VOTE_NACK));
	ck_assert_int_ge(h_find(w, mark, H_VOTE_INFO, 2, QN_VOTE_ACK), 0);
	assert_votes(w, "1,2", "3 fails");
	ck_assert_str_eq(h_node(w, 1)->c.reason, "lms: partition of ring 1.2 "
	    "has the highest heuristics score (2 vs 1)");
	/* Nothing pushed when no vote changes. */
	mark = w->nev;
	ck_assert_int_eq(h_heuristics(w, h_node(w, 4), U), QN_VOTE_NO_CHANGE);
	ck_assert_uint_eq(h_count(w, mark, H_VOTE_INFO), 0);
	h_world_free(w);
}
END_TEST

Suite *
lms_suite(void)
{
	Suite *s = suite_create("lms");
	TCase *tc = tcase_create("worked examples (2.3.1)");

	tcase_add_loop_test(tc, worked_examples, 0,
	    sizeof(rows) / sizeof(rows[0]));
	tcase_add_loop_test(tc, d3_tie_breaker_node_without_client, 0, 2);
	tcase_add_test(tc, d3_lowest_without_cap);
	suite_add_tcase(s, tc);
	tc = tcase_create("protocol");
	tcase_add_test(tc, other_messages);
	tcase_add_test(tc, newcomer_then_holder_leaves);
	tcase_add_test(tc, heuristics_change_moves_vote);
	suite_add_tcase(s, tc);
	tc = tcase_create("disconnects (D6)");
	tcase_add_test(tc, d6_winner_leaves);
	tcase_add_test(tc, d6_no_push_without_change);
	tcase_add_test(tc, d6_waiting_client_is_told);
	suite_add_tcase(s, tc);
	return s;
}
