/*
 * 2nodelms: membership rules 1-5 of BEHAVIOUR.md §2.4, ASK_FOR_VOTE, the
 * other messages, and the re-decision when a client leaves (D6).
 */
#include "test_algo.h"

#define TWO	QN_ALGO_2NODELMS
#define P	QN_HEUR_PASS
#define F	QN_HEUR_FAIL
#define U	QN_HEUR_UNDEFINED

/* Nodes 1 and 2 together in ring 1.1: rule 2 gives both ACK. */
static void
setup(struct qnetd *w, uint8_t tb_mode, uint32_t tb_node)
{
	for (uint32_t id = 1; id <= 2; id++) {
		struct h_client *hc = h_connect(w, "two", id, TWO, tb_mode,
		    tb_node, h_ring(1, 1));

		ck_assert_int_eq(h_config(w, hc, 1, "1,2"), QN_VOTE_NO_CHANGE);
	}
	for (uint32_t id = 1; id <= 2; id++) {
		ck_assert_int_eq(h_membership(w, h_node(w, id), h_ring(1, 1),
		    "1,2", U), QN_VOTE_ACK);
		ck_assert_str_eq(h_node(w, id)->c.reason,
		    "2nodelms: both nodes in membership");
	}
}

/* Rules 4 and 5 after a 1/1 split, each node in its own ring. */
static const struct {
	const char *name;
	uint8_t tb_mode;
	uint32_t tb_node;
	uint8_t h1, h2;
	uint8_t vote1, vote2;
	const char *reason1;
} split_rows[] = {
	{ "1 pass", QN_TB_HIGHEST, 0, P, U, QN_VOTE_ACK, QN_VOTE_NACK,
	    "2nodelms: better heuristics than node 2 (pass vs undefined)" },
	{ "1 fail", QN_TB_LOWEST, 0, F, U, QN_VOTE_NACK, QN_VOTE_ACK,
	    "2nodelms: node 2 has better heuristics (undefined vs fail)" },
	/* Node 1 compares with node 2's heuristics from before the split. */
	{ "both pass, lowest", QN_TB_LOWEST, 0, P, P, QN_VOTE_ACK,
	    QN_VOTE_NACK,
	    "2nodelms: better heuristics than node 2 (pass vs undefined)" },
	{ "lowest", QN_TB_LOWEST, 0, U, U, QN_VOTE_ACK, QN_VOTE_NACK,
	    "2nodelms: tie, tie-breaker (lowest) is node 1" },
	{ "highest", QN_TB_HIGHEST, 0, U, U, QN_VOTE_NACK, QN_VOTE_ACK,
	    "2nodelms: tie, tie-breaker (highest) is node 2" },
	{ "node 2", QN_TB_NODE_ID, 2, U, U, QN_VOTE_NACK, QN_VOTE_ACK,
	    "2nodelms: tie, tie-breaker (node_id) is node 2" },
	{ "node 9 not connected", QN_TB_NODE_ID, 9, U, U, QN_VOTE_NACK,
	    QN_VOTE_NACK, "2nodelms: tie, tie-breaker node 9 is not "
	    "connected" },
};

START_TEST(split_rules)
{
	struct qnetd *w = h_world();
	struct h_client *a, *b;
	int v2;

	setup(w, split_rows[_i].tb_mode, split_rows[_i].tb_node);
	a = h_node(w, 1);
	b = h_node(w, 2);
	/* Node 1 reports first: it compares with node 2's old heuristics. */
	ck_assert_int_eq(h_membership(w, a, h_ring(1, 2), "1",
	    split_rows[_i].h1), split_rows[_i].vote1);
	v2 = h_membership(w, b, h_ring(2, 2), "2", split_rows[_i].h2);
	ck_assert_int_eq(v2, split_rows[_i].vote2);
	ck_assert_str_eq(a->c.reason, split_rows[_i].reason1);
	ck_assert_uint_eq(h_count(w, 0, H_VOTE_INFO), 0);
	/* ASK_FOR_VOTE repeats the stored result. */
	ck_assert_int_eq(h_ask(w, a), split_rows[_i].vote1);
	ck_assert_str_eq(a->c.reason, split_rows[_i].reason1);
	h_world_free(w);
}
END_TEST

START_TEST(only_connected_node_and_other_messages)
{
	struct qnetd *w = h_world();
	struct h_client *a = h_connect(w, "two", 1, TWO, QN_TB_HIGHEST, 0,
	    h_ring(1, 1));

	ck_assert_int_eq(h_config(w, a, 1, "1"),
	    H_ERR(QN_ERR_UNSUPPORTED_DECISION_ALGORITHM));
	ck_assert_int_eq(h_config(w, a, 1, "1,2,3"),
	    H_ERR(QN_ERR_UNSUPPORTED_DECISION_ALGORITHM));
	ck_assert(!a->c.has_config);
	ck_assert_int_eq(h_config(w, a, 1, "1,2"), QN_VOTE_NO_CHANGE);
	/* Never decided yet. */
	ck_assert_int_eq(h_ask(w, a), QN_VOTE_ASK_LATER);
	ck_assert_int_eq(h_membership(w, a, h_ring(1, 1), "1", F),
	    QN_VOTE_ACK);
	ck_assert_str_eq(a->c.reason, "2nodelms: only connected node");
	ck_assert_int_eq(h_quorum(w, a, 1, "1,2"), QN_VOTE_NO_CHANGE);
	/* Judged again (not 3.0.3): still the only connected node. */
	ck_assert_int_eq(h_heuristics(w, a, P), QN_VOTE_NO_CHANGE);
	ck_assert_uint_eq(a->vote, QN_VOTE_ACK);
	ck_assert_int_eq(decide_vote_info_reply(&a->c, 7), QN_ERR_NONE);
	ck_assert_int_eq(h_ask(w, a), QN_VOTE_ACK);
	h_world_free(w);
}
END_TEST

/*
 * Rule 1 (D5, kept): node 1 holds ACK alone in its ring; node 2 comes up
 * in another ring and is refused, unstored, so ASK_FOR_VOTE says ask later.
 * D6: node 1 leaves → node 2 is told ACK.
 */
START_TEST(newcomer_then_holder_leaves)
{
	struct qnetd *w = h_world();
	struct h_client *a, *b;
	long vi;

	a = h_connect(w, "two", 1, TWO, QN_TB_LOWEST, 0, h_ring(1, 5));
	h_config(w, a, 1, "1,2");
	ck_assert_int_eq(h_membership(w, a, h_ring(1, 5), "1", U),
	    QN_VOTE_ACK);
	b = h_connect(w, "two", 2, TWO, QN_TB_LOWEST, 0, h_ring(2, 5));
	h_config(w, b, 1, "1,2");
	ck_assert_int_eq(h_membership(w, b, h_ring(2, 5), "2", P),
	    QN_VOTE_NACK);
	ck_assert_str_eq(b->c.reason, "newcomer: node 1 of another partition "
	    "already holds the vote");
	ck_assert_int_eq(h_ask(w, b), QN_VOTE_ASK_LATER);
	ck_assert_int_eq(h_membership(w, b, h_ring(2, 5), "2", P),
	    QN_VOTE_NACK);

	h_leave(w, a, 0);
	vi = h_find(w, 0, H_VOTE_INFO, 2, QN_VOTE_ACK);
	ck_assert_int_ge(vi, 0);
	ck_assert_uint_eq(w->ev[vi].seq, 1);
	ck_assert_str_eq(w->ev[vi].reason, "2nodelms: only connected node");
	ck_assert_uint_eq(b->vote, QN_VOTE_ACK);
	h_world_free(w);
}
END_TEST

/*
 * D6: 1/1 split won by node 1 on the tie-breaker; node 1's qdevice leaves
 * → node 2 gets VOTE_INFO(ACK) in its ring (3.0.3 leaves it at NACK).  No
 * VOTE_INFO when nothing changes, nor on server shutdown.
 */
START_TEST(d6_winner_leaves)
{
	struct qnetd *w = h_world();
	struct h_client *b;
	long vi;

	setup(w, QN_TB_LOWEST, 0);
	b = h_node(w, 2);
	h_membership(w, h_node(w, 1), h_ring(1, 2), "1", U);
	h_membership(w, b, h_ring(2, 2), "2", U);
	ck_assert_uint_eq(b->vote, QN_VOTE_NACK);
	h_leave(w, h_node(w, 1), 0);
	vi = h_find(w, 0, H_VOTE_INFO, 2, QN_VOTE_ACK);
	ck_assert_int_ge(vi, 0);
	ck_assert(qn_ring_id_eq(&w->ev[vi].ring, &(struct qn_ring_id){ 2, 2 }));
	ck_assert_uint_eq(b->vote, QN_VOTE_ACK);
	ck_assert_int_eq(h_ask(w, b), QN_VOTE_ACK);

	/*
	 * Node 1 comes back while 2 holds ACK in another ring: a newcomer,
	 * refused (D5).  Its leaving changes nothing for 2: nothing pushed.
	 */
	{
		struct h_client *a = h_connect(w, "two", 1, TWO, QN_TB_LOWEST,
		    0, h_ring(1, 3));
		size_t mark = w->nev;

		h_config(w, a, 1, "1,2");
		ck_assert_int_eq(h_membership(w, a, h_ring(1, 3), "1,2", U),
		    QN_VOTE_NACK);
		ck_assert_int_eq(h_membership(w, b, h_ring(1, 3), "1,2", U),
		    QN_VOTE_ACK);
		h_leave(w, a, 0);
		h_leave(w, b, 1);
		ck_assert_uint_eq(h_count(w, mark, H_VOTE_INFO), 0);
	}
	h_world_free(w);
}
END_TEST

/*
 * Heuristics (upstream #14, not 3.0.3): after a 1/1 split decided by the
 * tie-breaker, node 1's heuristics fail: it is told NACK, then node 2 ACK,
 * both by VOTE_INFO (the reply is NO_CHANGE: the ACK gate counts a NACK
 * once acknowledged); when they pass again the vote comes back.  Before
 * any membership list: NO_CHANGE.
 */
START_TEST(heuristics_change_moves_vote)
{
	struct qnetd *w = h_world();
	struct h_client *a, *b, *c;
	size_t mark;
	long vi;

	setup(w, QN_TB_LOWEST, 0);
	a = h_node(w, 1);
	b = h_node(w, 2);
	h_membership(w, a, h_ring(1, 2), "1", U);
	h_membership(w, b, h_ring(2, 2), "2", U);
	ck_assert_uint_eq(a->vote, QN_VOTE_ACK);
	ck_assert_uint_eq(b->vote, QN_VOTE_NACK);

	mark = w->nev;
	ck_assert_int_eq(h_heuristics(w, a, F), QN_VOTE_NO_CHANGE);
	ck_assert_str_eq(a->c.reason, "2nodelms: node 2 has better "
	    "heuristics (undefined vs fail)");
	ck_assert_uint_eq(a->vote, QN_VOTE_NACK);
	vi = h_find(w, mark, H_VOTE_INFO, 2, QN_VOTE_ACK);
	ck_assert_int_gt(vi, h_find(w, mark, H_VOTE_INFO, 1, QN_VOTE_NACK));
	ck_assert_int_ge(h_find(w, mark, H_VOTE_INFO, 1, QN_VOTE_NACK), 0);
	ck_assert(qn_ring_id_eq(&w->ev[vi].ring, &(struct qn_ring_id){ 2, 2 }));
	ck_assert_str_eq(w->ev[vi].reason, "2nodelms: better heuristics than "
	    "node 1 (undefined vs fail)");
	ck_assert_uint_eq(h_count(w, mark, H_VOTE_INFO), 2);
	ck_assert_uint_eq(b->vote, QN_VOTE_ACK);
	ck_assert_int_eq(h_ask(w, b), QN_VOTE_ACK);

	mark = w->nev;
	ck_assert_int_eq(h_heuristics(w, a, P), QN_VOTE_NO_CHANGE);
	ck_assert_int_gt(h_find(w, mark, H_VOTE_INFO, 1, QN_VOTE_ACK),
	    h_find(w, mark, H_VOTE_INFO, 2, QN_VOTE_NACK));
	ck_assert_int_ge(h_find(w, mark, H_VOTE_INFO, 2, QN_VOTE_NACK), 0);
	ck_assert_uint_eq(b->vote, QN_VOTE_NACK);
	ck_assert_uint_eq(a->vote, QN_VOTE_ACK);
	/* Nothing changes when node 1 reports the same again. */
	mark = w->nev;
	ck_assert_int_eq(h_heuristics(w, a, P), QN_VOTE_NO_CHANGE);
	ck_assert_uint_eq(h_count(w, mark, H_VOTE_INFO), 0);

	/* A client that sent no membership list yet: NO_CHANGE. */
	h_leave(w, b, 0);
	c = h_connect(w, "two", 2, TWO, QN_TB_LOWEST, 0, h_ring(1, 3));
	h_config(w, c, 1, "1,2");
	mark = w->nev;
	ck_assert_int_eq(h_heuristics(w, c, P), QN_VOTE_NO_CHANGE);
	ck_assert_uint_eq(h_count(w, mark, H_VOTE_INFO), 0);
	h_world_free(w);
}
END_TEST

Suite *
twonode_suite(void)
{
	Suite *s = suite_create("2nodelms");
	TCase *tc = tcase_create("rules");

	tcase_add_loop_test(tc, split_rules, 0,
	    sizeof(split_rows) / sizeof(split_rows[0]));
	tcase_add_test(tc, only_connected_node_and_other_messages);
	tcase_add_test(tc, newcomer_then_holder_leaves);
	tcase_add_test(tc, heuristics_change_moves_vote);
	suite_add_tcase(s, tc);
	tc = tcase_create("disconnects (D6)");
	tcase_add_test(tc, d6_winner_leaves);
	suite_add_tcase(s, tc);
	return s;
}
