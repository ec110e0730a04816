/*
 * Reading and validating the qdevice's corosync.conf keys (BEHAVIOUR.md
 * §3.3).  Defaults and ranges are those of 3.0.3; unlike 3.0.3 every refusal
 * names the key, the value and what would have been accepted.
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
#include "log.h"
#include "settings.h"

#define DEFAULT_TIMEOUT		10000	/* votequorum's defaults */
#define DEFAULT_SYNC_TIMEOUT	30000

#define HEUR_PREFIX		"quorum.device.heuristics."
#define EXEC_PREFIX		HEUR_PREFIX "exec_"
#define NODE_PREFIX		"nodelist.node."

void
config_limits_default(struct config_limits *l)
{
	l->heartbeat_min = 1000;
	l->heartbeat_max = 120000;
	l->connect_timeout_min = 1000;
	l->connect_timeout_max = 120000;
	l->heuristics_timeout_min = 1000;
	l->heuristics_timeout_max = 120000;
	l->heuristics_interval_min = 1000;
	l->heuristics_interval_max = 3600000;
	l->heuristics_max_execs = 32;
	l->test_algorithm_enabled = 0;
}

/* ------------------------------------------------------------------ */
/* Typed access */

static void
bad_value(char *err, size_t errlen, const char *key, const char *value,
    const char *allowed)
{
	snprintf(err, errlen, "%s: invalid value '%s' (allowed: %s)", key,
	    value, allowed);
}

static void
missing(char *err, size_t errlen, const char *key, const char *allowed)
{
	snprintf(err, errlen, "%s: missing (required: %s)", key, allowed);
}

/* Read key into v: 0, 1 absent, -1 unreadable (err says which key). */
static int
get_value(const struct kv *kv, const char *key, struct kv_value *v,
    char *err, size_t errlen)
{
	int rc = kv->get(kv->arg, key, v);

	if (rc < 0) {
		snprintf(err, errlen, "%s: can't be read", key);
		return -1;
	}
	return rc > 0;
}

/*
 * A key that 3.0.3 reads as a string.  Typed values are turned into their
 * decimal text, so a value set with corosync-cmapctl as a number still
 * works.  Returns 0 (*out on the heap), 1 absent, -1 unreadable.
 */
static int
get_str(const struct kv *kv, const char *key, char **out, char *err,
    size_t errlen)
{
	struct kv_value v = { 0 };
	int rc = get_value(kv, key, &v, err, errlen);

	if (rc != 0)
		return rc;
	if (v.is_string) {
		*out = v.str;
		return 0;
	}
	if (asprintf(out, "%" PRIu64, v.num) < 0) {
		snprintf(err, errlen, "%s: out of memory", key);
		return -1;
	}
	return 0;
}

/*
 * A key corosync keeps as a number (quorum.device.timeout, nodeid, ...).  A
 * decimal string is accepted too: corosync's parser leaves keys it does not
 * know, such as nodelist.node.N.datacenterid, as strings.
 */
static int
get_num(const struct kv *kv, const char *key, uint64_t max, uint64_t *out,
    char *err, size_t errlen)
{
	struct kv_value v = { 0 };
	char allowed[64];
	long long n;
	int rc = get_value(kv, key, &v, err, errlen);

	if (rc != 0)
		return rc;
	snprintf(allowed, sizeof(allowed), "0-%" PRIu64, max);
	if (v.is_string) {
		rc = parse_ll(v.str, 0, max > LLONG_MAX ? LLONG_MAX :
		    (long long)max, &n);
		if (rc != 0)
			bad_value(err, errlen, key, v.str, allowed);
		free(v.str);
		if (rc != 0)
			return -1;
		*out = (uint64_t)n;
		return 0;
	}
	if (v.num > max) {
		char num[32];

		snprintf(num, sizeof(num), "%" PRIu64, v.num);
		bad_value(err, errlen, key, num, allowed);
		return -1;
	}
	*out = v.num;
	return 0;
}

static int
get_u32(const struct kv *kv, const char *key, uint32_t *out, char *err,
    size_t errlen)
{
	uint64_t v;
	int rc = get_num(kv, key, UINT32_MAX, &v, err, errlen);

	if (rc == 0)
		*out = (uint32_t)v;
	return rc;
}

/*
 * An optional string key holding an integer in [min, max]; def when
 * absent.
 */
static int
get_ranged(const struct kv *kv, const char *key, uint32_t min, uint32_t max,
    uint32_t def, uint32_t *out, char *err, size_t errlen)
{
	char *s = NULL, allowed[64];
	long long v;
	int rc = get_str(kv, key, &s, err, errlen);

	if (rc < 0)
		return -1;
	if (rc > 0) {
		*out = def;
		return 0;
	}
	if (parse_ll(s, min, max, &v) != 0) {
		snprintf(allowed, sizeof(allowed), "an integer %" PRIu32 "-%"
		    PRIu32, min, max);
		bad_value(err, errlen, key, s, allowed);
		free(s);
		return -1;
	}
	free(s);
	*out = (uint32_t)v;
	return 0;
}

/* ------------------------------------------------------------------ */
/* quorum.device.net.* */

static int
parse_tls(const char *s, uint8_t *tls)
{
	int b;

	if (strcasecmp(s, "required") == 0) {
		*tls = QN_TLS_REQUIRED;
		return 0;
	}
	if (parse_bool(s, &b) != 0)
		return -1;
	*tls = b ? QN_TLS_SUPPORTED : QN_TLS_UNSUPPORTED;
	return 0;
}

static int
parse_algorithm(const char *s, int test_enabled, uint8_t *algo)
{
	if (strcmp(s, "ffsplit") == 0)
		*algo = QN_ALGO_FFSPLIT;
	else if (strcmp(s, "lms") == 0)
		*algo = QN_ALGO_LMS;
	else if (strcmp(s, "2nodelms") == 0)
		*algo = QN_ALGO_2NODELMS;
	else if (strcmp(s, "test") == 0 && test_enabled)
		*algo = QN_ALGO_TEST;
	else
		return -1;
	return 0;
}

static int
parse_tie_breaker(const char *s, struct qn_tie_breaker *tb)
{
	long long id;

	tb->node_id = 0;
	if (strcmp(s, "lowest") == 0) {
		tb->mode = QN_TB_LOWEST;
	} else if (strcmp(s, "highest") == 0) {
		tb->mode = QN_TB_HIGHEST;
	} else if (parse_ll(s, 1, UINT32_MAX, &id) == 0) {
		tb->mode = QN_TB_NODE_ID;
		tb->node_id = (uint32_t)id;
	} else {
		return -1;
	}
	return 0;
}

/*
 * Optional string key: parse with fn; def stays when absent.  The
 * "allowed" text goes into the error.
 */
#define OPT_STR(key, ok_expr, allowed_text) do {			\
	char *s_ = NULL;						\
	int rc_ = get_str(kv, key, &s_, err, errlen);			\
	if (rc_ < 0)							\
		return -1;						\
	if (rc_ == 0) {							\
		const char *s = s_;					\
		if (!(ok_expr)) {					\
			bad_value(err, errlen, key, s, allowed_text);	\
			free(s_);					\
			return -1;					\
		}							\
		free(s_);						\
	}								\
} while (0)

static int
read_net(const struct kv *kv, const struct config_limits *lim,
    struct qdevice_config *c, char *err, size_t errlen)
{
	struct net_config *n = &c->net;
	uint64_t hb;
	long long v;
	char allowed[64];
	int rc;

	rc = get_str(kv, "quorum.device.net.host", &n->host, err, errlen);
	if (rc < 0)
		return -1;
	if (rc > 0 || n->host[0] == '\0') {
		missing(err, errlen, "quorum.device.net.host",
		    "host name or address of the qnetd server");
		return -1;
	}

	n->port = QN_DEFAULT_PORT;
	OPT_STR("quorum.device.net.port",
	    parse_ll(s, 1, 65535, &v) == 0 && (n->port = (uint16_t)v, 1),
	    "an integer 1-65535");

	n->tls = QN_TLS_SUPPORTED;
	OPT_STR("quorum.device.net.tls", parse_tls(s, &n->tls) == 0,
	    "on, yes, 1, off, no, 0 or required");

	n->algorithm = QN_ALGO_FFSPLIT;
	OPT_STR("quorum.device.net.algorithm",
	    parse_algorithm(s, lim->test_algorithm_enabled, &n->algorithm) == 0,
	    lim->test_algorithm_enabled ? "ffsplit, lms, 2nodelms or test" :
	    "ffsplit, lms or 2nodelms; test only with -S "
	    "net_test_algorithm_enabled=on");

	n->tie_breaker.mode = QN_TB_LOWEST;
	n->tie_breaker.node_id = 0;
	OPT_STR("quorum.device.net.tie_breaker",
	    parse_tie_breaker(s, &n->tie_breaker) == 0,
	    "lowest, highest or a node id 1-4294967295");

	n->force_ip_version = 0;
	OPT_STR("quorum.device.net.force_ip_version",
	    parse_ll(s, 0, 6, &v) == 0 && (v == 0 || v == 4 || v == 6) &&
	    (n->force_ip_version = (int)v, 1), "0, 4 or 6");

	n->kap = 1;
	OPT_STR("quorum.device.net.keep_active_partition_tie_breaker",
	    parse_bool(s, &n->kap) == 0, "on, yes, 1, off, no or 0");

	/* The heartbeat is 0.8 x timeout, kept within the -S limits. */
	hb = (uint64_t)c->timeout * 8 / 10;
	if (hb < lim->heartbeat_min) {
		log_warn("Heartbeat interval too small %" PRIu64 ". Adjusting "
		    "to %" PRIu32 ".", hb, lim->heartbeat_min);
		hb = lim->heartbeat_min;
	}
	if (hb > lim->heartbeat_max) {
		log_warn("Heartbeat interval too big %" PRIu64 ". Adjusting "
		    "to %" PRIu32 ".", hb, lim->heartbeat_max);
		hb = lim->heartbeat_max;
	}
	n->heartbeat_interval = (uint32_t)hb;
	n->cast_vote_interval = c->timeout / 2;

	snprintf(allowed, sizeof(allowed), "an integer %" PRIu32 "-%" PRIu32,
	    lim->connect_timeout_min, lim->connect_timeout_max);
	n->connect_timeout = n->heartbeat_interval;
	OPT_STR("quorum.device.net.connect_timeout",
	    parse_ll(s, lim->connect_timeout_min, lim->connect_timeout_max,
	    &v) == 0 && (n->connect_timeout = (uint32_t)v, 1), allowed);
	return 0;
}

int
config_read(const struct kv *kv, const struct config_limits *lim,
    struct qdevice_config *c, char *err, size_t errlen)
{
	char *model = NULL;
	uint32_t u;
	int rc;

	memset(c, 0, sizeof(*c));
	rc = get_str(kv, "quorum.device.model", &model, err, errlen);
	if (rc < 0)
		return -1;
	if (rc > 0) {
		missing(err, errlen, "quorum.device.model", "net");
		return -1;
	}
	if (strcmp(model, "net") != 0) {
		bad_value(err, errlen, "quorum.device.model", model, "net");
		free(model);
		return -1;
	}
	free(model);

	rc = get_u32(kv, "runtime.votequorum.this_node_id", &c->node_id, err,
	    errlen);
	if (rc > 0)
		missing(err, errlen, "runtime.votequorum.this_node_id",
		    "set by corosync's votequorum");
	if (rc != 0)
		goto fail;

	c->timeout = DEFAULT_TIMEOUT;
	if (get_u32(kv, "quorum.device.timeout", &c->timeout, err, errlen) < 0)
		goto fail;
	c->sync_timeout = DEFAULT_SYNC_TIMEOUT;
	if (get_u32(kv, "quorum.device.sync_timeout", &c->sync_timeout, err,
	    errlen) < 0)
		goto fail;
	rc = get_u32(kv, "quorum.device.votes", &c->votes, err, errlen);
	if (rc < 0)
		goto fail;
	c->has_votes = rc == 0;
	u = 0;
	if (get_u32(kv, "quorum.wait_for_all", &u, err, errlen) < 0)
		goto fail;
	c->wait_for_all = u != 0;

	rc = get_str(kv, "totem.cluster_name", &c->cluster_name, err, errlen);
	if (rc > 0)
		missing(err, errlen, "totem.cluster_name",
		    "the cluster name the qnetd server knows the cluster by");
	if (rc != 0)
		goto fail;
	if (read_net(kv, lim, c, err, errlen) != 0)
		goto fail;
	return 0;
fail:
	config_free(c);
	return -1;
}

void
config_free(struct qdevice_config *c)
{
	free(c->cluster_name);
	free(c->net.host);
	c->cluster_name = NULL;
	c->net.host = NULL;
}

/* ------------------------------------------------------------------ */
/* quorum.device.heuristics.* */

struct exec_walk {
	const struct kv *kv;
	struct heur_config *h;
	size_t cap;
	int failed;
};

static int
add_exec(void *ctx, const char *key)
{
	struct exec_walk *w = ctx;
	struct heur_config *h = w->h;
	const char *name = key + strlen(EXEC_PREFIX);
	struct kv_value v = { 0 };
	struct heur_config_exec *e;

	if (*name == '\0' || strchr(name, '.') != NULL) {
		log_warn("%s: invalid heuristics exec name '%s' (it must not "
		    "be empty or contain '.'); ignored", key, name);
		return 0;
	}
	if (w->kv->get(w->kv->arg, key, &v) != 0)
		return 0;
	if (!v.is_string) {
		log_warn("%s: value is not a string; ignored", key);
		return 0;
	}
	if (h->exec_count == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 8;

		e = realloc(h->execs, cap * sizeof(*e));
		if (e == NULL)
			goto nomem;
		h->execs = e;
		w->cap = cap;
	}
	e = &h->execs[h->exec_count];
	e->command = v.str;
	if ((e->name = strdup(name)) == NULL)
		goto nomem;
	h->exec_count++;
	return 0;
nomem:
	free(v.str);
	w->failed = 1;
	return -1;
}

static void
free_execs(struct heur_config *h)
{
	for (size_t i = 0; i < h->exec_count; i++) {
		free(h->execs[i].name);
		free(h->execs[i].command);
	}
	free(h->execs);
	h->execs = NULL;
	h->exec_count = 0;
}

int
config_read_heuristics(const struct kv *kv, const struct config_limits *lim,
    uint32_t timeout, uint32_t sync_timeout, struct heur_config *h,
    char *err, size_t errlen)
{
	struct exec_walk w = { .kv = kv, .h = h };
	int b;

	memset(h, 0, sizeof(*h));
	h->mode = HEUR_MODE_OFF;
	OPT_STR(HEUR_PREFIX "mode",
	    (strcasecmp(s, "sync") == 0 && (h->mode = HEUR_MODE_SYNC, 1)) ||
	    (parse_bool(s, &b) == 0 &&
	    (h->mode = b ? HEUR_MODE_ON : HEUR_MODE_OFF, 1)),
	    "on, yes, 1, off, no, 0 or sync");
	if (get_ranged(kv, HEUR_PREFIX "timeout", lim->heuristics_timeout_min,
	    lim->heuristics_timeout_max, timeout / 2, &h->timeout, err,
	    errlen) != 0 ||
	    get_ranged(kv, HEUR_PREFIX "sync_timeout",
	    lim->heuristics_timeout_min, lim->heuristics_timeout_max,
	    sync_timeout / 2, &h->sync_timeout, err, errlen) != 0 ||
	    get_ranged(kv, HEUR_PREFIX "interval", lim->heuristics_interval_min,
	    lim->heuristics_interval_max,
	    (uint32_t)((uint64_t)timeout * 3 > UINT32_MAX ? UINT32_MAX :
	    (uint64_t)timeout * 3), &h->interval, err, errlen) != 0)
		return -1;

	if (kv->each(kv->arg, EXEC_PREFIX, add_exec, &w) != 0 || w.failed) {
		snprintf(err, errlen, "%s*: can't be read", EXEC_PREFIX);
		free_execs(h);
		return -1;
	}
	if (h->exec_count > lim->heuristics_max_execs) {
		log_err("Too many heuristics exec commands (%zu, at most %"
		    PRIu32 " allowed by heuristics_max_execs). Disabling "
		    "heuristics.", h->exec_count, lim->heuristics_max_execs);
		free_execs(h);
	} else if (h->exec_count == 0 && h->mode != HEUR_MODE_OFF) {
		log_info("No valid heuristics execs defined. Heuristics will "
		    "return Undefined.");
	}
	return 0;
}

void
heur_config_free(struct heur_config *h)
{
	free_execs(h);
}

int
heur_execs_equal(const struct heur_config *a, const struct heur_config *b)
{
	if (a->exec_count != b->exec_count)
		return 0;
	for (size_t i = 0; i < a->exec_count; i++)
		if (strcmp(a->execs[i].name, b->execs[i].name) != 0 ||
		    strcmp(a->execs[i].command, b->execs[i].command) != 0)
			return 0;
	return 1;
}

int
heur_config_equal(const struct heur_config *a, const struct heur_config *b)
{
	return a->mode == b->mode && a->timeout == b->timeout &&
	    a->sync_timeout == b->sync_timeout && a->interval == b->interval &&
	    heur_execs_equal(a, b);
}

const char *
heur_mode_name(enum heur_mode m)
{
	switch (m) {
	case HEUR_MODE_ON:
		return "Enabled";
	case HEUR_MODE_SYNC:
		return "Enabled only on sync";
	case HEUR_MODE_OFF:
		break;
	}
	return "Disabled";
}

const char *
heur_mode_id(enum heur_mode m)
{
	switch (m) {
	case HEUR_MODE_ON:
		return "on";
	case HEUR_MODE_SYNC:
		return "sync";
	case HEUR_MODE_OFF:
		break;
	}
	return "off";
}

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
	if ((has_addr = get_str(kv, key, &addr, err, errlen)) < 0)
		return -1;
	has_addr = has_addr == 0;
	snprintf(key, sizeof(key), NODE_PREFIX "%u.name", i);
	if ((has_name = get_str(kv, key, &name, err, errlen)) < 0)
		goto fail;
	has_name = has_name == 0;
	free(name);
	if (!has_addr && !has_name) {
		rc = 1;			/* not a node entry */
		goto out;
	}

	memset(node, 0, sizeof(*node));
	snprintf(key, sizeof(key), NODE_PREFIX "%u.nodeid", i);
	rc = get_u32(kv, key, &node->node_id, err, errlen);
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
	if (get_u32(kv, key, &node->dc_id, err, errlen) < 0)
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
	rc = get_num(kv, "totem.config_version", UINT64_MAX, &v, err, errlen);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		nl->has_config_version = 1;
		nl->config_version = v;
	}
	rc = get_str(kv, "totem.clear_node_high_bit", &s, err, errlen);
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

/* ------------------------------------------------------------------ */
/* logging.debug */

static int
debug_value(const struct kv *kv, const char *key, int *debug, char *err,
    size_t errlen)
{
	char *s = NULL;
	int rc = get_str(kv, key, &s, err, errlen);

	if (rc != 0)
		return rc;
	if (strcasecmp(s, "trace") == 0) {
		*debug = 1;
	} else if (parse_bool(s, debug) != 0) {
		bad_value(err, errlen, key, s, "on, yes, 1, trace, off, no or 0");
		free(s);
		return -1;
	}
	free(s);
	return 0;
}

int
config_read_debug(const struct kv *kv, int *debug, char *err, size_t errlen)
{
	int d = *debug, found = 0, rc;

	rc = debug_value(kv, "logging.debug", &d, err, errlen);
	if (rc < 0)
		return -1;
	found |= rc == 0;
	rc = debug_value(kv, "logging.logger_subsys.QDEVICE.debug", &d, err,
	    errlen);
	if (rc < 0)
		return -1;
	found |= rc == 0;
	if (!found)
		return 1;
	*debug = d;
	return 0;
}
