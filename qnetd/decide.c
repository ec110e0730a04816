#include <stdlib.h>
#include <string.h>

#include "decide.h"
#include "gate.h"
#include "vote.h"

int
decide_core_init(struct decide_core *core)
{
	memset(core, 0, sizeof(*core));
	gate_init(&core->gate, 0, 0);
	memory_init(&core->memory, 0, 0);
	return cluster_table_init(&core->clusters);
}

void
decide_core_memory(struct decide_core *core, uint64_t keep_ms,
    size_t max_idle, uint64_t tie_hold_ms)
{
	core->memory.keep_ms = keep_ms;
	core->memory.max_idle = max_idle;
	core->tie_hold_ms = tie_hold_ms;
}

void
decide_core_start(struct decide_core *core,
    const struct decide_services *svc, double ack_grace_coefficient)
{
	core->svc = *svc;
	gate_init(&core->gate, ack_grace_coefficient, svc->now(svc->ctx));
}

void
decide_core_free(struct decide_core *core)
{
	gate_free(&core->gate);
	memory_free(&core->memory);
	cluster_table_free(&core->clusters);
}

void
member_free(struct member *m)
{
	free(m->cluster_name);
	node_list_free(&m->config);
	node_list_free(&m->membership);
	node_list_free(&m->quorum);
}

/* How an INIT conflicts with a client already in the cluster, if at all. */
static enum qn_err
join_conflict(const struct member *o, const struct member *c)
{
	if (!qn_tie_breaker_eq(&o->tie_breaker, &c->tie_breaker))
		return QN_ERR_TIE_BREAKER_DIFFERS_FROM_OTHER_NODES;
	if (o->algorithm != c->algorithm)
		return QN_ERR_ALGORITHM_DIFFERS_FROM_OTHER_NODES;
	if (o->node_id == c->node_id)
		return QN_ERR_DUPLICATE_NODE_ID;
	return QN_ERR_NONE;
}

static void
memory_changed(struct decide_core *core)
{
	if (core->svc.memory_changed != NULL)
		core->svc.memory_changed(core->svc.ctx);
}

/*
 * A cluster's first client: take its decision memory.  A record that
 * outlived the cluster's last client (or this qnetd) brings back the
 * quorate partition, and with it the hold for its ties (ffsplit.c).
 */
static void
cluster_starts(struct decide_core *core, struct cluster *cl)
{
	struct memory_rec *r;
	struct qn_node *v;
	uint64_t now = core->svc.now(core->svc.ctx);
	int was_idle;

	r = memory_find(&core->memory, cl->name, cl->name_len);
	was_idle = r != NULL && !r->in_use;
	if ((cl->mem = memory_attach(&core->memory, cl->name, cl->name_len,
	    now)) == NULL || !was_idle || r->nquorate == 0)
		return;
	if ((v = calloc(r->nquorate, sizeof(*v))) == NULL)
		return;
	for (size_t i = 0; i < r->nquorate; i++)
		v[i].node_id = r->quorate[i];
	/* Only ffsplit holds ties (lms and 2nodelms results are kept). */
	if (node_list_set(&cl->prev_quorate, v, r->nquorate) == 0 &&
	    core->tie_hold_ms > 0 && r->algorithm == QN_ALGO_FFSPLIT) {
		cl->hold_until = now + core->tie_hold_ms;
		cl->hold_restart = r->from_file != 0;
	}
	free(v);
}

/* Free the cluster if no client is left; its memory stays behind. */
static void
cluster_ends(struct decide_core *core, struct cluster *cl)
{
	if (!TAILQ_EMPTY(&cl->members))
		return;
	if (cl->mem != NULL) {
		memory_detach(&core->memory, cl->mem,
		    core->svc.now(core->svc.ctx));
		cl->mem = NULL;
		memory_changed(core);
	}
	cluster_release(&core->clusters, cl);
}

/* INIT steps 10-12 (PROTOCOL.md §7.4). */
enum qn_err
decide_join(struct decide_core *core, struct member *c)
{
	struct cluster_table *t = &core->clusters;
	const struct algo *a = algo_get(c->algorithm);
	struct cluster *cl;
	struct member *o;
	enum qn_err e;

	if (a == NULL)
		return QN_ERR_UNSUPPORTED_DECISION_ALGORITHM;
	/* Ascending node id; the first conflicting client decides. */
	cl = cluster_find(t, c->cluster_name, c->cluster_name_len);
	if (cl != NULL)
		cluster_for_each(cl, o)
			if ((e = join_conflict(o, c)) != QN_ERR_NONE)
				return e;
	if ((cl = cluster_get(t, c->cluster_name, c->cluster_name_len)) == NULL)
		return QN_ERR_INTERNAL_ERROR;
	c->core = core;
	if (TAILQ_EMPTY(&cl->members) && cl->mem == NULL)
		cluster_starts(core, cl);
	cluster_add_member(cl, c);
	if ((e = a->client_init(c)) != QN_ERR_NONE) {
		cluster_remove_member(cl, c);
		c->cluster = NULL;
		cluster_ends(core, cl);
		return e;
	}
	return QN_ERR_NONE;
}

void
decide_leave(struct member *c, int server_going_down, int closed_by_peer)
{
	struct cluster *cl = c->cluster;

	if (cl == NULL)		/* never joined */
		return;
	vote_member_leaves(c, server_going_down, closed_by_peer);
	algo_timer_stop(c);
	/* Out before the algorithm re-decides, so it counts nowhere (D2). */
	cluster_remove_member(cl, c);
	algo_get(c->algorithm)->disconnect(c, server_going_down);
	c->cluster = NULL;
	cluster_ends(c->core, cl);
}

/* What a NODE_LIST leaves behind once the algorithm accepted it (§2.1). */
static void
store_node_list(struct member *c, const struct node_list_update *u,
    struct node_list *copy)
{
	struct node_list *dst;

	switch (u->type) {
	case QN_LIST_MEMBERSHIP:
		dst = &c->membership;
		c->has_membership = 1;
		c->ring_id = u->ring_id;
		c->heur_membership = u->heuristics;
		c->heur_latest = u->heuristics;
		break;
	case QN_LIST_QUORUM:
		dst = &c->quorum;
		c->has_quorum = 1;
		c->quorate = u->quorate;
		break;
	default:
		dst = &c->config;
		c->has_config = 1;
		c->has_config_version = u->has_config_version != 0;
		c->config_version = u->config_version;
		break;
	}
	node_list_free(dst);
	*dst = *copy;
}

enum qn_err
decide_node_list(struct member *c, const struct node_list_update *u,
    struct decision *d)
{
	const struct algo *a = algo_get(c->algorithm);
	struct node_list copy = { 0 };
	enum qn_err e;

	if (u->type > QN_LIST_QUORUM)
		return QN_ERR_ERROR_DECODING_MSG;
	/*
	 * Copy first: once the algorithm has acted the list must be kept.
	 * The algorithm sees the copy, whose sorted ids make its
	 * comparisons linear (nodelist.h).
	 */
	if (node_list_set(&copy, u->nodes.nodes, u->nodes.count) != 0)
		return QN_ERR_INTERNAL_ERROR;
	switch (u->type) {
	case QN_LIST_INITIAL_CONFIG:
	case QN_LIST_CHANGED_CONFIG:
		e = a->config_list(c, u->type == QN_LIST_INITIAL_CONFIG,
		    &copy, d);
		break;
	case QN_LIST_MEMBERSHIP:
		c->cluster->deciding = c;
		c->cluster->deciding_members = &copy;
		e = a->membership_list(c, &u->ring_id, &copy,
		    u->heuristics, d);
		c->cluster->deciding = NULL;
		break;
	default:
		e = a->quorum_list(c, u->quorate, &copy, d);
		break;
	}
	if (e != QN_ERR_NONE) {
		node_list_free(&copy);
		return e;
	}
	store_node_list(c, u, &copy);
	return QN_ERR_NONE;
}

enum qn_err
decide_heuristics_change(struct member *c, uint8_t heuristics,
    struct decision *d)
{
	enum qn_err e;

	e = algo_get(c->algorithm)->heuristics_change(c, heuristics, d);
	if (e != QN_ERR_NONE)
		return e;
	c->heur_regular = heuristics;
	c->heur_latest = heuristics;
	return QN_ERR_NONE;
}

enum qn_err
decide_ask_for_vote(struct member *c, struct decision *d)
{
	return algo_get(c->algorithm)->ask_for_vote(c, d);
}

enum qn_err
decide_vote_info_reply(struct member *c, uint32_t seq)
{
	const struct algo *a = algo_get(c->algorithm);

	vote_info_replied(c, seq);
	return a->vote_info_reply ? a->vote_info_reply(c, seq) : QN_ERR_NONE;
}

int
decide_reply(struct member *c, const struct decision *d, void *reply)
{
	return vote_reply(c, reply, d->vote, d->reason);
}

void
decide_timer(struct member *c)
{
	const struct algo *a = algo_get(c->algorithm);

	if (a != NULL && a->timer != NULL)
		a->timer(c);
}

void
decide_gate_fired(struct decide_core *core)
{
	vote_gate_fired(core);
}
