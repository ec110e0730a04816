/*
 * corosync.conf as the qdevice sees it (BEHAVIOUR.md §3.3): every
 * quorum.device.* key with its default and validation, the node list and the
 * debug switch.  Values come through a small key -> value interface so the
 * parsing can be tested without corosync; qdevice/cmap.c provides the real
 * one.
 *
 * Errors are written into err as "<key>: <problem> '<value>' (allowed:
 * <what>)", ready to log; the daemon refuses to start with them.
 */
#ifndef QDEVICE_CONF_H
#define QDEVICE_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define CONFIG_ERR_LEN	512

/* One value: cmap keeps strings and typed integers apart. */
struct kv_value {
	int is_string;
	char *str;		/* heap, when is_string; the caller frees it */
	uint64_t num;		/* otherwise */
};

struct kv {
	/* 0 found, 1 absent, -1 could not be read. */
	int	(*get)(void *arg, const char *key, struct kv_value *v);
	/*
	 * Call fn for every key that starts with prefix, in the source's
	 * order (cmap: sorted by name); fn returns 0 to go on.  Returns 0 or
	 * -1 when the keys could not be listed.
	 */
	int	(*each)(void *arg, const char *prefix,
		    int (*fn)(void *ctx, const char *key), void *ctx);
	void	*arg;
};

/* The advanced settings (-S) that bound configuration values. */
struct config_limits {
	uint32_t heartbeat_min, heartbeat_max;
	uint32_t connect_timeout_min, connect_timeout_max;
	uint32_t heuristics_timeout_min, heuristics_timeout_max;
	uint32_t heuristics_interval_min, heuristics_interval_max;
	uint32_t heuristics_max_execs;
	int test_algorithm_enabled;
};

enum heur_mode {
	HEUR_MODE_OFF,
	HEUR_MODE_ON,
	HEUR_MODE_SYNC		/* only at membership changes and connect */
};

/* host, host_2 ... host_8: the arbiters, in the order they are tried. */
#define NET_MAX_HOSTS		8
#define NET_DEFAULT_RETURN_HOLD	60000	/* ms, host_return_hold */

struct net_host {
	char *host;			/* hosts[0].host is net_config.host */
	uint16_t port;
};

struct net_config {
	char *host;			/* quorum.device.net.host */
	uint16_t port;
	struct net_host hosts[NET_MAX_HOSTS];	/* [0] = host, port */
	size_t host_count;		/* 1 unless host_2 ... are set */
	uint32_t host_return_hold;	/* ms on another host before trying
					 * the first again; 0: stay */
	uint8_t tls;			/* enum qn_tls */
	uint8_t algorithm;		/* enum qn_algo */
	struct qn_tie_breaker tie_breaker;
	int force_ip_version;		/* 0, 4 or 6 */
	int kap;			/* keep-active-partition tie-breaker */
	/* Derived (§3.3) */
	uint32_t heartbeat_interval;	/* 0.8 x timeout, clamped */
	uint32_t cast_vote_interval;	/* 0.5 x timeout */
	uint32_t connect_timeout;	/* configured, or the heartbeat */
};

/* What is read once at start. */
struct qdevice_config {
	uint32_t node_id;		/* runtime.votequorum.this_node_id */
	char *cluster_name;		/* totem.cluster_name */
	uint32_t timeout;		/* quorum.device.timeout */
	uint32_t sync_timeout;		/* quorum.device.sync_timeout */
	int has_votes;
	uint32_t votes;			/* quorum.device.votes */
	int wait_for_all;		/* quorum.wait_for_all */
	struct net_config net;
};

struct heur_config_exec {
	char *name;			/* after "exec_" */
	char *command;
};

/* Re-read at every change of quorum.device.heuristics.* */
struct heur_config {
	enum heur_mode mode;
	uint32_t timeout;		/* regular runs and connect */
	uint32_t sync_timeout;		/* membership changes */
	uint32_t interval;		/* between regular runs (mode on) */
	struct heur_config_exec *execs;	/* in key order */
	size_t exec_count;
};

struct nodelist {
	struct qn_node *nodes;		/* key order, duplicates dropped */
	size_t count;
	int has_config_version;
	uint64_t config_version;
};

void	config_limits_default(struct config_limits *l);

/* Everything but heuristics and the node list.  0 or -1 with err. */
int	config_read(const struct kv *kv, const struct config_limits *lim,
	    struct qdevice_config *c, char *err, size_t errlen);
void	config_free(struct qdevice_config *c);

/*
 * quorum.device.heuristics.*: defaults derive from timeout and sync_timeout
 * of struct qdevice_config.  0 or -1 with err (the daemon then exits, at
 * start as after a reload).
 */
int	config_read_heuristics(const struct kv *kv,
	    const struct config_limits *lim, uint32_t timeout,
	    uint32_t sync_timeout, struct heur_config *h, char *err,
	    size_t errlen);
void	heur_config_free(struct heur_config *h);
/* Same mode, timings and commands? */
int	heur_config_equal(const struct heur_config *a,
	    const struct heur_config *b);
int	heur_execs_equal(const struct heur_config *a,
	    const struct heur_config *b);

/*
 * nodelist.node.* and totem.config_version; node ids without a nodeid key
 * come from the IPv4 address of ring0_addr (bit 31 cleared with
 * totem.clear_node_high_bit: yes).  0 or -1 with err.
 */
int	config_read_nodelist(const struct kv *kv, struct nodelist *nl,
	    char *err, size_t errlen);
void	nodelist_free(struct nodelist *nl);
/* The same (node id, data center id) pairs, in any order? */
int	nodelist_same_nodes(const struct nodelist *a, const struct nodelist *b);
/* ring0_addr as a number: a.b.c.d -> a<<24|b<<16|c<<8|d, 0 if no IPv4. */
uint32_t nodeid_from_addr(const char *addr, int clear_high_bit);

/*
 * logging.debug, overridden by logging.logger_subsys.QDEVICE.debug.
 * Returns 0 with *debug set, 1 when neither key is set (*debug untouched),
 * -1 with err for a value that is not a boolean or "trace".
 */
int	config_read_debug(const struct kv *kv, int *debug, char *err,
	    size_t errlen);

/* Words used in the text output and in messages. */
const char *heur_mode_name(enum heur_mode m);	/* "Enabled only on sync" */
const char *heur_mode_id(enum heur_mode m);	/* "sync" */

#endif
