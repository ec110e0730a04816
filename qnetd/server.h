/*
 * The life of a client: set up on an accepted connection, its events
 * dispatched to the handlers, ended by a deferred disconnect.  Also the
 * server's start and stop, which start and stop the mechanisms it is made
 * of (listen.h, peer.h, rate.h, dpd.h, handshake.h, budget.h).
 */
#ifndef QNETD_SERVER_H
#define QNETD_SERVER_H

#include <stddef.h>
#include <sys/queue.h>
#include <uv.h>

#include "client.h"
#include "counter.h"
#include "dpd.h"
#include "limitlog.h"

struct qnetd;

/* The server's, in struct qnetd. */
struct server {
	TAILQ_HEAD(, client) clients;	/* every TCP client, INIT or not */
	size_t count;			/* ... not closing */
	SLIST_HEAD(, client) doomed;	/* disconnects waiting for the reaper */
	uv_idle_t reaper;		/* runs deferred disconnects */
};

/*
 * The server's handles (reaper, timers), without listening: enough for
 * server_add_client() (the fuzzer).  server_start() calls it and listens.
 */
void	server_init(struct qnetd *q);
int	server_start(struct qnetd *q);
/* Drop every client with "server going down": no re-decisions. */
void	server_stop(struct qnetd *q);
/* After the loop ended: what the server still holds. */
void	server_free(struct qnetd *q);

/*
 * Serve a connected, non-blocking socket as a new client (accept uses it;
 * so does the fuzzer, with one end of a socketpair).  Closes fd on failure.
 */
void	server_add_client(struct qnetd *q, int fd, const char *addr);

/* Connected clients (closing ones no more). */
size_t	server_client_count(const struct qnetd *q);
/* Every client not yet taken out, newest first; and the next one. */
struct client *server_first_client(const struct qnetd *q);
struct client *server_next_client(const struct client *c);
/*
 * Its counters (counter.h): connections admitted, refused by reason, and
 * disconnects by reason.
 */
const struct counter *server_accepted(void);
const struct counter *server_rejected(void);
const struct counter *server_disconnects(void);
/* Disconnects are waiting to be completed. */
int	server_reaping(const struct qnetd *q);

#endif
