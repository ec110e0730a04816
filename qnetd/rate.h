/*
 * max_client_message_rate: a token bucket per client, one second deep.  A
 * client out of tokens stops being read (its data waits in the kernel and
 * TCP slows it down, at no cost to anyone else) until a tick refills it.
 */
#ifndef QNETD_RATE_H
#define QNETD_RATE_H

#include <sys/queue.h>
#include <uv.h>

struct qnetd;
struct client;

/* The server's, in struct qnetd. */
struct rate {
	LIST_HEAD(, client) throttled;	/* reading paused, out of tokens */
	uv_timer_t tick;		/* refills them while there are any */
	/* Called when a client's rate_paused changed. */
	void (*paused)(struct client *c);
};

void	rate_init(struct qnetd *q, void (*paused)(struct client *c));
void	rate_stop(struct qnetd *q);
/* A new client: a full bucket. */
void	rate_client_start(struct client *c);
/* Charge one message; may pause the client's reading. */
void	rate_charge(struct client *c);
/* The client goes: off the throttled list. */
void	rate_forget(struct client *c);

#endif
