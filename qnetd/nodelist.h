/*
 * A node list as a client last reported it (config, membership, quorum).
 *
 * A list of a few thousand nodes is compared with every other client's
 * list on every decision (ffsplit's stability test), so a stored list also
 * keeps its distinct node ids in ascending order: membership is a binary
 * search and containment one merge, where a scan of the wire order made
 * 20 clients' 2,700-node lists cost 120 ms a message.  The wire order
 * stays as it was, for what the tool and the vote reasons show.
 */
#ifndef QNETD_NODELIST_H
#define QNETD_NODELIST_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct node_list {
	struct qn_node *nodes;		/* in the order received */
	size_t count;
	/* Distinct ids, ascending; NULL in a list node_list_set did not
	 * make (a message's borrowed list: then the helpers scan). */
	uint32_t *ids;
	size_t nids;
};

int	node_list_has(const struct node_list *l, uint32_t node_id);
/* Replace the contents with a copy of nodes; -1 when memory ran out. */
int	node_list_set(struct node_list *l, const struct qn_node *nodes,
	    size_t count);
void	node_list_free(struct node_list *l);
/* Every node id of a is in b. */
int	node_list_subset(const struct node_list *a, const struct node_list *b);
/* a and b hold the same node ids (repetitions aside). */
int	node_list_same_set(const struct node_list *a,
	    const struct node_list *b);
/* Some node id is in both. */
int	node_list_intersects(const struct node_list *a,
	    const struct node_list *b);

#endif
