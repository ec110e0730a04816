#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "decide.h"
#include "log.h"
#include "persist.h"
#include "qnetd.h"
#include "statefile.h"

/* One save in flight: the snapshot, written on libuv's thread pool. */
struct save_job {
	uv_work_t work;
	struct qnetd *q;
	struct statefile_snapshot *snap;
	char dir[4096];
	int rc;
	char err[512];
	uint64_t took_ms;
};

static void arm(struct qnetd *q);

static void
save_failed(struct persist *p, const char *err)
{
	/* Once per run of failures, not once per save. */
	if (!p->failing)
		log_err("Can't save the decision memory: %s", err);
	p->failing = 1;
}

static void
save_ok(struct qnetd *q, size_t n, uint64_t took_ms)
{
	struct persist *p = &q->persist;

	if (p->failing)
		log_info("Decision memory saved in %s again",
		    q->set.state_dir);
	else
		log_debug("Decision memory of %zu cluster(s) saved in %" PRIu64
		    " ms", n, took_ms);
	p->failing = 0;
	p->saves++;
}

static void
job_work(uv_work_t *w)
{
	struct save_job *j = w->data;
	uint64_t t0 = uv_hrtime();

	j->rc = statefile_write(j->dir, j->snap, j->err, sizeof(j->err));
	j->took_ms = (uv_hrtime() - t0) / 1000000;
}

static void
job_done(uv_work_t *w, int status)
{
	struct save_job *j = w->data;
	struct qnetd *q = j->q;
	struct persist *p = &q->persist;

	p->in_flight = 0;
	if (status != 0)
		save_failed(p, uv_strerror(status));
	else if (j->rc != 0)
		save_failed(p, j->err);
	else
		save_ok(q, statefile_snapshot_count(j->snap), j->took_ms);
	if (status != 0 || j->rc != 0)
		p->dirty = 1;	/* try again with the next change or at exit */
	statefile_snapshot_free(j->snap);
	free(j);
	if (p->dirty)
		arm(q);
}

/* Snapshot on the loop (cheap), write on the thread pool. */
static void
save_async(struct qnetd *q)
{
	struct persist *p = &q->persist;
	struct save_job *j;
	uint64_t now = uv_now(q->loop);

	memory_sweep(&q->core.memory, now);
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->snap = statefile_snapshot(&q->core.memory, now)) == NULL) {
		free(j);
		save_failed(p, "out of memory");
		return;
	}
	j->q = q;
	j->work.data = j;
	snprintf(j->dir, sizeof(j->dir), "%s", q->set.state_dir);
	if (uv_queue_work(q->loop, &j->work, job_work, job_done) != 0) {
		statefile_snapshot_free(j->snap);
		free(j);
		save_failed(p, "can't queue the save");
		return;
	}
	p->dirty = 0;
	p->in_flight = 1;
}

static void
save_due(uv_timer_t *t)
{
	struct qnetd *q = t->data;

	if (q->persist.dirty && !q->persist.in_flight && !q->stopping)
		save_async(q);
}

static void
arm(struct qnetd *q)
{
	struct persist *p = &q->persist;

	if (!p->enabled || q->stopping || p->in_flight ||
	    uv_is_active((uv_handle_t *)&p->timer))
		return;
	uv_timer_start(&p->timer, save_due,
	    (uint64_t)q->set.state_save_interval, 0);
}

void
persist_changed(void *ctx)
{
	struct qnetd *q = ctx;

	q->persist.dirty = 1;
	arm(q);
}

void
persist_start(struct qnetd *q)
{
	struct persist *p = &q->persist;
	uint64_t now = uv_now(q->loop);
	char err[512];
	long n;

	decide_core_memory(&q->core, (uint64_t)q->set.memory_keep_time,
	    (size_t)q->set.memory_max_clusters,
	    (uint64_t)q->set.tie_hold_time);
	if (q->set.state_dir == NULL || q->set.state_dir[0] == '\0') {
		log_info("Decision memory is not saved (state_dir is empty)");
		return;
	}
	uv_timer_init(q->loop, &p->timer);
	p->timer.data = q;
	/* A pending save must not keep the loop alive: exit flushes. */
	uv_unref((uv_handle_t *)&p->timer);
	p->enabled = 1;
	n = statefile_load(q->set.state_dir, &q->core.memory, now,
	    q->set.state_dir_shared, err, sizeof(err));
	if (n < 0)
		log_warn("Saved decision memory %s/%s ignored, starting "
		    "afresh: %s", q->set.state_dir, STATEFILE_NAME, err);
	else if (n > 0)
		log_info("Decision memory of %ld cluster(s) loaded from %s/%s",
		    n, q->set.state_dir, STATEFILE_NAME);
	else
		log_info("No saved decision memory in %s, starting afresh",
		    q->set.state_dir);
}

void
persist_stop(struct qnetd *q)
{
	if (q->persist.enabled)
		uv_timer_stop(&q->persist.timer);
}

void
persist_flush(struct qnetd *q)
{
	struct persist *p = &q->persist;
	uint64_t now = uv_now(q->loop);
	char err[512];

	/* The loop has run dry: no save is in flight any more. */
	if (!p->enabled || !p->dirty)
		return;
	memory_sweep(&q->core.memory, now);
	if (statefile_save(q->set.state_dir, &q->core.memory, now, err,
	    sizeof(err)) != 0) {
		save_failed(p, err);
		return;
	}
	save_ok(q, q->core.memory.count, 0);
	p->dirty = 0;
}
