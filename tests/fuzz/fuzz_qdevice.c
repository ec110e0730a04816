/*
 * libFuzzer target: the qdevice net model (qdevice/net.c, net_link.c,
 * net_out.c, net_msg.c, with cast.c and policy.c) fed arbitrary server replies in whatever state it
 * is in: waiting for PREINIT_REPLY, INIT_REPLY, connected, after a
 * reconnect.
 *
 * Every input builds a fresh instance: configuration as corosync would
 * give it (cluster "demo", node 1, the algorithm from the input), TLS off,
 * the model's real connection code connecting over TCP to a listening
 * socket of the harness, which plays qnetd.  What corosync and the
 * heuristics worker provide is stubbed here: the votequorum adapter
 * (vq.h: its view, node votes, and the cast vote timer of cast.c with a
 * stub poll), the heuristics adapter (heur.h: the worker's results come
 * as input events) and start.c's events table (phase, exit).
 *
 * Input: two configuration bytes (CFG_*, CFG2_*), then records
 *
 *	[op < 0x80] [len] [len bytes]	raw bytes from the server
 *	[0x80-0x8f]	the well-formed reply to the oldest request not yet
 *			answered; vote from the low 3 bits (VOTES[]), bit 3:
 *			a stale ring id
 *	[0x90-0x9f]	a VOTE_INFO pushed by the server, same bits
 *	[0xa0]		the server closes the connection
 *	[0xa1]		time passes up to the next timer deadline
 *	[0xa2] [h]	the pending heuristics run ends with h % 3
 *	[0xa3] [b]	corosync: new membership (1 + b % 4 members, new ring)
 *	[0xa4] [b]	corosync: quorum notification (quorate = b & 1)
 *	[0xa5] [b]	corosync: configured node list (1 + b % 4 nodes)
 *	[0xa6]		corosync: expected votes changed
 *	[0xa7]		heuristics switched on by a configuration reload
 *	[0xa8]		the regular heuristics timer fires (mode on)
 *	[0xa9]		qnetd stops / starts listening (connects are refused)
 *	other ops are ignored.
 *
 * After each record the loop runs until nothing more happens.  What the
 * qdevice sends is checked: whole, decodable client-to-server messages
 * with the options qnetd requires (PROTOCOL.md §5.1), never STARTTLS (TLS
 * is off).  At the end, or when the model ends the daemon, everything is
 * closed and the loop run dry, so LeakSanitizer sees the whole life cycle.
 *
 * FUZZ_QDEVICE_LOG=1 in the environment logs at debug level to stderr.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "cast.h"
#include "heur.h"
#include "log.h"
#include "msg.h"
#include "net_int.h"
#include "reader.h"
#include "vq.h"

#define MAX_ROUNDS	20000	/* loop iterations for one record */
#define MAX_PENDING	64	/* requests waiting for a reply */
#define NODES_MAX	4

/* First configuration byte */
#define CFG_ALGO_MASK	0x03	/* enum qn_algo */
#define CFG_HEUR_SHIFT	2	/* 0 off, 1 on, 2 sync, 3 off */
#define CFG_WFA		0x10	/* quorum.wait_for_all */
#define CFG_QUORATE	0x20	/* corosync says quorate at the start */
#define CFG_POLL_FAILS	0x40	/* votequorum_qdevice_poll fails */
#define CFG_SMALL_RECV	0x80	/* net_initial_msg_receive_size = 64 */
/* Second configuration byte */
#define CFG2_NO_KAP	0x01	/* keep_active_partition_tie_breaker off */
#define CFG2_TB_HIGH	0x02	/* tie_breaker highest */
#define CFG2_THREE	0x04	/* three configured nodes, not two */
#define CFG2_VOTES_2	0x08	/* node 3 has 2 votes (ffsplit refuses) */

static const uint8_t VOTES[8] = { QN_VOTE_ACK, QN_VOTE_NACK,
    QN_VOTE_ASK_LATER, QN_VOTE_WAIT_FOR_REPLY, QN_VOTE_NO_CHANGE,
    QN_VOTE_ACK, QN_VOTE_NACK, 0 /* invalid on the wire */ };

/* A request of the qdevice, kept for the reply. */
struct request {
	uint16_t type;
	uint32_t seq;
	int has_seq;
	uint8_t list_type;
	uint8_t heuristics;
	uint32_t heartbeat;
	int has_heartbeat;
	uint8_t kap;
	int has_kap;
	uint8_t *raw;		/* ECHO_REQUEST: the bytes to copy */
	size_t len;
};

/* The adapters the model talks to, as stubs. */
struct qd_vq {
	struct qd_vq_view v;
	struct cast cast;
	int cast_up;
};

struct qd_heur {
	struct heur_config cfg;
	uint32_t pending_seq;		/* 0: no run outstanding */
	unsigned pending_for;		/* HEUR_FOR_* */
	uint32_t pending_timeout;
	struct qd_heur_results res;
};

struct harness {
	struct qd_net *net;
	struct qd_vq vq;
	struct qd_heur heur;
	struct qd_events ev;
	struct qdevice_settings set;
	struct qdevice_config conf;	/* corosync.conf */
	struct nodelist nodes;		/* until the model takes it */
	enum phase phase;
	int exit_status;
	uv_loop_t loop;
	int loop_up;
	uint8_t cfg, cfg2;

	/* The server's end of the current connection. */
	int srv;
	struct reader rd;
	struct request pending[MAX_PENDING];
	size_t npending;
	struct qn_ring_id ring;		/* the client's last ring id */
	uint32_t vote_info_seq;

	uint32_t heur_seq;
	uint64_t ring_seq;
	unsigned polls;
};

static struct harness h;
static int listen_fd = -1;
static uint16_t listen_port;
static uint16_t closed_port;		/* nothing listens there */

static void __attribute__((noreturn))
fail(const char *what)
{
	fprintf(stderr, "fuzz_qdevice: %s\n", what);
	abort();
}

/* ------------------------------------------------------------------ */
/* Stubs: votequorum, the heuristics worker, start.c */

static int
vq_poll(void *arg, int cast_vote)
{
	(void)arg;
	(void)cast_vote;
	h.polls++;
	return h.cfg & CFG_POLL_FAILS ? -1 : 0;
}

static void
ev_exit(void *arg, int status, int unregister)
{
	(void)arg;
	(void)unregister;
	if (h.phase == PHASE_EXITING)
		return;
	h.phase = PHASE_EXITING;
	h.exit_status = status;
	uv_stop(&h.loop);
}

static void
vq_poll_failed(void *arg)
{
	ev_exit(arg, 1, 0);
}

static enum phase
ev_phase(void *arg)
{
	(void)arg;
	return h.phase;
}

const struct qd_vq_view *
qd_vq_view(const struct qd_vq *vq)
{
	return &vq->v;
}

int
qd_vq_node_votes(struct qd_vq *vq, uint32_t node_id, uint32_t *votes,
    uint32_t *qdevice_votes)
{
	(void)vq;
	if (node_id > NODES_MAX)
		return 1;		/* not known to votequorum */
	*votes = node_id == 3 && (h.cfg2 & CFG2_VOTES_2) ? 2 : 1;
	*qdevice_votes = 1;
	return 0;
}

int
qd_vq_cast(struct qd_vq *vq, uint8_t vote)
{
	return cast_set_vote(&vq->cast, vote);
}

uint8_t
qd_vq_vote(const struct qd_vq *vq)
{
	return vq->cast.vote;
}

void
qd_vq_cast_pause(struct qd_vq *vq, int paused)
{
	cast_pause(&vq->cast, paused);
}

void
qd_heur_run(struct qd_heur *hr, unsigned purpose, int sync)
{
	hr->pending_seq = ++h.heur_seq;
	hr->pending_for |= purpose;
	hr->pending_timeout = sync ? hr->cfg.sync_timeout : hr->cfg.timeout;
}

void
qd_heur_stop_regular(struct qd_heur *hr)
{
	(void)hr;
}

int
qd_heur_enabled(const struct qd_heur *hr)
{
	return hr->cfg.mode != HEUR_MODE_OFF;
}

/* What heur.c does with the worker's answer. */
static void
heur_result(uint8_t v)
{
	struct qd_heur *hr = &h.heur;
	unsigned purposes = hr->pending_for;
	uint8_t prev;

	if (hr->pending_seq == 0 || h.phase == PHASE_EXITING)
		return;
	hr->pending_seq = 0;
	hr->pending_for = 0;
	if (purposes & HEUR_FOR_MEMBERSHIP)
		hr->res.membership = v;
	if (purposes & HEUR_FOR_CONNECT)
		hr->res.connect = v;
	if (purposes & HEUR_FOR_REGULAR)
		hr->res.regular = v;
	prev = hr->res.latest;
	net_heur_result(h.net, purposes, prev, v);
	hr->res.latest = v;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct log_opts lo = { .foreground = 1, .debug = 1 };
	struct sockaddr_in sa = { .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);

	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	if (getenv("FUZZ_QDEVICE_LOG") != NULL)
		log_open("fuzz_qdevice", &lo);
	/* qnetd, as far as the model can tell. */
	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa,
	    sizeof(sa)) != 0 || listen(listen_fd, 64) != 0 ||
	    getsockname(listen_fd, (struct sockaddr *)&sa, &len) != 0)
		fail("can't listen on 127.0.0.1");
	listen_port = ntohs(sa.sin_port);
	/* A port that was just free: connecting there is refused. */
	{
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		sa.sin_port = 0;
		len = sizeof(sa);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa,
		    sizeof(sa)) != 0 || getsockname(fd,
		    (struct sockaddr *)&sa, &len) != 0)
			fail("can't find a free port");
		closed_port = ntohs(sa.sin_port);
		close(fd);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* The server's side */

static void
request_free(struct request *r)
{
	free(r->raw);
	r->raw = NULL;
}

static void
server_close(void)
{
	if (h.srv != -1)
		close(h.srv);
	h.srv = -1;
	reader_free(&h.rd);
	reader_init(&h.rd, 1 << 20);
	for (size_t i = 0; i < h.npending; i++)
		request_free(&h.pending[i]);
	h.npending = 0;
}

static int
has_all(const struct msg *m, uint32_t bits)
{
	return (m->has & bits) == bits;
}

/* A message the qdevice sent: check it, keep requests for the reply. */
static void
client_message(const uint8_t *data, size_t len)
{
	const uint32_t seq = QN_BIT(QN_OPT_SEQ);
	struct request r = { 0 };
	struct msg m;
	int ok;

	if (msg_decode(data, len, &m) != DECODE_OK)
		fail("the qdevice sent a message that does not decode");
	switch (m.type) {
	case QN_MSG_PREINIT:
		ok = has_all(&m, seq | QN_BIT(QN_OPT_CLUSTER_NAME)) &&
		    m.cluster_name_len == 4 &&
		    memcmp(m.cluster_name, "demo", 4) == 0;
		break;
	case QN_MSG_INIT:
		/* qnetd 3.0.3 requires 4 and 5 back only if INIT had them. */
		ok = has_all(&m, seq | QN_BIT(QN_OPT_NODE_ID) |
		    QN_BIT(QN_OPT_ALGORITHM) |
		    QN_BIT(QN_OPT_HEARTBEAT_INTERVAL) |
		    QN_BIT(QN_OPT_TIE_BREAKER) | QN_BIT(QN_OPT_RING_ID) |
		    QN_BIT(QN_OPT_SUPPORTED_MESSAGES) |
		    QN_BIT(QN_OPT_SUPPORTED_OPTIONS)) && m.node_id == 1;
		if (ok)
			h.ring = m.ring_id;
		break;
	case QN_MSG_NODE_LIST:
		ok = has_all(&m, seq | QN_BIT(QN_OPT_NODE_LIST_TYPE)) &&
		    (m.node_list_type != QN_LIST_MEMBERSHIP ||
		    msg_has(&m, QN_OPT_RING_ID)) &&
		    (m.node_list_type != QN_LIST_QUORUM ||
		    msg_has(&m, QN_OPT_QUORATE));
		if (ok && m.node_list_type == QN_LIST_MEMBERSHIP)
			h.ring = m.ring_id;
		break;
	case QN_MSG_SET_OPTION:
	case QN_MSG_ECHO_REQUEST:
	case QN_MSG_ASK_FOR_VOTE:
	case QN_MSG_VOTE_INFO_REPLY:
		ok = has_all(&m, seq);
		break;
	case QN_MSG_HEURISTICS_CHANGE:
		ok = has_all(&m, seq | QN_BIT(QN_OPT_HEURISTICS));
		break;
	case QN_MSG_STARTTLS:
		fail("STARTTLS with TLS off");
	default:
		fail("the qdevice sent a server message type");
	}
	if (!ok) {
		msg_free(&m);
		fail("the qdevice's message lacks an option qnetd requires");
	}
	if (m.type != QN_MSG_VOTE_INFO_REPLY && h.npending < MAX_PENDING) {
		r.type = m.type;
		r.seq = m.seq;
		r.has_seq = msg_has(&m, QN_OPT_SEQ);
		r.list_type = m.node_list_type;
		r.heuristics = m.heuristics;
		r.heartbeat = m.heartbeat_interval;
		r.has_heartbeat = msg_has(&m, QN_OPT_HEARTBEAT_INTERVAL);
		r.kap = m.kap_tie_breaker;
		r.has_kap = msg_has(&m, QN_OPT_KAP_TIE_BREAKER);
		if (m.type == QN_MSG_ECHO_REQUEST &&
		    (r.raw = malloc(len)) != NULL) {
			memcpy(r.raw, data, len);
			r.len = len;
		}
		h.pending[h.npending++] = r;
	}
	msg_free(&m);
}

/* Take the qdevice's new connection; read what it sent.  1: progress. */
static int
server_io(void)
{
	uint8_t buf[8192];
	int got = 0, fd;
	ssize_t n;

	while ((fd = accept4(listen_fd, NULL, NULL,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		/* One connection at a time: a new one replaces the old. */
		server_close();
		h.srv = fd;
		got = 1;
	}
	while (h.srv != -1) {
		n = read(h.srv, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		got = 1;
		if (n <= 0) {
			server_close();
			break;
		}
		for (size_t off = 0; off < (size_t)n; ) {
			size_t used, len;
			enum reader_status st = reader_feed(&h.rd, buf + off,
			    (size_t)n - off, &used);
			const uint8_t *m;

			off += used;
			if (st == READER_MORE)
				continue;
			if (st != READER_MESSAGE)
				fail("the qdevice sent an unknown type");
			m = reader_message(&h.rd, &len);
			client_message(m, len);
			reader_next(&h.rd);
		}
	}
	return got;
}

static void
server_write(const uint8_t *p, size_t len)
{
	while (h.srv != -1 && len > 0) {
		ssize_t n = send(h.srv, p, len, MSG_NOSIGNAL);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else {
			/* Full (the qdevice stopped reading) or gone. */
			return;
		}
	}
}

static void
server_send(struct msg *m)
{
	struct buf b;

	buf_init(&b);
	if (msg_encode(m, &b, SIZE_MAX) == 0)
		server_write(b.data, b.len);
	buf_free(&b);
}

static void
vote_opts(struct msg *m, uint8_t op)
{
	struct qn_ring_id ring = h.ring;

	if (op & 8)
		ring.seq--;			/* a vote for an old ring */
	msg_set_vote(m, VOTES[op & 7]);
	msg_set_ring_id(m, &ring);
}

/* What qnetd answers to the oldest request not yet answered. */
static void
auto_reply(uint8_t op)
{
	struct request r;
	struct msg m;

	if (h.npending == 0)
		return;
	r = h.pending[0];
	memmove(h.pending, h.pending + 1, --h.npending * sizeof(r));
	msg_init(&m, QN_MSG_SERVER_ERROR);
	if (r.has_seq)
		msg_set_seq(&m, r.seq);
	switch (r.type) {
	case QN_MSG_PREINIT:
		m.type = QN_MSG_PREINIT_REPLY;
		/* Mostly TLS off; sometimes on or required (incompatible). */
		msg_set_tls_supported(&m, (op & 7) < 5 ? QN_TLS_UNSUPPORTED :
		    (op & 7) < 7 ? QN_TLS_SUPPORTED : QN_TLS_REQUIRED);
		msg_set_tls_client_cert_required(&m, 1);
		break;
	case QN_MSG_INIT:
		m.type = QN_MSG_INIT_REPLY;
		msg_set_reply_error_code(&m,
		    op & 8 ? (op & 7) + 12 : QN_ERR_NONE);
		msg_set_server_max_request_size(&m, 32768);
		msg_set_server_max_reply_size(&m, 32768);
		msg_set_supported_messages(&m, &msg_all_messages);
		msg_set_supported_options(&m, &msg_all_options);
		msg_set_supported_algorithms(&m, &msg_all_algorithms);
		break;
	case QN_MSG_SET_OPTION:
		m.type = QN_MSG_SET_OPTION_REPLY;
		if (r.has_heartbeat)
			msg_set_heartbeat_interval(&m, r.heartbeat);
		if (r.has_kap)
			msg_set_kap_tie_breaker(&m, r.kap);
		break;
	case QN_MSG_ECHO_REQUEST:
		if (r.raw != NULL) {
			r.raw[1] = QN_MSG_ECHO_REPLY;
			server_write(r.raw, r.len);
		}
		request_free(&r);
		return;
	case QN_MSG_NODE_LIST:
		m.type = QN_MSG_NODE_LIST_REPLY;
		msg_set_node_list_type(&m, r.list_type);
		vote_opts(&m, op);
		break;
	case QN_MSG_ASK_FOR_VOTE:
		m.type = QN_MSG_ASK_FOR_VOTE_REPLY;
		vote_opts(&m, op);
		break;
	case QN_MSG_HEURISTICS_CHANGE:
		m.type = QN_MSG_HEURISTICS_CHANGE_REPLY;
		msg_set_heuristics(&m, r.heuristics);
		vote_opts(&m, op);
		break;
	default:
		request_free(&r);
		return;
	}
	server_send(&m);
}

static void
vote_info(uint8_t op)
{
	struct msg m;

	msg_init(&m, QN_MSG_VOTE_INFO);
	msg_set_seq(&m, ++h.vote_info_seq);
	vote_opts(&m, op);
	server_send(&m);
}

/* ------------------------------------------------------------------ */
/* The loop */

static int
busy(void)
{
	struct net_link *l = &h.net->link;
	int avail = 0;

	if (uv_is_active((uv_handle_t *)&l->conn_ctx.idle) ||
	    uv_is_active((uv_handle_t *)&l->disconnect_idle))
		return 1;
	if (l->conn != NULL && !l->conn->closing && !l->conn->failed &&
	    l->conn->fd >= 0 && ioctl(l->conn->fd, FIONREAD, &avail) == 0 &&
	    avail > 0)
		return 1;
	return 0;
}

/* Waiting for the resolver's thread or for the TCP connect. */
static int
connecting(void)
{
	struct net_link *l = &h.net->link;

	return l->resolving != NULL ||
	    (l->conn != NULL && l->conn->connecting && !l->conn->failed);
}

static void
pump(void)
{
	int waits = 0;

	for (int i = 0; i < MAX_ROUNDS; i++) {
		int got;

		uv_run(&h.loop, UV_RUN_NOWAIT);
		if (h.phase == PHASE_EXITING)
			return;
		got = server_io();
		/* With heuristics off the worker answers at once. */
		if (h.heur.pending_seq != 0 &&
		    h.heur.cfg.mode == HEUR_MODE_OFF) {
			heur_result(QN_HEUR_UNDEFINED);
			got = 1;
		}
		if (got || busy())
			continue;
		if (!connecting())
			return;
		if (++waits > 5000)
			fail("the connection to qnetd does not come up");
		usleep(100);
	}
	fail("the loop does not settle (livelock?)");
}

struct deadline {
	uint64_t next;
	int fire;
};

static void
deadline_walk(uv_handle_t *hd, void *arg)
{
	struct deadline *d = arg;
	uv_timer_t *t = (uv_timer_t *)hd;

	if (hd->type != UV_TIMER || !uv_is_active(hd))
		return;
	if (!d->fire && uv_timer_get_due_in(t) < d->next)
		d->next = uv_timer_get_due_in(t);
	else if (d->fire && uv_timer_get_due_in(t) <= d->next)
		/* timer_cb is libuv's (private) record of the callback. */
		uv_timer_start(t, t->timer_cb, 0, uv_timer_get_repeat(t));
}

/* Time passes up to the next timer deadline: the timers due then fire. */
static void
advance(void)
{
	struct deadline d = { UINT64_MAX, 0 };

	uv_walk(&h.loop, deadline_walk, &d);
	if (d.next == UINT64_MAX)
		return;
	d.fire = 1;
	uv_walk(&h.loop, deadline_walk, &d);
	pump();
}

/* ------------------------------------------------------------------ */
/* Corosync */

static void
set_members(size_t count)
{
	struct qd_vq_view *vq = &h.vq.v;

	free(vq->members);
	vq->members = calloc(count, sizeof(*vq->members));
	vq->member_count = vq->members != NULL ? count : 0;
	for (size_t i = 0; i < vq->member_count; i++)
		vq->members[i] = (uint32_t)i + 1;
	vq->ring_id = (struct qn_ring_id){ 1, ++h.ring_seq };
	vq->has_ring_id = 1;
}

static void
set_quorum(int quorate)
{
	struct qd_vq_view *vq = &h.vq.v;
	size_t n = vq->member_count + 1;

	free(vq->quorum_nodes);
	vq->quorum_nodes = calloc(n, sizeof(*vq->quorum_nodes));
	vq->quorum_count = vq->quorum_nodes != NULL ? n : 0;
	for (size_t i = 0; i < vq->quorum_count; i++) {
		/* The last entry is the device itself (node id 0). */
		vq->quorum_nodes[i].nodeid = i + 1 < n ? (uint32_t)i + 1 : 0;
		vq->quorum_nodes[i].state = 1;
	}
	vq->quorate = quorate;
	vq->has_quorum = 1;
}

static int
make_nodelist(struct nodelist *nl, size_t count, int version)
{
	memset(nl, 0, sizeof(*nl));
	if ((nl->nodes = calloc(count, sizeof(*nl->nodes))) == NULL)
		return -1;
	nl->count = count;
	for (size_t i = 0; i < count; i++)
		nl->nodes[i].node_id = (uint32_t)i + 1;
	nl->has_config_version = version;
	nl->config_version = 7;
	return 0;
}

/* ------------------------------------------------------------------ */

static int
setup(uint8_t cfg, uint8_t cfg2)
{
	struct qdevice_config *c = &h.conf;
	struct qd_heur *hr = &h.heur;
	static const enum heur_mode modes[4] = { HEUR_MODE_OFF, HEUR_MODE_ON,
	    HEUR_MODE_SYNC, HEUR_MODE_OFF };

	memset(&h, 0, sizeof(h));
	h.cfg = cfg;
	h.cfg2 = cfg2;
	h.srv = -1;
	reader_init(&h.rd, 1 << 20);
	h.ring_seq = 8;

	/* main.c's defaults, those the model uses. */
	h.set.net_initial_msg_receive_size = cfg & CFG_SMALL_RECV ? 64 : 32768;
	h.set.net_initial_msg_send_size = 32768;
	h.set.net_min_msg_send_size = 32768;
	h.set.net_max_msg_receive_size = 16777216;
	h.set.net_max_send_buffers = 10;

	/* corosync.conf: quorum.device.timeout 10000 and what follows. */
	c->node_id = 1;
	c->cluster_name = strdup("demo");
	c->timeout = 10000;
	c->sync_timeout = 30000;
	c->has_votes = 1;
	c->votes = 1;
	c->wait_for_all = (cfg & CFG_WFA) != 0;
	c->net.host = strdup("127.0.0.1");
	c->net.port = listen_port;
	c->net.tls = QN_TLS_UNSUPPORTED;
	c->net.algorithm = cfg & CFG_ALGO_MASK;
	c->net.tie_breaker.mode = cfg2 & CFG2_TB_HIGH ? QN_TB_HIGHEST :
	    QN_TB_LOWEST;
	c->net.kap = !(cfg2 & CFG2_NO_KAP);
	c->net.heartbeat_interval = 8000;
	c->net.cast_vote_interval = 5000;
	c->net.connect_timeout = 8000;
	hr->cfg.mode = modes[(cfg >> CFG_HEUR_SHIFT) & 3];
	hr->cfg.timeout = 5000;
	hr->cfg.sync_timeout = 15000;
	hr->cfg.interval = 30000;
	h.ev = (struct qd_events){ .arg = &h, .phase = ev_phase,
	    .exit = ev_exit };
	if (c->cluster_name == NULL || c->net.host == NULL ||
	    make_nodelist(&h.nodes, cfg2 & CFG2_THREE ? 3 : 2, 0) != 0)
		return -1;
	set_members(cfg2 & CFG2_THREE ? 3 : 2);
	set_quorum((cfg & CFG_QUORATE) != 0);

	if (uv_loop_init(&h.loop) != 0)
		fail("uv_loop_init");
	h.loop_up = 1;
	h.phase = PHASE_RUNNING;
	if ((h.net = net_new()) == NULL)
		return -1;
	if (net_init(h.net, &h.loop, &h.set, &h.conf, &h.nodes, &h.vq, hr,
	    &h.ev) != 0)
		return -1;
	/* start.c: the cast vote timer comes with the model. */
	cast_init(&h.vq.cast, &h.loop, c->net.cast_vote_interval, vq_poll,
	    vq_poll_failed, &h);
	h.vq.cast_up = 1;
	/* The reconnect jitter, reproducible. */
	h.net->rng = UINT64_C(0x9e3779b97f4a7c15);
	net_start(h.net);
	pump();
	return 0;
}

static void
close_walk(uv_handle_t *hd, void *arg)
{
	(void)arg;
	if (!uv_is_closing(hd))
		uv_close(hd, NULL);
}

static void
teardown(void)
{
	int fd;

	/* start.c's teardown, without NSS_Shutdown (NSS stays up). */
	h.phase = PHASE_EXITING;
	if (h.net != NULL)
		net_close(h.net);
	if (h.vq.cast_up)
		cast_close(&h.vq.cast);
	if (h.loop_up) {
		uv_walk(&h.loop, close_walk, NULL);
		uv_run(&h.loop, UV_RUN_DEFAULT);
		if (uv_loop_close(&h.loop) != 0)
			fail("handles left open on the loop");
	}
	server_close();
	reader_free(&h.rd);
	while ((fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
		close(fd);
	config_free(&h.conf);
	heur_config_free(&h.heur.cfg);
	nodelist_free(&h.nodes);
	net_free(h.net);
	h.net = NULL;
	free(h.vq.v.members);
	free(h.vq.v.quorum_nodes);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nodelist nl;
	size_t off = 2;

	if (size < 2)
		return 0;
	if (setup(data[0], data[1]) != 0) {
		teardown();
		return 0;
	}
	while (off < size && h.phase != PHASE_EXITING) {
		uint8_t op = data[off++];
		uint8_t arg = off < size ? data[off] : 0;

		if (op < 0x80) {
			size_t len;

			if (off >= size)
				break;
			len = data[off++];
			if (len > size - off)
				len = size - off;
			server_write(data + off, len);
			off += len;
		} else if (op < 0x90) {
			auto_reply(op);
		} else if (op < 0xa0) {
			vote_info(op);
		} else if (op == 0xa0) {
			server_close();
		} else if (op == 0xa1) {
			advance();
		} else if (op <= 0xa5) {
			off++;
			if (op == 0xa2) {
				heur_result(arg % 3);
			} else if (op == 0xa3) {
				set_members(1 + arg % NODES_MAX);
				net_membership_changed(h.net);
			} else if (op == 0xa4) {
				set_quorum(arg & 1);
				net_quorum_changed(h.net);
			} else if (make_nodelist(&nl, 1 + arg % NODES_MAX,
			    arg & 4) == 0) {
				net_nodelist_changed(h.net, &nl);
				nodelist_free(&nl);
			}
		} else if (op == 0xa6) {
			net_expected_votes_changed(h.net);
		} else if (op == 0xa7) {
			if (h.heur.cfg.mode == HEUR_MODE_OFF) {
				h.heur.cfg.mode = HEUR_MODE_ON;
				net_heuristics_enabled(h.net);
			}
		} else if (op == 0xa8) {
			/* heur.c's regular_tick() */
			if (h.heur.cfg.mode == HEUR_MODE_ON &&
			    h.heur.pending_seq == 0)
				qd_heur_run(&h.heur, HEUR_FOR_REGULAR, 0);
		} else if (op == 0xa9) {
			h.conf.net.port = h.conf.net.port == listen_port ?
			    closed_port : listen_port;
		}
		pump();
	}
	teardown();
	return 0;
}
