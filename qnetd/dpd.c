/*
 * Dead-peer detection without a timer operation per message: re-arming a
 * libuv timer (a heap removal and insertion) for every message was the
 * largest part of the steady state's user CPU, and a lazy per-client
 * timer still fires once per heartbeat (the timeout is 1.5 of it), a
 * loop wakeup each.  Clients with the same timeout (in practice one or
 * two values) are on a list in the order of their last message: a
 * message moves its client to the end, and one timer waits for the
 * first.  A client whose timeout has no list (more than DPD_LISTS
 * values) keeps its own timer, re-armed lazily when it fires.  Either
 * way a client expires exactly dpd_ms (loop time) after its last
 * message, as with a timer restarted by every message.
 */
#include <stddef.h>

#include "client.h"
#include "dpd.h"
#include "qnetd.h"

void
dpd_init(struct qnetd *q, void (*expired)(struct client *c, int deadline))
{
	struct dpd *d = &q->dpd;

	d->expired = expired;
	for (int i = 0; i < DPD_LISTS; i++) {
		TAILQ_INIT(&d->lists[i].clients);
		d->lists[i].timer.data = q;
		uv_timer_init(q->loop, &d->lists[i].timer);
		/* Clients keep the loop alive, not their dead-peer timers. */
		uv_unref((uv_handle_t *)&d->lists[i].timer);
	}
	d->ready = 1;
}

void
dpd_client_init(struct client *c)
{
	uv_timer_init(c->qnetd->loop, &c->dpd_timer);
	c->dpd_timer.data = c;
}

void
dpd_client_close(struct client *c, uv_close_cb cb)
{
	client_dpd_stop(c);
	uv_close((uv_handle_t *)&c->dpd_timer, cb);
}

static void
dpd_unlink(struct client *c)
{
	if (c->dpd_list == NULL)
		return;
	TAILQ_REMOVE(&c->dpd_list->clients, c, dpd_link);
	c->dpd_list = NULL;
}

static void
dpd_append(struct dpd_list *l, struct client *c)
{
	c->dpd_list = l;
	TAILQ_INSERT_TAIL(&l->clients, c, dpd_link);
}

static void dpd_list_check(uv_timer_t *t);

/* The timer waits for the first client's deadline (none: stopped). */
static void
dpd_list_arm(struct qnetd *q, struct dpd_list *l)
{
	struct client *first = TAILQ_FIRST(&l->clients);
	uint64_t now = uv_now(q->loop), due;

	if (first == NULL) {
		uv_timer_stop(&l->timer);
		return;
	}
	due = first->dpd_last + l->ms;
	uv_timer_start(&l->timer, dpd_list_check, due > now ? due - now : 0, 0);
}

static void
dpd_list_check(uv_timer_t *t)
{
	struct qnetd *q = t->data;
	struct dpd_list *l = (struct dpd_list *)(void *)((char *)t -
	    offsetof(struct dpd_list, timer));
	struct client *c;
	uint64_t now;

	if (TAILQ_EMPTY(&l->clients))
		return;
	now = uv_now(q->loop);
	while ((c = TAILQ_FIRST(&l->clients)) != NULL &&
	    now - c->dpd_last >= l->ms) {
		dpd_unlink(c);
		q->dpd.expired(c, 0);
	}
	dpd_list_arm(q, l);
}

/* The list for ms: the one it has, else a free one; NULL if none. */
static struct dpd_list *
dpd_list_for(struct dpd *d, uint64_t ms)
{
	struct dpd_list *free_list = NULL;

	if (!d->ready)
		return NULL;
	for (int i = 0; i < DPD_LISTS; i++) {
		if (!TAILQ_EMPTY(&d->lists[i].clients) && d->lists[i].ms == ms)
			return &d->lists[i];
		if (TAILQ_EMPTY(&d->lists[i].clients) && free_list == NULL)
			free_list = &d->lists[i];
	}
	if (free_list != NULL)
		free_list->ms = ms;
	return free_list;
}

/* A client's own timer: when it fires, re-armed for what is left. */
static void
dpd_check(uv_timer_t *t)
{
	struct client *c = t->data;
	uint64_t idle = uv_now(c->qnetd->loop) - c->dpd_last;

	if (idle < c->dpd_ms) {
		uv_timer_start(t, dpd_check, c->dpd_ms - idle, 0);
		return;
	}
	c->qnetd->dpd.expired(c, 0);
}

void
client_dpd_set(struct client *c, uint64_t ms)
{
	struct qnetd *q = c->qnetd;
	struct dpd_list *l;

	client_dpd_stop(c);
	c->dpd_ms = ms;
	c->dpd_last = uv_now(q->loop);
	if ((l = dpd_list_for(&q->dpd, ms)) == NULL) {
		uv_timer_start(&c->dpd_timer, dpd_check, ms, 0);
		return;
	}
	dpd_append(l, c);
	/*
	 * The others' deadlines are earlier: the timer waits for one of
	 * them, unless c is alone (the timer may still wait for a client
	 * gone from the list, even of another timeout).
	 */
	if (TAILQ_FIRST(&l->clients) == c)
		dpd_list_arm(q, l);
}

void
client_dpd_stop(struct client *c)
{
	c->dpd_ms = 0;
	uv_timer_stop(&c->dpd_timer);
	/* (Its list's timer finds the list empty, or a later first.) */
	dpd_unlink(c);
}

/*
 * Only the dead-peer deadline is moved by messages; the INIT deadline,
 * which uses the client's own timer, is fixed (dpd_ms is 0 then).
 */
void
client_dpd_rearm(struct client *c)
{
	struct dpd_list *l = c->dpd_list;

	if (c->dpd_ms == 0)
		return;
	c->dpd_last = uv_now(c->qnetd->loop);
	if (l != NULL && TAILQ_LAST(&l->clients, dpd_clients) != c) {
		TAILQ_REMOVE(&l->clients, c, dpd_link);
		TAILQ_INSERT_TAIL(&l->clients, c, dpd_link);
	}
}

static void
deadline_passed(uv_timer_t *t)
{
	struct client *c = t->data;

	c->qnetd->dpd.expired(c, 1);
}

void
client_dpd_deadline(struct client *c, uint64_t ms)
{
	uv_timer_start(&c->dpd_timer, deadline_passed, ms, 0);
}
