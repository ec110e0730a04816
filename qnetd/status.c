/*
 * The local socket's commands: status, list, metrics, shutdown.  The text
 * output is byte for byte what 3.0.3 prints (BEHAVIOUR.md §4.6), because pcs and
 * crmsh read it; the JSON output (word "json") is ours, schema version 1,
 * documented in corosync-qnetd-tool(8).
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <string.h>
#include <strings.h>

#include "client.h"
#include "cluster.h"
#include "events.h"
#include "gate.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "names.h"
#include "qnetd.h"
#include "tls.h"

#define JSON_VERSION	1
#define MAX_WORDS	16

struct list_opts {
	int verbose;
	int json;
	const char *cluster;	/* only this cluster */
};

/* ------------------------------------------------------------------ */
/* Text */

static void
status_text(const struct qnetd *q, int verbose, struct buf *o)
{
	/* 3.0.3's line names one address (-l as given): the first. */
	buf_printf(o, "QNetd address:\t\t\t%s:%lld\n",
	    q->nlisten_addrs ? q->listen_addrs[0] : "*", q->port);
	buf_printf(o, "TLS:\t\t\t\t%s%s\n", tls_name((uint8_t)q->tls_mode),
	    q->tls_mode != QN_TLS_UNSUPPORTED && q->client_cert_required ?
	    " (client certificate required)" : "");
	buf_printf(o, "Connected clients:\t\t%zu\n", server_client_count(q));
	buf_printf(o, "Connected clusters:\t\t%zu\n", q->core.clusters.count);
	if (!verbose)
		return;
	if (q->max_clients != 0)
		buf_printf(o, "Maximum allowed clients:\t%lld\n", q->max_clients);
	buf_printf(o, "Maximum send/receive size:\t%lld/%lld bytes\n",
	    q->set.max_client_send_size, q->set.max_client_receive_size);
	/* Ours: the other -l, only when there are (3.0.3 had one). */
	for (size_t i = 1; i < q->nlisten_addrs; i++)
		buf_printf(o, "QNetd address %zu:\t\t%s:%lld\n", i + 1,
		    q->listen_addrs[i], q->port);
}

static void
node_ids_text(struct buf *o, const struct node_list *l, int with_dc)
{
	for (size_t i = 0; i < l->count; i++) {
		buf_printf(o, "%s%" PRIu32, i ? ", " : "", l->nodes[i].node_id);
		if (with_dc && l->nodes[i].dc_id)
			buf_printf(o, " (%" PRIu32 ")", l->nodes[i].dc_id);
	}
	buf_put_u8(o, '\n');
}

/* KAP is shown when every client of the cluster runs ffsplit with it on. */
static int
cluster_kap(const struct cluster *cl)
{
	const struct member *m;

	cluster_for_each(cl, m)
		if (m->algorithm != QN_ALGO_FFSPLIT || !m->kap)
			return 0;
	return 1;
}

static void
client_text(const struct client *c, int verbose, struct buf *o)
{
	buf_printf(o, "    Node ID %" PRIu32 ":\n", c->m.node_id);
	buf_printf(o, "        Client address:\t\t%s\n", c->addr);
	if (verbose)
		buf_printf(o, "        HB interval:\t\t%" PRIu32 "ms\n",
		    c->m.heartbeat_interval);
	if (c->m.has_config_version)
		buf_printf(o, "        Configuration version:\t%" PRIu64 "\n",
		    c->m.config_version);
	if (c->m.config.count > 0) {
		buf_printf(o, "        Configured node list:\t");
		node_ids_text(o, &c->m.config, 1);
	}
	if (verbose)
		buf_printf(o, "        Ring ID:\t\t%" PRIx32 ".%" PRIx64 "\n",
		    c->m.ring_id.node_id, c->m.ring_id.seq);
	if (c->m.membership.count > 0) {
		buf_printf(o, "        Membership node list:\t");
		node_ids_text(o, &c->m.membership, 0);
	}
	if (c->m.heur_latest != QN_HEUR_UNDEFINED || verbose) {
		buf_printf(o, "        Heuristics:\t\t%s",
		    heuristics_name(c->m.heur_latest));
		if (verbose)
			buf_printf(o, " (membership: %s, regular: %s)",
			    heuristics_name(c->m.heur_membership),
			    heuristics_name(c->m.heur_regular));
		buf_put_u8(o, '\n');
	}
	if (verbose)
		buf_printf(o, "        TLS active:\t\t%s%s\n",
		    c->tls_started ? "Yes" : "No",
		    c->cert_checked ? " (client certificate verified)" : "");
	if (c->m.last_vote != QN_VOTE_UNDEFINED) {
		buf_printf(o, "        Vote:\t\t\t%s", vote_name(c->m.last_vote));
		if (c->m.last_ack_nack != QN_VOTE_UNDEFINED)
			buf_printf(o, " (%s)", vote_name(c->m.last_ack_nack));
		buf_put_u8(o, '\n');
	}
}

static void
list_text(const struct qnetd *q, const struct list_opts *lo, struct buf *o)
{
	const struct cluster *cl;
	const struct member *m;
	char tb[64];

	cluster_table_for_each(&q->core.clusters, cl) {
		if (lo->cluster != NULL && strcmp(lo->cluster, cl->name) != 0)
			continue;
		if ((m = cluster_first(cl)) == NULL)
			continue;
		tie_breaker_text(&m->tie_breaker, tb, sizeof(tb));
		buf_printf(o, "Cluster \"%s\":\n", cl->name);
		buf_printf(o, "    Algorithm:\t\t%s%s\n", algo_name(m->algorithm),
		    cluster_kap(cl) ? " (KAP Tie-breaker)" : "");
		buf_printf(o, "    Tie-breaker:\t%s\n", tb);
		cluster_for_each(cl, m)
			client_text(client_of(m), lo->verbose, o);
	}
}

/* ------------------------------------------------------------------ */
/* JSON */

/* The event hook's counters (events.h). */
static void
events_json(const struct qnetd *q, struct buf *o, int *f)
{
	struct hook_counts n;

	events_counts(q->events, &n);
	json_key(o, f, "events");
	buf_printf(o, "{\"emitted\":%" PRIu64 ",\"hook_runs\":%" PRIu64
	    ",\"coalesced\":%" PRIu64 ",\"dropped\":%" PRIu64 ",\"timeouts\":%"
	    PRIu64 ",\"failures\":%" PRIu64 ",\"followers\":%zu}", n.emitted,
	    n.runs, n.coalesced, n.dropped, n.timeouts, n.failures,
	    q->ipc.open ? ipc_followers(&q->ipc) : 0);
}

static void
status_json(const struct qnetd *q, struct buf *o)
{
	int f = 1;

	buf_put_u8(o, '{');
	json_key(o, &f, "version");
	buf_printf(o, "%d", JSON_VERSION);
	json_key(o, &f, "listen_address");
	if (q->nlisten_addrs)
		json_str(o, q->listen_addrs[0], strlen(q->listen_addrs[0]));
	else
		buf_printf(o, "null");
	/* Every -l as given, and where each is bound ("*:port": wildcard). */
	json_key(o, &f, "listen_addresses");
	buf_put_u8(o, '[');
	for (size_t i = 0; i < q->nlisten_addrs; i++) {
		if (i)
			buf_put_u8(o, ',');
		json_str(o, q->listen_addrs[i], strlen(q->listen_addrs[i]));
	}
	buf_put_u8(o, ']');
	json_key(o, &f, "listening_on");
	buf_put_u8(o, '[');
	for (size_t i = 0; i < listen_count(q); i++) {
		char a[INET6_ADDRSTRLEN + 24];

		listen_address(q, i, a, sizeof(a));
		if (i)
			buf_put_u8(o, ',');
		json_str(o, a, strlen(a));
	}
	buf_put_u8(o, ']');
	json_key(o, &f, "port");
	buf_printf(o, "%lld", q->port);
	json_key(o, &f, "tls");
	buf_printf(o, "\"%s\"", tls_id((uint8_t)q->tls_mode));
	json_key(o, &f, "client_certificate_required");
	buf_printf(o, "%s", q->client_cert_required ? "true" : "false");
	/* Which library runs the TLS (-S tls_backend), null without TLS. */
	json_key(o, &f, "tls_library");
	if (q->tls != NULL)
		json_str(o, tls_server_library(q->tls),
		    strlen(tls_server_library(q->tls)));
	else
		buf_printf(o, "null");
	json_key(o, &f, "connected_clients");
	buf_printf(o, "%zu", server_client_count(q));
	json_key(o, &f, "connected_clusters");
	buf_printf(o, "%zu", q->core.clusters.count);
	/* Decision memory: clusters remembered (with or without clients). */
	json_key(o, &f, "remembered_clusters");
	buf_printf(o, "%zu", q->core.memory.count);
	json_key(o, &f, "state_dir");
	if (q->persist.enabled)
		json_str(o, q->set.state_dir, strlen(q->set.state_dir));
	else
		buf_printf(o, "null");
	json_key(o, &f, "state_saves");
	buf_printf(o, "%" PRIu64, q->persist.saves);
	json_key(o, &f, "state_save_failing");
	buf_printf(o, "%s", q->persist.failing ? "true" : "false");
	json_key(o, &f, "max_clients");
	buf_printf(o, "%lld", q->max_clients);
	json_key(o, &f, "max_send_size");
	buf_printf(o, "%lld", q->set.max_client_send_size);
	json_key(o, &f, "max_receive_size");
	buf_printf(o, "%lld", q->set.max_client_receive_size);
	events_json(q, o, &f);
	json_key(o, &f, "certificates_enrolled");
	buf_printf(o, "%" PRIu64, enroll_issued(q));
	buf_printf(o, "}\n");
}

static void
ring_json(struct buf *o, const struct qn_ring_id *r)
{
	buf_printf(o, "{\"node_id\":%" PRIu32 ",\"seq\":%" PRIu64
	    ",\"text\":\"%" PRIx32 ".%" PRIx64 "\"}", r->node_id, r->seq,
	    r->node_id, r->seq);
}

static void
nodes_json(struct buf *o, const struct node_list *l, int detail)
{
	buf_put_u8(o, '[');
	for (size_t i = 0; i < l->count; i++) {
		const struct qn_node *n = &l->nodes[i];

		if (i)
			buf_put_u8(o, ',');
		if (detail == 0)
			buf_printf(o, "%" PRIu32, n->node_id);
		else if (detail == 1)
			buf_printf(o, "{\"node_id\":%" PRIu32
			    ",\"data_center_id\":%" PRIu32 "}", n->node_id,
			    n->dc_id);
		else
			buf_printf(o, "{\"node_id\":%" PRIu32 ",\"state\":\"%s\"}",
			    n->node_id, node_state_name(n->state));
	}
	buf_put_u8(o, ']');
}

static void
vote_json(struct buf *o, uint8_t vote)
{
	if (vote == QN_VOTE_UNDEFINED)
		buf_printf(o, "null");
	else
		buf_printf(o, "\"%s\"", vote_id(vote));
}

static void
client_json(const struct client *c, struct buf *o)
{
	uint64_t now = uv_now(c->qnetd->loop), since;
	const char *why;
	int f = 1;

	buf_put_u8(o, '{');
	json_key(o, &f, "node_id");
	buf_printf(o, "%" PRIu32, c->m.node_id);
	json_key(o, &f, "address");
	json_str(o, c->addr, strlen(c->addr));
	json_key(o, &f, "heartbeat_interval_ms");
	buf_printf(o, "%" PRIu32, c->m.heartbeat_interval);
	json_key(o, &f, "tls");
	buf_printf(o, "{\"active\":%s,\"client_certificate_verified\":%s,"
	    "\"session_resumed\":%s}", c->tls_started ? "true" : "false",
	    c->cert_checked ? "true" : "false",
	    c->conn.tls_resumed ? "true" : "false");
	json_key(o, &f, "config_version");
	if (c->m.has_config_version)
		buf_printf(o, "%" PRIu64, c->m.config_version);
	else
		buf_printf(o, "null");
	json_key(o, &f, "config_node_list");
	nodes_json(o, &c->m.config, 1);
	json_key(o, &f, "ring_id");
	ring_json(o, &c->m.ring_id);
	json_key(o, &f, "membership_node_list");
	nodes_json(o, &c->m.membership, 0);
	json_key(o, &f, "quorate");
	buf_printf(o, "%s", !c->m.has_quorum ? "null" :
	    c->m.quorate ? "true" : "false");
	json_key(o, &f, "quorum_node_list");
	nodes_json(o, &c->m.quorum, 2);
	json_key(o, &f, "heuristics");
	buf_printf(o, "{\"latest\":\"%s\",\"membership\":\"%s\","
	    "\"regular\":\"%s\"}", heuristics_id(c->m.heur_latest),
	    heuristics_id(c->m.heur_membership), heuristics_id(c->m.heur_regular));
	json_key(o, &f, "vote");
	vote_json(o, c->m.last_vote);
	json_key(o, &f, "last_ack_nack");
	vote_json(o, c->m.last_ack_nack);
	json_key(o, &f, "reason");
	if (c->m.last_ack_nack != QN_VOTE_UNDEFINED)
		json_str(o, c->m.reason, strlen(c->m.reason));
	else
		buf_printf(o, "null");
	/* An ACK the gate holds back: what it waits for (SAFETY AFTER A
	 * RESTART in corosync-qnetd(8)). */
	json_key(o, &f, "ack_held");
	if ((why = gate_held_why(&c->m, &since)) != NULL) {
		buf_printf(o, "{\"for_ms\":%" PRIu64 ",\"waiting_for\":",
		    now - since);
		json_str(o, why, strlen(why));
		buf_put_u8(o, '}');
	} else {
		buf_printf(o, "null");
	}
	buf_put_u8(o, '}');
}

/* The cluster's decision memory (memory.h) and a tie held for it. */
static void
memory_json(const struct cluster *cl, uint64_t now, struct buf *o)
{
	const struct memory_rec *r = cl->mem;
	int f = 1;

	if (r == NULL) {
		buf_printf(o, "null");
		return;
	}
	buf_put_u8(o, '{');
	json_key(o, &f, "quorate_partition");
	buf_put_u8(o, '[');
	for (size_t i = 0; i < r->nquorate; i++)
		buf_printf(o, "%s%" PRIu32, i ? "," : "", r->quorate[i]);
	buf_put_u8(o, ']');
	json_key(o, &f, "ring_id");
	ring_json(o, &r->ring);
	json_key(o, &f, "generation");
	buf_printf(o, "%" PRIu64, r->generation);
	json_key(o, &f, "tie_held_ms");
	buf_printf(o, "%" PRIu64, cl->hold_until > now ?
	    cl->hold_until - now : 0);
	buf_put_u8(o, '}');
}

static void
cluster_json(const struct cluster *cl, uint64_t now, struct buf *o)
{
	const struct member *m = cluster_first(cl);
	int f = 1, first = 1;

	buf_put_u8(o, '{');
	json_key(o, &f, "name");
	json_str(o, cl->name, cl->name_len);
	json_key(o, &f, "algorithm");
	buf_printf(o, "\"%s\"", algo_id(m->algorithm));
	json_key(o, &f, "tie_breaker");
	buf_printf(o, "{\"mode\":\"%s\"", tb_mode_id(m->tie_breaker.mode));
	if (m->tie_breaker.mode == QN_TB_NODE_ID)
		buf_printf(o, ",\"node_id\":%" PRIu32, m->tie_breaker.node_id);
	buf_put_u8(o, '}');
	json_key(o, &f, "keep_active_partition_tie_breaker");
	buf_printf(o, "%s", cluster_kap(cl) ? "true" : "false");
	json_key(o, &f, "decision_memory");
	memory_json(cl, now, o);
	json_key(o, &f, "clients");
	buf_put_u8(o, '[');
	cluster_for_each(cl, m) {
		json_sep(o, &first);
		client_json(client_of(m), o);
	}
	buf_printf(o, "]}");
}

static void
list_json(const struct qnetd *q, const struct list_opts *lo, struct buf *o)
{
	const struct cluster *cl;
	int first = 1;

	buf_printf(o, "{\"version\":%d,\"clusters\":[", JSON_VERSION);
	cluster_table_for_each(&q->core.clusters, cl) {
		if ((lo->cluster != NULL && strcmp(lo->cluster, cl->name) != 0) ||
		    TAILQ_EMPTY(&cl->members))
			continue;
		json_sep(o, &first);
		cluster_json(cl, uv_now(q->loop), o);
	}
	buf_printf(o, "]}\n");
}

/* ------------------------------------------------------------------ */

enum ipc_result
status_command(void *arg, char *line, struct buf *out)
{
	struct qnetd *q = arg;
	char *w[MAX_WORDS];
	struct list_opts lo = { 0 };
	int n = ipc_split(line, w, MAX_WORDS, 1);

	if (n == 0) {
		buf_printf(out, "No command specified");
		return IPC_ERROR;
	}
	for (int i = 1; i < n; i++) {
		if (strcasecmp(w[i], "verbose") == 0)
			lo.verbose = 1;
		else if (strcasecmp(w[i], "json") == 0)
			lo.json = 1;
		else if (strcasecmp(w[i], "cluster") == 0 && i + 1 < n)
			lo.cluster = w[++i];
		else if (strcasecmp(w[0], "list") == 0)
			break;		/* an unknown word ends list's options */
	}
	if (strcasecmp(w[0], "status") == 0) {
		if (lo.json)
			status_json(q, out);
		else
			status_text(q, lo.verbose, out);
		return IPC_OK;
	}
	if (strcasecmp(w[0], "list") == 0) {
		if (lo.json)
			list_json(q, &lo, out);
		else
			list_text(q, &lo, out);
		return IPC_OK;
	}
	if (strcasecmp(w[0], "metrics") == 0) {
		metrics_write(q, out, 0, n > 1 && strcasecmp(w[1], "nodes") == 0);
		return IPC_OK;
	}
	if (strcasecmp(w[0], "shutdown") == 0) {
		log_debug("IPC client requested shutdown");
		return IPC_OK_SHUTDOWN;
	}
	/* Ours: events as JSON lines until the client goes (events.h). */
	if (strcasecmp(w[0], "follow") == 0)
		return IPC_OK_FOLLOW;
	buf_printf(out, "Unknown command '%s'", w[0]);
	return IPC_ERROR;
}
