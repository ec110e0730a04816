/*
 * Saving the decision memory (memory.h) off the hot path: a change only
 * arms a timer; when it fires the records are copied (statefile.c
 * snapshot, a memcpy each) and the copy is turned into JSON and written
 * on libuv's thread pool, one save at a time, at most once every
 * state_save_interval ms; once more at exit.  Loaded at start, before any
 * client can connect.
 */
#ifndef QNETD_PERSIST_H
#define QNETD_PERSIST_H

#include <stdint.h>

#include <uv.h>

struct qnetd;

struct persist {
	uv_timer_t timer;
	int enabled;		/* state_dir set and the timer initialised */
	int dirty;		/* changed since the last snapshot */
	int in_flight;		/* a snapshot is being written */
	int failing;		/* the last save failed (logged once) */
	uint64_t saves;		/* for --json */
};

/*
 * Hand the core its memory settings and load the saved state.  Call after
 * decide_core_start (the core's clock) and before listening.
 */
void	persist_start(struct qnetd *q);
/* The core's memory_changed service. */
void	persist_changed(void *ctx);
/* Stop the timer (server going down). */
void	persist_stop(struct qnetd *q);
/* Write what changed, now: at exit, once every client is gone. */
void	persist_flush(struct qnetd *q);

#endif
