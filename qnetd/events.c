/*
 * The arbiter's events (events.h) on the shared hook (common/hook.h): what
 * the server reports, and the nodes of each cluster holding our ACK, whose
 * changes are events of their own.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "events.h"
#include "htab.h"
#include "names.h"

#define STR_LEN		256

/* The nodes holding our ACK in a cluster, as last reported. */
struct part {
	struct htab_entry e;
	char nodes[STR_LEN];
	char name[];
};

struct qnetd_events {
	struct hook *hook;
	struct htab parts;
};

/* ------------------------------------------------------------------ */
/* What the server reports */

/* The ids of the nodes holding our ACK; m's vote is about to be vote. */
static void
ack_nodes(const struct member *m, int leaving, uint8_t vote, char *out,
    size_t len)
{
	const struct member *o;
	size_t off = 0;

	out[0] = '\0';
	cluster_for_each(m->cluster, o) {
		uint8_t v = o == m ? vote : o->last_ack_nack;

		if ((o == m && leaving) || v != QN_VOTE_ACK || off >= len)
			continue;
		off += (size_t)snprintf(out + off, len - off, "%s%" PRIu32,
		    off ? "," : "", o->node_id);
	}
}

/* The nodes holding the vote in m's cluster changed? */
static void
partition_check(struct qnetd_events *e, const struct member *m, int leaving,
    uint8_t vote)
{
	const char *name = m->cluster->name;
	size_t len = strlen(name);
	struct htab_entry *he = htab_find(&e->parts, name, len);
	struct part *p = he ? htab_item(he, struct part, e) : NULL;
	char nodes[STR_LEN], reason[STR_LEN + 32];

	ack_nodes(m, leaving, vote, nodes, sizeof(nodes));
	if (strcmp(p ? p->nodes : "", nodes) == 0)
		return;
	if (p == NULL) {
		if ((p = calloc(1, sizeof(*p) + len + 1)) == NULL)
			return;
		memcpy(p->name, name, len);
		if (htab_insert(&e->parts, &p->e, p->name, len) != 0) {
			free(p);
			return;
		}
	}
	snprintf(p->nodes, sizeof(p->nodes), "%s", nodes);
	if (nodes[0] == '\0') {
		htab_remove(&e->parts, &p->e);
		free(p);
	}
	snprintf(reason, sizeof(reason), nodes[0] ? "nodes %s hold the vote" :
	    "no node holds the vote", nodes);
	hook_emit(e->hook, &(struct hook_event){
	    .name = "quorate_partition_changed", .coalesce = 1,
	    .cluster = name, .nodes = nodes, .reason = reason });
}

void
events_client(struct qnetd_events *e, enum qev_type type,
    const struct member *m, const char *reason)
{
	int gone = type == QEV_CLIENT_DISCONNECTED;

	if (e == NULL || m->cluster == NULL)
		return;
	hook_emit(e->hook, &(struct hook_event){
	    .name = gone ? "client_disconnected" : "client_connected",
	    .cluster = m->cluster->name, .node = m->node_id,
	    .vote = gone && m->last_ack_nack ? vote_id(m->last_ack_nack) : "",
	    .reason = reason });
	if (type == QEV_CLIENT_DISCONNECTED)
		partition_check(e, m, 1, 0);
}

void
events_vote(struct qnetd_events *e, const struct member *m, uint8_t vote,
    const char *reason)
{
	if (e == NULL || m->cluster == NULL ||
	    (vote != QN_VOTE_ACK && vote != QN_VOTE_NACK) ||
	    vote == m->last_ack_nack)
		return;
	hook_emit(e->hook, &(struct hook_event){ .name = "vote_changed",
	    .coalesce = 1, .cluster = m->cluster->name, .node = m->node_id,
	    .vote = vote_id(vote), .reason = reason });
	partition_check(e, m, 0, vote);
}

void
events_tls_refused(struct qnetd_events *e, const char *cluster,
    const char *addr, const char *reason)
{
	if (e == NULL)
		return;
	hook_emit(e->hook, &(struct hook_event){ .name = "tls_refused",
	    .cluster = cluster, .addr = addr, .reason = reason });
}

void
events_cert_expiring(struct qnetd_events *e, const char *reason)
{
	if (e == NULL)
		return;
	hook_emit(e->hook, &(struct hook_event){
	    .name = "certificate_expiring", .reason = reason });
}

void
events_counts(const struct qnetd_events *e, struct hook_counts *out)
{
	hook_counts(e ? e->hook : NULL, out);
}

/* ------------------------------------------------------------------ */
/* Life cycle */

struct qnetd_events *
events_new(uv_loop_t *loop, const struct hook_settings *s)
{
	struct qnetd_events *e = calloc(1, sizeof(*e));

	if (e == NULL || (e->hook = hook_new(loop, s)) == NULL) {
		free(e);
		return NULL;
	}
	htab_init(&e->parts);
	return e;
}

void
events_close(struct qnetd_events *e)
{
	struct htab_entry *he;

	if (e == NULL)
		return;
	hook_close(e->hook);
	while ((he = htab_any(&e->parts)) != NULL) {
		htab_remove(&e->parts, he);
		free(htab_item(he, struct part, e));
	}
	htab_free(&e->parts);
	free(e);
}
