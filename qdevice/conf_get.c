/*
 * Typed access to corosync.conf keys through struct kv, with the error
 * texts every conf_*.c file uses ("<key>: invalid value ...").
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
/* Typed access */

void
conf_bad_value(char *err, size_t errlen, const char *key, const char *value,
    const char *allowed)
{
	snprintf(err, errlen, "%s: invalid value '%s' (allowed: %s)", key,
	    value, allowed);
}

void
conf_missing(char *err, size_t errlen, const char *key, const char *allowed)
{
	snprintf(err, errlen, "%s: missing (required: %s)", key, allowed);
}

/* Read key into v: 0, 1 absent, -1 unreadable (err says which key). */
int
conf_get_value(const struct kv *kv, const char *key, struct kv_value *v,
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
int
conf_get_str(const struct kv *kv, const char *key, char **out, char *err,
    size_t errlen)
{
	struct kv_value v = { 0 };
	int rc = conf_get_value(kv, key, &v, err, errlen);

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
int
conf_get_num(const struct kv *kv, const char *key, uint64_t max, uint64_t *out,
    char *err, size_t errlen)
{
	struct kv_value v = { 0 };
	char allowed[64];
	long long n;
	int rc = conf_get_value(kv, key, &v, err, errlen);

	if (rc != 0)
		return rc;
	snprintf(allowed, sizeof(allowed), "0-%" PRIu64, max);
	if (v.is_string) {
		rc = parse_ll(v.str, 0, max > LLONG_MAX ? LLONG_MAX :
		    (long long)max, &n);
		if (rc != 0)
			conf_bad_value(err, errlen, key, v.str, allowed);
		free(v.str);
		if (rc != 0)
			return -1;
		*out = (uint64_t)n;
		return 0;
	}
	if (v.num > max) {
		char num[32];

		snprintf(num, sizeof(num), "%" PRIu64, v.num);
		conf_bad_value(err, errlen, key, num, allowed);
		return -1;
	}
	*out = v.num;
	return 0;
}

int
conf_get_u32(const struct kv *kv, const char *key, uint32_t *out, char *err,
    size_t errlen)
{
	uint64_t v;
	int rc = conf_get_num(kv, key, UINT32_MAX, &v, err, errlen);

	if (rc == 0)
		*out = (uint32_t)v;
	return rc;
}

/*
 * An optional string key holding an integer in [min, max]; def when
 * absent.
 */
int
conf_get_ranged(const struct kv *kv, const char *key, uint32_t min,
    uint32_t max, uint32_t def, uint32_t *out, char *err, size_t errlen)
{
	char *s = NULL, allowed[64];
	long long v;
	int rc = conf_get_str(kv, key, &s, err, errlen);

	if (rc < 0)
		return -1;
	if (rc > 0) {
		*out = def;
		return 0;
	}
	if (parse_ll(s, min, max, &v) != 0) {
		snprintf(allowed, sizeof(allowed), "an integer %" PRIu32 "-%"
		    PRIu32, min, max);
		conf_bad_value(err, errlen, key, s, allowed);
		free(s);
		return -1;
	}
	free(s);
	*out = (uint32_t)v;
	return 0;
}

