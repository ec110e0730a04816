/*
 * Clusters: created when the first client of a cluster name completes INIT,
 * freed with its last member.  A cluster is identified by the exact bytes of
 * its name; its members are kept in ascending node id, the order every
 * algorithm iterates them in.
 */
#ifndef QNETD_CLUSTER_H
#define QNETD_CLUSTER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "member.h"
#include "memory.h"
#include "htab.h"
#include "nodelist.h"

/* max_cluster_cpu_per_second: a cluster's account, kept by budget.c. */
struct cluster_budget {
	uint64_t second;		/* the second of loop time used_ns is for */
	uint64_t used_ns;
	LIST_ENTRY(cluster) link;	/* on the paused list, while paused */
	int paused;
};

TAILQ_HEAD(member_list, member);

struct cluster {
	char *name;			/* NUL-terminated copy */
	size_t name_len;
	struct member_list members;	/* ascending node id */
	size_t client_count;

	struct htab_entry by_name;	/* in the table, keyed by name */
	TAILQ_ENTRY(cluster) order;	/* creation order, for listing */

	/* Algorithm state (ffsplit). */
	uint8_t algo_state;
	struct node_list prev_quorate;	/* keep-active-partition memory */
	/*
	 * Decision memory (memory.h), NULL if none could be had.  While
	 * hold_until (loop ms) is ahead, prev_quorate came from before this
	 * cluster's clients came back (hold_restart: before a restart) and a
	 * 50:50 tie is held for it (ffsplit.c).
	 */
	struct memory_rec *mem;
	uint64_t hold_until;
	uint8_t hold_restart;
	char ack_reason[DECISION_REASON_LEN];	/* for ACKs sent after the NACKs */

	/* decide.c: whose membership list is being decided, and the list. */
	const struct member *deciding;
	const struct node_list *deciding_members;
	struct cluster_budget budget;	/* max_cluster_cpu_per_second */
};

struct cluster_table {
	struct htab by_name;		/* seeded: clients choose the names */
	size_t count;
	TAILQ_HEAD(, cluster) order;	/* creation order */
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

void	cluster_add_member(struct cluster *cl, struct member *m);
void	cluster_remove_member(struct cluster *cl, struct member *m);
struct member *cluster_member(const struct cluster *cl, uint32_t node_id);

/* Members in ascending node id. */
#define cluster_first(cl)	TAILQ_FIRST(&(cl)->members)
#define cluster_next(m)		TAILQ_NEXT((m), cluster_link)
#define cluster_for_each(cl, m) \
	TAILQ_FOREACH((m), &(cl)->members, cluster_link)
/* Clusters in creation order. */
#define cluster_table_for_each(t, cl)	TAILQ_FOREACH((cl), &(t)->order, order)

#endif
