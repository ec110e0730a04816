#include "config.h"

#include <inttypes.h>

#include "cast.h"
#include "log.h"
#include "names.h"
#include "proto.h"

static int
poll_now(struct cast *c)
{
	if (c->paused)
		return 0;
	return c->poll(c->arg, c->vote == QN_VOTE_ACK);
}

static void
tick(uv_timer_t *t)
{
	struct cast *c = t->data;

	if (c->paused)
		return;
	if (poll_now(c) != 0)
		c->fail(c->arg);
}

void
cast_init(struct cast *c, uv_loop_t *loop, uint32_t interval,
    cast_poll_fn poll, cast_fail_fn fail, void *arg)
{
	c->interval = interval ? interval : 1;
	c->vote = QN_VOTE_UNDEFINED;
	c->running = 0;
	c->paused = 0;
	c->poll = poll;
	c->fail = fail;
	c->arg = arg;
	uv_timer_init(loop, &c->timer);
	c->timer.data = c;
}

void
cast_close(struct cast *c)
{
	c->running = 0;
	uv_close((uv_handle_t *)&c->timer, NULL);
}

int
cast_set_vote(struct cast *c, uint8_t vote)
{
	switch (vote) {
	case QN_VOTE_ACK:
	case QN_VOTE_NACK:
		if (c->running)
			log_debug("Cast vote timer remains scheduled every %"
			    PRIu32 "ms voting %s.", c->interval,
			    vote_name(vote));
		else
			log_debug("Cast vote timer is now scheduled every %"
			    PRIu32 "ms voting %s.", c->interval,
			    vote_name(vote));
		c->vote = vote;
		if (!c->running) {
			uv_timer_start(&c->timer, tick, c->interval,
			    c->interval);
			c->running = 1;
		}
		return poll_now(c);
	case QN_VOTE_ASK_LATER:
	case QN_VOTE_WAIT_FOR_REPLY:
		log_debug("Cast vote timer %s stopped.",
		    c->running ? "is now" : "remains");
		c->vote = vote;
		if (c->running) {
			uv_timer_stop(&c->timer);
			c->running = 0;
		}
		return 0;
	default:		/* NO_CHANGE */
		return 0;
	}
}

void
cast_pause(struct cast *c, int paused)
{
	if (c->paused == !!paused)
		return;
	c->paused = !!paused;
	log_debug("Cast vote timer is %s.", paused ? "now paused" :
	    "no longer paused");
}

int
cast_running(const struct cast *c)
{
	return c->running;
}

int
cast_casting(const struct cast *c)
{
	return c->running && c->vote == QN_VOTE_ACK;
}
