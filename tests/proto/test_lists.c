/*
 * Node lists at the size limit against a real corosync-qnetd over loopback
 * (issue 10, item 4; man/corosync-qnetd.8, LIMITS): 20 clients of one
 * cluster send 2,700-node lists (32 KB each, under max_client_receive_size)
 * and ring changes, as fast as the daemon reads them, while a new cluster
 * must be decided within 2 s.  The flooding cluster's clients must all be
 * answered, keep their connections (no dead-peer loss while their reading
 * was paused) and end with the vote for their full membership.
 *
 * Each test starts its own daemon (harness.h; -f -d -s off, 127.0.0.1, a
 * free port, lock file and IPC socket in a scratch directory), killed with
 * the test and asserted to exit 0 on SIGTERM.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define LISTS_TIMEOUT	240	/* seconds: the sanitizer build is slow */
#define FLOOD_CLIENTS	20
#define LIST_NODES	2700	/* 12 bytes each: 32,412-byte messages */
#define RING_CHANGES	5
/* Config, first membership, then one membership per ring change. */
#define FLOOD_LISTS	(2 + RING_CHANGES)
/*
 * The heartbeat minimum: a dead-peer timeout of 1.5 s, shorter than the
 * time the flooding cluster's messages wait while its reading is paused.
 */
#define HEARTBEAT_MS	1000
#define DECIDED_MS	2000	/* the deadline for the other cluster */
#define FLOOD_DONE_MS	120000	/* every flood list answered */

/* Start with extra -S settings (NULL: none) and wait until it listens. */
static void
lists_srv_start(struct srv *s, const char *extra)
{
	srv_prepare(s);
	if (extra != NULL)
		SRV_LAUNCH(s, "-s", "off", "-S", extra);
	else
		SRV_LAUNCH(s, "-s", "off");
}

/* ------------------------------------------------------------------ */
/* Clients driven by one poll loop: what to send, what came back */

struct cli {
	int fd;
	uint32_t node_id;
	uint32_t seq;
	struct buf out;		/* encoded, not yet written */
	size_t out_off;
	struct reader rd;
	int list_replies;	/* NODE_LIST_REPLYs */
	uint8_t vote;		/* last ACK or NACK, 0 = none */
	struct qn_ring_id vote_ring;
	int closed;
	int64_t next_echo;	/* a qdevice sends one every heartbeat */
};

static void
put_msg(struct cli *c, struct msg *m)
{
	msg_set_seq(m, c->seq++);
	ck_assert_int_eq(msg_encode(m, &c->out, SIZE_MAX), 0);
}

/* PREINIT and INIT, pipelined: without TLS nothing waits for the replies. */
static void
cli_open(struct cli *c, const struct srv *s, const char *cluster,
    uint32_t node_id, uint32_t heartbeat)
{
	struct msg m;

	memset(c, 0, sizeof(*c));
	ck_assert_int_ge(c->fd = tcp_connect(s, NULL, 0), 0);
	c->node_id = node_id;
	c->seq = 1;
	c->next_echo = now_ms() + heartbeat;
	buf_init(&c->out);
	reader_init(&c->rd, 1 << 16);
	msg_init(&m, QN_MSG_PREINIT);
	msg_set_cluster_name(&m, cluster, strlen(cluster));
	put_msg(c, &m);
	msg_init(&m, QN_MSG_INIT);
	msg_set_supported_messages(&m, &msg_all_messages);
	msg_set_supported_options(&m, &msg_all_options);
	msg_set_node_id(&m, node_id);
	msg_set_algorithm(&m, QN_ALGO_FFSPLIT);
	msg_set_heartbeat_interval(&m, heartbeat);
	msg_set_tie_breaker(&m,
	    &(struct qn_tie_breaker){ .mode = QN_TB_LOWEST });
	msg_set_ring_id(&m, &(struct qn_ring_id){ 1, 1 });
	put_msg(c, &m);
}

/* A config (ring seq 0) or membership list of nodes 1..count. */
static void
put_list(struct cli *c, uint64_t ring_seq, const struct qn_node *nodes,
    size_t count)
{
	struct msg m;

	msg_init(&m, QN_MSG_NODE_LIST);
	msg_set_node_list_type(&m, ring_seq == 0 ? QN_LIST_INITIAL_CONFIG :
	    QN_LIST_MEMBERSHIP);
	msg_set_nodes(&m, (struct qn_node *)nodes, count);
	if (ring_seq != 0)
		msg_set_ring_id(&m, &(struct qn_ring_id){ 1, ring_seq });
	put_msg(c, &m);
}

/* What a qdevice does with a reply: note votes, answer VOTE_INFO. */
static void
cli_got(struct cli *c, const struct msg *r)
{
	struct msg m;

	switch (r->type) {
	case QN_MSG_NODE_LIST_REPLY:
		c->list_replies++;
		break;
	case QN_MSG_VOTE_INFO:
		msg_init(&m, QN_MSG_VOTE_INFO_REPLY);
		msg_set_seq(&m, r->seq);
		ck_assert_int_eq(msg_encode(&m, &c->out, SIZE_MAX), 0);
		break;
	case QN_MSG_INIT_REPLY:
		ck_assert_int_eq(r->reply_error_code, 0);
		return;
	default:
		return;
	}
	if (r->vote == QN_VOTE_ACK || r->vote == QN_VOTE_NACK) {
		c->vote = r->vote;
		c->vote_ring = r->ring_id;
	}
}

static void
cli_read(struct cli *c)
{
	enum reader_status st;
	const uint8_t *data;
	uint8_t *dst;
	size_t want, len;
	struct msg r;
	ssize_t n;

	for (;;) {
		dst = reader_space(&c->rd, &want);
		if ((n = read(c->fd, dst, want)) < 0 &&
		    (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			c->closed = 1;
			return;
		}
		if ((st = reader_commit(&c->rd, (size_t)n)) == READER_MORE)
			continue;
		ck_assert_int_eq(st, READER_MESSAGE);
		data = reader_message(&c->rd, &len);
		ck_assert_int_eq(msg_decode(data, len, &r), DECODE_OK);
		cli_got(c, &r);
		msg_free(&r);
		reader_next(&c->rd);
	}
}

static void
cli_write(struct cli *c)
{
	ssize_t n;

	while (c->out_off < c->out.len) {
		n = send(c->fd, c->out.data + c->out_off,
		    c->out.len - c->out_off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			c->closed = 1;
			return;
		}
		c->out_off += (size_t)n;
	}
	c->out.len = c->out_off = 0;
}

/* One poll round over n clients, at most ms; echoes as they are due. */
static void
pump(struct cli *v, size_t n, int ms)
{
	struct pollfd p[FLOOD_CLIENTS + 1];
	struct msg m;

	ck_assert_uint_le(n, ARRAY_LEN(p));
	for (size_t i = 0; i < n; i++) {
		if (now_ms() >= v[i].next_echo) {
			msg_init(&m, QN_MSG_ECHO_REQUEST);
			put_msg(&v[i], &m);
			v[i].next_echo += HEARTBEAT_MS;
		}
	}
	for (size_t i = 0; i < n; i++)
		p[i] = (struct pollfd){ .fd = v[i].closed ? -1 : v[i].fd,
		    .events = POLLIN | (v[i].out_off < v[i].out.len ?
		    POLLOUT : 0) };
	if (poll(p, n, ms) <= 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (p[i].revents & POLLOUT)
			cli_write(&v[i]);
		if (p[i].revents & (POLLIN | POLLHUP | POLLERR))
			cli_read(&v[i]);
	}
}

static void
cli_close(struct cli *c)
{
	close(c->fd);
	buf_free(&c->out);
	reader_free(&c->rd);
}

/* ------------------------------------------------------------------ */
/* Tests */

/*
 * Maximum-size lists from 20 clients of cluster "big", and meanwhile a new
 * cluster "other" is decided within 2 s.  extra: settings for the daemon;
 * watch_ms: 0 to wait until every list is answered, else how long to
 * watch a flood slowed down by the cluster's CPU budget.
 */
static void
flood_with_other_cluster(const char *extra, int64_t watch_ms)
{
	static struct qn_node nodes[LIST_NODES];
	struct cli v[FLOOD_CLIENTS + 1], *other = &v[FLOOD_CLIENTS];
	struct qn_node one = { .node_id = 1 };
	int64_t t0, t_other = -1, decided = -1, cpu0, cpu, deadline;
	int answered, all = FLOOD_CLIENTS * FLOOD_LISTS;
	struct srv s;

	for (size_t i = 0; i < LIST_NODES; i++)
		nodes[i] = (struct qn_node){ .node_id = (uint32_t)i + 1 };
	lists_srv_start(&s, extra);
	for (size_t i = 0; i < FLOOD_CLIENTS; i++) {
		cli_open(&v[i], &s, "big", (uint32_t)i + 1, HEARTBEAT_MS);
		put_list(&v[i], 0, nodes, LIST_NODES);
		/* Ring 1, then 5 changes: every one a full-size list. */
		for (uint64_t r = 1; r <= RING_CHANGES + 1; r++)
			put_list(&v[i], r, nodes, LIST_NODES);
	}
	cpu0 = srv_cpu_ms(&s);
	t0 = now_ms();
	deadline = t0 + (watch_ms ? watch_ms : FLOOD_DONE_MS);
	do {
		/* Once the flood is under way, the other cluster arrives. */
		if (t_other < 0 && v[0].list_replies >= 1) {
			cli_open(other, &s, "other", 1, HEARTBEAT_MS);
			put_list(other, 0, &one, 1);
			put_list(other, 1, &one, 1);
			t_other = now_ms();
		}
		pump(v, t_other < 0 ? FLOOD_CLIENTS : FLOOD_CLIENTS + 1, 50);
		if (decided < 0 && t_other >= 0 && other->vote == QN_VOTE_ACK)
			decided = now_ms() - t_other;
		answered = 0;
		for (size_t i = 0; i <= FLOOD_CLIENTS; i++) {
			ck_assert_msg(i == FLOOD_CLIENTS || !v[i].closed,
			    "big node %zu was disconnected", i + 1);
			ck_assert_msg(i < FLOOD_CLIENTS || t_other < 0 ||
			    !other->closed, "other was disconnected");
			answered += i < FLOOD_CLIENTS ? v[i].list_replies : 0;
		}
		if (t_other >= 0 && decided < 0)
			ck_assert_msg(now_ms() - t_other <= DECIDED_MS,
			    "cluster \"other\" not decided within %d ms "
			    "(%d of %d flood lists answered)", DECIDED_MS,
			    answered, all);
	} while ((watch_ms > 0 || answered < all || decided < 0) &&
	    now_ms() < deadline);
	cpu = srv_cpu_ms(&s) - cpu0;
	printf("%d clients x %d lists of %d nodes%s%s: %d answered in %" PRId64
	    " ms, qnetd CPU %" PRId64 " ms (%.2f ms a list); other cluster "
	    "decided in %" PRId64 " ms\n", FLOOD_CLIENTS, FLOOD_LISTS,
	    LIST_NODES, extra ? ", " : "", extra ? extra : "", answered,
	    now_ms() - t0, cpu, answered ? (double)cpu / answered : 0.0,
	    decided);
	fflush(stdout);
	ck_assert_int_ge(decided, 0);
	if (watch_ms == 0) {
		ck_assert_msg(answered == all, "only %d of %d flood lists "
		    "answered", answered, all);
		/* The last ring is stable: every node ends with its ACK. */
		deadline = now_ms() + 10000;
		for (size_t i = 0; i < FLOOD_CLIENTS; i++)
			while (v[i].vote_ring.seq != RING_CHANGES + 1 &&
			    now_ms() < deadline)
				pump(v, FLOOD_CLIENTS + 1, 50);
		for (size_t i = 0; i < FLOOD_CLIENTS; i++)
			ck_assert_msg(v[i].vote == QN_VOTE_ACK &&
			    v[i].vote_ring.seq == RING_CHANGES + 1, "big node "
			    "%zu: vote %d for ring %" PRIu64, i + 1, v[i].vote,
			    v[i].vote_ring.seq);
	} else {
		/* Slowed down, not stopped. */
		ck_assert_int_gt(answered, 0);
		if (log_count(&s, "Limit max_cluster_cpu_per_second = ") == 0)
			print_log(&s);
		ck_assert_msg(log_count(&s, "Limit max_cluster_cpu_per_second "
		    "= ") > 0, "the budget was never reached");
	}
	for (size_t i = 0; i <= FLOOD_CLIENTS; i++) {
		ck_assert(!v[i].closed);
		cli_close(&v[i]);
	}
	ck_assert_int_eq(log_count(&s, "doesn't sent any message"), 0);
	srv_term(&s);
}

/* The defaults: every list answered, the last ring decided. */
START_TEST(t_big_lists_defaults)
{
	flood_with_other_cluster(NULL, 0);
}
END_TEST

/*
 * A budget the flood runs into at once: the cluster is slowed down, not
 * cut off, and for the whole watch (longer than the 1.5 s dead-peer
 * timeout) clients whose messages wait unread keep their connections.
 */
START_TEST(t_big_lists_budget)
{
	flood_with_other_cluster("max_cluster_cpu_per_second=1", 4000);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("qnetd node lists at the size limit");
	TCase *t = harness_tcase(s, "floods", LISTS_TIMEOUT);

	tcase_add_test(t, t_big_lists_defaults);
	tcase_add_test(t, t_big_lists_budget);
	return harness_run(s, 0);
}
