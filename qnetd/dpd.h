/*
 * Dead-peer detection: a client that sends nothing for its timeout is
 * ended, and a client's fixed deadline (INIT) on the same timer.
 */
#ifndef QNETD_DPD_H
#define QNETD_DPD_H

#include <stdint.h>
#include <sys/queue.h>
#include <uv.h>

struct qnetd;
struct client;

/*
 * Clients with the same dead-peer timeout, in the order of their last
 * message, and one timer for the first.
 */
#define DPD_LISTS	8
TAILQ_HEAD(dpd_clients, client);
struct dpd_list {
	uint64_t ms;			/* the timeout; valid while not empty */
	struct dpd_clients clients;
	uv_timer_t timer;
};

/* The server's, in struct qnetd. */
struct dpd {
	struct dpd_list lists[DPD_LISTS];
	int ready;			/* dpd_init() was called */
	/* A client's timeout passed (deadline: its fixed deadline did). */
	void (*expired)(struct client *c, int deadline);
};

void	dpd_init(struct qnetd *q, void (*expired)(struct client *c,
	    int deadline));

/* A new client's timer; dpd_client_close() closes it with cb. */
void	dpd_client_init(struct client *c);
void	dpd_client_close(struct client *c, uv_close_cb cb);

/* The dead-peer timeout (ms) and its restart on every complete message. */
void	client_dpd_set(struct client *c, uint64_t ms);
void	client_dpd_stop(struct client *c);
void	client_dpd_rearm(struct client *c);
/* A fixed deadline in ms that messages don't move (dpd_ms stays 0). */
void	client_dpd_deadline(struct client *c, uint64_t ms);

#endif
