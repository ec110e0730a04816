/* A node list as a client last reported it (config, membership, quorum). */
#ifndef QNETD_NODELIST_H
#define QNETD_NODELIST_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct node_list {
	struct qn_node *nodes;
	size_t count;
};

int	node_list_has(const struct node_list *l, uint32_t node_id);
/* Replace the contents with a copy of nodes; -1 when memory ran out. */
int	node_list_set(struct node_list *l, const struct qn_node *nodes,
	    size_t count);
void	node_list_free(struct node_list *l);
/* Every node id of a is in b. */
int	node_list_subset(const struct node_list *a, const struct node_list *b);

#endif
