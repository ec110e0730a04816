/*
 * Events and the event hook, shared by both daemons (not in 3.0.3).  Each
 * event runs the hook (-S event_hook=PATH: a program, or every executable
 * of a directory in name order) with PREFIX_* variables in its environment
 * (QNETD_ or QDEVICE_).  Hooks run one at a time, in event order, off the
 * loop (libuv child processes), each bounded by a timeout.  A burst is
 * coalesced (once a quarter of the queue waits, a newer event with the
 * same name, cluster and node replaces the waiting one if it may), queued
 * up to a bound and started at most `rate` times a second; what does not
 * fit is dropped and counted (PREFIX_DROPPED of the next run, the log, the
 * counters).  Every event also goes, as one JSON line, to `follow` (the
 * tools' --follow), never coalesced nor dropped.
 */
#ifndef COMMON_HOOK_H
#define COMMON_HOOK_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct hook_settings {
	const char *path;		/* "" or NULL = no hook */
	const char *prefix;		/* of the variables: "QNETD" */
	uint32_t timeout_ms;		/* a hook run is killed after it */
	uint32_t rate;			/* hook starts per second */
	size_t queue_max;		/* events waiting for the hook */
	/* Each event as a JSON line, for --follow (may be NULL). */
	void	(*follow)(void *arg, const char *line, size_t len);
	void	*follow_arg;
};

/* One event; NULL strings are empty. */
struct hook_event {
	const char *name;		/* static: "vote_changed" */
	int coalesce;			/* a newer one may replace it */
	const char *cluster;
	uint32_t node;			/* 0: none */
	const char *vote, *reason, *nodes, *addr;
};

struct hook_counts {
	uint64_t emitted, runs, coalesced, dropped, timeouts, failures;
};

struct hook;

struct hook *hook_new(uv_loop_t *loop, const struct hook_settings *s);
/* Kill a running hook; the loop frees what is left.  NULL: nothing. */
void	hook_close(struct hook *h);
/* NULL h: nothing. */
void	hook_emit(struct hook *h, const struct hook_event *ev);
void	hook_counts(const struct hook *h, struct hook_counts *out);

#endif
