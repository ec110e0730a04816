/*
 * Agreement on the arbiter (see arbiter_agree.h).  The cluster moves
 * between arbiters only as a whole: the agreed (epoch, index) changes only
 * on a report delivered in a view holding `need` configured nodes (default
 * all of them, so no node can miss a change and stay on the old one),
 * when every member of the view reported holding the current agreement and
 * either all lost its arbiter (to the next host all reach) or all held the
 * first host reachable (back to it).  A later agreement reported by anyone
 * is adopted: (epoch, index) compared in that order, so every member ends
 * on the same one.  Without such a view nothing changes: after a split both
 * sides keep the one arbiter, which decides for both.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "arbiter_agree.h"

static int
configured(const struct agree *a, uint32_t nodeid)
{
	for (size_t i = 0; i < a->node_count; i++)
		if (a->nodes[i] == nodeid)
			return 1;
	return 0;
}

static int
member_slot(const struct agree *a, uint32_t nodeid)
{
	for (size_t i = 0; i < a->member_count; i++)
		if (a->members[i] == nodeid)
			return (int)i;
	return -1;
}

int
agree_init(struct agree *a, const uint32_t *nodes, size_t node_count,
    unsigned host_count, size_t need)
{
	memset(a, 0, sizeof(*a));
	if (node_count == 0 || node_count > AGREE_MAX_NODES ||
	    host_count == 0 || host_count > AGREE_MAX_HOSTS ||
	    need > node_count)
		return -1;
	memcpy(a->nodes, nodes, node_count * sizeof(*nodes));
	a->node_count = node_count;
	a->need = need != 0 ? need : node_count;
	a->host_count = host_count;
	a->why = AGREE_FIRST;
	a->state = AGREE_NO_MAJORITY;
	return 0;
}

int
agree_set_nodes(struct agree *a, const uint32_t *nodes, size_t count)
{
	int added = 0;

	if (count == 0 || count > AGREE_MAX_NODES)
		return -1;
	for (size_t i = 0; i < count; i++)
		added |= !configured(a, nodes[i]);
	memcpy(a->nodes, nodes, count * sizeof(*nodes));
	a->node_count = count;
	a->need = count;
	a->configured = 0;
	for (size_t i = 0; i < a->member_count; i++)
		a->configured += configured(a, a->members[i]);
	if (added)
		a->confirmed = 0;
	return 0;
}

void
agree_view(struct agree *a, const uint32_t *members, size_t count)
{
	a->member_count = 0;
	a->configured = 0;
	memset(a->have, 0, sizeof(a->have));
	for (size_t i = 0; i < count && a->member_count < AGREE_MAX_NODES;
	    i++) {
		if (member_slot(a, members[i]) >= 0)
			continue;
		a->members[a->member_count++] = members[i];
		a->configured += configured(a, members[i]);
	}
	a->state = a->configured < a->need ? AGREE_NO_MAJORITY : AGREE_WAITING;
}

/* Every member reported, holding the current agreement? */
static int
all_hold_current(const struct agree *a)
{
	for (size_t i = 0; i < a->member_count; i++)
		if (!a->have[i] || a->rep[i].epoch != a->epoch ||
		    a->rep[i].index != a->index)
			return 0;
	return a->member_count > 0;
}

static void
change(struct agree *a, uint32_t epoch, unsigned index, enum agree_why why)
{
	a->prev = a->index;
	a->confirmed = 0;
	a->epoch = epoch;
	a->index = index;
	a->why = why;
}

/* The rule, on the reports of this view. */
static int
evaluate(struct agree *a)
{
	unsigned lost = 1, held = 1, reach = (1u << a->host_count) - 1;

	if (a->configured < a->need) {
		a->state = AGREE_NO_MAJORITY;
		return 0;
	}
	if (!all_hold_current(a)) {
		a->state = AGREE_WAITING;
		return 0;
	}
	a->state = AGREE_AGREED;
	if (a->configured == a->node_count)
		a->confirmed = 1;
	for (size_t i = 0; i < a->member_count; i++) {
		lost &= a->rep[i].lost != 0;
		held &= a->rep[i].first_held != 0;
		reach &= a->rep[i].reach;
	}
	if (lost) {
		reach &= ~(1u << a->index);
		/* The next after it that all reach, round the list. */
		for (unsigned k = 1, h; k < a->host_count; k++)
			if (reach & (1u << (h = (a->index + k) % a->host_count))) {
				change(a, a->epoch + 1, h, AGREE_SWITCHED);
				a->state = AGREE_WAITING;
				return 1;
			}
		a->state = AGREE_NO_COMMON_HOST;
		return 0;
	}
	if (held && a->index != 0) {
		change(a, a->epoch + 1, 0, AGREE_RETURNED);
		a->state = AGREE_WAITING;
		return 1;
	}
	return 0;
}

int
agree_deliver(struct agree *a, const struct agree_report *r)
{
	int slot = member_slot(a, r->nodeid), changed = 0;

	if (slot < 0 || r->index >= a->host_count)
		return 0;	/* not of this view, or of another config */
	if (r->list != a->list) {
		a->foreign_list_from = r->nodeid;
		a->have[slot] = 0;
		return 0;
	}
	a->rep[slot] = *r;
	a->have[slot] = 1;
	if (r->epoch > a->epoch ||
	    (r->epoch == a->epoch && r->index > a->index)) {
		change(a, r->epoch, r->index, AGREE_ADOPTED);
		changed = 1;
	}
	return evaluate(a) || changed;
}

const char *
agree_why_id(const struct agree *a)
{
	static const char *const ids[] = {
		[AGREE_FIRST] = "first",
		[AGREE_SWITCHED] = "all_lost_previous",
		[AGREE_RETURNED] = "returned_to_first",
		[AGREE_ADOPTED] = "adopted",
	};

	return ids[a->why];
}

const char *
agree_state_id(const struct agree *a)
{
	static const char *const ids[] = {
		[AGREE_NO_MAJORITY] = "waiting_for_all_nodes_view",
		[AGREE_WAITING] = "waiting_for_reports",
		[AGREE_AGREED] = "agreed",
		[AGREE_NO_COMMON_HOST] = "no_common_host",
	};

	return ids[a->state];
}

const char *
agree_why_text(const struct agree *a, const char *const *names, char *buf,
    size_t len)
{
	const char *cur = names[a->index], *prev = names[a->prev];
	char why[160];

	switch (a->why) {
	case AGREE_FIRST:
		snprintf(why, sizeof(why), "the first host");
		break;
	case AGREE_SWITCHED:
		snprintf(why, sizeof(why), "all members lost %s", prev);
		break;
	case AGREE_RETURNED:
		snprintf(why, sizeof(why), "all members reached %s for "
		    "host_return_hold", cur);
		break;
	default:
		snprintf(why, sizeof(why), "a member reported the later "
		    "agreement (epoch %u)", (unsigned)a->epoch);
		break;
	}
	switch (a->state) {
	case AGREE_NO_MAJORITY:
		snprintf(buf, len, "%s; waiting for a view of all nodes to "
		    "agree (%zu of %zu nodes needed, %zu in view)%s", why,
		    a->need, a->node_count, a->configured, a->confirmed ? "" :
		    "; not confirmed: not connecting");
		break;
	case AGREE_WAITING:
		snprintf(buf, len, "%s; waiting for every member's report%s",
		    why, a->confirmed ? "" : "; not confirmed: not connecting");
		break;
	case AGREE_NO_COMMON_HOST:
		snprintf(buf, len, "%s; all members lost %s, but no other "
		    "host is reachable by all", why, cur);
		break;
	default:
		snprintf(buf, len, "%s", why);
		break;
	}
	return buf;
}
