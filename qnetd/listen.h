/*
 * The listening sockets (one per -l, or the wildcard): accepting in batches and between client events so
 * that a reconnect storm doesn't overflow the kernel's accept queue,
 * handing each connection to the server's admission after the event
 * batch, and pausing when descriptors run out.
 */
#ifndef QNETD_LISTEN_H
#define QNETD_LISTEN_H

#include <stddef.h>
#include <sys/socket.h>
#include <uv.h>

#include "addrwatch.h"

struct qnetd;

/* What the listener asks of the server. */
struct listen_ops {
	/* Decide about an accepted connection; fd is the callee's. */
	void (*admit)(struct qnetd *q, int fd,
	    const struct sockaddr_storage *ss);
	/* Clients now, for the log when accept() fails. */
	size_t (*clients)(const struct qnetd *q);
};

/* Accepted connections waiting to be admitted. */
struct accepted_fd {
	int fd;
	struct sockaddr_storage ss;
};

/* At most this many -l. */
#define LISTEN_MAX_ADDRS	16

/* One bound address. */
struct listen_sock {
	struct qnetd *q;
	int fd;				/* valid while listening */
	uv_poll_t poll;
	struct addrwatch watch;		/* the listen address's fate */
};

/* The server's, in struct qnetd. */
struct listener {
	const struct listen_ops *ops;
	int listening;			/* listen_start() succeeded */
	struct listen_sock socks[LISTEN_MAX_ADDRS];
	size_t nsocks;
	uv_timer_t retry;		/* accept paused: out of descriptors */
	unsigned io_since_accept;	/* client events since the last accept */
	struct accepted_fd *accepted;	/* admitted after the batch ... */
	size_t naccepted, cap;
	uv_check_t admit_check;		/* ... by this */
};

void	listen_init(struct qnetd *q, const struct listen_ops *ops);
/*
 * Listen on each of the command line's addresses (or the wildcard); -1
 * (logged, naming the address) when one can't be bound.
 */
int	listen_start(struct qnetd *q);
/* Sockets listening (0 before listen_start()). */
size_t	listen_count(const struct qnetd *q);
/*
 * "addr:port" ("[addr]:port" for IPv6) of socket i as bound, or as given
 * when not listening (the wildcard is "*").
 */
void	listen_address(const struct qnetd *q, size_t i, char *buf, size_t len);
/* Stop accepting; accepted connections not yet admitted are closed. */
void	listen_stop(struct qnetd *q);
void	listen_free(struct qnetd *q);
/* Is the listening socket open? (readiness) */
int	listen_active(const struct qnetd *q);
/* After a client event: now and then, accept too. */
void	listen_between(struct qnetd *q);

#endif
