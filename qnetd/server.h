/* Accepting clients and ending them. */
#ifndef QNETD_SERVER_H
#define QNETD_SERVER_H

#include <stdint.h>

#include "client.h"
#include "qnetd.h"

struct qnetd;

/*
 * Serve a connected, non-blocking socket as a new client (accept uses it;
 * so does the fuzzer, with one end of a socketpair).  Closes fd on failure.
 */
void	server_add_client(struct qnetd *q, int fd, const char *addr);

/*
 * Disconnect silently: I/O stops now, the algorithm re-decides for the rest
 * of the cluster once the current event is done.  Safe from within any
 * handler or algorithm callback, and more than once.
 */
void	client_schedule_disconnect(struct client *c, const char *why);

/*
 * Start the TLS handshake of a client that sent STARTTLS, or queue it
 * (reading paused) while max_tls_handshakes are in progress.
 */
void	client_starttls(struct client *c);

/* Pause or resume reading as the rate limit and the handshake slots say. */
void	client_read_pause_update(struct client *c);

/* The dead-peer timeout (ms) and its restart on every complete message. */
void	client_dpd_set(struct client *c, uint64_t ms);
void	client_dpd_stop(struct client *c);
void	client_dpd_rearm(struct client *c);

/*
 * Log that a limit (with its value) was reached by the client at addr: a
 * warning naming the limit, at most one per limit every 10 s, with the
 * number of events left out since the previous one.
 */
void	limit_log(struct qnetd *q, enum qnetd_limit l, const char *addr,
	    long long value, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));

#endif
