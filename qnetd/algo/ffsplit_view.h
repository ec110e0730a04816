/*
 * ffsplit's view of a cluster for one decision (D1), shared by ffsplit.c
 * and its stability test (ffsplit_stable.c).
 */
#ifndef QNETD_ALGO_FFSPLIT_VIEW_H
#define QNETD_ALGO_FFSPLIT_VIEW_H

#include <stdint.h>

#include "cluster.h"
#include "member.h"

/* The cluster as one decision sees it (D1). */
struct view {
	struct cluster *cl;
	const struct member *trigger;	/* NULL when a client left */
	/* The trigger's values, new or stored. */
	const struct node_list *config;
	const struct node_list *membership;
	const struct qn_ring_id *ring;
	uint8_t heuristics;
};

static inline struct view
view_for(struct member *trigger)
{
	return (struct view){
		.cl = trigger->cluster,
		.trigger = trigger,
		.config = &trigger->config,
		.membership = &trigger->membership,
		.ring = &trigger->ring_id,
		.heuristics = trigger->heur_latest,
	};
}

static inline const struct node_list *
config_of(const struct view *v, const struct member *c)
{
	return c == v->trigger ? v->config : &c->config;
}

static inline const struct node_list *
membership_of(const struct view *v, const struct member *c)
{
	return c == v->trigger ? v->membership : &c->membership;
}

static inline const struct qn_ring_id *
ring_of(const struct view *v, const struct member *c)
{
	return c == v->trigger ? v->ring : &c->ring_id;
}

static inline uint8_t
heuristics_of(const struct view *v, const struct member *c)
{
	return c == v->trigger ? v->heuristics : c->heur_latest;
}

/* §14.1: only clients that reported both lists take part. */
static inline int
participates(const struct view *v, const struct member *c)
{
	return c == v->trigger || (c->has_config && c->has_membership);
}

/*
 * The stability test (BEHAVIOUR.md §2.2): every client configured the same
 * nodes and the memberships agree.  Sets each client's ffsplit_leader.
 */
int	ffsplit_membership_is_stable(const struct view *v);

#endif
