/*
 * Events (not in 3.0.3): what an admin wants to be told of, as it happens.
 * The server feeds them here (send.c for votes, server.c and handlers.c for
 * clients and TLS); the decision core never calls this module, its votes
 * reach it through the services table (core.h) that send.c fills.
 *
 * Each event runs the hook (-S event_hook=PATH: a program, or every
 * executable of a directory in name order) with QNETD_* variables in its
 * environment.  Hooks run one at a time, in event order, off the loop
 * (libuv child processes), each bounded by event_hook_timeout.  A burst is
 * coalesced (once a quarter of the queue waits, a newer vote of a node or
 * quorate partition of a cluster replaces the one waiting), queued up to a
 * bound and started at most event_hook_rate times a second; what does not
 * fit is dropped and counted (QNETD_DROPPED of the next run, the log, the
 * tool's JSON).
 */
#ifndef QNETD_EVENTS_H
#define QNETD_EVENTS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "member.h"

enum qev_type {
	QEV_CLIENT_CONNECTED,
	QEV_CLIENT_DISCONNECTED,
	QEV_VOTE_CHANGED,
	QEV_PARTITION_CHANGED,		/* the nodes holding the vote */
	QEV_TLS_REFUSED,
	QEV_CERT_EXPIRING,
	QEV_COUNT
};

struct qev_settings {
	const char *hook;		/* "" = none */
	uint32_t timeout_ms;		/* a hook run is killed after it */
	uint32_t rate;			/* hook starts per second */
	size_t queue_max;		/* events waiting for the hook */
	/* Each event as a JSON line, for --follow (may be NULL). */
	void	(*follow)(void *arg, const char *line, size_t len);
	void	*follow_arg;
};

struct qnetd_events;

struct qnetd_events *events_new(uv_loop_t *loop, const struct qev_settings *s);
/* Kill running hooks; the loop frees what is left. */
void	events_close(struct qnetd_events *e);

/* A joined client: connected, or disconnected (reason: why). */
void	events_client(struct qnetd_events *e, enum qev_type type,
	    const struct member *m, const char *reason);
/* m is told vote (any reply or VOTE_INFO) for reason. */
void	events_vote(struct qnetd_events *e, const struct member *m,
	    uint8_t vote, const char *reason);
/* A connection refused for TLS reasons (cluster may be ""). */
void	events_tls_refused(struct qnetd_events *e, const char *cluster,
	    const char *addr, const char *reason);

/* Counters for the status */
struct qev_counts {
	uint64_t emitted, runs, coalesced, dropped, timeouts, failures;
};
void	events_counts(const struct qnetd_events *e, struct qev_counts *out);

/* "vote_changed", ... (QNETD_EVENT, the JSON "event"). */
const char *qev_name(enum qev_type t);

#endif
