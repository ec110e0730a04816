#include "budget.h"
#include "client.h"
#include "cluster.h"
#include "qnetd.h"
#include "server.h"

#define SECOND_MS	1000
#define NS_PER_MS	1000000

void
budget_init(struct qnetd *q)
{
	q->budget.timer.data = q;
	uv_timer_init(q->loop, &q->budget.timer);
	LIST_INIT(&q->budget.paused);
}

void
budget_stop(struct qnetd *q)
{
	uv_timer_stop(&q->budget.timer);
}

int
budget_holds(const struct client *c)
{
	return c->m.cluster != NULL && c->m.cluster->budget.paused;
}

static void
cluster_pause(struct cluster *cl, int paused)
{
	struct member *m;

	cl->budget.paused = paused;
	cluster_for_each(cl, m) {
		struct client *c = client_of(m);

		/* What it sent meanwhile is unread: its silence is ours. */
		if (!paused)
			client_dpd_rearm(c);
		c->qnetd->up->read_pause_update(c);
	}
}

static void
resume_all(uv_timer_t *t)
{
	struct qnetd *q = t->data;
	struct cluster *cl;

	while ((cl = LIST_FIRST(&q->budget.paused)) != NULL) {
		LIST_REMOVE(cl, budget.link);
		cluster_pause(cl, 0);
	}
}

void
budget_charge(struct client *c, uint64_t started_ns)
{
	struct qnetd *q = c->qnetd;
	struct cluster *cl = c->m.cluster;
	long long max_ms = q->set.max_cluster_cpu_per_second;
	uint64_t now, second;

	/* (Without server_init() there is no timer to resume it.) */
	if (max_ms == 0 || cl == NULL || c->closing || !q->server_ready)
		return;
	now = uv_now(q->loop);
	second = now / SECOND_MS;
	if (cl->budget.second != second) {
		cl->budget.second = second;
		cl->budget.used_ns = 0;
	}
	cl->budget.used_ns += uv_hrtime() - started_ns;
	if (cl->budget.paused) {
		/* It joined a paused cluster: it waits with the others. */
		c->qnetd->up->read_pause_update(c);
		return;
	}
	if (cl->budget.used_ns <= (uint64_t)max_ms * NS_PER_MS)
		return;
	limit_log(q, LIMIT_CLUSTER_CPU, c->addr, max_ms,
	    "cluster %s took %.1f ms this second, reading its %zu clients "
	    "paused until the next", cl->name,
	    (double)cl->budget.used_ns / NS_PER_MS, cl->client_count);
	LIST_INSERT_HEAD(&q->budget.paused, cl, budget.link);
	cluster_pause(cl, 1);
	if (!uv_is_active((uv_handle_t *)&q->budget.timer))
		uv_timer_start(&q->budget.timer, resume_all,
		    SECOND_MS - now % SECOND_MS, 0);
}
