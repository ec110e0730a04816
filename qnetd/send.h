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
#include "counter.h"
#include "msg.h"

struct qnetd;

/* SERVER_ERROR, echoing the request's seq when it had one (req may be NULL). */
int	send_error(struct client *c, const struct msg *req, uint8_t code);
int	send_msg(struct client *c, const struct msg *m);
/* Bytes that already form a whole message (ECHO_REPLY). */
int	send_raw(struct client *c, const uint8_t *data, size_t len);
/*
 * The server's services to the decision core (core.h), and its ACK gate
 * timer: set up with the server (server_init).
 */
void	gate_start(struct qnetd *q);

/* Votes sent, by vote (ack, nack, ask_later, wait_for_reply, no_change). */
const struct counter *send_votes(void);

#endif
