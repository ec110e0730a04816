#include <stdio.h>

#include "decide.h"
#include "log.h"
#include "persist.h"
#include "qnetd.h"
#include "statefile.h"

static void
save(struct qnetd *q)
{
	struct persist *p = &q->persist;
	uint64_t now = uv_now(q->loop);
	char err[512];

	memory_sweep(&q->core.memory, now);
	if (statefile_save(q->set.state_dir, &q->core.memory, now, err,
	    sizeof(err)) != 0) {
		/* Once per run of failures, not once per save. */
		if (!p->failing)
			log_err("Can't save the decision memory: %s", err);
		p->failing = 1;
		return;
	}
	if (p->failing)
		log_info("Decision memory saved in %s again",
		    q->set.state_dir);
	p->failing = 0;
	p->dirty = 0;
	p->saves++;
}

static void
save_due(uv_timer_t *t)
{
	struct qnetd *q = t->data;

	if (q->persist.dirty)
		save(q);
}

void
persist_changed(void *ctx)
{
	struct qnetd *q = ctx;
	struct persist *p = &q->persist;

	p->dirty = 1;
	if (!p->enabled || q->stopping ||
	    uv_is_active((uv_handle_t *)&p->timer))
		return;
	uv_timer_start(&p->timer, save_due,
	    (uint64_t)q->set.state_save_interval, 0);
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
	n = statefile_load(q->set.state_dir, &q->core.memory, now, err,
	    sizeof(err));
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
	if (q->persist.enabled && q->persist.dirty)
		save(q);
}
