/*
 * Clusters: created when the first client of a cluster name completes INIT,
 * freed with its last client.  A cluster is identified by the exact bytes of
 * its name; its clients are kept in ascending node id, the order every
 * algorithm iterates them in.
 */
#ifndef QNETD_CLUSTER_H
#define QNETD_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "budget.h"
#include "client.h"		/* DECISION_REASON_LEN */
#include "htab.h"
#include "nodelist.h"

struct client;

struct cluster {
	char *name;			/* NUL-terminated copy */
	size_t name_len;
	struct client *clients;		/* ascending node id */
	size_t client_count;

	struct htab_entry by_name;	/* in the table, keyed by name */
	struct cluster *prev, *next;	/* creation order, for listing */

	/* Algorithm state (ffsplit). */
	uint8_t algo_state;
	struct node_list prev_quorate;	/* keep-active-partition memory */
	char ack_reason[DECISION_REASON_LEN];	/* for ACKs sent after the NACKs */

	/* decide.c: whose membership list is being decided, and the list. */
	const struct client *deciding;
	const struct node_list *deciding_members;
	struct cluster_budget budget;	/* max_cluster_cpu_per_second */
};

struct cluster_table {
	struct htab by_name;		/* seeded: clients choose the names */
	size_t count;
	struct cluster *first, *last;	/* creation order */
};

int	cluster_table_init(struct cluster_table *t);
/* Frees the table; clusters must already be empty and released. */
void	cluster_table_free(struct cluster_table *t);

struct cluster *cluster_find(const struct cluster_table *t, const char *name,
	    size_t len);
/* Find or create; NULL when memory ran out. */
struct cluster *cluster_get(struct cluster_table *t, const char *name,
	    size_t len);
/* Free the cluster when it has no client left. */
void	cluster_release(struct cluster_table *t, struct cluster *cl);

void	cluster_add_client(struct cluster *cl, struct client *c);
void	cluster_remove_client(struct cluster *cl, struct client *c);
struct client *cluster_client(const struct cluster *cl, uint32_t node_id);

#define cluster_for_each(cl, c) \
	for ((c) = (cl)->clients; (c) != NULL; (c) = (c)->cluster_next)

#endif
