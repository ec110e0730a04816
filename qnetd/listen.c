#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
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
	for (size_t i = 0; i < LISTEN_MAX_ADDRS; i++) {
		l->socks[i].q = q;
		l->socks[i].fd = -1;
		l->socks[i].watch.fd = -1;
	}
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

	if (q->stopping)
		return;
	for (size_t i = 0; i < q->listen.nsocks; i++)
		uv_poll_start(&q->listen.socks[i].poll, UV_READABLE,
		    on_listen_ready);
}

/*
 * Stop accepting for a while.  Out of descriptors the listening socket stays
 * readable, and accepting again at once would spin; the connections wait
 * in the backlog instead.  Descriptors are the process's: every
 * listening socket pauses.
 */
static void
listen_pause(struct qnetd *q, uint64_t ms)
{
	for (size_t i = 0; i < q->listen.nsocks; i++)
		uv_poll_stop(&q->listen.socks[i].poll);
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

/* Accept what a listening socket holds, within the bounds above. */
static void
accept_pending(struct listen_sock *s)
{
	struct qnetd *q = s->q;
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
		fd = net_accept(s->fd, &ss, &sslen);
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
 * Between client events, now and then, the listening sockets too: libuv
 * serves up to 1,024 ready descriptors per epoll_wait() and a listening
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
	if (!l->listening || q->stopping)
		return;
	for (size_t i = 0; i < l->nsocks; i++)
		if (uv_is_active((uv_handle_t *)&l->socks[i].poll))
			accept_pending(&l->socks[i]);
}

static void
on_listen_ready(uv_poll_t *p, int status, int events)
{
	struct listen_sock *s = p->data;

	(void)events;
	if (status < 0) {
		/* libuv stopped the handle; try again rather than go deaf. */
		log_crit("Poll error on listening socket: %s",
		    uv_strerror(status));
		listen_pause(s->q, LISTEN_ERROR_RETRY_MS);
		return;
	}
	accept_pending(s);
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

/* As given on the command line; the wildcard is "*". */
static void
given_address(const struct qnetd *q, size_t i, char *buf, size_t len)
{
	const char *a = i < q->nlisten_addrs ? q->listen_addrs[i] : NULL;

	snprintf(buf, len, "%s:%lld", a ? a : "*", q->port);
}

void
listen_address(const struct qnetd *q, size_t i, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char a[INET6_ADDRSTRLEN];

	given_address(q, i, buf, len);
	if (!q->listen.listening || i >= q->listen.nsocks ||
	    getsockname(q->listen.socks[i].fd, (struct sockaddr *)&ss,
	    &sl) != 0)
		return;
	if (ss.ss_family == AF_INET &&
	    inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, a,
	    sizeof(a)) != NULL)
		snprintf(buf, len, "%s:%lld", a, q->port);
	else if (ss.ss_family == AF_INET6 &&
	    inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, a,
	    sizeof(a)) != NULL)
		snprintf(buf, len, "[%s]:%lld", a, q->port);
}

size_t
listen_count(const struct qnetd *q)
{
	return q->listen.listening ? q->listen.nsocks : 0;
}

/*
 * Every address is bound before any is served: a daemon that can't listen
 * where it was told to stops at start-up, with the address in the log,
 * rather than run deaf on one of them.
 */
int
listen_start(struct qnetd *q)
{
	struct listener *l = &q->listen;
	size_t n = q->nlisten_addrs ? q->nlisten_addrs : 1;
	char err[NET_ERR_LEN];

	for (l->nsocks = 0; l->nsocks < n; l->nsocks++) {
		struct listen_sock *s = &l->socks[l->nsocks];

		s->fd = net_listen(q->nlisten_addrs ?
		    q->listen_addrs[l->nsocks] : NULL, (uint16_t)q->port,
		    q->family, (int)q->set.listen_backlog, err);
		if (s->fd == -1) {
			/* err names the address (or name) that failed. */
			log_crit("Can't create listening socket: %s", err);
			while (l->nsocks > 0) {
				s = &l->socks[--l->nsocks];
				close(s->fd);
				s->fd = -1;
			}
			return -1;
		}
	}
	l->listening = 1;
	check_somaxconn(q);
	for (size_t i = 0; i < l->nsocks; i++) {
		struct listen_sock *s = &l->socks[i];

		uv_poll_init(q->loop, &s->poll, s->fd);
		s->poll.data = s;
		uv_poll_start(&s->poll, UV_READABLE, on_listen_ready);
		addrwatch_start(&s->watch, q->loop, s->fd);
	}
	return 0;
}

static void
listen_closed(uv_handle_t *h)
{
	struct listen_sock *s = h->data;

	close(s->fd);
	s->fd = -1;
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
	for (size_t i = 0; i < l->nsocks; i++) {
		uv_close((uv_handle_t *)&l->socks[i].poll, listen_closed);
		addrwatch_stop(&l->socks[i].watch);
	}
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
