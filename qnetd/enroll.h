/*
 * Enrolment over the qnetd port (issue 14): a node that holds a token of
 * corosync-qnetd-certutil -t gets its cluster certificate signed without
 * a shell on the arbiter.  PREINIT, ENROLL_STARTTLS (TLS without a client
 * certificate), ENROLL_REQUEST (token id, proof, CSR), ENROLL_REPLY; such
 * a connection carries nothing else.  enroll_token.c checks the proof and
 * takes a use, enroll_sign.c signs; this file is the exchange, the
 * per-address attempt limit and the log.  Renewal is the same exchange
 * with the RENEW option instead of a token: TLS asks for the node's
 * current certificate, which enroll_renew.c checks.
 */
#ifndef QNETD_ENROLL_H
#define QNETD_ENROLL_H

#include <stddef.h>
#include <stdint.h>

struct client;
struct qnetd;

#define ENROLL_SLOTS	1024	/* per-address attempt buckets */

struct enroll_bucket {
	uint64_t key;		/* hash of the address (0: free) */
	int64_t tokens;		/* attempts left, in 1/1000 */
	uint64_t stamp;		/* loop time of the last refill */
};

/* The server's, in struct qnetd. */
struct enroll_state {
	uint64_t seed;
	struct enroll_bucket slot[ENROLL_SLOTS];
	uint64_t issued;
};

void	enroll_init(struct qnetd *q);
/* Certificates issued since the start (status --json). */
uint64_t enroll_issued(const struct qnetd *q);
/* An enrolment message (its type is QN_MSG_ENROLL_*), whole. */
void	enroll_message(struct client *c, const uint8_t *data, size_t len);

#endif
