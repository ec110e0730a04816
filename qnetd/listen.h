/*
 * The listening socket: accepting in batches and between client events so
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

/* The server's, in struct qnetd. */
struct listener {
	const struct listen_ops *ops;
	int fd;				/* valid while listening */
	int listening;			/* listen_start() succeeded */
	uv_poll_t poll;
	uv_timer_t retry;		/* accept paused: out of descriptors */
	unsigned io_since_accept;	/* client events since the last accept */
	struct accepted_fd *accepted;	/* admitted after the batch ... */
	size_t naccepted, cap;
	uv_check_t admit_check;		/* ... by this */
	struct addrwatch watch;		/* the listen address's fate */
};

void	listen_init(struct qnetd *q, const struct listen_ops *ops);
/* Listen on the command line's address; -1 (logged) on failure. */
int	listen_start(struct qnetd *q);
/* Stop accepting; accepted connections not yet admitted are closed. */
void	listen_stop(struct qnetd *q);
void	listen_free(struct qnetd *q);
/* Is the listening socket open? (readiness) */
int	listen_active(const struct qnetd *q);
/* After a client event: now and then, accept too. */
void	listen_between(struct qnetd *q);

#endif
