/*
 * corosync-qdevice's metrics and HTTP endpoint (metrics.h).  Counters live
 * in the modules that own the events (net.h); the names are those of
 * corosync-qdevice(8), METRICS.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "http.h"
#include "metrics.h"
#include "names.h"
#include "prom.h"

static void
write_info(const struct qd_status *st, struct prom *p)
{
	const struct net_config *nc = &st->cfg->net;
	char tb[32], host[300];

	if (nc->tie_breaker.mode == QN_TB_NODE_ID)
		snprintf(tb, sizeof(tb), "%" PRIu32, nc->tie_breaker.node_id);
	else
		snprintf(tb, sizeof(tb), "%s",
		    tb_mode_id(nc->tie_breaker.mode));
	snprintf(host, sizeof(host), "%s:%u", nc->host ? nc->host : "",
	    (unsigned)nc->port);
	prom_family(p, "qdevice", PROM_INFO,
	    "The device: cluster, model, algorithm, tie-breaker, qnetd host "
	    "and TLS mode.");
	prom_begin(p, NULL);
	prom_label(p, "cluster", st->cfg->cluster_name ?
	    st->cfg->cluster_name : "");
	prom_label(p, "model", "net");
	prom_label(p, "algorithm", algo_id(nc->algorithm));
	prom_label(p, "tie_breaker", tb);
	prom_label(p, "qnetd_host", host);
	prom_label(p, "tls", tls_id(nc->tls));
	prom_value_u64(p, 1);
}

static void
write_vote(const struct qd_status *st, struct prom *p)
{
	static const uint8_t votes[] = { QN_VOTE_ACK, QN_VOTE_NACK,
	    QN_VOTE_ASK_LATER, QN_VOTE_WAIT_FOR_REPLY, QN_VOTE_NO_CHANGE,
	    QN_VOTE_UNDEFINED };
	uint8_t vote = qd_vq_vote(st->vq);

	prom_family(p, "qdevice_vote", PROM_GAUGE,
	    "1 for the vote the device casts now (none: no vote yet).");
	for (size_t i = 0; i < sizeof(votes); i++) {
		prom_begin(p, NULL);
		prom_label(p, "vote", votes[i] == QN_VOTE_UNDEFINED ? "none" :
		    vote_id(votes[i]));
		prom_value_u64(p, vote == votes[i]);
	}
}

static void
write_heuristics(const struct qd_status *st, struct prom *p)
{
	static const uint8_t results[] = { QN_HEUR_PASS, QN_HEUR_FAIL,
	    QN_HEUR_UNDEFINED };
	const struct qd_heur_results *h = qd_heur_results(st->heur);
	const struct {
		const char *kind;
		uint8_t r;
	} k[] = {
		{ "membership", h->membership },
		{ "regular", h->regular },
		{ "connect", h->connect },
	};

	prom_family(p, "qdevice_heuristics_result", PROM_GAUGE,
	    "1 for the last result of each kind of heuristics run.");
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
		for (size_t j = 0; j < sizeof(results); j++) {
			prom_begin(p, NULL);
			prom_label(p, "kind", k[i].kind);
			prom_label(p, "result", heuristics_id(results[j]));
			prom_value_u64(p, k[i].r == results[j]);
		}
}

void
qd_metrics_write(const struct qd_status *st, struct buf *o, int openmetrics)
{
	const struct qd_vq_view *vq = qd_vq_view(st->vq);
	struct prom p;

	prom_init(&p, o, openmetrics);
	prom_family(&p, "qdevice_build", PROM_INFO,
	    "The version of corosync-qdevice and the upstream release it is "
	    "compatible with.");
	prom_begin(&p, NULL);
	prom_label(&p, "version", PACKAGE_VERSION);
	prom_label(&p, "compatible", "3.0.3");
	prom_value_u64(&p, 1);
	write_info(st, &p);
	prom_gauge(&p, "qdevice_connected",
	    "1 while connected to qnetd (INIT accepted).",
	    net_connected(st->net));
	write_vote(st, &p);
	prom_gauge(&p, "qdevice_last_poll_timestamp_seconds",
	    "When votequorum was last polled (Unix time; 0: never).",
	    (double)vq->last_poll);
	write_heuristics(st, &p);
	prom_counter(&p, "qdevice_connects",
	    "Connections to qnetd made.", net_connects());
	prom_counter(&p, "qdevice_disconnects",
	    "Connections to qnetd ended (or not made), by reason.",
	    net_disconnects());
	prom_end(&p);
}

/* ------------------------------------------------------------------ */
/* HTTP */

static int
checks_reply(const struct http_request *rq, const char *const *names,
    const int *ok, size_t n, const char *what, struct buf *o)
{
	int all = 1;

	for (size_t i = 0; i < n; i++) {
		all &= ok[i];
		if (rq->verbose)
			buf_printf(o, "[%c]%s %s\n", ok[i] ? '+' : '-',
			    names[i], ok[i] ? "ok" : "failed");
	}
	buf_printf(o, "%s check %s\n", what, all ? "passed" : "failed");
	return all ? 200 : 503;
}

static int
on_http(void *arg, const struct http_request *rq, struct buf *o,
    const char **type)
{
	const struct qd_status *st = arg;

	if (strcmp(rq->path, "/metrics") == 0) {
		qd_metrics_write(st, o, rq->openmetrics);
		*type = rq->openmetrics ? PROM_TYPE_OM : PROM_TYPE_TEXT;
		return 200;
	}
	if (strcmp(rq->path, "/livez") == 0) {
		static const char *const names[] = { "event_loop" };
		int ok[] = { 1 };	/* answering at all: the loop turns */

		return checks_reply(rq, names, ok, 1, "livez", o);
	}
	if (strcmp(rq->path, "/readyz") == 0) {
		static const char *const names[] = { "running", "connected",
		    "casting_vote" };
		int ok[] = { qd_phase(st->ev) != PHASE_EXITING,
		    net_connected(st->net), qd_vq_cast_casting(st->vq) };

		return checks_reply(rq, names, ok, 3, "readyz", o);
	}
	buf_printf(o, "not found\n");
	return 404;
}

int
qd_metrics_start(struct http **h, uv_loop_t *loop,
    const struct qdevice_settings *set, const struct qd_status *st)
{
	struct http_limits lim = {
		.max_connections = set->http_max_connections,
		.timeout = set->http_timeout,
		.memory = set->http_max_request_size,
	};

	*h = NULL;
	if (set->http_listen == NULL)
		return 0;
	/* st is const for the status; the handler only reads through it. */
	*h = http_start(loop, set->http_listen, &lim, on_http, (void *)st);
	return *h != NULL ? 0 : -1;
}

void
qd_metrics_stop(struct http **h)
{
	http_stop(*h);
	*h = NULL;
}
