/*
 * One connected qdevice as the server sees it: its connection, timers and
 * the server's bookkeeping around the member the decision core sees.
 */
#ifndef QNETD_CLIENT_H
#define QNETD_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <uv.h>

#include "conn.h"
#include "handshake.h"
#include "member.h"
#include "proto.h"

struct qnetd;

#define CLIENT_ADDR_LEN		64

struct client {
	struct member m;		/* what the decision core sees */
	struct conn conn;
	struct qnetd *qnetd;
	char addr[CLIENT_ADDR_LEN];	/* "::ffff:10.0.0.1:40000" */

	uv_timer_t algo_timer;		/* the algorithm's (decide_services) */

	uv_timer_t dpd_timer;		/* dead-peer check, or INIT deadline */
	uint64_t dpd_ms;		/* dead-peer timeout, 0 = not running */
	uint64_t dpd_last;		/* loop time of the last message */
	/* On a dead-peer list (dpd.c), oldest message first; or NULL. */
	struct dpd_list *dpd_list;
	TAILQ_ENTRY(client) dpd_link;

	TAILQ_ENTRY(client) all_link;		/* every client of the server */
	SLIST_ENTRY(client) reap_link;		/* waiting to be taken out */
	struct peer *peer;			/* its source address's count */

	/* max_client_message_rate: a token bucket in 1/1000 messages. */
	int64_t rate_tokens;
	uint64_t rate_stamp;			/* loop time of the last refill */
	LIST_ENTRY(client) thr_link;		/* on the throttled (rate.c) */
	struct hs_client hs;			/* its TLS handshake's turn */
	uint8_t holds;				/* what still needs its memory */

	unsigned preinit_done:1;
	unsigned init_done:1;
	unsigned tls_started:1;
	unsigned cert_checked:1;
	unsigned init_had_msgs:1;	/* INIT carried supported messages */
	unsigned init_had_opts:1;	/* INIT carried supported options */
	unsigned closing:1;
	unsigned closed_by_peer:1;	/* EOF: its qdevice closed the connection */
	unsigned rate_paused:1;		/* out of message tokens */
	unsigned enrolling:1;		/* ENROLL_STARTTLS: enrolment only */
	unsigned renewing:1;		/* ... to renew its certificate */
	unsigned enroll_done:1;		/* its one ENROLL_REQUEST was answered */
};

/* The client whose member m is (the server's members are all clients'). */
static inline struct client *
client_of(const struct member *m)
{
	return (struct client *)(void *)((char *)(uintptr_t)m -
	    offsetof(struct client, m));
}

#endif
