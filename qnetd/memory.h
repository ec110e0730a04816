/*
 * Decision memory: what the core keeps of each cluster's decisions beyond
 * its clients (BEHAVIOUR.md D17 is 3.0.3 forgetting it).  One record per
 * cluster name: the last quorate partition (ffsplit's keep-active-partition
 * memory), the ring id it was decided on and a generation counted up on
 * every change.  A record outlives its cluster's last client for keep_ms
 * and at most max_idle records do; statefile.c saves and loads them, the
 * core only tells its services table that something changed.
 *
 * No clock of its own: callers pass loop time in ms.
 */
#ifndef QNETD_MEMORY_H
#define QNETD_MEMORY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "htab.h"
#include "proto.h"

struct memory_rec {
	char *name;			/* cluster name bytes, NUL added */
	size_t len;
	uint8_t algorithm;		/* enum qn_algo of the last decision */
	uint32_t *quorate;		/* last quorate partition, ascending */
	size_t nquorate;
	struct qn_ring_id ring;		/* the ring it was decided on */
	uint64_t generation;		/* +1 on every change */
	uint64_t idle_since;		/* no client since; 0 while in use */
	int in_use;			/* a cluster of this name exists */
	int from_file;			/* loaded, not decided by this run */
	TAILQ_ENTRY(memory_rec) link;	/* least recently idle first */
	struct htab_entry by_name;
};

struct memory {
	struct htab names;		/* memory_rec by name */
	TAILQ_HEAD(memory_recs, memory_rec) recs;	/* idle ones first */
	struct memory_rec *last_idle;	/* where a newly idle one goes */
	size_t count, idle;
	uint64_t keep_ms;		/* 0: forget with the last client */
	size_t max_idle;
};

void	memory_init(struct memory *mem, uint64_t keep_ms, size_t max_idle);
void	memory_free(struct memory *mem);

struct memory_rec *memory_find(const struct memory *mem, const char *name,
	    size_t len);
/*
 * A cluster of this name starts (its first client joined): its record,
 * created empty if there was none; NULL when out of memory.
 */
struct memory_rec *memory_attach(struct memory *mem, const char *name,
	    size_t len, uint64_t now);
/* Its last client left: the record is kept, or dropped if keeping none. */
void	memory_detach(struct memory *mem, struct memory_rec *r, uint64_t now);
/*
 * A decision: nodes (ascending ids, may be NULL/0 for "none") became the
 * quorate partition on ring.  Returns 1 if the record changed, 0 if not,
 * -1 when out of memory (then the record is left as it was).
 */
int	memory_note(struct memory_rec *r, uint8_t algorithm,
	    const uint32_t *nodes, size_t n, const struct qn_ring_id *ring);
/* Forget idle records past keep_ms, and the oldest beyond max_idle. */
void	memory_sweep(struct memory *mem, uint64_t now);

/*
 * A record read from a saved state, idle for idle_ms at now (not kept if
 * that is keep_ms or more).  Returns 0, or -1 when out of memory or the
 * name is already there.
 */
int	memory_load(struct memory *mem, const char *name, size_t len,
	    uint8_t algorithm, const uint32_t *nodes, size_t n,
	    const struct qn_ring_id *ring, uint64_t generation,
	    uint64_t idle_ms, uint64_t now);

#define memory_for_each(mem, r)	TAILQ_FOREACH((r), &(mem)->recs, link)

#endif
