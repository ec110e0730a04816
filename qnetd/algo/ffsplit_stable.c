/* ffsplit's stability test (ffsplit_view.h). */
#include "ffsplit_view.h"

/* Stability test, part 1: every client configured the same node set. */
static int
configs_agree(const struct view *v)
{
	const struct node_list *first = config_of(v, cluster_first(v->cl)), *l;
	const struct member *c;

	cluster_for_each(v->cl, c) {
		l = config_of(v, c);
		if (!node_list_same_set(first, l))
			return 0;
	}
	return 1;
}

/*
 * Stability test, part 2: every connected client that X lists as a member
 * is in X's ring and lists at least X's members.  Read literally that is
 * a containment test for every pair of clients.
 */
static int
memberships_contain(const struct view *v)
{
	const struct member *x, *y;
	const struct node_list *m;

	cluster_for_each(v->cl, x) {
		m = membership_of(v, x);
		cluster_for_each(v->cl, y) {
			if (y == x || !node_list_has(m, y->node_id))
				continue;
			if (!qn_ring_id_eq(ring_of(v, x), ring_of(v, y)) ||
			    !node_list_subset(m, membership_of(v, y)))
				return 0;
		}
	}
	return 1;
}

/*
 * The same test in time linear in the lists.  A membership list holds its
 * own node (ffsplit_membership_list), so when X lists Y and X's list is in
 * Y's, Y lists X too and Y's list must be in X's: the lists are equal.
 * The test is then that every client's list equals, with the same ring,
 * that of its leader (the lowest connected client it lists), and that
 * every connected client it lists has the same leader.  One comparison of
 * whole lists per client instead of one per pair.
 */
static int
memberships_agree(const struct view *v)
{
	struct member *x, *y;
	const struct node_list *m;
	const struct member *l;

	cluster_for_each(v->cl, x) {
		m = membership_of(v, x);
		x->ffsplit_leader = NULL;
		if (m->count == 0)
			continue;
		/* (Never so; but then only the literal test is right.) */
		if (!node_list_has(m, x->node_id))
			return memberships_contain(v);
		cluster_for_each(v->cl, y)
			if (node_list_has(m, y->node_id))
				break;
		x->ffsplit_leader = y;
	}
	cluster_for_each(v->cl, x) {
		if ((l = x->ffsplit_leader) == NULL)
			continue;
		m = membership_of(v, x);
		if (l != x && (!qn_ring_id_eq(ring_of(v, x), ring_of(v, l)) ||
		    !node_list_same_set(m, membership_of(v, l))))
			return 0;
		cluster_for_each(v->cl, y)
			if (y != x && y->ffsplit_leader != l &&
			    node_list_has(m, y->node_id))
				return 0;
	}
	return 1;
}

int
ffsplit_membership_is_stable(const struct view *v)
{
	return configs_agree(v) && memberships_agree(v);
}
