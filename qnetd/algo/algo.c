#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algo.h"
#include "log.h"
#include "names.h"

const struct algo *
algo_get(uint8_t id)
{
	switch (id) {
	case QN_ALGO_TEST:
		return &algo_test;
	case QN_ALGO_FFSPLIT:
		return &algo_ffsplit;
	case QN_ALGO_2NODELMS:
		return &algo_2nodelms;
	case QN_ALGO_LMS:
		return &algo_lms;
	}
	return NULL;
}

void
decision_set(struct decision *d, uint8_t vote, const char *fmt, ...)
{
	va_list ap;

	d->vote = vote;
	va_start(ap, fmt);
	vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
	va_end(ap);
}

void
decision_vote(struct decision *d, uint8_t vote)
{
	d->vote = vote;
	d->reason[0] = '\0';
}

int
vote_is_decision(uint8_t vote)
{
	return vote == QN_VOTE_ACK || vote == QN_VOTE_NACK;
}

/*
 * ",<v>" (or "<v>" without comma) in id, not terminated; its length.  By
 * hand: snprintf per node was most of a decision's reason text.
 */
static size_t
u32_str(char id[16], uint32_t v, int comma)
{
	char digits[10];
	size_t n = 0, k = 0;

	do {
		digits[k++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	if (comma)
		id[n++] = ',';
	while (k > 0)
		id[n++] = digits[--k];
	return n;
}

const char *
node_set_str(char *buf, size_t len, const struct node_list *l)
{
	static const char more[] = ",...}";
	const char *end;
	size_t off = 1, i, elen;

	buf[0] = '{';
	for (i = 0; i < l->count; i++) {
		char id[16];
		size_t n = u32_str(id, l->nodes[i].node_id, i > 0);
		/* Leave room to close the set, with ",..." if more follow. */
		size_t tail = i + 1 == l->count ? sizeof("}") : sizeof(more);

		if (off + n + tail > len)
			break;
		memcpy(buf + off, id, n);
		off += n;
	}
	if (off >= len) {		/* len 1: no room even for "}" */
		buf[len - 1] = '\0';
		return buf;
	}
	end = i == l->count ? "}" : i > 0 ? more : more + 1;
	elen = strlen(end);
	/* (Only a buffer too short for "{...}" cuts the end.) */
	if (elen >= len - off)
		elen = len - off - 1;
	memcpy(buf + off, end, elen);
	buf[off + elen] = '\0';
	return buf;
}

const char *
ring_str(char *buf, size_t len, const struct qn_ring_id *r)
{
	snprintf(buf, len, "%" PRIx32 ".%" PRIx64, r->node_id, r->seq);
	return buf;
}

const struct member *
ack_holder_outside(const struct cluster *cl, const struct qn_ring_id *ring)
{
	const struct member *c;

	cluster_for_each(cl, c)
		if (!qn_ring_id_eq(&c->ring_id, ring) &&
		    c->algo_result == QN_VOTE_ACK)
			return c;
	return NULL;
}

uint8_t
vote_in_force(const struct member *c)
{
	return c->algo_result != 0 ? c->algo_result : c->last_ack_nack;
}

static void
redecide(struct member *c, algo_judge_fn *judge, algo_push_fn *push)
{
	struct pending {
		struct member *m;
		struct decision d;
	} *acks;
	size_t n = 0;
	struct member *o;
	struct decision d;
	uint8_t had;

	/*
	 * NACKs first: the ACK gate then holds each ACK until the NACKs
	 * outside its partition are acknowledged (gate.h).  Without memory
	 * the ACKs go out in turn, after the NACKs seen so far.
	 */
	acks = calloc(c->cluster->client_count, sizeof(*acks));
	cluster_for_each(c->cluster, o) {
		if (!o->has_membership)
			continue;
		had = vote_in_force(o);
		judge(o, &d);
		if (!vote_is_decision(d.vote) || d.vote == had)
			continue;
		if (d.vote == QN_VOTE_ACK && acks != NULL &&
		    n < c->cluster->client_count)
			acks[n++] = (struct pending){ o, d };
		else
			push(o, &d);
	}
	for (size_t i = 0; i < n; i++)
		push(acks[i].m, &acks[i].d);
	free(acks);
}

void
algo_heuristics_changed(struct member *c, uint8_t heuristics,
    struct decision *d, algo_judge_fn *judge, algo_push_fn *push)
{
	uint8_t stored = c->heur_latest;

	decision_vote(d, QN_VOTE_NO_CHANGE);
	if (!c->has_membership)
		return;
	/*
	 * Judges read heur_latest; decide.c stores the new value after this
	 * handler, so it is put in place for the judging only.
	 */
	c->heur_latest = heuristics;
	redecide(c, judge, push);
	c->heur_latest = stored;
}
