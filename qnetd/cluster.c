#include <stdlib.h>
#include <string.h>

#include "cluster.h"

#define INITIAL_BUCKETS	64

/* FNV-1a: cheap and good enough for short names. */
static size_t
hash_name(const char *name, size_t len)
{
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)name[i];
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

int
cluster_table_init(struct cluster_table *t)
{
	memset(t, 0, sizeof(*t));
	TAILQ_INIT(&t->order);
	t->buckets = calloc(INITIAL_BUCKETS, sizeof(*t->buckets));
	if (t->buckets == NULL)
		return -1;
	t->nbuckets = INITIAL_BUCKETS;
	return 0;
}

void
cluster_table_free(struct cluster_table *t)
{
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

struct cluster *
cluster_find(const struct cluster_table *t, const char *name, size_t len)
{
	struct cluster *cl;

	cl = t->buckets[hash_name(name, len) & (t->nbuckets - 1)];
	for (; cl != NULL; cl = cl->hash_next)
		if (cl->name_len == len && memcmp(cl->name, name, len) == 0)
			return cl;
	return NULL;
}

/* Double the buckets when the table gets full; failure just keeps chains longer. */
static void
grow(struct cluster_table *t)
{
	size_t n = t->nbuckets * 2;
	struct cluster **b = calloc(n, sizeof(*b));
	struct cluster *cl;

	if (b == NULL)
		return;
	TAILQ_FOREACH(cl, &t->order, order) {
		size_t i = hash_name(cl->name, cl->name_len) & (n - 1);

		cl->hash_next = b[i];
		b[i] = cl;
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = n;
}

struct cluster *
cluster_get(struct cluster_table *t, const char *name, size_t len)
{
	struct cluster *cl;
	size_t i;

	if ((cl = cluster_find(t, name, len)) != NULL)
		return cl;
	if ((cl = calloc(1, sizeof(*cl))) == NULL)
		return NULL;
	if ((cl->name = malloc(len + 1)) == NULL) {
		free(cl);
		return NULL;
	}
	memcpy(cl->name, name, len);
	cl->name[len] = '\0';
	cl->name_len = len;
	TAILQ_INIT(&cl->members);

	if (t->count >= t->nbuckets)
		grow(t);
	i = hash_name(name, len) & (t->nbuckets - 1);
	cl->hash_next = t->buckets[i];
	t->buckets[i] = cl;
	TAILQ_INSERT_TAIL(&t->order, cl, order);
	t->count++;
	return cl;
}

void
cluster_release(struct cluster_table *t, struct cluster *cl)
{
	struct cluster **pp;

	if (!TAILQ_EMPTY(&cl->members))
		return;
	pp = &t->buckets[hash_name(cl->name, cl->name_len) & (t->nbuckets - 1)];
	while (*pp != cl)
		pp = &(*pp)->hash_next;
	*pp = cl->hash_next;
	TAILQ_REMOVE(&t->order, cl, order);
	t->count--;
	/* Off the budget's list of paused clusters with its memory. */
	if (cl->budget.paused)
		LIST_REMOVE(cl, budget.link);
	node_list_free(&cl->prev_quorate);
	free(cl->name);
	free(cl);
}

void
cluster_add_member(struct cluster *cl, struct member *m)
{
	struct member *o;

	cluster_for_each(cl, o)
		if (o->node_id >= m->node_id)
			break;
	if (o != NULL)
		TAILQ_INSERT_BEFORE(o, m, cluster_link);
	else
		TAILQ_INSERT_TAIL(&cl->members, m, cluster_link);
	m->cluster = cl;
	cl->client_count++;
}

void
cluster_remove_member(struct cluster *cl, struct member *m)
{
	TAILQ_REMOVE(&cl->members, m, cluster_link);
	cl->client_count--;
}

struct member *
cluster_member(const struct cluster *cl, uint32_t node_id)
{
	struct member *m;

	cluster_for_each(cl, m)
		if (m->node_id == node_id)
			return m;
	return NULL;
}
