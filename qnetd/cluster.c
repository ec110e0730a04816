#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "cluster.h"

int
cluster_table_init(struct cluster_table *t)
{
	memset(t, 0, sizeof(*t));
	htab_init(&t->by_name);
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
	if (htab_insert(&t->by_name, &cl->by_name, cl->name, len) != 0) {
		free(cl->name);
		free(cl);
		return NULL;
	}
	cl->prev = t->last;
	if (t->last != NULL)
		t->last->next = cl;
	else
		t->first = cl;
	t->last = cl;
	t->count++;
	return cl;
}

void
cluster_release(struct cluster_table *t, struct cluster *cl)
{
	if (cl->clients != NULL)
		return;
	htab_remove(&t->by_name, &cl->by_name);
	if (cl->prev != NULL)
		cl->prev->next = cl->next;
	else
		t->first = cl->next;
	if (cl->next != NULL)
		cl->next->prev = cl->prev;
	else
		t->last = cl->prev;
	t->count--;
	/* Off the budget's list of paused clusters with its memory. */
	if (cl->budget.paused)
		LIST_REMOVE(cl, budget.link);
	node_list_free(&cl->prev_quorate);
	free(cl->name);
	free(cl);
}

void
cluster_add_client(struct cluster *cl, struct client *c)
{
	struct client **pp = &cl->clients;

	while (*pp != NULL && (*pp)->node_id < c->node_id)
		pp = &(*pp)->cluster_next;
	c->cluster_next = *pp;
	*pp = c;
	c->cluster = cl;
	cl->client_count++;
}

void
cluster_remove_client(struct cluster *cl, struct client *c)
{
	struct client **pp = &cl->clients;

	while (*pp != NULL && *pp != c)
		pp = &(*pp)->cluster_next;
	if (*pp == NULL)
		return;
	*pp = c->cluster_next;
	c->cluster_next = NULL;
	cl->client_count--;
}

struct client *
cluster_client(const struct cluster *cl, uint32_t node_id)
{
	struct client *c;

	cluster_for_each(cl, c)
		if (c->node_id == node_id)
			return c;
	return NULL;
}
