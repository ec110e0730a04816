#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "listen.h"
#include "limitlog.h"
#include "log.h"
#include "net.h"
#include "qnetd.h"

/*
 * A wakeup of the listening socket accepts until the queue is empty, so
 * that in a reconnect storm the kernel's accept queue (at most somaxconn)
 * does not overflow while we serve other clients: a dropped SYN costs the
 * client a 1 s retransmission.  Bounded, so established clients wait at
 * most ACCEPT_BUDGET_NS (or ACCEPT_MAX accepts) for their turn.
 */
#define ACCEPT_MAX		8192
#define ACCEPT_BUDGET_NS	(20 * 1000 * 1000)
#define ACCEPT_CLOCK_EVERY	64	/* accepts between looks at the clock */
/* Client events between looks at the listening socket. */
#define ACCEPT_INTERLEAVE	64
/* The kernel caps listen()'s backlog at this. */
#define SOMAXCONN_PATH		"/proc/sys/net/core/somaxconn"
/* Accepting again after running out of descriptors or memory. */
#define ACCEPT_RETRY_MS		100
/* ... or after the listening socket reported an error. */
#define LISTEN_ERROR_RETRY_MS	1000

void
listen_init(struct qnetd *q, const struct listen_ops *ops)
{
	struct listener *l = &q->listen;

	l->ops = ops;
	l->fd = -1;
	l->watch.fd = -1;
	l->retry.data = q;
	uv_timer_init(q->loop, &l->retry);
	l->admit_check.data = q;
	uv_check_init(q->loop, &l->admit_check);
}

static void on_listen_ready(uv_poll_t *p, int status, int events);

static void
listen_resume(uv_timer_t *t)
{
	struct qnetd *q = t->data;

	if (!q->stopping)
		uv_poll_start(&q->listen.poll, UV_READABLE, on_listen_ready);
}

/*
 * Stop accepting for a while.  Out of descriptors the listening socket stays
 * readable, and accepting again at once would spin; the connections wait
 * in the backlog instead.
 */
static void
listen_pause(struct qnetd *q, uint64_t ms)
{
	uv_poll_stop(&q->listen.poll);
	uv_timer_start(&q->listen.retry, listen_resume, ms, 0);
}

/*
 * Connections are accepted while libuv dispatches the events of an epoll
 * batch, and set up (admitted) right after it, from a check handle: a
 * uv_poll_start() during the dispatch scans the whole batch for the
 * descriptor (libuv invalidates its pending events), which was the
 * largest user-space cost of a reconnect storm.  The connection waits
 * in our list instead of the kernel's accept queue, which is the scarce
 * one.
 */
static void
admit_accepted(uv_check_t *h)
{
	struct qnetd *q = h->data;
	struct listener *l = &q->listen;

	/* Admission does not accept: the list can't grow meanwhile. */
	for (size_t i = 0; i < l->naccepted; i++)
		l->ops->admit(q, l->accepted[i].fd, &l->accepted[i].ss);
	l->naccepted = 0;
	uv_check_stop(h);
}

static void
accepted_add(struct qnetd *q, int fd, const struct sockaddr_storage *ss)
{
	struct listener *l = &q->listen;
	struct accepted_fd *v;
	size_t cap;

	if (l->naccepted == l->cap) {
		cap = l->cap ? l->cap * 2 : 256;
		if ((v = realloc(l->accepted, cap * sizeof(*v))) == NULL) {
			/* Set up at once, at the price of the scan. */
			l->ops->admit(q, fd, ss);
			return;
		}
		l->accepted = v;
		l->cap = cap;
	}
	l->accepted[l->naccepted].fd = fd;
	l->accepted[l->naccepted].ss = *ss;
	l->naccepted++;
	if (!uv_is_active((uv_handle_t *)&l->admit_check))
		uv_check_start(&l->admit_check, admit_accepted);
}

/* Accept what the listening socket holds, within the bounds above. */
static void
accept_pending(struct qnetd *q)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	uint64_t start = uv_hrtime();
	int fd;

	q->listen.io_since_accept = 0;
	for (int i = 0; i < ACCEPT_MAX; i++) {
		if (i != 0 && i % ACCEPT_CLOCK_EVERY == 0 &&
		    uv_hrtime() - start >= ACCEPT_BUDGET_NS)
			return;
		sslen = sizeof(ss);
		fd = net_accept(q->listen.fd, &ss, &sslen);
		if (fd != -1) {
			accepted_add(q, fd, &ss);
			continue;
		}
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			limit_log(q, LIMIT_ACCEPT, "(not accepted)",
			    (long long)q->listen.ops->clients(q), "can't accept: "
			    "%s; accepting paused for %d ms", strerror(errno),
			    ACCEPT_RETRY_MS);
			listen_pause(q, ACCEPT_RETRY_MS);
		} else if (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR && errno != ECONNABORTED) {
			log_err("Can't accept connection: %s", strerror(errno));
		}
		return;
	}
}

/*
 * Between client events, now and then, the listening socket too: libuv
 * serves up to 1,024 ready descriptors per epoll_wait() and the listening
 * socket once among them, so in a reconnect storm thousands of
 * disconnects would be served while the kernel's accept queue fills up
 * and overflows.  An accept() that finds nothing costs one syscall.
 */
void
listen_between(struct qnetd *q)
{
	struct listener *l = &q->listen;

	if (++l->io_since_accept < ACCEPT_INTERLEAVE)
		return;
	l->io_since_accept = 0;
	if (l->listening && !q->stopping &&
	    uv_is_active((uv_handle_t *)&l->poll))
		accept_pending(q);
}

static void
on_listen_ready(uv_poll_t *p, int status, int events)
{
	struct qnetd *q = p->data;

	(void)events;
	if (status < 0) {
		/* libuv stopped the handle; try again rather than go deaf. */
		log_crit("Poll error on listening socket: %s",
		    uv_strerror(status));
		listen_pause(q, LISTEN_ERROR_RETRY_MS);
		return;
	}
	accept_pending(q);
}

/*
 * listen() silently caps the backlog at net.core.somaxconn: say so, since
 * a backlog smaller than a reconnect storm means dropped SYNs and clients
 * waiting for their retransmission (1 s, then 3 s).
 */
static void
check_somaxconn(const struct qnetd *q)
{
	FILE *f = fopen(SOMAXCONN_PATH, "r");
	long long max;
	int ok;

	if (f == NULL)
		return;
	ok = fscanf(f, "%lld", &max) == 1;
	fclose(f);
	if (ok && q->set.listen_backlog > max)
		log_warn("listen_backlog %lld exceeds net.core.somaxconn %lld: "
		    "the kernel caps it at %lld; raise net.core.somaxconn (and "
		    "net.ipv4.tcp_max_syn_backlog) for large reconnect storms",
		    q->set.listen_backlog, max, max);
}

int
listen_start(struct qnetd *q)
{
	struct listener *l = &q->listen;
	char err[NET_ERR_LEN];

	l->fd = net_listen(q->listen_addr, (uint16_t)q->port, q->family,
	    (int)q->set.listen_backlog, err);
	if (l->fd == -1) {
		log_crit("Can't create listening socket: %s", err);
		return -1;
	}
	l->listening = 1;
	check_somaxconn(q);
	uv_poll_init(q->loop, &l->poll, l->fd);
	l->poll.data = q;
	uv_poll_start(&l->poll, UV_READABLE, on_listen_ready);
	addrwatch_start(&l->watch, q->loop, l->fd);
	return 0;
}

static void
listen_closed(uv_handle_t *h)
{
	struct qnetd *q = h->data;

	close(q->listen.fd);
	q->listen.fd = -1;
}

void
listen_stop(struct qnetd *q)
{
	struct listener *l = &q->listen;

	if (l->ops != NULL) {
		uv_timer_stop(&l->retry);
		/* Accepted, never served: not clients yet, nothing to say. */
		uv_check_stop(&l->admit_check);
		for (size_t i = 0; i < l->naccepted; i++)
			close(l->accepted[i].fd);
		l->naccepted = 0;
	}
	if (!l->listening)
		return;
	l->listening = 0;
	uv_close((uv_handle_t *)&l->poll, listen_closed);
	addrwatch_stop(&l->watch);
}

void
listen_free(struct qnetd *q)
{
	struct listener *l = &q->listen;

	free(l->accepted);
	l->accepted = NULL;
	l->naccepted = l->cap = 0;
}

int
listen_active(const struct qnetd *q)
{
	return q->listen.listening;
}
