#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "gate.h"

/* A node of a cluster that left us holding our ACK, and until when. */
struct gate_node {
	uint32_t node_id;
	uint64_t until;
};

/* What the gate keeps of one cluster name beyond its clients. */
struct gate_rec {
	char *name;
	size_t len;
	uint32_t heartbeat;		/* the largest seen, ms */
	struct gate_node *v;
	size_t n, cap;
	uint64_t expires;		/* the latest until */
	TAILQ_ENTRY(gate_rec) link;
	struct htab_entry by_name;
};

struct gate_held {
	struct member *m;
	uint32_t seq;
	struct qn_ring_id ring;
	uint64_t since;
	char reason[DECISION_REASON_LEN];
	char why[DECISION_REASON_LEN];	/* what it waits for, last look */
	TAILQ_ENTRY(gate_held) link;
};

void
gate_init(struct gate *g, double coefficient, uint64_t start)
{
	memset(g, 0, sizeof(*g));
	g->coefficient = coefficient;
	g->start = start;
	TAILQ_INIT(&g->recs);
	TAILQ_INIT(&g->held);
	htab_init(&g->names);
}

static struct gate_rec *
rec_find(const struct gate *g, const char *name, size_t len)
{
	struct htab_entry *e = htab_find(&g->names, name, len);

	return e != NULL ? htab_item(e, struct gate_rec, by_name) : NULL;
}

static void
rec_free(struct gate *g, struct gate_rec *r)
{
	htab_remove(&g->names, &r->by_name);
	TAILQ_REMOVE(&g->recs, r, link);
	g->nrecs--;
	free(r->name);
	free(r->v);
	free(r);
}

void
gate_free(struct gate *g)
{
	struct gate_rec *r;
	struct gate_held *h;

	while ((r = TAILQ_FIRST(&g->recs)) != NULL)
		rec_free(g, r);
	htab_free(&g->names);
	while ((h = TAILQ_FIRST(&g->held)) != NULL)
		gate_cancel(g, h->m);
}

void
gate_sweep(struct gate *g, uint64_t now)
{
	struct gate_rec *r, *next;

	for (r = TAILQ_FIRST(&g->recs); r != NULL; r = next) {
		next = TAILQ_NEXT(r, link);
		if (r->expires <= now)
			rec_free(g, r);
	}
}

static uint64_t
grace_ms(const struct gate *g, uint32_t heartbeat)
{
	return (uint64_t)(g->coefficient * heartbeat);
}

/*
 * A qdevice that closed its connection can only be counted with the vote
 * its process last cast: quorum.device.timeout after its last poll, 1.25
 * heartbeats as 3.0.3's qdevice derives them; a quarter more for slack.
 */
static uint64_t
closed_ms(const struct gate *g, uint32_t heartbeat)
{
	uint64_t ms = (uint64_t)heartbeat * 3 / 2;
	uint64_t grace = grace_ms(g, heartbeat);

	return ms < grace ? ms : grace;
}

static struct gate_rec *
rec_get(struct gate *g, const char *name, size_t len)
{
	struct gate_rec *r = rec_find(g, name, len);

	if (r != NULL)
		return r;
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->name = malloc(len + 1)) == NULL) {
		free(r);
		return NULL;
	}
	memcpy(r->name, name, len);
	r->name[len] = '\0';
	r->len = len;
	if (htab_insert(&g->names, &r->by_name, r->name, len) != 0) {
		free(r->name);
		free(r);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&g->recs, r, link);
	g->nrecs++;
	return r;
}

static uint64_t
rec_until(const struct gate_rec *r, uint32_t node_id)
{
	if (r != NULL)
		for (size_t i = 0; i < r->n; i++)
			if (r->v[i].node_id == node_id)
				return r->v[i].until;
	return 0;
}

static int
rec_note(struct gate_rec *r, uint32_t node_id, uint64_t until)
{
	struct gate_node *v;
	size_t i;

	for (i = 0; i < r->n && r->v[i].node_id != node_id; i++)
		;
	if (i == r->n) {
		if (r->n == r->cap) {
			size_t cap = r->cap ? r->cap * 2 : 4;

			if ((v = realloc(r->v, cap * sizeof(*v))) == NULL)
				return -1;
			r->v = v;
			r->cap = cap;
		}
		r->v[r->n++] = (struct gate_node){ node_id, 0 };
	}
	if (r->v[i].until < until)
		r->v[i].until = until;
	if (r->expires < until)
		r->expires = until;
	return 0;
}

void
gate_client_left(struct gate *g, struct member *c, int closed_by_peer,
    uint64_t now)
{
	struct gate_rec *r;
	uint64_t ms;

	gate_cancel(g, c);
	/* A NACK not yet acknowledged may not have reached it: still ACK. */
	if (g->coefficient <= 0 || c->cluster == NULL ||
	    (c->last_ack_nack != QN_VOTE_ACK && !c->nack_unconfirmed))
		return;
	ms = closed_by_peer ? closed_ms(g, c->heartbeat_interval) :
	    grace_ms(g, c->heartbeat_interval);
	/*
	 * Without memory for the record the node would be forgotten: a
	 * safe gate must then hold every ACK of the cluster, which it
	 * can't express; the allocation is tiny, so take the risk of
	 * logging nothing rather than failing a decision.
	 */
	if ((r = rec_get(g, c->cluster->name, c->cluster->name_len)) == NULL)
		return;
	if (r->heartbeat < c->heartbeat_interval)
		r->heartbeat = c->heartbeat_interval;
	(void)rec_note(r, c->node_id, now + ms);
}

/* The configured nodes as c (or, without a list of its own, its cluster) knows them. */
static void
config_of(const struct member *c, const struct node_list **lists,
    size_t *n, size_t max)
{
	const struct member *o;

	*n = 0;
	if (c->has_config) {
		lists[(*n)++] = &c->config;
		return;
	}
	cluster_for_each(c->cluster, o)
		if (o->has_config && *n < max)
			lists[(*n)++] = &o->config;
}

struct verdict {
	const struct gate *g;
	uint64_t now, start_until, retry;
	int blocked;
	char *why;
	size_t whylen;
};

static void
block(struct verdict *v, uint64_t until, const char *why)
{
	if (!v->blocked)
		snprintf(v->why, v->whylen, "%s", why);
	v->blocked = 1;
	if (until != 0 && (v->retry == 0 || until < v->retry))
		v->retry = until;
}

/* Judge one configured node outside the partition. */
static void
judge(struct verdict *v, const struct member *c, const struct gate_rec *r,
    uint32_t n)
{
	const struct member *o = cluster_member(c->cluster, n);
	uint64_t until = rec_until(r, n);
	char why[DECISION_REASON_LEN];

	if (o != NULL && o->last_ack_nack == QN_VOTE_NACK) {
		/*
		 * Connected and told NACK by us.  A NACK by VOTE_INFO counts
		 * once acknowledged (until then an earlier ACK of its ring
		 * may still count; at most the grace, should its qdevice
		 * hang), and in that ring once corosync has applied it.
		 */
		if (o->nack_unconfirmed) {
			until = o->nack_sent +
			    grace_ms(v->g, o->heartbeat_interval);
			if (v->now >= until)
				return;
			snprintf(why, sizeof(why), "node %" PRIu32 " outside "
			    "the partition has not yet acknowledged its NACK",
			    n);
			block(v, until, why);
		} else if (v->now < o->nack_settle_until) {
			snprintf(why, sizeof(why), "node %" PRIu32 " outside "
			    "the partition is applying its NACK (%.1f s)", n,
			    (double)(o->nack_settle_until - v->now) / 1000);
			block(v, o->nack_settle_until, why);
		}
		return;
	}
	if (o != NULL && o->last_ack_nack == QN_VOTE_ACK) {
		snprintf(why, sizeof(why), "node %" PRIu32 " outside the "
		    "partition holds our ACK until it is told NACK", n);
		block(v, 0, why);
		return;
	}
	if (until < v->start_until)
		until = v->start_until;
	if (v->now >= until)
		return;
	snprintf(why, sizeof(why), "node %" PRIu32 " may still cast an "
	    "earlier ACK: held until it is told NACK, at most %.1f s", n,
	    (double)(until - v->now) / 1000);
	block(v, until, why);
}

int
gate_allows(struct gate *g, const struct member *c,
    const struct node_list *members, uint64_t now, uint64_t *retry,
    char *why, size_t whylen)
{
	const struct node_list *config[8];
	const struct gate_rec *r;
	struct verdict v = { .g = g, .now = now, .why = why,
	    .whylen = whylen };
	size_t nconfig;
	uint32_t hb;

	*retry = 0;
	if (whylen > 0)
		why[0] = '\0';
	if (g->coefficient <= 0 || c->algorithm == QN_ALGO_TEST ||
	    c->cluster == NULL)
		return 1;
	r = rec_find(g, c->cluster->name, c->cluster->name_len);
	hb = c->heartbeat_interval;
	if (r != NULL && r->heartbeat > hb)
		hb = r->heartbeat;
	v.start_until = g->start + grace_ms(g, hb);

	config_of(c, config, &nconfig, sizeof(config) / sizeof(config[0]));
	if (nconfig == 0 && now < v.start_until)
		block(&v, v.start_until, "no configured node list yet");
	for (size_t l = 0; l < nconfig; l++)
		for (size_t i = 0; i < config[l]->count; i++) {
			uint32_t n = config[l]->nodes[i].node_id;

			if (n != c->node_id && !node_list_has(members, n))
				judge(&v, c, r, n);
		}
	/* Nodes that left holding our ACK, even if no longer configured. */
	for (size_t i = 0; r != NULL && i < r->n; i++)
		if (r->v[i].node_id != c->node_id &&
		    !node_list_has(members, r->v[i].node_id))
			judge(&v, c, r, r->v[i].node_id);
	*retry = v.retry;
	return !v.blocked;
}

int
gate_hold(struct gate *g, struct member *c, uint32_t seq,
    const struct qn_ring_id *ring, const char *reason, const char *why,
    uint64_t now)
{
	struct gate_held *h = c->held;

	if (h == NULL) {
		if ((h = calloc(1, sizeof(*h))) == NULL)
			return -1;
		h->m = c;
		h->since = now;
		TAILQ_INSERT_TAIL(&g->held, h, link);
		c->held = h;
	}
	h->seq = seq;
	h->ring = *ring;
	snprintf(h->reason, sizeof(h->reason), "%s", reason);
	snprintf(h->why, sizeof(h->why), "%s", why);
	return 0;
}

const char *
gate_held_why(const struct member *c, uint64_t *since)
{
	if (c->held == NULL)
		return NULL;
	*since = c->held->since;
	return c->held->why;
}

void
gate_cancel(struct gate *g, struct member *c)
{
	struct gate_held *h = c->held;

	if (h == NULL)
		return;
	TAILQ_REMOVE(&g->held, h, link);
	c->held = NULL;
	free(h);
}

int
gate_has_held(const struct gate *g)
{
	return !TAILQ_EMPTY(&g->held);
}

uint64_t
gate_retry(struct gate *g, const struct node_list *(*members)(
    const struct member *), gate_send_fn *send, uint64_t now)
{
	struct gate_held *h, *next;
	uint64_t earliest = 0, retry;
	char why[DECISION_REASON_LEN];

	for (h = TAILQ_FIRST(&g->held); h != NULL; h = next) {
		struct gate_held copy = *h;

		next = TAILQ_NEXT(h, link);
		if (!gate_allows(g, h->m, members(h->m), now, &retry, why,
		    sizeof(why))) {
			memcpy(h->why, why, sizeof(h->why));
			/* Waiting for a NACK elsewhere: look again anyway. */
			if (retry == 0)
				retry = now + 1000;
			if (earliest == 0 || retry < earliest)
				earliest = retry;
			continue;
		}
		gate_cancel(g, h->m);
		send(copy.m, copy.seq, &copy.ring, copy.reason,
		    now - copy.since);
	}
	return earliest;
}
