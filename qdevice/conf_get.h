/*
 * Typed access to corosync.conf keys, shared by conf.c, conf_heur.c and
 * conf_nodes.c (not part of conf.h: readers of the configuration need
 * only what those files build).
 */
#ifndef QDEVICE_CONF_GET_H
#define QDEVICE_CONF_GET_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

#define HEUR_PREFIX		"quorum.device.heuristics."
#define EXEC_PREFIX		HEUR_PREFIX "exec_"
#define NODE_PREFIX		"nodelist.node."

/* "<key>: invalid value '<value>' (allowed: <allowed>)" into err */
void	conf_bad_value(char *err, size_t errlen, const char *key,
	    const char *value, const char *allowed);
/* "<key>: missing (required: <allowed>)" into err */
void	conf_missing(char *err, size_t errlen, const char *key,
	    const char *allowed);
/* Read key into v: 0, 1 absent, -1 unreadable (err says which key). */
int	conf_get_value(const struct kv *kv, const char *key,
	    struct kv_value *v, char *err, size_t errlen);
/* A string key (numbers as decimal text): 0 (*out on the heap), 1 absent, -1. */
int	conf_get_str(const struct kv *kv, const char *key, char **out,
	    char *err, size_t errlen);
/* A numeric key up to max: 0, 1 absent, -1. */
int	conf_get_num(const struct kv *kv, const char *key, uint64_t max,
	    uint64_t *out, char *err, size_t errlen);
int	conf_get_u32(const struct kv *kv, const char *key, uint32_t *out,
	    char *err, size_t errlen);
/* An optional string key holding an integer in [min, max]; def if absent. */
int	conf_get_ranged(const struct kv *kv, const char *key, uint32_t min,
	    uint32_t max, uint32_t def, uint32_t *out, char *err, size_t errlen);

/*
 * Optional string key: parse with fn; def stays when absent.  The
 * "allowed" text goes into the error.
 */
#define OPT_STR(key, ok_expr, allowed_text) do {			\
	char *s_ = NULL;						\
	int rc_ = conf_get_str(kv, key, &s_, err, errlen);		\
	if (rc_ < 0)							\
		return -1;						\
	if (rc_ == 0) {							\
		const char *s = s_;					\
		if (!(ok_expr)) {					\
			conf_bad_value(err, errlen, key, s, allowed_text); \
			free(s_);					\
			return -1;					\
		}							\
		free(s_);						\
	}								\
} while (0)

/*
 * quorum.device.net.host_2 ... host_8, port_2 ... port_8 and
 * host_return_hold, after host and port are in n (conf_hosts.c).  0, or -1
 * with err naming the key.
 */
int	conf_read_hosts(const struct kv *kv, struct net_config *n, char *err,
	    size_t errlen);
void	conf_free_hosts(struct net_config *n);

#endif
