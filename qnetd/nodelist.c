#include <stdlib.h>
#include <string.h>

#include "nodelist.h"

static int
cmp_id(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int
node_list_has(const struct node_list *l, uint32_t node_id)
{
	size_t lo = 0, hi = l->nids, mid;

	if (l->ids == NULL) {
		for (size_t i = 0; i < l->count; i++)
			if (l->nodes[i].node_id == node_id)
				return 1;
		return 0;
	}
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (l->ids[mid] == node_id)
			return 1;
		if (l->ids[mid] < node_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* The distinct ids of nodes, ascending, into *ids (malloc'ed). */
static int
sorted_ids(const struct qn_node *nodes, size_t count, uint32_t **ids,
    size_t *nids)
{
	uint32_t *v;
	size_t n = 0;

	if ((v = malloc(count * sizeof(*v))) == NULL)
		return -1;
	for (size_t i = 0; i < count; i++)
		v[i] = nodes[i].node_id;
	qsort(v, count, sizeof(*v), cmp_id);
	for (size_t i = 0; i < count; i++)
		if (n == 0 || v[n - 1] != v[i])
			v[n++] = v[i];
	*ids = v;
	*nids = n;
	return 0;
}

int
node_list_set(struct node_list *l, const struct qn_node *nodes, size_t count)
{
	struct qn_node *copy = NULL;
	uint32_t *ids = NULL;
	size_t nids = 0;

	if (count > 0) {
		if ((copy = malloc(count * sizeof(*copy))) == NULL)
			return -1;
		memcpy(copy, nodes, count * sizeof(*copy));
		if (sorted_ids(nodes, count, &ids, &nids) != 0) {
			free(copy);
			return -1;
		}
	}
	node_list_free(l);
	l->nodes = copy;
	l->count = count;
	l->ids = ids;
	l->nids = nids;
	return 0;
}

void
node_list_free(struct node_list *l)
{
	free(l->nodes);
	free(l->ids);
	*l = (struct node_list){ 0 };
}

int
node_list_subset(const struct node_list *a, const struct node_list *b)
{
	size_t j = 0;

	if (a->ids == NULL || b->ids == NULL) {
		for (size_t i = 0; i < a->count; i++)
			if (!node_list_has(b, a->nodes[i].node_id))
				return 0;
		return 1;
	}
	/* One merge: every id of a must turn up in b's ascending run. */
	for (size_t i = 0; i < a->nids; i++) {
		while (j < b->nids && b->ids[j] < a->ids[i])
			j++;
		if (j == b->nids || b->ids[j] != a->ids[i])
			return 0;
	}
	return 1;
}

int
node_list_same_set(const struct node_list *a, const struct node_list *b)
{
	if (a->ids == NULL || b->ids == NULL)
		return node_list_subset(a, b) && node_list_subset(b, a);
	return a->nids == b->nids &&
	    (a->nids == 0 || memcmp(a->ids, b->ids,
	    a->nids * sizeof(*a->ids)) == 0);
}

int
node_list_intersects(const struct node_list *a, const struct node_list *b)
{
	size_t i = 0, j = 0;

	if (a->ids == NULL || b->ids == NULL) {
		for (i = 0; i < a->count; i++)
			if (node_list_has(b, a->nodes[i].node_id))
				return 1;
		return 0;
	}
	while (i < a->nids && j < b->nids) {
		if (a->ids[i] == b->ids[j])
			return 1;
		if (a->ids[i] < b->ids[j])
			i++;
		else
			j++;
	}
	return 0;
}
