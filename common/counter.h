/*
 * Counts of events for the metrics (common/prom.h).  A module that owns an
 * event keeps its counter next to it, bumps it where the event happens and
 * lends it out read-only through a function; nobody else writes it.  A
 * label takes one of a fixed list of values, so a series count is bounded.
 */
#ifndef QN_COUNTER_H
#define QN_COUNTER_H

#include <stddef.h>
#include <stdint.h>

struct counter {
	const char *label;		/* the label's name; NULL: none */
	const char *const *values;	/* the label's n values */
	size_t n;
	uint64_t *v;			/* a count per value */
};

#define COUNTER_N(a)	(sizeof(a) / sizeof((a)[0]))
/* A file's counter var with label name label and values "a", "b", ... */
#define COUNTER_DEFINE(var, label, ...)					\
	static const char *const var##_values[] = { __VA_ARGS__ };	\
	static uint64_t var##_v[COUNTER_N(var##_values)];		\
	static struct counter var = { label, var##_values,		\
	    COUNTER_N(var##_values), var##_v }

static inline void
counter_inc(struct counter *c, size_t i)
{
	if (i < c->n)
		c->v[i]++;
}

/* The index of value, or n when it is none of them. */
size_t	counter_index(const struct counter *c, const char *value);

/* Observations in buckets (upper bounds, ascending; +Inf implied). */
struct histogram {
	const double *bounds;
	size_t n;
	uint64_t *buckets;		/* n + 1, not cumulative */
	double sum;
	uint64_t count;
};

#define HISTOGRAM_DEFINE(var, ...)					\
	static const double var##_bounds[] = { __VA_ARGS__ };		\
	static uint64_t var##_b[COUNTER_N(var##_bounds) + 1];		\
	static struct histogram var = { var##_bounds,			\
	    COUNTER_N(var##_bounds), var##_b, 0, 0 }

void	histogram_observe(struct histogram *h, double v);

#endif
