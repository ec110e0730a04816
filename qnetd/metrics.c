/*
 * corosync-qnetd's metrics and HTTP endpoint (metrics.h).  The counters
 * live in the modules that own the events (server.h, handshake.h,
 * handlers.h, send.h); this file only reads them and the state through
 * functions, and writes the Prometheus names of corosync-qnetd(8),
 * METRICS.
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "cluster.h"
#include "handlers.h"
#include "handshake.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "names.h"
#include "prom.h"
#include "qnetd.h"
#include "send.h"
#include "server.h"
#include "tls.h"

/* How often the loop-lag probe fires. */
#define LAG_PROBE_MS	1000

struct metrics {
	uv_timer_t lag_timer;
	uint64_t lag_due_ns;		/* when the probe is due */
	double lag;			/* s, at the last probe */
	uint64_t probes;
	struct http *http;
};

static void
on_lag_probe(uv_timer_t *t)
{
	struct metrics *m = t->data;
	uint64_t now = uv_hrtime();

	m->lag = now > m->lag_due_ns ? (double)(now - m->lag_due_ns) / 1e9 : 0;
	m->probes++;
	m->lag_due_ns = now + (uint64_t)LAG_PROBE_MS * 1000000;
}

/* ------------------------------------------------------------------ */
/* The text */

static void
write_clients(struct qnetd *q, struct prom *p)
{
	uint64_t tls = 0, plain = 0;

	for (const struct client *c = server_first_client(q); c != NULL;
	    c = server_next_client(c)) {
		if (c->closing)
			continue;
		if (c->tls_started)
			tls++;
		else
			plain++;
	}
	prom_family(p, "qnetd_clients", PROM_GAUGE,
	    "Connected clients, by whether they use TLS.");
	prom_begin(p, NULL);
	prom_label(p, "tls", "no");
	prom_value_u64(p, plain);
	prom_begin(p, NULL);
	prom_label(p, "tls", "yes");
	prom_value_u64(p, tls);
	prom_gauge(p, "qnetd_clusters", "Clusters with connected clients.",
	    (double)q->core.clusters.count);
}

/* A cluster's node state: its last ACK/NACK. */
static int
node_state(const struct member *m)
{
	return m->last_ack_nack == QN_VOTE_ACK ? 0 :
	    m->last_ack_nack == QN_VOTE_NACK ? 1 : 2;
}

static void
write_clusters(struct qnetd *q, struct prom *p, int nodes)
{
	static const char *const states[] = { "ack", "nack", "none" };
	const struct cluster *cl;
	const struct member *m;
	char tb[32];

	prom_family(p, "qnetd_cluster", PROM_INFO,
	    "A cluster: its algorithm and tie-breaker.");
	cluster_table_for_each(&q->core.clusters, cl) {
		if ((m = cluster_first(cl)) == NULL)
			continue;
		if (m->tie_breaker.mode == QN_TB_NODE_ID)
			snprintf(tb, sizeof(tb), "%" PRIu32,
			    m->tie_breaker.node_id);
		else
			snprintf(tb, sizeof(tb), "%s",
			    tb_mode_id(m->tie_breaker.mode));
		prom_begin(p, NULL);
		prom_label(p, "cluster", cl->name);
		prom_label(p, "algorithm", algo_id(m->algorithm));
		prom_label(p, "tie_breaker", tb);
		prom_value_u64(p, 1);
	}
	prom_family(p, "qnetd_cluster_nodes", PROM_GAUGE,
	    "A cluster's connected nodes by their last vote: ack, nack, none "
	    "(not yet, or ask later/wait for reply).");
	cluster_table_for_each(&q->core.clusters, cl) {
		uint64_t n[3] = { 0, 0, 0 };

		if (cluster_first(cl) == NULL)
			continue;
		cluster_for_each(cl, m)
			n[node_state(m)]++;
		for (int s = 0; s < 3; s++) {
			prom_begin(p, NULL);
			prom_label(p, "cluster", cl->name);
			prom_label(p, "state", states[s]);
			prom_value_u64(p, n[s]);
		}
	}
	if (!nodes)
		return;
	prom_family(p, "qnetd_node_vote", PROM_GAUGE,
	    "A node's last ACK or NACK (none: neither yet); only with "
	    "?nodes=1.");
	cluster_table_for_each(&q->core.clusters, cl)
		cluster_for_each(cl, m) {
			prom_begin(p, NULL);
			prom_label(p, "cluster", cl->name);
			prom_label_u64(p, "node_id", m->node_id);
			prom_label(p, "vote", m->last_ack_nack ==
			    QN_VOTE_UNDEFINED ? "none" :
			    vote_id(m->last_ack_nack));
			prom_value_u64(p, 1);
		}
	prom_family(p, "qnetd_node_heartbeat_interval_seconds", PROM_GAUGE,
	    "A node's heartbeat interval; only with ?nodes=1.");
	cluster_table_for_each(&q->core.clusters, cl)
		cluster_for_each(cl, m) {
			prom_begin(p, NULL);
			prom_label(p, "cluster", cl->name);
			prom_label_u64(p, "node_id", m->node_id);
			prom_value(p, m->heartbeat_interval / 1000.0);
		}
}

void
metrics_write(struct qnetd *q, struct buf *o, int openmetrics, int nodes)
{
	struct prom p;
	long long expiry;

	prom_init(&p, o, openmetrics);
	prom_family(&p, "qnetd_build", PROM_INFO,
	    "The version of corosync-qnetd and the upstream release it is "
	    "compatible with.");
	prom_begin(&p, NULL);
	prom_label(&p, "version", PACKAGE_VERSION);
	prom_label(&p, "compatible", "3.0.3");
	prom_value_u64(&p, 1);
	write_clients(q, &p);
	prom_counter(&p, "qnetd_connections_accepted",
	    "Connections accepted and admitted.", server_accepted());
	prom_counter(&p, "qnetd_connections_rejected",
	    "Connections refused at admission, by limit.", server_rejected());
	prom_counter(&p, "qnetd_client_disconnects",
	    "Clients disconnected, by reason.", server_disconnects());
	prom_counter(&p, "qnetd_tls_handshakes",
	    "TLS handshakes, by result.", hs_results());
	prom_histogram(&p, "qnetd_tls_handshake_duration_seconds",
	    "Time from STARTTLS to the first message through TLS.",
	    hs_durations());
	prom_counter(&p, "qnetd_messages_received",
	    "Messages received from clients, by type.", handlers_received());
	prom_counter(&p, "qnetd_votes",
	    "Votes sent to clients (replies and vote info), by vote.",
	    send_votes());
	write_clusters(q, &p, nodes);
	prom_gauge(&p, "qnetd_event_loop_lag_seconds",
	    "How late the event loop ran a 1 s timer, at its last run.",
	    q->metrics != NULL ? q->metrics->lag : 0);
	if (q->tls != NULL &&
	    tls_cert_not_after(q->set.cert_nickname, &expiry) == 0)
		prom_gauge(&p, "qnetd_certificate_expiry_timestamp_seconds",
		    "When the server certificate expires (Unix time).",
		    (double)expiry);
	prom_end(&p);
}

/* ------------------------------------------------------------------ */
/* HTTP */

struct check {
	const char *name;
	int ok;
};

static int
checks_reply(const struct http_request *rq, const struct check *c, size_t n,
    const char *what, struct buf *o)
{
	int ok = 1;

	for (size_t i = 0; i < n; i++)
		ok &= c[i].ok;
	if (rq->verbose)
		for (size_t i = 0; i < n; i++)
			buf_printf(o, "[%c]%s %s\n", c[i].ok ? '+' : '-',
			    c[i].name, c[i].ok ? "ok" : "failed");
	buf_printf(o, "%s check %s\n", what, ok ? "passed" : "failed");
	return ok ? 200 : 503;
}

static int
on_http(void *arg, const struct http_request *rq, struct buf *o,
    const char **type)
{
	struct qnetd *q = arg;

	if (strcmp(rq->path, "/metrics") == 0) {
		metrics_write(q, o, rq->openmetrics, rq->nodes);
		*type = rq->openmetrics ? PROM_TYPE_OM : PROM_TYPE_TEXT;
		return 200;
	}
	if (strcmp(rq->path, "/livez") == 0) {
		/* Answering at all is the proof: the loop turns. */
		struct check c[] = { { "event_loop", 1 } };

		return checks_reply(rq, c, 1, "livez", o);
	}
	if (strcmp(rq->path, "/readyz") == 0) {
		int cert = q->tls_mode == QN_TLS_UNSUPPORTED || q->tls != NULL;
		struct check c[] = {
			{ "listening", listen_active(q) && !q->stopping },
			{ "tls_certificate", cert },
		};

		return checks_reply(rq, c, 2, "readyz", o);
	}
	buf_printf(o, "not found\n");
	return 404;
}

int
metrics_start(struct qnetd *q)
{
	struct metrics *m = calloc(1, sizeof(*m));
	struct http_limits lim = {
		.max_connections = q->set.http_max_connections,
		.timeout = q->set.http_timeout,
		.memory = q->set.http_max_request_size,
	};

	if (m == NULL)
		return -1;
	q->metrics = m;
	uv_timer_init(q->loop, &m->lag_timer);
	m->lag_timer.data = m;
	m->lag_due_ns = uv_hrtime() + (uint64_t)LAG_PROBE_MS * 1000000;
	uv_timer_start(&m->lag_timer, on_lag_probe, LAG_PROBE_MS, LAG_PROBE_MS);
	uv_unref((uv_handle_t *)&m->lag_timer);
	if (q->set.http_listen != NULL &&
	    (m->http = http_start(q->loop, q->set.http_listen, &lim, on_http,
	    q)) == NULL)
		return -1;
	return 0;
}

static void
lag_closed(uv_handle_t *h)
{
	free(h->data);
}

void
metrics_stop(struct qnetd *q)
{
	struct metrics *m = q->metrics;

	if (m == NULL)
		return;
	q->metrics = NULL;
	http_stop(m->http);
	uv_close((uv_handle_t *)&m->lag_timer, lag_closed);
}
