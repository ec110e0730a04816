/*
 * The arbiter's events (not in 3.0.3): client connected or disconnected,
 * vote changed, a cluster's quorate partition changed, TLS refused, a
 * certificate expiring (sysd.c's daily check), run
 * through the shared event hook (common/hook.h, QNETD_* variables) and
 * shown to corosync-qnetd-tool --follow.  The server feeds them (send.c
 * for votes, server.c and handlers.c for clients and TLS); the decision
 * core never calls this module, its votes reach it through the services
 * table (core.h) that send.c fills.
 */
#ifndef QNETD_EVENTS_H
#define QNETD_EVENTS_H

#include <uv.h>

#include "hook.h"
#include "member.h"

enum qev_type {
	QEV_CLIENT_CONNECTED,
	QEV_CLIENT_DISCONNECTED
};

struct qnetd_events;

struct qnetd_events *events_new(uv_loop_t *loop, const struct hook_settings *s);
/* Kill a running hook; e is gone (NULL: nothing). */
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
/* A certificate of ours expires soon or has expired (reason: which, when). */
void	events_cert_expiring(struct qnetd_events *e, const char *reason);
void	events_counts(const struct qnetd_events *e, struct hook_counts *out);

#endif
