/*
 * qnet-load: simulates clusters of qdevice clients against a qnetd over real
 * TCP (and TLS through OpenSSL, a second TLS stack that checks the server's
 * NSS side) and measures the server.
 *
 * Every cluster runs ffsplit with tie-breaker lowest.  Phases:
 *   connect    all clients connect at once and wait for their ACK;
 *   steady     heartbeats only, for a set time;
 *   storm      every cluster splits in half at once; the half holding node 1
 *              must get ACK, the rest NACK;
 *   reconnect  every client drops its connection and reconnects at once;
 *   tls-storm  like reconnect, but only the main clients drop and reconnect
 *              (over TLS with -T: a handshake storm) while the background
 *              clients (-g) stay connected and send an echo request every
 *              -e ms; their echo latency during the storm is reported as
 *              bg_echo_* (an echo still unanswered at the end counts with
 *              its age).
 * Background clients (-g clusters of the same size) are plain unless -G;
 * they connect in the connect phase like the others.
 * For each phase it prints qnetd CPU seconds and RSS (from /proc; the RSS
 * before the first connect too, for memory per client), echo latency, the
 * time until every client holds its expected vote, per-client decision
 * times, wrong or missing decisions and the load generator's own CPU time
 * (near the phase's length: the load side may have been the bottleneck).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "msg.h"
#include "reader.h"

enum state {
	ST_IDLE,		/* not connected */
	ST_CONNECTING,
	ST_PREINIT,		/* waiting for PREINIT_REPLY */
	ST_STARTTLS,		/* STARTTLS queued; TLS starts once it is written */
	ST_INIT,		/* waiting for INIT_REPLY */
	ST_READY
};

struct client {
	int fd;
	SSL *ssl;
	uint8_t state;
	uint8_t polling_out;
	uint8_t vote;		/* last ACK/NACK for the current ring */
	uint8_t held;		/* last ACK/NACK, any ring, any connection */
	uint8_t live;		/* last ACK/NACK qnetd sent on this connection */
	uint8_t expect;		/* the vote this phase must end with */
	uint8_t done;		/* vote == expect */
	uint8_t tls;		/* STARTTLS after PREINIT_REPLY */
	uint8_t bg;		/* background client (tls-storm) */
	uint8_t last_vote;	/* the last vote of any kind, for diagnosis */
	uint8_t last_vote_msg;	/* the message type that carried it */
	uint8_t last_vote_ring_ok;	/* its ring was the client's */
	uint32_t cluster;
	uint32_t node_id;	/* 1..nodes */
	uint32_t seq;
	uint32_t echo_seq;
	uint64_t echo_sent;	/* ns; 0 = none outstanding */
	uint64_t done_at;	/* ns since the phase start */
	uint64_t connect_deadline;	/* ns; 0: none running (-C) */
	uint64_t retry_at;	/* ns: when a dropped client connects again */
	uint32_t member_lo, member_n;	/* membership: ids member_lo.. */
	struct qn_ring_id ring;
	struct reader rd;
	struct buf out;
	size_t out_off;
};

struct samples {
	uint32_t *v;		/* microseconds */
	size_t n, cap;
};

struct bench {
	const char *host;
	int port;
	uint32_t clusters, nodes;
	uint32_t hb_ms;
	uint32_t steady_s;
	uint32_t timeout_s;
	int qnetd_pid;
	const char *phases;
	SSL_CTX *tls;
	const char *cluster_prefix;
	int src_addrs;
	uint32_t bg_clusters;	/* background clusters after the main ones */
	uint32_t bg_echo_ms;	/* their echo interval during tls-storm */
	int bg_tls;
	long rss_base_kb;	/* qnetd RSS before the first connect */

	int ep;
	int ep_bg;		/* background clients: polled between events */
	struct client *c;
	size_t n;		/* all clients: main ones, then background */
	size_t nmain;
	int bg_fast;		/* background clients echo every bg_echo_ms */
	int quiet;		/* hold: no echo requests */
	uint64_t ring_seq;
	uint64_t phase_t0;
	size_t done;
	size_t unexpected;	/* votes seen that differ from the expected one */
	size_t errors;		/* SERVER_ERRORs, failed connects */
	struct samples echo;
	struct samples bg_echo;
	struct samples decide;
	struct client **retry;	/* dropped clients waiting to reconnect */
	size_t nretry, retry_cap;
	size_t retries;
	int reconnecting;	/* drops are wanted: do not retry them */
	uint32_t connect_timeout_ms;	/* -C: give up and reconnect, as qdevice */
	uint32_t jitter_ms;	/* -J: random delay before a reconnect */
	uint64_t next_scan;	/* ns: next look for expired connect timers */
	size_t timeouts;	/* connect timers that expired */
	size_t timeouts_in[ST_READY];	/* ... by the state they hit */
	size_t double_ack;	/* two partitions of a cluster held ACK at once */
	uint64_t all_done_at;	/* ns since the phase start: all done (again) */
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
sample(struct samples *s, uint64_t ns)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 4096;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (s->v == NULL)
			abort();
	}
	s->v[s->n++] = (uint32_t)(ns / 1000);
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* (qsort() of no samples would be given a NULL array: undefined.) */
static void
sort_samples(struct samples *s)
{
	if (s->n > 0)
		qsort(s->v, s->n, sizeof(*s->v), cmp_u32);
}

static double
pct(struct samples *s, double p)
{
	size_t i;

	if (s->n == 0)
		return 0;
	i = (size_t)(p / 100.0 * (double)(s->n - 1));
	return s->v[i] / 1000.0;	/* ms */
}

/* ------------------------------------------------------------------ */
/* qnetd process figures */

static double
proc_cpu_s(int pid)
{
	char path[64], line[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (pid <= 0 || (f = fopen(path, "r")) == NULL)
		return -1;
	p = fgets(line, sizeof(line), f);
	fclose(f);
	if (p == NULL || (p = strrchr(line, ')')) == NULL)
		return -1;
	/* Fields after the command: state is 3rd, utime 14th, stime 15th. */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	    &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static long
proc_rss_kb(int pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (pid <= 0 || (f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* Whether qnetd still runs (a zombie does not: it crashed or exited). */
static int
proc_alive(int pid)
{
	char path[64], line[512], *p;
	FILE *f;

	if (pid <= 0)
		return 1;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	p = fgets(line, sizeof(line), f);
	fclose(f);
	if (p == NULL || (p = strrchr(line, ')')) == NULL)
		return 0;
	return p[2] != 'Z' && p[2] != 'X';
}

/* ------------------------------------------------------------------ */
/* Output */

static void
epoll_set(struct bench *b, struct client *c, int out)
{
	struct epoll_event ev = { .events = EPOLLIN | (out ? EPOLLOUT : 0),
	    .data.ptr = c };

	if (c->polling_out != out) {
		epoll_ctl(c->bg ? b->ep_bg : b->ep, EPOLL_CTL_MOD, c->fd, &ev);
		c->polling_out = (uint8_t)out;
	}
}

static void disconnect(struct bench *b, struct client *c);
static void send_init(struct bench *b, struct client *c);

static void
flush(struct bench *b, struct client *c)
{
	while (c->out_off < c->out.len) {
		const uint8_t *p = c->out.data + c->out_off;
		size_t len = c->out.len - c->out_off;
		ssize_t n;

		if (c->ssl != NULL) {
			int r = SSL_write(c->ssl, p, (int)len);

			if (r <= 0) {
				int e = SSL_get_error(c->ssl, r);

				if (e == SSL_ERROR_WANT_WRITE ||
				    e == SSL_ERROR_WANT_READ) {
					epoll_set(b, c, e == SSL_ERROR_WANT_WRITE);
					return;
				}
				b->errors++;
				disconnect(b, c);
				return;
			}
			n = r;
		} else {
			n = write(c->fd, p, len);
			if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
				epoll_set(b, c, 1);
				return;
			}
			if (n < 0) {
				disconnect(b, c);
				return;
			}
		}
		c->out_off += (size_t)n;
	}
	c->out.len = c->out_off = 0;
	epoll_set(b, c, 0);
	if (c->state == ST_STARTTLS) {
		/* STARTTLS is on the wire: everything after it is TLS. */
		c->ssl = SSL_new(b->tls);
		SSL_set_fd(c->ssl, c->fd);
		SSL_set_connect_state(c->ssl);
		send_init(b, c);	/* INIT drives the handshake */
	}
}

static void
queue(struct bench *b, struct client *c, struct msg *m)
{
	if (msg_encode(m, &c->out, SIZE_MAX) != 0)
		abort();
	flush(b, c);
}

static void
send_preinit(struct bench *b, struct client *c)
{
	char name[64];
	struct msg m;

	/* TLS clients present one certificate for "*.qnet.bench". */
	snprintf(name, sizeof(name), "%s%u.qnet.bench", b->cluster_prefix,
	    c->cluster);
	msg_init(&m, QN_MSG_PREINIT);
	msg_set_seq(&m, c->seq);
	msg_set_cluster_name(&m, name, strlen(name));
	c->state = ST_PREINIT;
	queue(b, c, &m);
}

static void
send_init(struct bench *b, struct client *c)
{
	struct msg m;

	msg_init(&m, QN_MSG_INIT);
	msg_set_seq(&m, ++c->seq);
	msg_set_supported_messages(&m, &msg_all_messages);
	msg_set_supported_options(&m, &msg_all_options);
	msg_set_node_id(&m, c->node_id);
	msg_set_algorithm(&m, QN_ALGO_FFSPLIT);
	msg_set_heartbeat_interval(&m, b->hb_ms);
	msg_set_tie_breaker(&m,
	    &(struct qn_tie_breaker){ .mode = QN_TB_LOWEST });
	msg_set_ring_id(&m, &c->ring);
	c->state = ST_INIT;
	queue(b, c, &m);
}

static void
send_list(struct bench *b, struct client *c, uint8_t type)
{
	struct qn_node nodes[64];
	uint32_t lo = 1, n = b->nodes;
	struct msg m;

	if (type == QN_LIST_MEMBERSHIP || type == QN_LIST_QUORUM) {
		lo = c->member_lo;
		n = c->member_n;
	}
	for (uint32_t i = 0; i < n; i++)
		nodes[i] = (struct qn_node){ .node_id = lo + i,
		    .state = type == QN_LIST_QUORUM ? QN_NODE_STATE_MEMBER : 0 };
	msg_init(&m, QN_MSG_NODE_LIST);
	msg_set_seq(&m, ++c->seq);
	msg_set_node_list_type(&m, type);
	msg_set_nodes(&m, nodes, n);
	if (type == QN_LIST_MEMBERSHIP)
		msg_set_ring_id(&m, &c->ring);
	if (type == QN_LIST_QUORUM)
		msg_set_quorate(&m, 1);
	queue(b, c, &m);
}

/* ------------------------------------------------------------------ */
/* Votes */

static void
set_done(struct bench *b, struct client *c, int done)
{
	if (done == c->done)
		return;
	c->done = (uint8_t)done;
	if (done) {
		b->done++;
		c->done_at = now_ns() - b->phase_t0;
		if (b->done == b->n)
			b->all_done_at = c->done_at;
	} else {
		b->done--;
	}
}

/*
 * The one thing a quorum arbiter must never do: give its vote to two
 * partitions of a cluster at once.  Among the connected clients of c's
 * cluster, those holding an ACK qnetd sent on their connection (not one
 * a NO_CHANGE confirmed from an earlier connection) must all be in one
 * membership (ring); only votes for the client's current ring count.  The
 * order holds here too: ffsplit takes the vote back (the NACK is read
 * and answered) before it gives it to another partition.
 */
static void
check_split_brain(struct bench *b, const struct client *c)
{
	const struct client *first = &b->c[c - b->c - (c->node_id - 1)];
	const struct qn_ring_id *acked = NULL;

	for (uint32_t i = 0; i < b->nodes; i++) {
		const struct client *o = &first[i];

		if (o->fd == -1 || o->state != ST_READY ||
		    o->live != QN_VOTE_ACK)
			continue;
		if (acked == NULL)
			acked = &o->ring;
		else if (!qn_ring_id_eq(acked, &o->ring)) {
			b->double_ack++;
			fprintf(stderr, "qnet-load: cluster %u: ACK held by two "
			    "partitions\n", c->cluster);
			return;
		}
	}
}

static void
got_vote(struct bench *b, struct client *c, uint8_t vote,
    const struct qn_ring_id *ring)
{
	c->last_vote = vote;
	c->last_vote_ring_ok = qn_ring_id_eq(ring, &c->ring);
	/* What this server gave on this connection, for check_split_brain. */
	if ((vote == QN_VOTE_ACK || vote == QN_VOTE_NACK) &&
	    c->last_vote_ring_ok)
		c->live = vote;
	/*
	 * NO_CHANGE for the current ring: the vote held stands.  qnetd says so
	 * when a new ring keeps a partition's vote as it was, and 3.0.3 even
	 * to a client that has just connected again: what it held before.
	 * What it holds is the last ACK or NACK for any ring: 3.0.3 takes an
	 * ACK back with a NACK for the old ring, then says NO_CHANGE.
	 */
	if (vote == QN_VOTE_ACK || vote == QN_VOTE_NACK)
		c->held = vote;
	else if (vote == QN_VOTE_NO_CHANGE && c->last_vote_ring_ok)
		vote = c->held;
	if ((vote != QN_VOTE_ACK && vote != QN_VOTE_NACK) ||
	    !qn_ring_id_eq(ring, &c->ring))
		return;
	c->vote = c->held = vote;
	if (c->live == QN_VOTE_ACK)
		check_split_brain(b, c);
	if (vote != c->expect)
		b->unexpected++;
	set_done(b, c, vote == c->expect);
}

static void
handle(struct bench *b, struct client *c, const uint8_t *data, size_t len)
{
	struct msg m, r;

	if (msg_decode(data, len, &m) != DECODE_OK) {
		b->errors++;
		msg_free(&m);
		return;
	}
	switch (m.type) {
	case QN_MSG_PREINIT_REPLY:
		if (c->tls) {
			msg_init(&r, QN_MSG_STARTTLS);
			msg_set_seq(&r, ++c->seq);
			c->state = ST_STARTTLS;
			queue(b, c, &r);
		} else {
			send_init(b, c);
		}
		break;
	case QN_MSG_INIT_REPLY:
		if (m.reply_error_code != 0) {
			b->errors++;
			break;
		}
		c->state = ST_READY;
		c->connect_deadline = 0;	/* connected, as qdevice sees it */
		send_list(b, c, QN_LIST_INITIAL_CONFIG);
		send_list(b, c, QN_LIST_MEMBERSHIP);
		send_list(b, c, QN_LIST_QUORUM);
		break;
	case QN_MSG_NODE_LIST_REPLY:
		c->last_vote_msg = m.type;
		got_vote(b, c, m.vote, &m.ring_id);
		break;
	case QN_MSG_VOTE_INFO:
		msg_init(&r, QN_MSG_VOTE_INFO_REPLY);
		msg_set_seq(&r, m.seq);
		queue(b, c, &r);
		c->last_vote_msg = m.type;
		got_vote(b, c, m.vote, &m.ring_id);
		break;
	case QN_MSG_ECHO_REPLY:
		if (c->echo_sent != 0 && m.seq == c->echo_seq) {
			sample(c->bg ? &b->bg_echo : &b->echo,
			    now_ns() - c->echo_sent);
			c->echo_sent = 0;
		}
		break;
	case QN_MSG_SERVER_ERROR:
		b->errors++;
		break;
	default:
		break;
	}
	msg_free(&m);
}

static void
on_readable(struct bench *b, struct client *c)
{
	uint8_t buf[4096];

	for (;;) {
		ssize_t n;
		size_t off = 0;

		if (c->ssl != NULL) {
			int r = SSL_read(c->ssl, buf, sizeof(buf));

			if (r <= 0) {
				int e = SSL_get_error(c->ssl, r);

				if (e == SSL_ERROR_WANT_READ)
					return;
				if (e == SSL_ERROR_WANT_WRITE) {
					epoll_set(b, c, 1);
					return;
				}
				disconnect(b, c);
				return;
			}
			n = r;
		} else {
			n = read(c->fd, buf, sizeof(buf));
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return;
			if (n <= 0) {
				disconnect(b, c);
				return;
			}
		}
		while (off < (size_t)n && c->fd != -1) {
			size_t used, len;
			enum reader_status st = reader_feed(&c->rd, buf + off,
			    (size_t)n - off, &used);
			const uint8_t *msg;

			off += used;
			if (st == READER_MORE)
				continue;
			if (st == READER_MESSAGE) {
				msg = reader_message(&c->rd, &len);
				handle(b, c, msg, len);
			}
			if (c->fd != -1)
				reader_next(&c->rd);
		}
		if (c->fd == -1)
			return;
	}
}

/* ------------------------------------------------------------------ */
/* Connections */

static void connect_client(struct bench *b, struct client *c, size_t index);

/* Like a real qdevice, a dropped client connects again (on the next tick). */
static void
retry_push(struct bench *b, struct client *c)
{
	if (b->nretry == b->retry_cap) {
		b->retry_cap = b->retry_cap ? b->retry_cap * 2 : 64;
		b->retry = realloc(b->retry, b->retry_cap * sizeof(*b->retry));
		if (b->retry == NULL)
			abort();
	}
	b->retry[b->nretry++] = c;
}

static void
schedule_retry(struct bench *b, struct client *c)
{
	retry_push(b, c);
	b->retries++;
}

/*
 * When a dropped client connects again, as a qdevice does it: after a
 * failed connect only when its connect timer expires; after a connection
 * that got further, after a random delay (0.9 x the cast vote interval in
 * qdevice, -J here); at once otherwise.
 */
static uint64_t
retry_time(const struct bench *b, const struct client *c, int timed_out)
{
	uint64_t t = now_ns();

	if (timed_out)
		return t;
	if (c->state == ST_CONNECTING && c->connect_deadline != 0)
		return c->connect_deadline;
	if (c->state > ST_CONNECTING && b->jitter_ms != 0)
		return t + (uint64_t)(random() % b->jitter_ms) * 1000000u;
	return t;
}

static void
run_retries(struct bench *b)
{
	struct client **list = b->retry;
	size_t n = b->nretry;
	uint64_t t = now_ns();

	if (n == 0)
		return;
	/* A fresh list: connect_client() may add to it. */
	b->retry = NULL;
	b->nretry = b->retry_cap = 0;
	for (size_t i = 0; i < n; i++) {
		struct client *c = list[i];

		if (c->retry_at > t)
			retry_push(b, c);
		else
			connect_client(b, c, (size_t)(c - b->c));
	}
	free(list);
}

static void drop(struct bench *b, struct client *c, int timed_out);

static void
disconnect(struct bench *b, struct client *c)
{
	drop(b, c, 0);
}

static void
drop(struct bench *b, struct client *c, int timed_out)
{
	if (c->fd == -1)
		return;
	c->retry_at = retry_time(b, c, timed_out);
	epoll_ctl(c->bg ? b->ep_bg : b->ep, EPOLL_CTL_DEL, c->fd, NULL);
	if (c->ssl != NULL) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	close(c->fd);
	c->fd = -1;
	c->state = ST_IDLE;
	c->out.len = c->out_off = 0;
	c->echo_sent = 0;
	c->vote = c->live = 0;	/* a vote belongs to its connection */
	reader_next(&c->rd);
	set_done(b, c, 0);
	if (!b->reconnecting)
		schedule_retry(b, c);
}

/* Connect timers that expired: give up and connect again at once. */
static void
check_connect_timers(struct bench *b)
{
	uint64_t t = now_ns();

	if (b->connect_timeout_ms == 0 || t < b->next_scan)
		return;
	b->next_scan = t + 100 * 1000000u;
	for (size_t i = 0; i < b->n; i++) {
		struct client *c = &b->c[i];

		if (c->fd != -1 && c->connect_deadline != 0 &&
		    t >= c->connect_deadline) {
			b->timeouts++;
			/* ST_STARTTLS counts the TLS handshake too. */
			b->timeouts_in[c->ssl != NULL &&
			    !SSL_is_init_finished(c->ssl) ? ST_STARTTLS :
			    c->state]++;
			drop(b, c, 1);
		}
	}
}

static void
connect_client(struct bench *b, struct client *c, size_t index)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)b->port) };
	struct sockaddr_in src = { .sin_family = AF_INET };
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
	int one = 1;

	inet_pton(AF_INET, b->host, &sa.sin_addr);
	c->connect_deadline = b->connect_timeout_ms == 0 ? 0 :
	    now_ns() + (uint64_t)b->connect_timeout_ms * 1000000u;
	c->retry_at = 0;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1) {
		b->errors++;
		schedule_retry(b, c);
		return;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* Many loopback sources: one address has only ~28,000 ports. */
	if (b->src_addrs > 1) {
		src.sin_addr.s_addr = htonl(0x7f000001u + 1 +
		    (uint32_t)(index % (size_t)b->src_addrs));
		setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		    sizeof(one));
		bind(c->fd, (struct sockaddr *)&src, sizeof(src));
	}
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 &&
	    errno != EINPROGRESS) {
		b->errors++;
		close(c->fd);
		c->fd = -1;
		schedule_retry(b, c);
		return;
	}
	c->state = ST_CONNECTING;
	c->polling_out = 1;
	epoll_ctl(c->bg ? b->ep_bg : b->ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void
on_event(struct bench *b, struct client *c, uint32_t events)
{
	if (c->fd == -1)
		return;
	if (c->state == ST_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err != 0) {
			b->errors++;
			disconnect(b, c);
			return;
		}
		epoll_set(b, c, 0);
		send_preinit(b, c);
		return;
	}
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		on_readable(b, c);
	/* A TLS handshake step on read may let queued output go. */
	if (c->fd != -1 && ((events & EPOLLOUT) || c->out_off < c->out.len))
		flush(b, c);
}

/* ------------------------------------------------------------------ */
/* Phases */

/* Heartbeats are spread over the interval in 10 ms slots. */
#define TICK_MS		10

static void
send_echo(struct bench *b, struct client *c, uint64_t t)
{
	struct msg m;

	if (c->state != ST_READY || c->echo_sent != 0)
		return;
	msg_init(&m, QN_MSG_ECHO_REQUEST);
	msg_set_seq(&m, ++c->echo_seq);
	c->echo_sent = t;
	queue(b, c, &m);
}

static void
tick(struct bench *b, uint64_t slot)
{
	uint64_t slots = b->hb_ms / TICK_MS ? b->hb_ms / TICK_MS : 1;
	uint64_t t = now_ns();

	if (b->quiet)
		return;
	for (size_t i = slot % slots; i < b->n; i += slots)
		if (!b->bg_fast || !b->c[i].bg)
			send_echo(b, &b->c[i], t);
	if (b->bg_fast) {
		/* Every bg_echo_ms, spread over the ticks of that interval. */
		uint64_t bs = b->bg_echo_ms / TICK_MS ? b->bg_echo_ms / TICK_MS : 1;

		for (size_t i = b->nmain + slot % bs; i < b->n; i += bs)
			send_echo(b, &b->c[i], t);
	}
}

static void
poll_bg(struct bench *b)
{
	struct epoll_event ev[64];
	int n;

	if (b->n == b->nmain)
		return;
	n = epoll_wait(b->ep_bg, ev, 64, 0);
	for (int i = 0; i < n; i++)
		on_event(b, ev[i].data.ptr, ev[i].events);
}

/* Run the loop until every client is done or the time is up. */
static int
run(struct bench *b, uint64_t ms, int until_done)
{
	struct epoll_event ev[512];
	uint64_t start = now_ns(), end = start + ms * 1000000u;
	uint64_t next_tick = start, slot = 0;

	for (;;) {
		uint64_t t = now_ns();
		int n, timeout;

		if (until_done && b->done == b->n)
			return 0;
		if (t >= end)
			return -1;
		if (t >= next_tick) {
			/* A dead qnetd decides nothing more: do not wait. */
			if (slot % 100 == 0 && !proc_alive(b->qnetd_pid))
				return -1;
			check_connect_timers(b);
			run_retries(b);
			tick(b, slot++);
			next_tick += TICK_MS * 1000000u;
		}
		timeout = (int)((next_tick > t ? next_tick - t : 0) / 1000000u);
		n = epoll_wait(b->ep, ev, 512, timeout);
		for (int i = 0; i < n; i++) {
			/*
			 * Background clients first and after every event: a
			 * handshake here costs a millisecond or two, and their
			 * replies must not wait for a whole batch of them.
			 */
			poll_bg(b);
			if (ev[i].data.ptr != NULL)
				on_event(b, ev[i].data.ptr, ev[i].events);
		}
	}
}

static void
phase_begin(struct bench *b)
{
	b->phase_t0 = now_ns();
	b->unexpected = b->errors = b->retries = 0;
	b->timeouts = b->double_ack = 0;
	memset(b->timeouts_in, 0, sizeof(b->timeouts_in));
	b->all_done_at = b->done == b->n ? 0 : UINT64_MAX;
	b->echo.n = b->bg_echo.n = b->decide.n = 0;
}

static double
self_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void
report(struct bench *b, const char *phase, double cpu0, double self0,
    int finished)
{
	uint64_t t = now_ns();
	double secs = (double)(t - b->phase_t0) / 1e9;
	double cpu = proc_cpu_s(b->qnetd_pid);
	size_t wrong = 0, missing = 0, bg_unanswered = 0, bg_late = 0;

	for (size_t i = 0; i < b->n; i++) {
		struct client *c = &b->c[i];

		/* A stall must show: an unanswered echo counts with its age. */
		if (c->bg && b->bg_fast && c->echo_sent != 0) {
			sample(&b->bg_echo, t - c->echo_sent);
			bg_unanswered++;
		}

		if (c->done)
			sample(&b->decide, c->done_at);
		else if (c->vote == QN_VOTE_ACK || c->vote == QN_VOTE_NACK) {
			if (wrong++ < 10)
				fprintf(stderr, "qnet-load: %s: cluster %u node %u "
				    "ring %u.%" PRIu64 " holds vote %u, expected "
				    "%u\n", phase, c->cluster, c->node_id,
				    c->ring.node_id, c->ring.seq, c->vote,
				    c->expect);
		} else {
			/* A few, named: what did they get last? */
			if (missing++ < 10)
				fprintf(stderr, "qnet-load: %s: cluster %u node %u "
				    "ring %u.%" PRIu64 " has no vote; last: vote "
				    "%u in message %u, %s ring\n", phase,
				    c->cluster, c->node_id, c->ring.node_id,
				    c->ring.seq, c->last_vote, c->last_vote_msg,
				    c->last_vote_ring_ok ? "its" : "another");
		}
	}
	sort_samples(&b->echo);
	sort_samples(&b->decide);
	sort_samples(&b->bg_echo);
	for (size_t i = 0; i < b->bg_echo.n; i++)
		bg_late += b->bg_echo.v[i] > 100000;	/* over 100 ms */
	printf("RESULT {\"phase\":\"%s\",\"clients\":%zu,\"seconds\":%.3f,"
	    "\"all_decided\":%s,\"qnetd_cpu_s\":%.3f,\"qnetd_rss_kb\":%ld,"
	    "\"qnetd_rss_base_kb\":%ld,\"load_cpu_s\":%.3f,"
	    "\"echo_n\":%zu,\"echo_p50_ms\":%.3f,\"echo_p99_ms\":%.3f,"
	    "\"echo_max_ms\":%.3f,\"decide_p50_ms\":%.1f,\"decide_p99_ms\":%.1f,"
	    "\"bg_clients\":%zu,\"bg_echo_n\":%zu,\"bg_echo_p50_ms\":%.3f,"
	    "\"bg_echo_p99_ms\":%.3f,\"bg_echo_max_ms\":%.3f,"
	    "\"bg_echo_over_100ms\":%zu,\"bg_echo_unanswered\":%zu,"
	    "\"wrong\":%zu,\"missing\":%zu,\"unexpected_votes\":%zu,"
	    "\"errors\":%zu,\"reconnects\":%zu,\"connect_timeouts\":%zu,"
	    "\"double_ack\":%zu,\"all_done_at_s\":%.3f,"
	    "\"timeouts_connecting\":%zu,\"timeouts_preinit\":%zu,"
	    "\"timeouts_tls\":%zu,\"timeouts_init\":%zu,\"qnetd_alive\":%s}\n",
	    phase, b->n, secs,
	    finished ? "true" : "false",
	    cpu >= 0 && cpu0 >= 0 ? cpu - cpu0 : -1.0,
	    proc_rss_kb(b->qnetd_pid), b->rss_base_kb, self_cpu_s() - self0,
	    b->echo.n, pct(&b->echo, 50),
	    pct(&b->echo, 99), pct(&b->echo, 100), pct(&b->decide, 50),
	    pct(&b->decide, 99), b->n - b->nmain, b->bg_echo.n,
	    pct(&b->bg_echo, 50), pct(&b->bg_echo, 99), pct(&b->bg_echo, 100),
	    bg_late, bg_unanswered, wrong, missing, b->unexpected, b->errors,
	    b->retries, b->timeouts, b->double_ack,
	    b->all_done_at == UINT64_MAX || b->done != b->n ? -1.0 :
	    (double)b->all_done_at / 1e9,
	    b->timeouts_in[ST_CONNECTING], b->timeouts_in[ST_PREINIT],
	    b->timeouts_in[ST_STARTTLS], b->timeouts_in[ST_INIT],
	    proc_alive(b->qnetd_pid) ? "true" : "false");
	fflush(stdout);
}

static void
whole(struct bench *b, struct client *c)
{
	c->member_lo = 1;
	c->member_n = b->nodes;
	c->ring = (struct qn_ring_id){ 1, b->ring_seq };
	c->expect = QN_VOTE_ACK;
}

/* The cluster splits in halves; the half with node 1 wins (tie-breaker lowest). */
static void
split(struct bench *b, struct client *c)
{
	uint32_t half = b->nodes / 2 ? b->nodes / 2 : 1;
	int first = c->node_id <= half;

	c->member_lo = first ? 1 : half + 1;
	c->member_n = first ? half : b->nodes - half;
	c->ring = (struct qn_ring_id){ c->member_lo, b->ring_seq };
	/* An ACK of the old ring is not one of the new: do not count it. */
	c->live = 0;
	c->expect = first ? QN_VOTE_ACK : QN_VOTE_NACK;
}

/* Connect clients [from, to) (the others stay as they are) and wait. */
static void
phase_connect(struct bench *b, const char *name, size_t from, size_t to)
{
	double cpu0 = proc_cpu_s(b->qnetd_pid), self0 = self_cpu_s();
	int ok;

	phase_begin(b);
	for (size_t i = from; i < to; i++)
		connect_client(b, &b->c[i], i);
	ok = run(b, (uint64_t)b->timeout_s * 1000, 1) == 0;
	report(b, name, cpu0, self0, ok);
}

static void
phase_steady(struct bench *b)
{
	double cpu0 = proc_cpu_s(b->qnetd_pid), self0 = self_cpu_s();

	phase_begin(b);
	run(b, (uint64_t)b->steady_s * 1000, 0);
	report(b, "steady", cpu0, self0, b->done == b->n);
}

static void
phase_storm(struct bench *b)
{
	double cpu0 = proc_cpu_s(b->qnetd_pid), self0 = self_cpu_s();
	int ok;

	phase_begin(b);
	b->ring_seq++;
	for (size_t i = 0; i < b->n; i++) {
		struct client *c = &b->c[i];

		split(b, c);
		c->vote = 0;
		set_done(b, c, 0);
		if (c->state == ST_READY)
			send_list(b, c, QN_LIST_MEMBERSHIP);
	}
	ok = run(b, (uint64_t)b->timeout_s * 1000, 1) == 0;
	report(b, "storm", cpu0, self0, ok);
}

/* Clients [0, to) drop their connections and connect again at once. */
static void
phase_reconnect(struct bench *b, const char *name, size_t to)
{
	b->reconnecting = 1;
	for (size_t i = 0; i < to; i++) {
		disconnect(b, &b->c[i]);
		b->c[i].vote = 0;
	}
	b->reconnecting = 0;
	b->nretry = 0;
	phase_connect(b, name, 0, to);
}

/* The main clients reconnect while the background ones echo every bg_echo_ms. */
static void
phase_tls_storm(struct bench *b)
{
	/* A fresh start: no echo sent before the storm is counted. */
	for (size_t i = b->nmain; i < b->n; i++)
		b->c[i].echo_sent = 0;
	b->bg_fast = 1;
	phase_reconnect(b, "tls-storm", b->nmain);
	b->bg_fast = 0;
}

static SSL_CTX *
tls_context(const char *dir)
{
	char cert[512], key[512], ca[512];
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	snprintf(cert, sizeof(cert), "%s/client.crt", dir);
	snprintf(key, sizeof(key), "%s/client.key", dir);
	snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
	if (ctx == NULL || SSL_CTX_use_certificate_file(ctx, cert,
	    SSL_FILETYPE_PEM) != 1 || SSL_CTX_use_PrivateKey_file(ctx, key,
	    SSL_FILETYPE_PEM) != 1 || SSL_CTX_load_verify_locations(ctx, ca,
	    NULL) != 1) {
		ERR_print_errors_fp(stderr);
		exit(2);
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return ctx;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: qnet-load [-H host] [-p port] [-c clusters] [-n nodes]\n"
	    "                 [-b heartbeat_ms] [-s steady_s] [-t timeout_s]\n"
	    "                 [-P qnetd_pid] [-T tls_dir] [-x phases]\n"
	    "                 [-a source_addresses] [-N cluster_name_prefix]\n"
	    "                 [-g background_clusters] [-e bg_echo_ms] [-G]\n"
	    "                 [-C connect_timeout_ms] [-J reconnect_jitter_ms]\n"
	    "-C: a client not registered (INIT_REPLY) in time gives up and\n"
	    "    connects again, a failed connect waits for it (qdevice: 8000)\n"
	    "-J: a dropped client waits a random 0..J ms first (qdevice: 4500)\n"
	    "phases: comma-separated of connect,steady,storm,reconnect,tls-storm,\n"
	    "hold (2 s connected, silent, no RESULT)\n"
	    "-G: background clients use TLS too (with -T)\n"
	    "clusters are named <prefix><n>.qnet.bench; tls_dir holds\n"
	    "client.crt and client.key (CN=*.qnet.bench) and ca.crt\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct bench b = { .host = "127.0.0.1", .port = 5403, .clusters = 100,
	    .nodes = 2, .hb_ms = 8000, .steady_s = 30, .timeout_s = 120,
	    .phases = "connect,steady,storm,reconnect", .cluster_prefix = "c",
	    .src_addrs = 8, .ring_seq = 1000, .bg_echo_ms = 50 };
	const char *tls_dir = NULL;
	struct rlimit rl;
	char *phases, *p, *save = NULL;
	int ch;

	while ((ch = getopt(argc, argv, "H:p:c:n:b:s:t:P:T:x:a:N:g:e:GC:J:")) != -1) {
		switch (ch) {
		case 'H': b.host = optarg; break;
		case 'p': b.port = atoi(optarg); break;
		case 'c': b.clusters = (uint32_t)atoi(optarg); break;
		case 'n': b.nodes = (uint32_t)atoi(optarg); break;
		case 'b': b.hb_ms = (uint32_t)atoi(optarg); break;
		case 's': b.steady_s = (uint32_t)atoi(optarg); break;
		case 't': b.timeout_s = (uint32_t)atoi(optarg); break;
		case 'P': b.qnetd_pid = atoi(optarg); break;
		case 'T': tls_dir = optarg; break;
		case 'x': b.phases = optarg; break;
		case 'a': b.src_addrs = atoi(optarg); break;
		case 'N': b.cluster_prefix = optarg; break;
		case 'g': b.bg_clusters = (uint32_t)atoi(optarg); break;
		case 'e': b.bg_echo_ms = (uint32_t)atoi(optarg); break;
		case 'G': b.bg_tls = 1; break;
		case 'C': b.connect_timeout_ms = (uint32_t)atoi(optarg); break;
		case 'J': b.jitter_ms = (uint32_t)atoi(optarg); break;
		default: usage();
		}
	}
	if (b.nodes < 1 || b.nodes > 64 || b.clusters < 1 || b.hb_ms < 10 ||
	    b.bg_echo_ms < TICK_MS)
		usage();
	b.nmain = (size_t)b.clusters * b.nodes;
	b.n = b.nmain + (size_t)b.bg_clusters * b.nodes;
	/* One descriptor per client; the hard limit may be all we get. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rlim_t want = b.n + 64;

		if (want > rl.rlim_max && setrlimit(RLIMIT_NOFILE,
		    &(struct rlimit){ want, want }) == 0)
			rl.rlim_max = want;
		rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur < want) {
			fprintf(stderr, "qnet-load: %zu clients need %llu open "
			    "files, the limit is %llu\n", b.n,
			    (unsigned long long)want,
			    (unsigned long long)rl.rlim_cur);
			return 2;
		}
	}
	if (tls_dir != NULL)
		b.tls = tls_context(tls_dir);
	if ((b.c = calloc(b.n, sizeof(*b.c))) == NULL ||
	    (b.ep = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    (b.ep_bg = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    epoll_ctl(b.ep, EPOLL_CTL_ADD, b.ep_bg, &(struct epoll_event){
	    .events = EPOLLIN, .data.ptr = NULL }) != 0)
		return 2;
	for (size_t i = 0; i < b.n; i++) {
		struct client *c = &b.c[i];

		c->fd = -1;
		c->cluster = (uint32_t)(i / b.nodes);
		c->node_id = (uint32_t)(i % b.nodes) + 1;
		c->seq = 1;
		c->bg = i >= b.nmain;
		c->tls = b.tls != NULL && (!c->bg || b.bg_tls);
		reader_init(&c->rd, 1 << 20);
		buf_init(&c->out);
		whole(&b, c);
	}

	b.rss_base_kb = proc_rss_kb(b.qnetd_pid);
	/* A peer that closed first must not kill us: EPIPE drops the client. */
	signal(SIGPIPE, SIG_IGN);
	phases = strdup(b.phases);
	for (p = strtok_r(phases, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		if (strcmp(p, "connect") == 0)
			phase_connect(&b, "connect", 0, b.n);
		else if (strcmp(p, "steady") == 0)
			phase_steady(&b);
		else if (strcmp(p, "storm") == 0)
			phase_storm(&b);
		else if (strcmp(p, "reconnect") == 0)
			phase_reconnect(&b, "reconnect", b.n);
		else if (strcmp(p, "tls-storm") == 0)
			phase_tls_storm(&b);
		else if (strcmp(p, "hold") == 0) {
			/* 2 s connected and silent (a profiler stops meanwhile). */
			b.quiet = 1;
			run(&b, 2000, 0);
			b.quiet = 0;
		}
		else
			usage();
	}
	free(phases);
	return 0;
}
