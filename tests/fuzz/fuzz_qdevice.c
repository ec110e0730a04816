/*
 * libFuzzer target: the qdevice net model (qdevice/net.c, net_link.c,
 * net_out.c, net_msg.c, with cast.c and policy.c) fed arbitrary server replies in whatever state it
 * is in: waiting for PREINIT_REPLY, INIT_REPLY, connected, after a
 * reconnect.
 *
 * Every input builds a fresh instance: configuration as corosync would
 * give it (cluster "demo", node 1, the algorithm from the input), TLS off,
 * the model's real connection code connecting over TCP to a listening
 * socket of the harness, which plays qnetd (fuzz_qdevice_server.c).  What
 * corosync and the heuristics worker provide is stubbed in
 * fuzz_qdevice_stubs.c: the votequorum adapter
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

#include "fuzz_qdevice.h"
#include "log.h"

#define MAX_ROUNDS	20000	/* loop iterations for one record */

struct harness h;
int listen_fd = -1;
static uint16_t listen_port;
static uint16_t closed_port;		/* nothing listens there */

void __attribute__((noreturn))
fail(const char *what)
{
	fprintf(stderr, "fuzz_qdevice: %s\n", what);
	abort();
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
	/* The host list as config_read() makes it: host alone. */
	c->net.hosts[0].host = c->net.host;
	c->net.hosts[0].port = c->net.port;
	c->net.host_count = 1;
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
			h.conf.net.hosts[0].port = h.conf.net.port;
		}
		pump();
	}
	teardown();
	return 0;
}
