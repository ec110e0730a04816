#include <stdlib.h>
#include <string.h>

#include "cluster.h"

int
cluster_table_init(struct cluster_table *t)
{
	memset(t, 0, sizeof(*t));
	htab_init(&t->by_name);
	TAILQ_INIT(&t->order);
	return 0;
}

void
cluster_table_free(struct cluster_table *t)
{
	htab_free(&t->by_name);
	memset(t, 0, sizeof(*t));
}

struct cluster *
cluster_find(const struct cluster_table *t, const char *name, size_t len)
{
	struct htab_entry *e = htab_find(&t->by_name, name, len);

	return e != NULL ? htab_item(e, struct cluster, by_name) : NULL;
}

struct cluster *
cluster_get(struct cluster_table *t, const char *name, size_t len)
{
	struct cluster *cl;

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
	if (htab_insert(&t->by_name, &cl->by_name, cl->name, len) != 0) {
		free(cl->name);
		free(cl);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&t->order, cl, order);
	t->count++;
	return cl;
}

void
cluster_release(struct cluster_table *t, struct cluster *cl)
{
	if (!TAILQ_EMPTY(&cl->members))
		return;
	htab_remove(&t->by_name, &cl->by_name);
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
