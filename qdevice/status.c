/*
 * The local socket's commands: status [verbose] [json], metrics, shutdown.  The text
 * status is byte for byte what 3.0.3 prints (BEHAVIOUR.md §5.4), because
 * cluster tools parse it; the JSON status (word "json") is ours, schema
 * version 1, documented in corosync-qdevice-tool(8).
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "json.h"
#include "metrics.h"
#include "names.h"
#include "status.h"

#define JSON_VERSION	1
#define MAX_WORDS	16

static void
time_text(time_t t, char *out, size_t len)
{
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		snprintf(out, len, "?");
}

static int
connected(const struct qd_status *q)
{
	return net_connected(q->net);
}

static int
client_cert_sent(const struct qd_status *q)
{
	return net_client_cert_sent(q->net);
}

/* ------------------------------------------------------------------ */
/* Text */

static void
generic_text(const struct qd_status *q, int verbose, struct buf *o)
{
	const struct qd_vq_view *vq = qd_vq_view(q->vq);
	const struct nodelist *nodes = net_nodes(q->net);
	char t[32];

	buf_printf(o, "Qdevice information\n");
	buf_printf(o, "-------------------\n");
	buf_printf(o, "Model:\t\t\tNet\n");
	buf_printf(o, "Node ID:\t\t%" PRIu32 "\n", q->cfg->node_id);
	if (verbose) {
		buf_printf(o, "HB interval:\t\t%" PRIu32 "ms\n", q->cfg->timeout);
		buf_printf(o, "Sync HB interval:\t%" PRIu32 "ms\n",
		    q->cfg->sync_timeout);
	}
	if (nodes->has_config_version)
		buf_printf(o, "Configuration version:\t%" PRIu64 "\n",
		    nodes->config_version);
	buf_printf(o, "Configured node list:\n");
	for (size_t i = 0; i < nodes->count; i++) {
		const struct qn_node *n = &nodes->nodes[i];

		buf_printf(o, "    %zu\tNode ID = %" PRIu32, i, n->node_id);
		if (n->dc_id)
			buf_printf(o, ", Data center ID = %" PRIu32, n->dc_id);
		buf_put_u8(o, '\n');
	}
	if (verbose) {
		buf_printf(o, "Heuristics:\t\t%s\n",
		    heur_mode_name(qd_heur_mode(q->heur)));
		buf_printf(o, "Ring ID:\t\t%" PRIx32 ".%" PRIx64 "\n",
		    vq->ring_id.node_id, vq->ring_id.seq);
	}
	buf_printf(o, "Membership node list:\t");
	for (size_t i = 0; i < vq->member_count; i++)
		buf_printf(o, "%s%" PRIu32, i ? ", " : "", vq->members[i]);
	buf_put_u8(o, '\n');
	if (!verbose)
		return;
	buf_printf(o, "Quorate:\t\t%s\n", vq->quorate ? "Yes" : "No");
	buf_printf(o, "Quorum node list:\n");
	for (size_t i = 0; i < vq->quorum_count; i++) {
		const votequorum_node_t *n = &vq->quorum_nodes[i];

		if (n->nodeid == 0)
			continue;
		buf_printf(o, "    %zu\tNode ID = %" PRIu32 ", State = %s\n", i,
		    n->nodeid, node_state_name((uint8_t)n->state));
	}
	buf_printf(o, "Expected votes:\t\t%" PRIu32 "\n", vq->expected_votes);
	if (vq->last_poll == 0) {
		buf_printf(o, "Last poll call:\t\tNever\n");
	} else {
		time_text(vq->last_poll, t, sizeof(t));
		buf_printf(o, "Last poll call:\t\t%s%s\n", t,
		    vq->last_poll_cast_vote ? " (cast vote)" : "");
	}
}

static void
net_text(const struct qd_status *q, int verbose, struct buf *o)
{
	const struct net_config *nc = &q->cfg->net;
	const struct qd_heur_results *h = qd_heur_results(q->heur);
	char tb[64], t[32];

	tie_breaker_text(&nc->tie_breaker, tb, sizeof(tb));
	buf_printf(o, "Qdevice-net information\n");
	buf_printf(o, "----------------------\n");
	buf_printf(o, "Cluster name:\t\t%s\n", q->cfg->cluster_name);
	/* With a host list: the one tried or in use (3.0.3 had one). */
	buf_printf(o, "QNetd host:\t\t%s:%u\n", net_hosts_current(q->net)->host,
	    (unsigned)net_hosts_current(q->net)->port);
	if (verbose) {
		if (nc->force_ip_version != 0)
			buf_printf(o, "Force IP version:\t%d\n",
			    nc->force_ip_version);
		buf_printf(o, "Connect timeout:\t%" PRIu32 "ms\n",
		    nc->connect_timeout);
		buf_printf(o, "HB interval:\t\t%" PRIu32 "ms\n",
		    nc->heartbeat_interval);
		buf_printf(o, "VQ vote timer interval:\t%" PRIu32 "ms\n",
		    nc->cast_vote_interval);
		buf_printf(o, "TLS:\t\t\t%s\n", tls_name(nc->tls));
	}
	buf_printf(o, "Algorithm:\t\t%s\n", algo_name(nc->algorithm));
	buf_printf(o, "Tie-breaker:\t\t%s\n", tb);
	if (verbose) {
		buf_printf(o, "KAP Tie-breaker:\t%s\n", net_kap_text(q->net));
		buf_printf(o, "Poll timer running:\t%s%s\n",
		    qd_vq_cast_running(q->vq) ? "Yes" : "No",
		    qd_vq_cast_casting(q->vq) ? " (cast vote)" : "");
	}
	buf_printf(o, "State:\t\t\t%s\n", net_state_text(q->net));
	if (qd_heur_mode(q->heur) != HEUR_MODE_OFF) {
		buf_printf(o, "Heuristics result:\t%s",
		    heuristics_name(h->latest));
		if (verbose)
			buf_printf(o, " (regular: %s, membership: %s, "
			    "connect: %s)", heuristics_name(h->regular),
			    heuristics_name(h->membership),
			    heuristics_name(h->connect));
		buf_put_u8(o, '\n');
	}
	if (!verbose || !connected(q))
		return;
	buf_printf(o, "TLS active:\t\t%s%s\n",
	    net_tls_active(q->net) ? "Yes" : "No",
	    client_cert_sent(q) ? " (client certificate sent)" : "");
	time_text(net_connected_since(q->net), t, sizeof(t));
	buf_printf(o, "Connected since:\t%s\n", t);
	if (net_echo_reply_time(q->net) != 0) {
		time_text(net_echo_reply_time(q->net), t, sizeof(t));
		buf_printf(o, "Echo reply received:\t%s\n", t);
	}
}

/* ------------------------------------------------------------------ */
/* JSON */

static void
json_time(struct buf *o, time_t t)
{
	char s[32];

	if (t == 0) {
		buf_printf(o, "null");
		return;
	}
	time_text(t, s, sizeof(s));
	buf_printf(o, "\"%s\"", s);
}

static void
json_bool(struct buf *o, int v)
{
	buf_printf(o, "%s", v ? "true" : "false");
}

/* The arbiter tried or in use, and why that one. */
static void
json_host(const struct qd_status *q, struct buf *o)
{
	const struct net_host *h = net_hosts_current(q->net);
	const struct agree *a = net_hosts_agreement(q->net);
	char text[640];
	const char *why = net_host_why_text(q->net, text, sizeof(text));

	buf_printf(o, "{\"index\":%zu,\"host\":", net_host_index(q->net));
	json_str(o, h->host, strlen(h->host));
	buf_printf(o, ",\"port\":%u,\"reason\":\"%s\",\"reason_text\":",
	    (unsigned)h->port, net_host_why_id(q->net));
	json_str(o, why, strlen(why));
	if (a != NULL)
		buf_printf(o, ",\"agreement\":{\"epoch\":%" PRIu32 ",\"index\":"
		    "%u,\"state\":\"%s\",\"confirmed\":%s,\"members\":%zu,"
		    "\"nodes_needed\":%zu}", a->epoch, a->index,
		    agree_state_id(a), a->confirmed ? "true" : "false",
		    a->member_count, a->need);
	buf_put_u8(o, '}');
}

static void
json_opt_str(struct buf *o, const char *s)
{
	if (s == NULL || *s == '\0')
		buf_printf(o, "null");
	else
		json_str(o, s, strlen(s));
}

/* The vote, why, and the latest connection change (not in the text). */
static void
vote_json(const struct qd_status *q, struct buf *o, int *f)
{
	uint8_t v = qd_vq_vote(q->vq);

	json_key(o, f, "vote");
	buf_printf(o, "\"%s\"", vote_id(v));
	json_key(o, f, "vote_reason_id");
	json_opt_str(o, net_vote_reason_id(q->net));
	json_key(o, f, "vote_reason");
	json_opt_str(o, net_vote_reason(q->net));
	json_key(o, f, "vote_since");
	json_time(o, net_vote_since(q->net));
	json_key(o, f, "connection_reason");
	json_opt_str(o, net_conn_reason(q->net));
	json_key(o, f, "connection_since");
	json_time(o, net_conn_since(q->net));
}

/* Each heuristics command's latest outcome. */
static void
execs_json(const struct qd_status *q, struct buf *o)
{
	static const char *const outcome[] = {
		[HEUR_OUTCOME_PASS] = "pass",
		[HEUR_OUTCOME_FAIL] = "fail",
		[HEUR_OUTCOME_SIGNAL] = "signal",
		[HEUR_OUTCOME_UNFINISHED] = "unfinished",
	};
	size_t n;
	const struct qd_heur_exec_last *e = qd_heur_execs(q->heur, &n);

	buf_put_u8(o, '[');
	for (size_t i = 0; i < n; i++, e++) {
		int f = 1;

		buf_printf(o, "%s{", i ? "," : "");
		json_key(o, &f, "name");
		json_str(o, e->name, strlen(e->name));
		json_key(o, &f, "result");
		buf_printf(o, "\"%s\"", outcome[e->outcome]);
		json_key(o, &f, "exit_status");
		if (e->outcome == HEUR_OUTCOME_PASS ||
		    e->outcome == HEUR_OUTCOME_FAIL)
			buf_printf(o, "%" PRId64, e->code);
		else
			buf_printf(o, "null");
		json_key(o, &f, "signal");
		if (e->outcome == HEUR_OUTCOME_SIGNAL)
			buf_printf(o, "%" PRId64, e->code);
		else
			buf_printf(o, "null");
		json_key(o, &f, "started");
		json_time(o, (time_t)(e->start_ms / 1000));
		json_key(o, &f, "started_ms");
		buf_printf(o, "%" PRId64, e->start_ms);
		json_key(o, &f, "duration_ms");
		buf_printf(o, "%" PRIu64, e->duration_ms);
		json_key(o, &f, "run");
		buf_printf(o, "%" PRIu32, e->seq);
		buf_put_u8(o, '}');
	}
	buf_put_u8(o, ']');
}

static void
net_json(const struct qd_status *q, struct buf *o)
{
	const struct net_config *nc = &q->cfg->net;
	const struct qd_heur_results *h = qd_heur_results(q->heur);
	int f = 1;

	buf_put_u8(o, '{');
	json_key(o, &f, "cluster_name");
	json_str(o, q->cfg->cluster_name, strlen(q->cfg->cluster_name));
	json_key(o, &f, "host");
	json_str(o, nc->host, strlen(nc->host));
	json_key(o, &f, "port");
	buf_printf(o, "%u", (unsigned)nc->port);
	json_key(o, &f, "hosts");
	buf_put_u8(o, '[');
	for (size_t i = 0; i < nc->host_count; i++) {
		buf_printf(o, "%s{\"host\":", i ? "," : "");
		json_str(o, nc->hosts[i].host, strlen(nc->hosts[i].host));
		buf_printf(o, ",\"port\":%u}", (unsigned)nc->hosts[i].port);
	}
	buf_put_u8(o, ']');
	json_key(o, &f, "host_return_hold");
	buf_printf(o, "%" PRIu32, nc->host_return_hold);
	json_key(o, &f, "host_failover");
	json_bool(o, net_hosts_failover(q->net));
	json_key(o, &f, "current_host");
	json_host(q, o);
	json_key(o, &f, "force_ip_version");
	buf_printf(o, "%d", nc->force_ip_version);
	json_key(o, &f, "connect_timeout");
	buf_printf(o, "%" PRIu32, nc->connect_timeout);
	json_key(o, &f, "heartbeat_interval");
	buf_printf(o, "%" PRIu32, nc->heartbeat_interval);
	json_key(o, &f, "vote_timer_interval");
	buf_printf(o, "%" PRIu32, nc->cast_vote_interval);
	json_key(o, &f, "tls");
	buf_printf(o, "\"%s\"", tls_id(nc->tls));
	json_key(o, &f, "algorithm");
	buf_printf(o, "\"%s\"", algo_id(nc->algorithm));
	json_key(o, &f, "tie_breaker");
	buf_printf(o, "{\"mode\":\"%s\"", tb_mode_id(nc->tie_breaker.mode));
	if (nc->tie_breaker.mode == QN_TB_NODE_ID)
		buf_printf(o, ",\"node_id\":%" PRIu32, nc->tie_breaker.node_id);
	buf_put_u8(o, '}');
	json_key(o, &f, "kap_tie_breaker");
	buf_printf(o, "\"%s\"", net_kap_id(q->net));
	json_key(o, &f, "poll_timer_running");
	json_bool(o, qd_vq_cast_running(q->vq));
	json_key(o, &f, "poll_cast_vote");
	json_bool(o, qd_vq_cast_casting(q->vq));
	json_key(o, &f, "state");
	buf_printf(o, "\"%s\"", net_state_id(q->net));
	json_key(o, &f, "heuristics");
	buf_printf(o, "\"%s\"", heuristics_id(h->latest));
	json_key(o, &f, "heuristics_regular");
	buf_printf(o, "\"%s\"", heuristics_id(h->regular));
	json_key(o, &f, "heuristics_membership");
	buf_printf(o, "\"%s\"", heuristics_id(h->membership));
	json_key(o, &f, "heuristics_connect");
	buf_printf(o, "\"%s\"", heuristics_id(h->connect));
	json_key(o, &f, "tls_active");
	json_bool(o, connected(q) && net_tls_active(q->net));
	json_key(o, &f, "tls_session_resumed");
	json_bool(o, connected(q) && net_tls_resumed(q->net));
	json_key(o, &f, "client_cert_sent");
	json_bool(o, client_cert_sent(q));
	json_key(o, &f, "certificate_reconnect");
	buf_printf(o, "\"%s\"", net_cert_reconnect_id(q->net));
	json_key(o, &f, "connected_since");
	json_time(o, connected(q) ? net_connected_since(q->net) : 0);
	json_key(o, &f, "echo_reply_received");
	json_time(o, connected(q) ? net_echo_reply_time(q->net) : 0);
	vote_json(q, o, &f);
	buf_put_u8(o, '}');
}

/* The event hook's counters, as corosync-qnetd-tool shows them. */
static void
events_json(const struct qd_status *q, struct buf *o, int *f)
{
	struct hook_counts n;

	hook_counts(q->hook, &n);
	json_key(o, f, "events");
	buf_printf(o, "{\"emitted\":%" PRIu64 ",\"hook_runs\":%" PRIu64
	    ",\"coalesced\":%" PRIu64 ",\"dropped\":%" PRIu64 ",\"timeouts\":%"
	    PRIu64 ",\"failures\":%" PRIu64 "}", n.emitted, n.runs, n.coalesced,
	    n.dropped, n.timeouts, n.failures);
}

static void
status_json(const struct qd_status *q, struct buf *o)
{
	const struct qd_vq_view *vq = qd_vq_view(q->vq);
	const struct nodelist *nodes = net_nodes(q->net);
	int f = 1, first;

	buf_put_u8(o, '{');
	json_key(o, &f, "version");
	buf_printf(o, "%d", JSON_VERSION);
	json_key(o, &f, "model");
	buf_printf(o, "\"net\"");
	json_key(o, &f, "node_id");
	buf_printf(o, "%" PRIu32, q->cfg->node_id);
	json_key(o, &f, "timeout");
	buf_printf(o, "%" PRIu32, q->cfg->timeout);
	json_key(o, &f, "sync_timeout");
	buf_printf(o, "%" PRIu32, q->cfg->sync_timeout);
	json_key(o, &f, "config_version");
	if (nodes->has_config_version)
		buf_printf(o, "%" PRIu64, nodes->config_version);
	else
		buf_printf(o, "null");
	json_key(o, &f, "config_node_list");
	buf_put_u8(o, '[');
	for (size_t i = 0; i < nodes->count; i++)
		buf_printf(o, "%s{\"node_id\":%" PRIu32 ",\"data_center_id\":%"
		    PRIu32 "}", i ? "," : "", nodes->nodes[i].node_id,
		    nodes->nodes[i].dc_id);
	buf_put_u8(o, ']');
	json_key(o, &f, "heuristics_mode");
	buf_printf(o, "\"%s\"", heur_mode_id(qd_heur_mode(q->heur)));
	json_key(o, &f, "heuristics_execs");
	execs_json(q, o);
	json_key(o, &f, "ring_id");
	buf_printf(o, "{\"node_id\":%" PRIu32 ",\"seq\":%" PRIu64 ",\"text\":\"%"
	    PRIx32 ".%" PRIx64 "\"}", vq->ring_id.node_id, vq->ring_id.seq,
	    vq->ring_id.node_id, vq->ring_id.seq);
	json_key(o, &f, "membership_node_list");
	buf_put_u8(o, '[');
	for (size_t i = 0; i < vq->member_count; i++)
		buf_printf(o, "%s%" PRIu32, i ? "," : "", vq->members[i]);
	buf_put_u8(o, ']');
	json_key(o, &f, "quorate");
	json_bool(o, vq->quorate);
	json_key(o, &f, "quorum_node_list");
	buf_put_u8(o, '[');
	first = 1;
	for (size_t i = 0; i < vq->quorum_count; i++) {
		const votequorum_node_t *n = &vq->quorum_nodes[i];

		if (n->nodeid == 0)
			continue;
		buf_printf(o, "%s{\"node_id\":%" PRIu32 ",\"state\":\"%s\"}",
		    first ? "" : ",", n->nodeid,
		    node_state_name((uint8_t)n->state));
		first = 0;
	}
	buf_put_u8(o, ']');
	json_key(o, &f, "expected_votes");
	buf_printf(o, "%" PRIu32, vq->expected_votes);
	json_key(o, &f, "last_poll");
	json_time(o, vq->last_poll);
	json_key(o, &f, "last_poll_cast_vote");
	json_bool(o, vq->last_poll != 0 && vq->last_poll_cast_vote);
	json_key(o, &f, "net");
	net_json(q, o);
	events_json(q, o, &f);
	buf_printf(o, "}\n");
}

/* ------------------------------------------------------------------ */

enum ipc_result
status_command(void *arg, char *line, struct buf *out)
{
	const struct qd_status *q = arg;
	char *w[MAX_WORDS];
	int n = ipc_split(line, w, MAX_WORDS, 0);
	int verbose = 0, json = 0;

	if (n == 0) {
		buf_printf(out, "No command specified");
		return IPC_ERROR;
	}
	if (strcasecmp(w[0], "shutdown") == 0)
		return IPC_OK_SHUTDOWN;
	if (strcasecmp(w[0], "metrics") == 0) {
		qd_metrics_write(q, out, 0);
		return IPC_OK;
	}
	if (strcasecmp(w[0], "status") != 0) {
		buf_printf(out, "Unknown command '%s'", w[0]);
		return IPC_ERROR;
	}
	for (int i = 1; i < n; i++) {
		if (strcasecmp(w[i], "verbose") == 0)
			verbose = 1;
		else if (strcasecmp(w[i], "json") == 0)
			json = 1;
	}
	if (qd_phase(q->ev) == PHASE_EXITING) {
		buf_printf(out, "Can't get QDevice status");
		return IPC_ERROR;
	}
	if (json) {
		status_json(q, out);
	} else {
		generic_text(q, verbose, out);
		buf_put_u8(out, '\n');
		net_text(q, verbose, out);
	}
	return IPC_OK;
}
