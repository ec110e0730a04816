/*
 * Messages qnetd sends to a client.  A message that cannot be queued (send
 * queue full, larger than max_client_send_size, no memory) disconnects the
 * client, as 3.0.3 does; the functions return -1 then.
 */
#ifndef QNETD_SEND_H
#define QNETD_SEND_H

#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "msg.h"

struct decision;
struct qnetd;

/* SERVER_ERROR, echoing the request's seq when it had one (req may be NULL). */
int	send_error(struct client *c, const struct msg *req, uint8_t code);
int	send_msg(struct client *c, const struct msg *m);
/* Bytes that already form a whole message (ECHO_REPLY). */
int	send_raw(struct client *c, const uint8_t *data, size_t len);
/* A reply carrying a vote; the vote is recorded and ACK/NACK logged. */
int	send_vote_reply(struct client *c, struct msg *m,
	    const struct decision *d);

/* Log an ACK or NACK sent to c: one INFO line per decision. */
void	log_vote(const struct client *c, const char *how, uint8_t vote,
	    const struct qn_ring_id *ring, const char *reason);

/*
 * The ACK gate's part in the server (gate.h): start it with the server;
 * a client leaving its cluster (before decide_leave) tells it.
 */
#define GATE_SWEEP_MS	60000
void	gate_start(struct qnetd *q);
void	gate_client_leaves(struct client *c);

#endif
