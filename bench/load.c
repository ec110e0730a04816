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
 *
 * This file runs the phases; the simulated qdevice is load_client.c, the
 * figures load_report.c.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "load.h"

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
	b->unexpected = b->errors = b->retries = b->resumed = 0;
	b->timeouts = b->double_ack = 0;
	memset(b->timeouts_in, 0, sizeof(b->timeouts_in));
	b->all_done_at = b->done == b->n ? 0 : UINT64_MAX;
	b->echo.n = b->bg_echo.n = b->decide.n = 0;
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
	/*
	 * Send the client certificate alone, as a qdevice's NSS does (it
	 * leaves the root out of the chain: checked with tstclnt), not with
	 * the CA OpenSSL would add from ca.crt, which qnetd would parse too.
	 */
	SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN);
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
	    "                 [-C connect_timeout_ms] [-J reconnect_jitter_ms] [-R]\n"
	    "-R: a TLS client reconnects offering its last session (tickets),\n"
	    "    as a qdevice's NSS does\n"
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

	while ((ch = getopt(argc, argv, "H:p:c:n:b:s:t:P:T:x:a:N:g:e:GC:J:R")) != -1) {
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
		case 'R': b.resume = 1; break;
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
