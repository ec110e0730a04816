#include <stdlib.h>
#include <string.h>

#include "memory.h"

void
memory_init(struct memory *mem, uint64_t keep_ms, size_t max_idle)
{
	memset(mem, 0, sizeof(*mem));
	TAILQ_INIT(&mem->recs);
	htab_init(&mem->names);
	mem->keep_ms = keep_ms;
	mem->max_idle = max_idle;
}

struct memory_rec *
memory_find(const struct memory *mem, const char *name, size_t len)
{
	struct htab_entry *e = htab_find(&mem->names, name, len);

	return e != NULL ? htab_item(e, struct memory_rec, by_name) : NULL;
}

/* The idle record before r, or NULL (all before an idle one are idle). */
static struct memory_rec *
idle_before(struct memory_rec *r)
{
	struct memory_rec *p = TAILQ_PREV(r, memory_recs, link);

	return p != NULL && !p->in_use ? p : NULL;
}

static void
unlink_rec(struct memory *mem, struct memory_rec *r)
{
	if (r == mem->last_idle)
		mem->last_idle = idle_before(r);
	TAILQ_REMOVE(&mem->recs, r, link);
}

static void
rec_free(struct memory *mem, struct memory_rec *r)
{
	htab_remove(&mem->names, &r->by_name);
	unlink_rec(mem, r);
	mem->count--;
	if (!r->in_use)
		mem->idle--;
	free(r->name);
	free(r->quorate);
	free(r);
}

void
memory_free(struct memory *mem)
{
	struct memory_rec *r;

	while ((r = TAILQ_FIRST(&mem->recs)) != NULL)
		rec_free(mem, r);
	htab_free(&mem->names);
}

static struct memory_rec *
rec_new(struct memory *mem, const char *name, size_t len)
{
	struct memory_rec *r;

	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->name = malloc(len + 1)) == NULL) {
		free(r);
		return NULL;
	}
	memcpy(r->name, name, len);
	r->name[len] = '\0';
	r->len = len;
	if (htab_insert(&mem->names, &r->by_name, r->name, len) != 0) {
		free(r->name);
		free(r);
		return NULL;
	}
	mem->count++;
	return r;
}

struct memory_rec *
memory_attach(struct memory *mem, const char *name, size_t len, uint64_t now)
{
	struct memory_rec *r = memory_find(mem, name, len);

	(void)now;
	if (r == NULL) {
		if ((r = rec_new(mem, name, len)) == NULL)
			return NULL;
	} else {
		unlink_rec(mem, r);
		if (!r->in_use)
			mem->idle--;
	}
	/* Records in use sit at the tail: the sweep stops at the first. */
	TAILQ_INSERT_TAIL(&mem->recs, r, link);
	r->in_use = 1;
	r->idle_since = 0;
	return r;
}

void
memory_detach(struct memory *mem, struct memory_rec *r, uint64_t now)
{
	if (mem->keep_ms == 0 || mem->max_idle == 0) {
		r->in_use = 0;
		mem->idle++;
		rec_free(mem, r);
		return;
	}
	r->in_use = 0;
	r->idle_since = now != 0 ? now : 1;
	mem->idle++;
	/*
	 * Idle records in the order they went idle, before those in use.
	 * Time goes forward, so the place is nearly always right after the
	 * last idle one: a storm of departures costs no walk each.
	 */
	unlink_rec(mem, r);
	{
		struct memory_rec *o = mem->last_idle;

		while (o != NULL && o->idle_since > r->idle_since)
			o = idle_before(o);
		if (o != NULL)
			TAILQ_INSERT_AFTER(&mem->recs, o, r, link);
		else
			TAILQ_INSERT_HEAD(&mem->recs, r, link);
		if (o == mem->last_idle)
			mem->last_idle = r;
	}
	memory_sweep(mem, now);
}

void
memory_sweep(struct memory *mem, uint64_t now)
{
	struct memory_rec *r;

	while ((r = TAILQ_FIRST(&mem->recs)) != NULL && !r->in_use &&
	    (mem->idle > mem->max_idle ||
	    now >= r->idle_since + mem->keep_ms))
		rec_free(mem, r);
}

static int
same_nodes(const struct memory_rec *r, const uint32_t *nodes, size_t n)
{
	return r->nquorate == n &&
	    (n == 0 || memcmp(r->quorate, nodes, n * sizeof(*nodes)) == 0);
}

static int
set_nodes(struct memory_rec *r, const uint32_t *nodes, size_t n)
{
	uint32_t *v = NULL;

	if (n > 0) {
		if ((v = malloc(n * sizeof(*v))) == NULL)
			return -1;
		memcpy(v, nodes, n * sizeof(*v));
	}
	free(r->quorate);
	r->quorate = v;
	r->nquorate = n;
	return 0;
}

int
memory_note(struct memory_rec *r, uint8_t algorithm, const uint32_t *nodes,
    size_t n, const struct qn_ring_id *ring)
{
	if (r->algorithm == algorithm && same_nodes(r, nodes, n) &&
	    qn_ring_id_eq(&r->ring, ring))
		return 0;
	if (!same_nodes(r, nodes, n) && set_nodes(r, nodes, n) != 0)
		return -1;
	r->algorithm = algorithm;
	r->ring = *ring;
	r->generation++;
	r->from_file = 0;
	return 1;
}

int
memory_load(struct memory *mem, const char *name, size_t len,
    uint8_t algorithm, const uint32_t *nodes, size_t n,
    const struct qn_ring_id *ring, uint64_t generation, uint64_t idle_ms,
    uint64_t now)
{
	struct memory_rec *r;

	if (memory_find(mem, name, len) != NULL)
		return -1;
	/* Expired while nobody ran: not even loaded (loop time may be
	 * younger than the idle time, so the sweep could not tell). */
	if (idle_ms >= mem->keep_ms || mem->max_idle == 0)
		return 0;
	if ((r = rec_new(mem, name, len)) == NULL)
		return -1;
	if (set_nodes(r, nodes, n) != 0) {
		TAILQ_INSERT_TAIL(&mem->recs, r, link);
		mem->idle++;
		rec_free(mem, r);
		return -1;
	}
	r->algorithm = algorithm;
	r->ring = *ring;
	r->generation = generation;
	r->from_file = 1;
	r->in_use = 1;		/* memory_detach makes it idle, in order */
	TAILQ_INSERT_TAIL(&mem->recs, r, link);
	memory_detach(mem, r, now > idle_ms ? now - idle_ms : 1);
	return 0;
}
