/*
 * TLS handshake admission: at most max_tls_handshakes at a time, the slots
 * shared fairly among source addresses, and a handshake whose peer stalls
 * gives its slot up (handshake.c).  The structs are embedded where they
 * belong (the server, a client, a source address); only handshake.c
 * looks inside them.
 */
#ifndef QNETD_HANDSHAKE_H
#define QNETD_HANDSHAKE_H

#include <stdint.h>
#include <sys/queue.h>
#include <uv.h>

#include "counter.h"

struct client;
struct qnetd;

TAILQ_HEAD(hs_queue, client);

/* The clients of one source address waiting for a slot (in its peer). */
struct hs_source {
	struct hs_queue waiting;	/* oldest first; valid while queued */
	TAILQ_ENTRY(hs_source) turn;	/* on the round */
	unsigned queued:1;		/* on the round: has waiting clients */
};

TAILQ_HEAD(hs_round, hs_source);

/* A client's place (in struct client). */
struct hs_client {
	TAILQ_ENTRY(client) link;	/* on its source's list, or the slots */
	struct hs_source *source;	/* while waiting */
	uint64_t since;			/* loop time it got its slot */
	uint64_t check_at;		/* loop time its slot is looked at */
	unsigned waiting:1;		/* reading paused until it gets a slot */
	unsigned slot:1;		/* holds one of max_tls_handshakes */
	uint64_t started_ns;		/* handshake begun, not yet counted */
};

/* The server's (in struct qnetd). */
struct hs_admission {
	struct hs_round round;		/* sources with waiting clients */
	struct hs_queue slots;		/* clients holding one, by check_at */
	size_t held;			/* how many slots are held */
	struct hs_source unknown;	/* clients without a known address */
	uv_timer_t timer;		/* for the first check_at */
	int ready;			/* hs_init() was called */
};

/* Server start (the fuzzer's too): without it there are no slots. */
void	hs_init(struct qnetd *q);
/* Server stop: no more handshakes start. */
void	hs_stop(struct qnetd *q);

/*
 * c sent STARTTLS: start its handshake now, or queue it with its reading
 * paused (its ClientHello waits in the kernel).  src is its address's
 * (NULL: unknown).
 */
void	hs_starttls(struct client *c, struct hs_source *src);
/* A message came through TLS: the handshake is over, the slot goes on. */
void	hs_message(struct client *c);
/* c is disconnecting: out of the queue, its slot to the next. */
void	hs_forget(struct client *c);
/* Is c waiting for a slot (its reading paused for it)? */
int	hs_waiting(const struct client *c);
/* Handshakes by result (ok, failed) and the durations of those done. */
const struct counter *hs_results(void);
const struct histogram *hs_durations(void);

#endif
