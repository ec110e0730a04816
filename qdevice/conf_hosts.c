/*
 * The ordered list of arbiters: quorum.device.net.host is the first,
 * host_2 ... host_8 (each with an optional port_N, default: port) the
 * others, tried in this order (net_link.c).  3.0.3 ignores these keys.
 * The list has no gaps, so a typo can't silently drop an arbiter.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_get.h"
#include "settings.h"

#define NET_PREFIX		"quorum.device.net."
#define RETURN_HOLD_MIN		1000
#define RETURN_HOLD_MAX		86400000

/*
 * The number of a key of the list ("host_3" -> 3); 0 for others, such as
 * host_return_hold (corosync.conf keys nobody reads are ignored).
 */
static int
key_index(const char *key, const char *stem)
{
	size_t len = strlen(stem);
	long long v;

	if (strncmp(key, stem, len) != 0 || key[len] == '\0')
		return 0;
	if (parse_ll(key + len, 0, 1000000, &v) != 0)
		return 0;
	/* host_02 is not host_2: refused rather than silently unread. */
	return v == 0 || key[len] == '0' ? -1 : (int)v;
}

struct scan {
	char *err;
	size_t errlen;
	int bad;
};

/* host_N / port_N with N outside 2..8: refused, not ignored. */
static int
check_key(void *ctx, const char *key)
{
	struct scan *sc = ctx;
	int i = key_index(key, NET_PREFIX "host_");

	if (i == 0)
		i = key_index(key, NET_PREFIX "port_");
	if (i == 0 || (i >= 2 && i <= NET_MAX_HOSTS))
		return 0;
	snprintf(sc->err, sc->errlen, "%s: not a key of the host list "
	    "(allowed: host, host_2 ... host_%d, port, port_2 ... port_%d)",
	    key, NET_MAX_HOSTS, NET_MAX_HOSTS);
	sc->bad = 1;
	return 1;
}

static int
check_names(const struct kv *kv, char *err, size_t errlen)
{
	struct scan sc = { err, errlen, 0 };

	if (kv->each == NULL)
		return 0;
	if (kv->each(kv->arg, NET_PREFIX "host_", check_key, &sc) != 0 &&
	    !sc.bad) {
		snprintf(err, errlen, NET_PREFIX "host_*: can't list the keys");
		return -1;
	}
	if (!sc.bad &&
	    kv->each(kv->arg, NET_PREFIX "port_", check_key, &sc) != 0 &&
	    !sc.bad) {
		snprintf(err, errlen, NET_PREFIX "port_*: can't list the keys");
		return -1;
	}
	return sc.bad ? -1 : 0;
}

/* port_N, default: the first host's port. */
static int
read_port(const struct kv *kv, int i, uint16_t def, uint16_t *port,
    char *err, size_t errlen)
{
	char key[64];
	char *s = NULL;
	long long v;
	int rc;

	snprintf(key, sizeof(key), NET_PREFIX "port_%d", i);
	*port = def;
	rc = conf_get_str(kv, key, &s, err, errlen);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (parse_ll(s, 1, 65535, &v) != 0) {
		conf_bad_value(err, errlen, key, s, "an integer 1-65535");
		free(s);
		return -1;
	}
	free(s);
	*port = (uint16_t)v;
	return 0;
}

static int
read_return_hold(const struct kv *kv, struct net_config *n, char *err,
    size_t errlen)
{
	const char *key = NET_PREFIX "host_return_hold";
	char *s = NULL, allowed[80];
	long long v;
	int rc = conf_get_str(kv, key, &s, err, errlen);

	n->host_return_hold = NET_DEFAULT_RETURN_HOLD;
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (parse_ll(s, 0, RETURN_HOLD_MAX, &v) != 0 ||
	    (v != 0 && v < RETURN_HOLD_MIN)) {
		snprintf(allowed, sizeof(allowed), "0 (stay) or an integer "
		    "%d-%d (ms)", RETURN_HOLD_MIN, RETURN_HOLD_MAX);
		conf_bad_value(err, errlen, key, s, allowed);
		free(s);
		return -1;
	}
	free(s);
	n->host_return_hold = (uint32_t)v;
	return 0;
}

int
conf_read_hosts(const struct kv *kv, struct net_config *n, char *err,
    size_t errlen)
{
	char key[64], *h;
	int gap = 0, rc;

	n->hosts[0].host = n->host;
	n->hosts[0].port = n->port;
	n->host_count = 1;
	if (check_names(kv, err, errlen) != 0)
		return -1;
	for (int i = 2; i <= NET_MAX_HOSTS; i++) {
		snprintf(key, sizeof(key), NET_PREFIX "host_%d", i);
		h = NULL;
		rc = conf_get_str(kv, key, &h, err, errlen);
		if (rc < 0)
			return -1;
		if (rc > 0) {
			uint16_t p;

			/* A port without its host is a mistake too. */
			if (read_port(kv, i, 0, &p, err, errlen) != 0)
				return -1;
			if (p != 0) {
				snprintf(err, errlen, NET_PREFIX "port_%d: set "
				    "without " NET_PREFIX "host_%d", i, i);
				return -1;
			}
			if (!gap)
				gap = i;
			continue;
		}
		if (gap) {
			snprintf(err, errlen, "%s: set, but " NET_PREFIX
			    "host_%d is not (the host list can't have gaps)",
			    key, gap);
			free(h);
			return -1;
		}
		if (h[0] == '\0') {
			conf_bad_value(err, errlen, key, h,
			    "host name or address of a qnetd server");
			free(h);
			return -1;
		}
		/* Counted first: config_free() frees it on any error. */
		n->hosts[n->host_count++].host = h;
		if (read_port(kv, i, n->port, &n->hosts[n->host_count - 1].port,
		    err, errlen) != 0)
			return -1;
	}
	return read_return_hold(kv, n, err, errlen);
}

void
conf_free_hosts(struct net_config *n)
{
	for (size_t i = 1; i < n->host_count; i++)
		free(n->hosts[i].host);
	memset(n->hosts, 0, sizeof(n->hosts));
	n->host_count = 0;
}
