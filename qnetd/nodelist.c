#include <stdlib.h>
#include <string.h>

#include "nodelist.h"

int
node_list_has(const struct node_list *l, uint32_t node_id)
{
	for (size_t i = 0; i < l->count; i++)
		if (l->nodes[i].node_id == node_id)
			return 1;
	return 0;
}

int
node_list_set(struct node_list *l, const struct qn_node *nodes, size_t count)
{
	struct qn_node *copy = NULL;

	if (count > 0) {
		if ((copy = malloc(count * sizeof(*copy))) == NULL)
			return -1;
		memcpy(copy, nodes, count * sizeof(*copy));
	}
	free(l->nodes);
	l->nodes = copy;
	l->count = count;
	return 0;
}

void
node_list_free(struct node_list *l)
{
	free(l->nodes);
	l->nodes = NULL;
	l->count = 0;
}

int
node_list_subset(const struct node_list *a, const struct node_list *b)
{
	for (size_t i = 0; i < a->count; i++)
		if (!node_list_has(b, a->nodes[i].node_id))
			return 0;
	return 1;
}
