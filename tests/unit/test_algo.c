/*
 * Decision layer tests: the harness shared by the algorithm tests, INIT
 * admission (errors 15/16/17), what decide_* stores, the test algorithm and
 * clients that leave before reporting any list (PROTOCOL.md §14.1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_algo.h"

/* The services table (core.h), recording. */

static int
h_send_vote_info(void *ctx, struct member *c, uint32_t seq, uint8_t vote,
    const struct qn_ring_id *ring, const char *reason)
{
	struct h_client *hc = (struct h_client *)c;
	struct qnetd *w = ctx;
	struct h_event *e;

	ck_assert_uint_lt(w->nev, H_MAX_EVENTS);
	ck_assert(!hc->gone);
	e = &w->ev[w->nev++];
	*e = (struct h_event){ .kind = H_VOTE_INFO, .node = c->node_id,
	    .seq = seq, .vote = vote, .ring = *ring };
	snprintf(e->reason, sizeof(e->reason), "%s", reason);
	ck_assert_msg(vote_is_decision(vote), "VOTE_INFO with vote %u", vote);
	ck_assert_msg(reason[0] != '\0', "VOTE_INFO without a reason");
	ck_assert_uint_lt(strlen(reason), DECISION_REASON_LEN);
	/* The qdevice ignores a vote for a ring it did not send last. */
	if (qn_ring_id_eq(ring, &hc->sent_ring))
		hc->vote = vote;
	return 0;
}

/* The reply to a message (h_reply's), queued after the algorithm. */
static int
h_send_reply(void *ctx, struct member *c, void *reply, uint8_t vote,
    const struct qn_ring_id *ring, const char *reason)
{
	struct h_client *hc = (struct h_client *)c;
	struct qnetd *w = ctx;
	struct h_event *ev;

	ck_assert_ptr_eq(reply, hc);
	ck_assert_uint_lt(w->nev, H_MAX_EVENTS);
	ev = &w->ev[w->nev++];
	*ev = (struct h_event){ .kind = H_REPLY, .node = c->node_id,
	    .vote = vote, .ring = *ring };
	snprintf(ev->reason, sizeof(ev->reason), "%s", reason);
	if (vote != QN_VOTE_NO_CHANGE && qn_ring_id_eq(ring, &hc->sent_ring))
		hc->vote = vote;
	return 0;
}

static void
h_timer_start(void *ctx, struct member *c, uint32_t ms)
{
	struct h_client *hc = (struct h_client *)c;

	(void)ctx;
	hc->timer_armed = 1;
	hc->timer_ms = ms;
}

static void
h_timer_stop(void *ctx, struct member *c)
{
	(void)ctx;
	((struct h_client *)c)->timer_armed = 0;
}

static uint64_t
h_now(void *ctx)
{
	(void)ctx;
	return 0;
}

/* The ACK gate is off (coefficient 0): it never holds an ACK. */
static void
h_gate_timer(void *ctx, uint64_t at)
{
	(void)ctx;
	ck_abort_msg("gate timer armed for %llu", (unsigned long long)at);
}

static void
h_drop(void *ctx, struct member *c, const char *why)
{
	(void)ctx;
	ck_abort_msg("node %u dropped: %s", c->node_id, why);
}

/* The harness. */

struct qnetd *
h_world(void)
{
	struct qnetd *w = calloc(1, sizeof(*w));
	const struct decide_services svc = {
		.ctx = w,
		.send_vote_info = h_send_vote_info,
		.send_reply = h_send_reply,
		.timer_start = h_timer_start,
		.timer_stop = h_timer_stop,
		.now = h_now,
		.gate_timer = h_gate_timer,
		.drop = h_drop,
	};

	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(decide_core_init(&w->core), 0);
	decide_core_start(&w->core, &svc, 0);
	return w;
}

static void
h_free_client(struct h_client *hc)
{
	member_free(&hc->c);
	free(hc);
}

void
h_world_free(struct qnetd *w)
{
	for (size_t i = 0; i < w->nclients; i++) {
		if (!w->clients[i]->gone)
			decide_leave(&w->clients[i]->c, 1, 0);
		h_free_client(w->clients[i]);
	}
	ck_assert_uint_eq(w->core.clusters.count, 0);
	decide_core_free(&w->core);
	free(w);
}

struct qn_ring_id
h_ring(uint32_t node, uint64_t seq)
{
	return (struct qn_ring_id){ .node_id = node, .seq = seq };
}

struct h_client *
h_new(struct qnetd *w, const char *cluster, uint32_t node, uint8_t algo,
    uint8_t tb_mode, uint32_t tb_node, struct qn_ring_id ring)
{
	struct h_client *hc = calloc(1, sizeof(*hc));

	ck_assert_ptr_nonnull(hc);
	ck_assert_uint_lt(w->nclients, H_MAX_CLIENTS);
	w->clients[w->nclients++] = hc;
	hc->c.cluster_name = strdup(cluster);
	hc->c.cluster_name_len = strlen(cluster);
	hc->c.node_id = node;
	hc->c.algorithm = algo;
	hc->c.tie_breaker = (struct qn_tie_breaker){ tb_mode, tb_node };
	hc->c.heartbeat_interval = 8000;
	hc->c.ring_id = ring;
	hc->sent_ring = ring;
	/* The qdevice waits for a reply after INIT (PROTOCOL.md §7.5). */
	hc->vote = QN_VOTE_WAIT_FOR_REPLY;
	return hc;
}

int
h_join(struct qnetd *w, struct h_client *hc)
{
	int e = decide_join(&w->core, &hc->c);

	if (e != QN_ERR_NONE)
		ck_assert_ptr_null(hc->c.cluster);
	return e;
}

struct h_client *
h_connect(struct qnetd *w, const char *cluster, uint32_t node, uint8_t algo,
    uint8_t tb_mode, uint32_t tb_node, struct qn_ring_id ring)
{
	struct h_client *hc = h_new(w, cluster, node, algo, tb_mode, tb_node,
	    ring);

	ck_assert_int_eq(h_join(w, hc), QN_ERR_NONE);
	return hc;
}

void
h_leave(struct qnetd *w, struct h_client *hc, int server_going_down)
{
	/* Its queued VOTE_INFOs die with the connection. */
	for (size_t i = 0; i < w->nev; i++)
		if (w->ev[i].node == hc->c.node_id)
			w->ev[i].answered = 1;
	decide_leave(&hc->c, server_going_down, 0);
	ck_assert_ptr_null(hc->c.cluster);
	hc->gone = 1;
}

static size_t
parse_ids(const char *ids, struct qn_node *out, size_t max)
{
	size_t n = 0;
	char *end;

	while (*ids != '\0') {
		ck_assert_uint_lt(n, max);
		out[n++] = (struct qn_node){ .node_id =
		    (uint32_t)strtoul(ids, &end, 10) };
		ids = *end == ',' ? end + 1 : end;
	}
	return n;
}

int
h_in_ids(const char *ids, uint32_t node)
{
	struct qn_node n[64];
	size_t count = parse_ids(ids, n, 64);

	for (size_t i = 0; i < count; i++)
		if (n[i].node_id == node)
			return 1;
	return 0;
}

/* What the handler does after the algorithm: queue the reply, record it. */
static int
h_reply(struct qnetd *w, struct h_client *hc, enum qn_err e,
    const struct decision *d)
{
	size_t nev = w->nev;

	if (e != QN_ERR_NONE)
		return H_ERR(e);
	ck_assert_msg(d->vote >= QN_VOTE_ACK && d->vote <= QN_VOTE_NO_CHANGE,
	    "reply vote %u", d->vote);
	if (vote_is_decision(d->vote))
		ck_assert_msg(d->reason[0] != '\0', "%s without a reason",
		    d->vote == QN_VOTE_ACK ? "ACK" : "NACK");
	ck_assert_int_eq(decide_reply(&hc->c, d, hc), 0);
	ck_assert_uint_eq(w->nev, nev + 1);
	ck_assert_int_eq(w->ev[nev].vote, d->vote);
	return d->vote;
}

static int
h_node_list(struct qnetd *w, struct h_client *hc,
    struct node_list_update *u, const char *ids)
{
	struct qn_node nodes[64];
	struct decision d;

	memset(&d, 0x5a, sizeof(d));	/* the algorithm must fill it */
	u->nodes = (struct node_list){ .nodes = nodes,
	    .count = parse_ids(ids, nodes, 64) };
	return h_reply(w, hc, decide_node_list(&hc->c, u, &d), &d);
}

int
h_config(struct qnetd *w, struct h_client *hc, int initial, const char *ids)
{
	struct node_list_update u = { .type = initial ?
	    QN_LIST_INITIAL_CONFIG : QN_LIST_CHANGED_CONFIG };

	return h_node_list(w, hc, &u, ids);
}

int
h_membership(struct qnetd *w, struct h_client *hc, struct qn_ring_id ring,
    const char *ids, uint8_t heuristics)
{
	struct node_list_update u = { .type = QN_LIST_MEMBERSHIP,
	    .ring_id = ring, .heuristics = heuristics };

	hc->sent_ring = ring;
	return h_node_list(w, hc, &u, ids);
}

int
h_quorum(struct qnetd *w, struct h_client *hc, int quorate, const char *ids)
{
	struct node_list_update u = { .type = QN_LIST_QUORUM,
	    .quorate = (uint8_t)quorate };

	return h_node_list(w, hc, &u, ids);
}

int
h_heuristics(struct qnetd *w, struct h_client *hc, uint8_t heuristics)
{
	struct decision d;

	memset(&d, 0x5a, sizeof(d));
	return h_reply(w, hc, decide_heuristics_change(&hc->c, heuristics, &d),
	    &d);
}

int
h_ask(struct qnetd *w, struct h_client *hc)
{
	struct decision d;

	memset(&d, 0x5a, sizeof(d));
	return h_reply(w, hc, decide_ask_for_vote(&hc->c, &d), &d);
}

struct h_client *
h_node(struct qnetd *w, uint32_t node)
{
	for (size_t i = 0; i < w->nclients; i++)
		if (!w->clients[i]->gone && w->clients[i]->c.node_id == node)
			return w->clients[i];
	return NULL;
}

void
h_answer(struct qnetd *w, size_t i)
{
	struct h_event *e = &w->ev[i];
	struct h_client *hc = h_node(w, e->node);

	ck_assert_int_eq(e->kind, H_VOTE_INFO);
	ck_assert(!e->answered);
	e->answered = 1;
	ck_assert_ptr_nonnull(hc);
	ck_assert_int_eq(decide_vote_info_reply(&hc->c, e->seq), QN_ERR_NONE);
}

void
h_answer_all(struct qnetd *w)
{
	/* Answering may send more VOTE_INFOs; they are answered too. */
	for (size_t i = 0; i < w->nev; i++)
		if (w->ev[i].kind == H_VOTE_INFO && !w->ev[i].answered)
			h_answer(w, i);
}

int
h_fire_timers(struct qnetd *w)
{
	int fired = 0, any = 1;

	while (any) {
		struct h_client *next = NULL;

		any = 0;
		for (size_t i = 0; i < w->nclients; i++) {
			struct h_client *hc = w->clients[i];

			if (!hc->gone && hc->timer_armed &&
			    (next == NULL || hc->c.node_id < next->c.node_id))
				next = hc;
		}
		if (next != NULL) {
			ck_assert_int_lt(fired, 100);
			next->timer_armed = 0;
			decide_timer(&next->c);
			fired++;
			any = 1;
		}
	}
	return fired;
}

long
h_find(const struct qnetd *w, size_t from, enum h_kind kind, uint32_t node,
    uint8_t vote)
{
	for (size_t i = from; i < w->nev; i++)
		if (w->ev[i].kind == kind && w->ev[i].node == node &&
		    w->ev[i].vote == vote)
			return (long)i;
	return -1;
}

size_t
h_count(const struct qnetd *w, size_t from, enum h_kind kind)
{
	size_t n = 0;

	for (size_t i = from; i < w->nev; i++)
		n += w->ev[i].kind == kind;
	return n;
}

/* INIT steps 10-12. */

#define FF	QN_ALGO_FFSPLIT
#define LOW	QN_TB_LOWEST
#define HIGH	QN_TB_HIGHEST
#define NODE	QN_TB_NODE_ID

START_TEST(join_errors_and_precedence)
{
	struct qnetd *w = h_world();
	struct qn_ring_id r = h_ring(1, 1);
	struct cluster *cl;
	static const struct {
		uint32_t node;
		uint8_t algo, tb;
		uint32_t tb_node;
		int err;
	} tries[] = {
		{ 2, FF, HIGH, 0, QN_ERR_TIE_BREAKER_DIFFERS_FROM_OTHER_NODES },
		{ 2, QN_ALGO_LMS, LOW, 0,
		    QN_ERR_ALGORITHM_DIFFERS_FROM_OTHER_NODES },
		{ 1, FF, LOW, 0, QN_ERR_DUPLICATE_NODE_ID },
		/* Tie-breaker before algorithm before duplicate id. */
		{ 1, QN_ALGO_LMS, HIGH, 0,
		    QN_ERR_TIE_BREAKER_DIFFERS_FROM_OTHER_NODES },
		{ 1, QN_ALGO_LMS, LOW, 0,
		    QN_ERR_ALGORITHM_DIFFERS_FROM_OTHER_NODES },
		{ 2, FF, NODE, 1,
		    QN_ERR_TIE_BREAKER_DIFFERS_FROM_OTHER_NODES },
		/* The node id of lowest/highest mode is not compared. */
		{ 3, FF, LOW, 7, QN_ERR_NONE },
	};

	h_connect(w, "c", 1, FF, LOW, 0, r);
	cl = cluster_find(&w->core.clusters, "c", 1);
	ck_assert_ptr_nonnull(cl);
	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		struct h_client *hc = h_new(w, "c", tries[i].node,
		    tries[i].algo, tries[i].tb, tries[i].tb_node, r);

		ck_assert_msg(h_join(w, hc) == tries[i].err, "try %zu", i);
		if (tries[i].err != QN_ERR_NONE)
			hc->gone = 1;	/* never joined */
	}
	ck_assert_uint_eq(cl->client_count, 2);

	/* Another cluster name is another cluster. */
	h_connect(w, "d", 1, QN_ALGO_LMS, HIGH, 0, r);
	ck_assert_uint_eq(w->core.clusters.count, 2);
	h_world_free(w);
}
END_TEST

START_TEST(join_first_hit_in_node_order)
{
	struct qnetd *w = h_world();
	struct qn_ring_id r = h_ring(1, 1);
	struct h_client *hc;

	/* 2 and 5 registered; a duplicate of 5 with another tie-breaker → 15. */
	h_connect(w, "c", 5, FF, NODE, 3, r);
	h_connect(w, "c", 2, FF, NODE, 3, r);
	hc = h_new(w, "c", 5, FF, NODE, 4, r);
	ck_assert_int_eq(h_join(w, hc),
	    QN_ERR_TIE_BREAKER_DIFFERS_FROM_OTHER_NODES);
	hc->gone = 1;
	hc = h_new(w, "c", 3, FF, NODE, 3, r);
	ck_assert_int_eq(h_join(w, hc), QN_ERR_NONE);
	/* Kept in ascending node id. */
	ck_assert_uint_eq(cluster_first(hc->c.cluster)->node_id, 2);
	ck_assert_uint_eq(cluster_next(cluster_first(hc->c.cluster))->node_id,
	    3);
	h_world_free(w);
}
END_TEST

START_TEST(leave_frees_cluster_and_ignores_unjoined)
{
	struct qnetd *w = h_world();
	struct h_client *a, *b, *stranger;

	a = h_connect(w, "c", 1, FF, LOW, 0, h_ring(1, 1));
	b = h_connect(w, "c", 2, FF, LOW, 0, h_ring(1, 1));
	stranger = h_new(w, "c", 3, FF, LOW, 0, h_ring(1, 1));
	decide_leave(&stranger->c, 0, 0);
	ck_assert_uint_eq(w->core.clusters.count, 1);
	h_leave(w, a, 0);
	ck_assert_uint_eq(w->core.clusters.count, 1);
	h_leave(w, b, 0);
	ck_assert_uint_eq(w->core.clusters.count, 0);
	h_world_free(w);
}
END_TEST

/* What a NODE_LIST and HEURISTICS_CHANGE leave behind (BEHAVIOUR.md §2.1). */
START_TEST(node_lists_are_stored_after_the_algorithm)
{
	struct qnetd *w = h_world();
	struct h_client *a = h_connect(w, "c", 1, FF, LOW, 0, h_ring(1, 1));
	struct member *c = &a->c;
	struct node_list_update u = { .type = QN_LIST_INITIAL_CONFIG,
	    .has_config_version = 1, .config_version = 7 };
	struct qn_node n[2] = { { .node_id = 1 }, { .node_id = 2 } };
	struct decision d;

	u.nodes = (struct node_list){ .nodes = n, .count = 2 };
	ck_assert_int_eq(decide_node_list(c, &u, &d), QN_ERR_NONE);
	ck_assert(c->has_config && c->has_config_version);
	ck_assert_uint_eq(c->config_version, 7);
	ck_assert_uint_eq(c->config.count, 2);
	/* The list is a copy. */
	n[1].node_id = 9;
	ck_assert_uint_eq(c->config.nodes[1].node_id, 2);

	/* A refused list stores nothing. */
	ck_assert_int_eq(h_config(w, a, 0, "2,3"),
	    H_ERR(QN_ERR_INVALID_CONFIG_NODE_LIST));
	ck_assert_uint_eq(c->config.count, 2);
	ck_assert(c->has_config_version);

	/* A config list without a version clears it. */
	ck_assert_int_eq(h_config(w, a, 1, "1,2"), QN_VOTE_ASK_LATER);
	ck_assert(!c->has_config_version);

	ck_assert_int_eq(h_membership(w, a, h_ring(1, 4), "1", QN_HEUR_PASS),
	    QN_VOTE_NO_CHANGE);
	ck_assert(c->has_membership);
	ck_assert(qn_ring_id_eq(&c->ring_id, &(struct qn_ring_id){ 1, 4 }));
	ck_assert_uint_eq(c->heur_membership, QN_HEUR_PASS);
	ck_assert_uint_eq(c->heur_latest, QN_HEUR_PASS);
	/* An absent heuristics option is undefined. */
	ck_assert_int_eq(h_membership(w, a, h_ring(1, 5), "1",
	    QN_HEUR_UNDEFINED), QN_VOTE_NO_CHANGE);
	ck_assert_uint_eq(c->heur_latest, QN_HEUR_UNDEFINED);

	ck_assert_int_eq(h_heuristics(w, a, QN_HEUR_FAIL), QN_VOTE_NO_CHANGE);
	ck_assert_uint_eq(c->heur_regular, QN_HEUR_FAIL);
	ck_assert_uint_eq(c->heur_latest, QN_HEUR_FAIL);
	ck_assert_uint_eq(c->heur_membership, QN_HEUR_UNDEFINED);

	ck_assert_int_eq(h_quorum(w, a, 1, "1,2"), QN_VOTE_NO_CHANGE);
	ck_assert(c->has_quorum);
	ck_assert_uint_eq(c->quorate, 1);
	ck_assert_uint_eq(c->quorum.count, 2);

	/* The last reply said no change; the last decision was ACK. */
	ck_assert_uint_eq(c->last_vote, QN_VOTE_NO_CHANGE);
	ck_assert_uint_eq(c->last_ack_nack, QN_VOTE_ACK);
	ck_assert_str_eq(c->reason, "50:50 split: partition {1} is the only "
	    "one with half of 2 configured votes");
	h_world_free(w);
}
END_TEST

/* BEHAVIOUR.md §2.5. */
START_TEST(test_algorithm_replies)
{
	struct qnetd *w = h_world();
	struct h_client *a = h_connect(w, "t", 1, QN_ALGO_TEST, LOW, 0,
	    h_ring(1, 1));
	struct h_client *b = h_connect(w, "t", 2, QN_ALGO_TEST, LOW, 0,
	    h_ring(2, 1));

	ck_assert_int_eq(h_config(w, a, 1, "1,2"), QN_VOTE_NO_CHANGE);
	ck_assert_int_eq(h_config(w, a, 0, "1,2,3"), QN_VOTE_NO_CHANGE);
	/* Two partitions, both get the vote. */
	ck_assert_int_eq(h_membership(w, a, h_ring(1, 2), "1", 0),
	    QN_VOTE_ACK);
	ck_assert_int_eq(h_membership(w, b, h_ring(2, 2), "2", 0),
	    QN_VOTE_ACK);
	ck_assert_int_eq(h_quorum(w, a, 0, "1,2"), QN_VOTE_NO_CHANGE);
	ck_assert_int_eq(h_ask(w, a), QN_VOTE_ACK);
	ck_assert_int_eq(h_heuristics(w, a, QN_HEUR_FAIL), QN_VOTE_NO_CHANGE);
	ck_assert_int_eq(decide_vote_info_reply(&a->c, 3), QN_ERR_NONE);
	h_leave(w, b, 0);
	ck_assert_uint_eq(h_count(w, 0, H_VOTE_INFO), 0);
	ck_assert_uint_eq(a->vote, QN_VOTE_ACK);
	h_world_free(w);
}
END_TEST

/*
 * §14.1: two clients of one cluster complete INIT and leave before sending
 * any list.  3.0.3 crashes here; we decide nothing and send nothing.
 */
START_TEST(leave_before_any_list)
{
	static const uint8_t algos[] = { QN_ALGO_FFSPLIT, QN_ALGO_LMS,
	    QN_ALGO_2NODELMS, QN_ALGO_TEST };
	uint8_t algo = algos[_i];
	struct qnetd *w = h_world();
	struct h_client *a = h_connect(w, "c", 1, algo, LOW, 0, h_ring(1, 1));
	struct h_client *b = h_connect(w, "c", 2, algo, LOW, 0, h_ring(1, 1));

	h_leave(w, a, 0);
	h_leave(w, b, 0);
	ck_assert_uint_eq(w->nev, 0);
	ck_assert_uint_eq(w->core.clusters.count, 0);

	/* Also with one client that has stored its lists. */
	a = h_connect(w, "c", 1, algo, LOW, 0, h_ring(1, 1));
	b = h_connect(w, "c", 2, algo, LOW, 0, h_ring(1, 1));
	h_config(w, b, 1, "1,2");
	h_membership(w, b, h_ring(1, 1), "1,2", 0);
	h_leave(w, a, 0);
	/* Nobody left that could have been told anything new... */
	for (size_t i = 0; i < w->nev; i++)
		ck_assert_uint_ne(w->ev[i].node, 1);
	h_leave(w, b, 0);
	ck_assert_uint_eq(w->core.clusters.count, 0);
	h_world_free(w);
}
END_TEST

Suite *
decide_suite(void)
{
	Suite *s = suite_create("decide");
	TCase *tc = tcase_create("join");

	tcase_add_test(tc, join_errors_and_precedence);
	tcase_add_test(tc, join_first_hit_in_node_order);
	tcase_add_test(tc, leave_frees_cluster_and_ignores_unjoined);
	suite_add_tcase(s, tc);
	tc = tcase_create("store");
	tcase_add_test(tc, node_lists_are_stored_after_the_algorithm);
	suite_add_tcase(s, tc);
	tc = tcase_create("test algorithm");
	tcase_add_test(tc, test_algorithm_replies);
	suite_add_tcase(s, tc);
	tc = tcase_create("no lists (14.1)");
	tcase_add_loop_test(tc, leave_before_any_list, 0, 4);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(decide_suite());
	int failed;

	srunner_add_suite(sr, ffsplit_suite());
	srunner_add_suite(sr, lms_suite());
	srunner_add_suite(sr, twonode_suite());
	srunner_add_suite(sr, model_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
