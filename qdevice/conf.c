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
#include "conf_get.h"
#include "log.h"
#include "settings.h"

#define DEFAULT_TIMEOUT		10000	/* votequorum's defaults */
#define DEFAULT_SYNC_TIMEOUT	30000


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


static int
read_net(const struct kv *kv, const struct config_limits *lim,
    struct qdevice_config *c, char *err, size_t errlen)
{
	struct net_config *n = &c->net;
	uint64_t hb;
	long long v;
	char allowed[64];
	int rc;

	rc = conf_get_str(kv, "quorum.device.net.host", &n->host, err, errlen);
	if (rc < 0)
		return -1;
	if (rc > 0 || n->host[0] == '\0') {
		conf_missing(err, errlen, "quorum.device.net.host",
		    "host name or address of the qnetd server");
		return -1;
	}

	n->port = QN_DEFAULT_PORT;
	OPT_STR("quorum.device.net.port",
	    parse_ll(s, 1, 65535, &v) == 0 && (n->port = (uint16_t)v, 1),
	    "an integer 1-65535");
	if (conf_read_hosts(kv, n, err, errlen) != 0)
		return -1;

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
	rc = conf_get_str(kv, "quorum.device.model", &model, err, errlen);
	if (rc < 0)
		return -1;
	if (rc > 0) {
		conf_missing(err, errlen, "quorum.device.model", "net");
		return -1;
	}
	if (strcmp(model, "net") != 0) {
		conf_bad_value(err, errlen, "quorum.device.model", model,
		    "net");
		free(model);
		return -1;
	}
	free(model);

	rc = conf_get_u32(kv, "runtime.votequorum.this_node_id", &c->node_id,
	    err, errlen);
	if (rc > 0)
		conf_missing(err, errlen, "runtime.votequorum.this_node_id",
		    "set by corosync's votequorum");
	if (rc != 0)
		goto fail;

	c->timeout = DEFAULT_TIMEOUT;
	if (conf_get_u32(kv, "quorum.device.timeout", &c->timeout, err,
	    errlen) < 0)
		goto fail;
	c->sync_timeout = DEFAULT_SYNC_TIMEOUT;
	if (conf_get_u32(kv, "quorum.device.sync_timeout", &c->sync_timeout,
	    err, errlen) < 0)
		goto fail;
	rc = conf_get_u32(kv, "quorum.device.votes", &c->votes, err, errlen);
	if (rc < 0)
		goto fail;
	c->has_votes = rc == 0;
	u = 0;
	if (conf_get_u32(kv, "quorum.wait_for_all", &u, err, errlen) < 0)
		goto fail;
	c->wait_for_all = u != 0;

	rc = conf_get_str(kv, "totem.cluster_name", &c->cluster_name, err,
	    errlen);
	if (rc > 0)
		conf_missing(err, errlen, "totem.cluster_name",
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
	conf_free_hosts(&c->net);
	free(c->net.host);
	c->cluster_name = NULL;
	c->net.host = NULL;
}

/* ------------------------------------------------------------------ */
/* logging.debug */

static int
debug_value(const struct kv *kv, const char *key, int *debug, char *err,
    size_t errlen)
{
	char *s = NULL;
	int rc = conf_get_str(kv, key, &s, err, errlen);

	if (rc != 0)
		return rc;
	if (strcasecmp(s, "trace") == 0) {
		*debug = 1;
	} else if (parse_bool(s, debug) != 0) {
		conf_bad_value(err, errlen, key, s,
		    "on, yes, 1, trace, off, no or 0");
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
