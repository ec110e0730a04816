/*
 * nodelist.node.*: the configured node list and node ids (BEHAVIOUR.md
 * §3.3).
 */
#include "config.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "conf.h"
#include "conf_get.h"
#include "log.h"
#include "settings.h"

/* ------------------------------------------------------------------ */
/* nodelist.node.* */

/* Node indices in the order their first key comes (cmap: by name). */
struct index_walk {
	unsigned *idx;
	size_t n, cap;
	int failed;
};

static int
add_index(void *ctx, const char *key)
{
	struct index_walk *w = ctx;
	const char *p = key + strlen(NODE_PREFIX);
	char *end;
	unsigned long i;

	if (*p < '0' || *p > '9')
		return 0;
	i = strtoul(p, &end, 10);
	if (*end != '.' || i > UINT32_MAX)
		return 0;
	for (size_t k = 0; k < w->n; k++)
		if (w->idx[k] == i)
			return 0;
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		unsigned *v = realloc(w->idx, cap * sizeof(*v));

		if (v == NULL) {
			w->failed = 1;
			return -1;
		}
		w->idx = v;
		w->cap = cap;
	}
	w->idx[w->n++] = (unsigned)i;
	return 0;
}

uint32_t
nodeid_from_addr(const char *addr, int clear_high_bit)
{
	struct addrinfo hints = { .ai_family = AF_INET }, *res = NULL;
	uint32_t id;

	if (getaddrinfo(addr, NULL, &hints, &res) != 0 || res == NULL)
		return 0;
	id = ntohl(((struct sockaddr_in *)(void *)res->ai_addr)->sin_addr.s_addr);
	freeaddrinfo(res);
	if (clear_high_bit)
		id &= 0x7fffffffU;
	return id;
}

static int
read_node(const struct kv *kv, unsigned i, int clear_high_bit,
    struct qn_node *node, char *err, size_t errlen)
{
	char key[128], *addr = NULL, *name = NULL;
	int has_addr, has_name, rc;

	snprintf(key, sizeof(key), NODE_PREFIX "%u.ring0_addr", i);
	if ((has_addr = conf_get_str(kv, key, &addr, err, errlen)) < 0)
		return -1;
	has_addr = has_addr == 0;
	snprintf(key, sizeof(key), NODE_PREFIX "%u.name", i);
	if ((has_name = conf_get_str(kv, key, &name, err, errlen)) < 0)
		goto fail;
	has_name = has_name == 0;
	free(name);
	if (!has_addr && !has_name) {
		rc = 1;			/* not a node entry */
		goto out;
	}

	memset(node, 0, sizeof(*node));
	snprintf(key, sizeof(key), NODE_PREFIX "%u.nodeid", i);
	rc = conf_get_u32(kv, key, &node->node_id, err, errlen);
	if (rc < 0)
		goto fail;
	if (rc > 0) {
		if (!has_addr) {
			snprintf(err, errlen, NODE_PREFIX "%u: neither nodeid "
			    "nor ring0_addr is set (required: one of them)", i);
			goto fail;
		}
		node->node_id = nodeid_from_addr(addr, clear_high_bit);
	}
	if (node->node_id == 0) {
		/* 3.0.3 would send node id 0, which qnetd refuses to decode. */
		snprintf(err, errlen, NODE_PREFIX "%u: node id 0 (ring0_addr "
		    "'%s') (allowed: nodeid 1-4294967295, or a ring0_addr with "
		    "an IPv4 address)", i, has_addr ? addr : "");
		goto fail;
	}
	snprintf(key, sizeof(key), NODE_PREFIX "%u.datacenterid", i);
	if (conf_get_u32(kv, key, &node->dc_id, err, errlen) < 0)
		goto fail;
	rc = 0;
out:
	free(addr);
	return rc;
fail:
	free(addr);
	return -1;
}

int
config_read_nodelist(const struct kv *kv, struct nodelist *nl, char *err,
    size_t errlen)
{
	struct index_walk w = { 0 };
	char *s = NULL;
	uint64_t v;
	int clear_high_bit = 0, rc;

	memset(nl, 0, sizeof(*nl));
	rc = conf_get_num(kv, "totem.config_version", UINT64_MAX, &v, err,
	    errlen);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		nl->has_config_version = 1;
		nl->config_version = v;
	}
	rc = conf_get_str(kv, "totem.clear_node_high_bit", &s, err, errlen);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		clear_high_bit = strcmp(s, "yes") == 0;
		free(s);
	}

	if (kv->each(kv->arg, NODE_PREFIX, add_index, &w) != 0 || w.failed) {
		snprintf(err, errlen, NODE_PREFIX "*: can't be read");
		goto fail;
	}
	if (w.n > 0 && (nl->nodes = calloc(w.n, sizeof(*nl->nodes))) == NULL) {
		snprintf(err, errlen, "node list: out of memory");
		goto fail;
	}
	for (size_t k = 0; k < w.n; k++) {
		struct qn_node node;
		int dup = 0;

		rc = read_node(kv, w.idx[k], clear_high_bit, &node, err, errlen);
		if (rc < 0)
			goto fail;
		if (rc > 0)
			continue;
		for (size_t j = 0; j < nl->count; j++)
			dup |= nl->nodes[j].node_id == node.node_id;
		if (!dup)
			nl->nodes[nl->count++] = node;
	}
	free(w.idx);
	return 0;
fail:
	free(w.idx);
	nodelist_free(nl);
	return -1;
}

void
nodelist_free(struct nodelist *nl)
{
	free(nl->nodes);
	nl->nodes = NULL;
	nl->count = 0;
}

static int
has_node(const struct nodelist *l, const struct qn_node *n)
{
	for (size_t i = 0; i < l->count; i++)
		if (l->nodes[i].node_id == n->node_id &&
		    l->nodes[i].dc_id == n->dc_id)
			return 1;
	return 0;
}

int
nodelist_same_nodes(const struct nodelist *a, const struct nodelist *b)
{
	/* Node ids are unique within a list, so equal sizes + inclusion. */
	if (a->count != b->count)
		return 0;
	for (size_t i = 0; i < a->count; i++)
		if (!has_node(b, &a->nodes[i]))
			return 0;
	return 1;
}

