#include "client.h"
#include "limitlog.h"
#include "qnetd.h"
#include "rate.h"

/* How often rate-limited clients get their tokens. */
#define THROTTLE_TICK_MS	100
#define TOKEN			1000	/* one message, in rate_tokens */

static void throttle_tick(uv_timer_t *t);

void
rate_init(struct qnetd *q, void (*paused)(struct client *c))
{
	LIST_INIT(&q->rate.throttled);
	q->rate.paused = paused;
	q->rate.tick.data = q;
	uv_timer_init(q->loop, &q->rate.tick);
}

void
rate_stop(struct qnetd *q)
{
	uv_timer_stop(&q->rate.tick);
}

void
rate_client_start(struct client *c)
{
	struct qnetd *q = c->qnetd;

	c->rate_tokens = q->set.max_client_message_rate * TOKEN;
	c->rate_stamp = uv_now(q->loop);
}

/* On the list iff le_prev is set: rate_forget() may come at any time. */
static void
throttle_add(struct qnetd *q, struct client *c)
{
	if (c->thr_link.le_prev != NULL)
		return;
	LIST_INSERT_HEAD(&q->rate.throttled, c, thr_link);
	if (!uv_is_active((uv_handle_t *)&q->rate.tick))
		uv_timer_start(&q->rate.tick, throttle_tick, THROTTLE_TICK_MS,
		    THROTTLE_TICK_MS);
}

void
rate_forget(struct client *c)
{
	if (c->thr_link.le_prev == NULL)
		return;
	LIST_REMOVE(c, thr_link);
	c->thr_link.le_next = NULL;
	c->thr_link.le_prev = NULL;
}

static void
rate_refill(struct client *c, uint64_t now, long long rate)
{
	int64_t cap = (int64_t)rate * TOKEN;

	/* rate messages per second is rate tokens per millisecond. */
	c->rate_tokens += (int64_t)(now - c->rate_stamp) * rate;
	if (c->rate_tokens > cap)
		c->rate_tokens = cap;
	c->rate_stamp = now;
}

void
rate_charge(struct client *c)
{
	struct qnetd *q = c->qnetd;
	long long rate = q->set.max_client_message_rate;

	/* (Without server_init() there is no timer to resume it.) */
	if (rate == 0 || !q->server_ready)
		return;
	rate_refill(c, uv_now(q->loop), rate);
	c->rate_tokens -= TOKEN;
	if (c->rate_tokens >= 0)
		return;
	limit_log(q, LIMIT_MESSAGE_RATE, c->addr, rate,
	    "reading paused until its rate drops");
	c->rate_paused = 1;
	q->rate.paused(c);
	throttle_add(q, c);
}

/* Only the clients being throttled are visited, each in O(1). */
static void
throttle_tick(uv_timer_t *t)
{
	struct qnetd *q = t->data;
	struct client *c, *next;
	uint64_t now = uv_now(q->loop);

	for (c = LIST_FIRST(&q->rate.throttled); c != NULL; c = next) {
		next = LIST_NEXT(c, thr_link);
		rate_refill(c, now, q->set.max_client_message_rate);
		if (c->rate_tokens >= 0) {
			rate_forget(c);
			c->rate_paused = 0;
			q->rate.paused(c);
		}
	}
	if (LIST_EMPTY(&q->rate.throttled))
		uv_timer_stop(t);
}
