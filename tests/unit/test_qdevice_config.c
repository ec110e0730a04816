/*
 * Unit tests of the qdevice's configuration (qdevice/conf.c) against
 * BEHAVIOUR.md §3.3: every quorum.device.* key with its default, good and
 * bad values (the refusal names the key, the value and what is allowed),
 * the derived intervals, heuristics, the node list and the debug switch.
 * The configuration comes from an in-memory key -> value table that
 * behaves like cmap (keys listed in name order).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "proto.h"

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ */
/* A fake cmap */

struct entry {
	char key[128];
	int is_string;
	char str[256];
	uint64_t num;
};

struct fake {
	struct entry e[96];
	size_t n;
	int fail_get;		/* every get fails */
};

static struct entry *
find(struct fake *f, const char *key)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->e[i].key, key) == 0)
			return &f->e[i];
	return NULL;
}

static struct entry *
slot(struct fake *f, const char *key)
{
	struct entry *e = find(f, key);

	if (e == NULL) {
		ck_assert_uint_lt(f->n, ARRAY_LEN(f->e));
		e = &f->e[f->n++];
		snprintf(e->key, sizeof(e->key), "%s", key);
	}
	return e;
}

static void
set_s(struct fake *f, const char *key, const char *value)
{
	struct entry *e = slot(f, key);

	e->is_string = 1;
	snprintf(e->str, sizeof(e->str), "%s", value);
}

static void
set_n(struct fake *f, const char *key, uint64_t value)
{
	struct entry *e = slot(f, key);

	e->is_string = 0;
	e->num = value;
}

static void
unset(struct fake *f, const char *key)
{
	struct entry *e = find(f, key);

	if (e != NULL)
		*e = f->e[--f->n];
}

static int
fake_get(void *arg, const char *key, struct kv_value *v)
{
	struct fake *f = arg;
	struct entry *e = find(f, key);

	if (f->fail_get)
		return -1;
	if (e == NULL)
		return 1;
	v->is_string = e->is_string;
	v->str = e->is_string ? strdup(e->str) : NULL;
	v->num = e->num;
	return 0;
}

static int
by_key(const void *a, const void *b)
{
	return strcmp((*(const struct entry *const *)a)->key,
	    (*(const struct entry *const *)b)->key);
}

static int
fake_each(void *arg, const char *prefix, int (*fn)(void *, const char *),
    void *ctx)
{
	struct fake *f = arg;
	const struct entry *sorted[ARRAY_LEN(f->e)];

	for (size_t i = 0; i < f->n; i++)
		sorted[i] = &f->e[i];
	qsort(sorted, f->n, sizeof(sorted[0]), by_key);
	for (size_t i = 0; i < f->n; i++)
		if (strncmp(sorted[i]->key, prefix, strlen(prefix)) == 0 &&
		    fn(ctx, sorted[i]->key) != 0)
			break;
	return 0;
}

static struct fake F;
static struct kv KV = { fake_get, fake_each, &F };
static struct config_limits L;
static char err[CONFIG_ERR_LEN];

/* The smallest configuration that starts. */
static void
setup(void)
{
	memset(&F, 0, sizeof(F));
	config_limits_default(&L);
	err[0] = '\0';
	set_s(&F, "quorum.device.model", "net");
	set_n(&F, "runtime.votequorum.this_node_id", 1);
	set_s(&F, "totem.cluster_name", "demo");
	set_s(&F, "quorum.device.net.host", "qnetd.example.com");
}

static void
teardown(void)
{
}

static struct qdevice_config
read_ok(void)
{
	struct qdevice_config c;

	if (config_read(&KV, &L, &c, err, sizeof(err)) != 0)
		ck_abort_msg("config_read failed: %s", err);
	return c;
}

/* The refusal names the key, the value and what is allowed. */
static void
read_fails(const char *key, const char *value, const char *allowed)
{
	struct qdevice_config c;

	err[0] = '\0';
	ck_assert_int_eq(config_read(&KV, &L, &c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, key) != NULL, "'%s' lacks the key %s", err,
	    key);
	if (value != NULL) {
		char quoted[300];

		snprintf(quoted, sizeof(quoted), "'%s'", value);
		ck_assert_msg(strstr(err, quoted) != NULL,
		    "'%s' lacks the value %s", err, quoted);
	}
	ck_assert_msg(strstr(err, allowed) != NULL,
	    "'%s' lacks the allowed values '%s'", err, allowed);
}

/* ------------------------------------------------------------------ */
/* Defaults and required keys */

START_TEST(defaults)
{
	struct qdevice_config c = read_ok();

	ck_assert_uint_eq(c.node_id, 1);
	ck_assert_str_eq(c.cluster_name, "demo");
	ck_assert_uint_eq(c.timeout, 10000);
	ck_assert_uint_eq(c.sync_timeout, 30000);
	ck_assert_int_eq(c.has_votes, 0);
	ck_assert_int_eq(c.wait_for_all, 0);
	ck_assert_str_eq(c.net.host, "qnetd.example.com");
	ck_assert_uint_eq(c.net.port, 5403);
	ck_assert_uint_eq(c.net.tls, QN_TLS_SUPPORTED);
	ck_assert_uint_eq(c.net.algorithm, QN_ALGO_FFSPLIT);
	ck_assert_uint_eq(c.net.tie_breaker.mode, QN_TB_LOWEST);
	ck_assert_uint_eq(c.net.tie_breaker.node_id, 0);
	ck_assert_int_eq(c.net.force_ip_version, 0);
	ck_assert_int_eq(c.net.kap, 1);
	ck_assert_uint_eq(c.net.heartbeat_interval, 8000);
	ck_assert_uint_eq(c.net.cast_vote_interval, 5000);
	ck_assert_uint_eq(c.net.connect_timeout, 8000);
	config_free(&c);
}
END_TEST

static const struct {
	const char *key;
	const char *allowed;
} required[] = {
	{ "quorum.device.model", "net" },
	{ "runtime.votequorum.this_node_id", "votequorum" },
	{ "totem.cluster_name", "cluster name" },
	{ "quorum.device.net.host", "host name or address" },
};

START_TEST(required_missing)
{
	unset(&F, required[_i].key);
	read_fails(required[_i].key, NULL, required[_i].allowed);
}
END_TEST

START_TEST(typed_values)
{
	struct qdevice_config c;

	set_n(&F, "quorum.device.timeout", 20000);
	set_n(&F, "quorum.device.sync_timeout", 40000);
	set_n(&F, "quorum.device.votes", 1);
	set_n(&F, "quorum.wait_for_all", 1);
	c = read_ok();
	ck_assert_uint_eq(c.timeout, 20000);
	ck_assert_uint_eq(c.sync_timeout, 40000);
	ck_assert_int_eq(c.has_votes, 1);
	ck_assert_uint_eq(c.votes, 1);
	ck_assert_int_eq(c.wait_for_all, 1);
	config_free(&c);

	/* A number set as text (corosync-cmapctl -s ... str) still works. */
	set_s(&F, "quorum.device.timeout", "12000");
	c = read_ok();
	ck_assert_uint_eq(c.timeout, 12000);
	config_free(&c);

	set_s(&F, "quorum.device.timeout", "soon");
	read_fails("quorum.device.timeout", "soon", "0-4294967295");
	set_n(&F, "quorum.device.timeout", UINT64_C(1) << 32);
	read_fails("quorum.device.timeout", "4294967296", "0-4294967295");
}
END_TEST

START_TEST(unreadable)
{
	struct qdevice_config c;

	F.fail_get = 1;
	ck_assert_int_eq(config_read(&KV, &L, &c, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "quorum.device.model"));
}
END_TEST

/* ------------------------------------------------------------------ */
/* quorum.device.* values */

struct good {
	const char *key;
	const char *value;
	size_t off;		/* in struct net_config */
	int size;		/* 1, 2, 4 (int) or 5 (tie-breaker) */
	uint32_t expect;	/* tie-breaker: mode << 24 ^ node id */
};

#define NOFF(f)	offsetof(struct net_config, f)

static const struct good good[] = {
	{ "quorum.device.model", "net", 0, 0, 0 },
	{ "quorum.device.net.port", "1", NOFF(port), 2, 1 },
	{ "quorum.device.net.port", "65535", NOFF(port), 2, 65535 },
	{ "quorum.device.net.tls", "on", NOFF(tls), 1, QN_TLS_SUPPORTED },
	{ "quorum.device.net.tls", "YES", NOFF(tls), 1, QN_TLS_SUPPORTED },
	{ "quorum.device.net.tls", "1", NOFF(tls), 1, QN_TLS_SUPPORTED },
	{ "quorum.device.net.tls", "off", NOFF(tls), 1, QN_TLS_UNSUPPORTED },
	{ "quorum.device.net.tls", "No", NOFF(tls), 1, QN_TLS_UNSUPPORTED },
	{ "quorum.device.net.tls", "0", NOFF(tls), 1, QN_TLS_UNSUPPORTED },
	{ "quorum.device.net.tls", "required", NOFF(tls), 1, QN_TLS_REQUIRED },
	{ "quorum.device.net.tls", "Required", NOFF(tls), 1, QN_TLS_REQUIRED },
	{ "quorum.device.net.algorithm", "ffsplit", NOFF(algorithm), 1,
	    QN_ALGO_FFSPLIT },
	{ "quorum.device.net.algorithm", "lms", NOFF(algorithm), 1,
	    QN_ALGO_LMS },
	{ "quorum.device.net.algorithm", "2nodelms", NOFF(algorithm), 1,
	    QN_ALGO_2NODELMS },
	{ "quorum.device.net.tie_breaker", "lowest", NOFF(tie_breaker), 5,
	    QN_TB_LOWEST << 24 },
	{ "quorum.device.net.tie_breaker", "highest", NOFF(tie_breaker), 5,
	    QN_TB_HIGHEST << 24 },
	{ "quorum.device.net.tie_breaker", "7", NOFF(tie_breaker), 5,
	    QN_TB_NODE_ID << 24 ^ 7 },
	{ "quorum.device.net.tie_breaker", "4294967295", NOFF(tie_breaker), 5,
	    0 },
	{ "quorum.device.net.force_ip_version", "0", NOFF(force_ip_version), 4,
	    0 },
	{ "quorum.device.net.force_ip_version", "4", NOFF(force_ip_version), 4,
	    4 },
	{ "quorum.device.net.force_ip_version", "6", NOFF(force_ip_version), 4,
	    6 },
	{ "quorum.device.net.keep_active_partition_tie_breaker", "off",
	    NOFF(kap), 4, 0 },
	{ "quorum.device.net.keep_active_partition_tie_breaker", "no",
	    NOFF(kap), 4, 0 },
	{ "quorum.device.net.keep_active_partition_tie_breaker", "0",
	    NOFF(kap), 4, 0 },
	{ "quorum.device.net.keep_active_partition_tie_breaker", "on",
	    NOFF(kap), 4, 1 },
	{ "quorum.device.net.connect_timeout", "1000", NOFF(connect_timeout),
	    4, 1000 },
	{ "quorum.device.net.connect_timeout", "120000",
	    NOFF(connect_timeout), 4, 120000 },
};

START_TEST(good_value)
{
	const struct good *g = &good[_i];
	struct qdevice_config c;
	const char *p;
	uint32_t v = 0;

	set_s(&F, g->key, g->value);
	c = read_ok();
	p = (const char *)&c.net + g->off;
	switch (g->size) {
	case 1:
		v = *(const uint8_t *)p;
		break;
	case 2:
		v = *(const uint16_t *)p;
		break;
	case 4:
		v = *(const uint32_t *)p;
		break;
	case 5:
		if (strcmp(g->value, "4294967295") == 0) {
			ck_assert_uint_eq(c.net.tie_breaker.mode, QN_TB_NODE_ID);
			ck_assert_uint_eq(c.net.tie_breaker.node_id, 4294967295U);
			config_free(&c);
			return;
		}
		v = (uint32_t)c.net.tie_breaker.mode << 24 ^
		    c.net.tie_breaker.node_id;
		break;
	default:
		config_free(&c);
		return;
	}
	ck_assert_uint_eq(v, g->expect);
	config_free(&c);
}
END_TEST

static const struct {
	const char *key;
	const char *value;
	const char *allowed;
} bad[] = {
	{ "quorum.device.model", "Net", "net" },
	{ "quorum.device.model", "disk", "net" },
	{ "quorum.device.net.port", "0", "1-65535" },
	{ "quorum.device.net.port", "65536", "1-65535" },
	{ "quorum.device.net.port", "54o3", "1-65535" },
	{ "quorum.device.net.port", "", "1-65535" },
	{ "quorum.device.net.port", " 5403", "1-65535" },
	{ "quorum.device.net.tls", "maybe", "required" },
	{ "quorum.device.net.tls", "req", "required" },
	{ "quorum.device.net.algorithm", "FFSPLIT", "ffsplit, lms or 2nodelms" },
	{ "quorum.device.net.algorithm", "test", "net_test_algorithm_enabled" },
	{ "quorum.device.net.algorithm", "", "2nodelms" },
	{ "quorum.device.net.tie_breaker", "Lowest", "lowest, highest" },
	{ "quorum.device.net.tie_breaker", "0", "1-4294967295" },
	{ "quorum.device.net.tie_breaker", "4294967296", "1-4294967295" },
	{ "quorum.device.net.tie_breaker", "-1", "1-4294967295" },
	{ "quorum.device.net.force_ip_version", "5", "0, 4 or 6" },
	{ "quorum.device.net.force_ip_version", "ipv4", "0, 4 or 6" },
	{ "quorum.device.net.keep_active_partition_tie_breaker", "sometimes",
	    "on, yes, 1, off, no or 0" },
	{ "quorum.device.net.connect_timeout", "999", "1000-120000" },
	{ "quorum.device.net.connect_timeout", "120001", "1000-120000" },
	{ "quorum.device.net.connect_timeout", "8s", "1000-120000" },
};

START_TEST(bad_value)
{
	set_s(&F, bad[_i].key, bad[_i].value);
	read_fails(bad[_i].key, bad[_i].value, bad[_i].allowed);
}
END_TEST

START_TEST(test_algorithm_enabled)
{
	struct qdevice_config c;

	L.test_algorithm_enabled = 1;
	set_s(&F, "quorum.device.net.algorithm", "test");
	c = read_ok();
	ck_assert_uint_eq(c.net.algorithm, QN_ALGO_TEST);
	config_free(&c);
}
END_TEST

START_TEST(connect_timeout_limits)
{
	struct qdevice_config c;

	L.connect_timeout_min = 10;
	L.connect_timeout_max = 20;
	set_s(&F, "quorum.device.net.connect_timeout", "15");
	c = read_ok();
	ck_assert_uint_eq(c.net.connect_timeout, 15);
	config_free(&c);
	set_s(&F, "quorum.device.net.connect_timeout", "21");
	read_fails("quorum.device.net.connect_timeout", "21", "10-20");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Derived intervals */

static const struct {
	uint32_t timeout;
	uint32_t hb, cast, connect;
} derived[] = {
	{ 10000, 8000, 5000, 8000 },
	{ 10001, 8000, 5000, 8000 },
	{ 1250, 1000, 625, 1000 },
	{ 1000, 1000, 500, 1000 },	/* 800 clamped up to the minimum */
	{ 100, 1000, 50, 1000 },
	{ 150000, 120000, 75000, 120000 },
	{ 200000, 120000, 100000, 120000 },	/* clamped down */
};

START_TEST(derived_intervals)
{
	struct qdevice_config c;

	set_n(&F, "quorum.device.timeout", derived[_i].timeout);
	c = read_ok();
	ck_assert_uint_eq(c.net.heartbeat_interval, derived[_i].hb);
	ck_assert_uint_eq(c.net.cast_vote_interval, derived[_i].cast);
	ck_assert_uint_eq(c.net.connect_timeout, derived[_i].connect);
	config_free(&c);
}
END_TEST

START_TEST(heartbeat_limits)
{
	struct qdevice_config c;

	L.heartbeat_min = 5000;
	L.heartbeat_max = 6000;
	c = read_ok();
	ck_assert_uint_eq(c.net.heartbeat_interval, 6000);
	ck_assert_uint_eq(c.net.connect_timeout, 6000);
	config_free(&c);
	set_n(&F, "quorum.device.timeout", 2000);
	c = read_ok();
	ck_assert_uint_eq(c.net.heartbeat_interval, 5000);
	ck_assert_uint_eq(c.net.cast_vote_interval, 1000);
	config_free(&c);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Heuristics */

static struct heur_config
heur_ok(uint32_t timeout, uint32_t sync_timeout)
{
	struct heur_config h;

	if (config_read_heuristics(&KV, &L, timeout, sync_timeout, &h, err,
	    sizeof(err)) != 0)
		ck_abort_msg("config_read_heuristics failed: %s", err);
	return h;
}

static void
heur_fails(const char *key, const char *value, const char *allowed)
{
	struct heur_config h;

	err[0] = '\0';
	ck_assert_int_eq(config_read_heuristics(&KV, &L, 10000, 30000, &h, err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, key) != NULL, "'%s' lacks %s", err, key);
	ck_assert_msg(strstr(err, value) != NULL, "'%s' lacks %s", err, value);
	ck_assert_msg(strstr(err, allowed) != NULL, "'%s' lacks %s", err,
	    allowed);
}

START_TEST(heuristics_defaults)
{
	struct heur_config h = heur_ok(10000, 30000);

	ck_assert_int_eq(h.mode, HEUR_MODE_OFF);
	ck_assert_uint_eq(h.timeout, 5000);
	ck_assert_uint_eq(h.sync_timeout, 15000);
	ck_assert_uint_eq(h.interval, 30000);
	ck_assert_uint_eq(h.exec_count, 0);
	heur_config_free(&h);

	/* Derived from the device's timeouts, not from the other keys. */
	set_s(&F, "quorum.device.heuristics.timeout", "2000");
	h = heur_ok(20000, 50000);
	ck_assert_uint_eq(h.timeout, 2000);
	ck_assert_uint_eq(h.sync_timeout, 25000);
	ck_assert_uint_eq(h.interval, 60000);
	heur_config_free(&h);
}
END_TEST

static const struct {
	const char *value;
	enum heur_mode mode;
} modes[] = {
	{ "on", HEUR_MODE_ON }, { "yes", HEUR_MODE_ON }, { "1", HEUR_MODE_ON },
	{ "ON", HEUR_MODE_ON }, { "off", HEUR_MODE_OFF },
	{ "no", HEUR_MODE_OFF }, { "0", HEUR_MODE_OFF },
	{ "sync", HEUR_MODE_SYNC }, { "Sync", HEUR_MODE_SYNC },
};

START_TEST(heuristics_mode)
{
	struct heur_config h;

	set_s(&F, "quorum.device.heuristics.mode", modes[_i].value);
	h = heur_ok(10000, 30000);
	ck_assert_int_eq(h.mode, modes[_i].mode);
	heur_config_free(&h);
}
END_TEST

START_TEST(heuristics_bad)
{
	set_s(&F, "quorum.device.heuristics.mode", "always");
	heur_fails("quorum.device.heuristics.mode", "'always'", "sync");
	unset(&F, "quorum.device.heuristics.mode");

	set_s(&F, "quorum.device.heuristics.timeout", "999");
	heur_fails("quorum.device.heuristics.timeout", "'999'", "1000-120000");
	set_s(&F, "quorum.device.heuristics.timeout", "120001");
	heur_fails("quorum.device.heuristics.timeout", "'120001'",
	    "1000-120000");
	unset(&F, "quorum.device.heuristics.timeout");

	set_s(&F, "quorum.device.heuristics.sync_timeout", "x");
	heur_fails("quorum.device.heuristics.sync_timeout", "'x'",
	    "1000-120000");
	unset(&F, "quorum.device.heuristics.sync_timeout");

	set_s(&F, "quorum.device.heuristics.interval", "3600001");
	heur_fails("quorum.device.heuristics.interval", "'3600001'",
	    "1000-3600000");
	set_s(&F, "quorum.device.heuristics.interval", "999");
	heur_fails("quorum.device.heuristics.interval", "'999'",
	    "1000-3600000");
}
END_TEST

START_TEST(heuristics_ranges)
{
	struct heur_config h;

	set_s(&F, "quorum.device.heuristics.timeout", "1000");
	set_s(&F, "quorum.device.heuristics.sync_timeout", "120000");
	set_s(&F, "quorum.device.heuristics.interval", "3600000");
	h = heur_ok(10000, 30000);
	ck_assert_uint_eq(h.timeout, 1000);
	ck_assert_uint_eq(h.sync_timeout, 120000);
	ck_assert_uint_eq(h.interval, 3600000);
	heur_config_free(&h);

	/* The -S limits move the ranges. */
	L.heuristics_timeout_min = 250;
	L.heuristics_interval_max = 7200000;
	set_s(&F, "quorum.device.heuristics.timeout", "250");
	set_s(&F, "quorum.device.heuristics.interval", "7200000");
	h = heur_ok(10000, 30000);
	ck_assert_uint_eq(h.timeout, 250);
	ck_assert_uint_eq(h.interval, 7200000);
	heur_config_free(&h);
}
END_TEST

START_TEST(heuristics_execs)
{
	struct heur_config h, h2;

	set_s(&F, "quorum.device.heuristics.mode", "on");
	set_s(&F, "quorum.device.heuristics.exec_ping", "/bin/ping -c 1 gw");
	set_s(&F, "quorum.device.heuristics.exec_a", "/bin/true");
	set_s(&F, "quorum.device.heuristics.exec_bad.name", "/bin/false");
	set_s(&F, "quorum.device.heuristics.exec_", "/bin/false");
	set_n(&F, "quorum.device.heuristics.exec_num", 3);
	h = heur_ok(10000, 30000);
	/* Key order (cmap lists keys sorted); bad names and numbers dropped. */
	ck_assert_uint_eq(h.exec_count, 2);
	ck_assert_str_eq(h.execs[0].name, "a");
	ck_assert_str_eq(h.execs[0].command, "/bin/true");
	ck_assert_str_eq(h.execs[1].name, "ping");
	ck_assert_str_eq(h.execs[1].command, "/bin/ping -c 1 gw");

	h2 = heur_ok(10000, 30000);
	ck_assert_int_eq(heur_config_equal(&h, &h2), 1);
	heur_config_free(&h2);
	set_s(&F, "quorum.device.heuristics.exec_a", "/bin/false");
	h2 = heur_ok(10000, 30000);
	ck_assert_int_eq(heur_execs_equal(&h, &h2), 0);
	heur_config_free(&h2);
	set_s(&F, "quorum.device.heuristics.exec_a", "/bin/true");
	set_s(&F, "quorum.device.heuristics.mode", "sync");
	h2 = heur_ok(10000, 30000);
	ck_assert_int_eq(heur_execs_equal(&h, &h2), 1);
	ck_assert_int_eq(heur_config_equal(&h, &h2), 0);
	heur_config_free(&h2);
	heur_config_free(&h);
}
END_TEST

START_TEST(heuristics_too_many)
{
	struct heur_config h;
	char key[64];

	L.heuristics_max_execs = 3;
	for (int i = 0; i < 4; i++) {
		snprintf(key, sizeof(key), "quorum.device.heuristics.exec_%d", i);
		set_s(&F, key, "/bin/true");
	}
	/* More than allowed: heuristics disabled, not a start-up error. */
	h = heur_ok(10000, 30000);
	ck_assert_uint_eq(h.exec_count, 0);
	heur_config_free(&h);
	unset(&F, "quorum.device.heuristics.exec_3");
	h = heur_ok(10000, 30000);
	ck_assert_uint_eq(h.exec_count, 3);
	heur_config_free(&h);
}
END_TEST

START_TEST(heuristics_mode_words)
{
	ck_assert_str_eq(heur_mode_name(HEUR_MODE_OFF), "Disabled");
	ck_assert_str_eq(heur_mode_name(HEUR_MODE_ON), "Enabled");
	ck_assert_str_eq(heur_mode_name(HEUR_MODE_SYNC), "Enabled only on sync");
	ck_assert_str_eq(heur_mode_id(HEUR_MODE_SYNC), "sync");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Node list */

static void
add_node(unsigned i, const char *addr, uint32_t id, const char *dc)
{
	char key[64];

	snprintf(key, sizeof(key), "nodelist.node.%u.ring0_addr", i);
	if (addr != NULL)
		set_s(&F, key, addr);
	snprintf(key, sizeof(key), "nodelist.node.%u.name", i);
	set_s(&F, key, "n");
	snprintf(key, sizeof(key), "nodelist.node.%u.nodeid", i);
	if (id != 0)
		set_n(&F, key, id);
	snprintf(key, sizeof(key), "nodelist.node.%u.datacenterid", i);
	if (dc != NULL)
		set_s(&F, key, dc);
}

START_TEST(nodelist_order)
{
	struct nodelist nl;
	static const uint32_t expect[] = { 1, 2, 11, 12, 3, 4, 5, 6, 7, 8, 9,
	    10 };

	/* 3.0.3 lists nodes in cmap's (name) order: node.10 before node.2. */
	for (unsigned i = 0; i < 12; i++)
		add_node(i, "10.0.0.1", i + 1, NULL);
	ck_assert_int_eq(config_read_nodelist(&KV, &nl, err, sizeof(err)), 0);
	ck_assert_uint_eq(nl.count, 12);
	for (size_t i = 0; i < nl.count; i++)
		ck_assert_uint_eq(nl.nodes[i].node_id, expect[i]);
	ck_assert_int_eq(nl.has_config_version, 0);
	nodelist_free(&nl);
}
END_TEST

START_TEST(nodelist_values)
{
	struct nodelist nl;

	add_node(0, "10.0.0.1", 0, "3");	/* id from the address */
	add_node(1, "10.0.0.2", 7, NULL);
	add_node(2, "10.0.0.3", 7, NULL);	/* duplicate: dropped */
	set_n(&F, "nodelist.node.1.datacenterid", 5);
	set_n(&F, "totem.config_version", 42);
	set_s(&F, "nodelist.local_node_pos", "0");
	ck_assert_int_eq(config_read_nodelist(&KV, &nl, err, sizeof(err)), 0);
	ck_assert_uint_eq(nl.count, 2);
	ck_assert_uint_eq(nl.nodes[0].node_id, 0x0a000001);
	ck_assert_uint_eq(nl.nodes[0].dc_id, 3);
	ck_assert_uint_eq(nl.nodes[0].state, QN_NODE_STATE_NOT_SET);
	ck_assert_uint_eq(nl.nodes[1].node_id, 7);
	ck_assert_uint_eq(nl.nodes[1].dc_id, 5);
	ck_assert_int_eq(nl.has_config_version, 1);
	ck_assert_uint_eq(nl.config_version, 42);
	nodelist_free(&nl);
}
END_TEST

START_TEST(nodelist_auto_ids)
{
	struct nodelist nl;

	ck_assert_uint_eq(nodeid_from_addr("192.168.1.2", 0), 0xc0a80102);
	ck_assert_uint_eq(nodeid_from_addr("192.168.1.2", 1), 0x40a80102);
	ck_assert_uint_eq(nodeid_from_addr("10.1.2.3", 1), 0x0a010203);
	ck_assert_uint_eq(nodeid_from_addr("::1", 0), 0);

	add_node(0, "200.0.0.1", 0, NULL);
	set_s(&F, "totem.clear_node_high_bit", "yes");
	ck_assert_int_eq(config_read_nodelist(&KV, &nl, err, sizeof(err)), 0);
	ck_assert_uint_eq(nl.nodes[0].node_id, 0x48000001);
	nodelist_free(&nl);
	set_s(&F, "totem.clear_node_high_bit", "no");
	ck_assert_int_eq(config_read_nodelist(&KV, &nl, err, sizeof(err)), 0);
	ck_assert_uint_eq(nl.nodes[0].node_id, 0xc8000001);
	nodelist_free(&nl);
}
END_TEST

START_TEST(nodelist_errors)
{
	struct nodelist nl;

	add_node(0, NULL, 0, NULL);		/* name only, no id */
	ck_assert_int_eq(config_read_nodelist(&KV, &nl, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "nodelist.node.0"));
	ck_assert_ptr_nonnull(strstr(err, "nodeid"));

	setup();
	add_node(0, "::1", 0, NULL);		/* no IPv4, no id */
	ck_assert_int_eq(config_read_nodelist(&KV, &nl, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "'::1'"));

	setup();
	add_node(0, "10.0.0.1", 1, "east");
	ck_assert_int_eq(config_read_nodelist(&KV, &nl, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "datacenterid"));
	ck_assert_ptr_nonnull(strstr(err, "'east'"));

	/* Keys without ring0_addr or name are not nodes. */
	setup();
	set_n(&F, "nodelist.node.0.nodeid", 4);
	ck_assert_int_eq(config_read_nodelist(&KV, &nl, err, sizeof(err)), 0);
	ck_assert_uint_eq(nl.count, 0);
	nodelist_free(&nl);
}
END_TEST

START_TEST(nodelist_compare)
{
	struct qn_node a[] = { { 1, 0, 0 }, { 2, 5, 0 } };
	struct qn_node b[] = { { 2, 5, 0 }, { 1, 0, 0 } };
	struct qn_node c[] = { { 2, 6, 0 }, { 1, 0, 0 } };
	struct nodelist la = { a, 2, 0, 0 }, lb = { b, 2, 1, 9 },
	    lc = { c, 2, 0, 0 }, ld = { a, 1, 0, 0 };

	ck_assert_int_eq(nodelist_same_nodes(&la, &lb), 1);
	ck_assert_int_eq(nodelist_same_nodes(&la, &lc), 0);
	ck_assert_int_eq(nodelist_same_nodes(&la, &ld), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* logging.debug */

START_TEST(debug_switch)
{
	int d = 0;

	ck_assert_int_eq(config_read_debug(&KV, &d, err, sizeof(err)), 1);
	set_s(&F, "logging.debug", "on");
	ck_assert_int_eq(config_read_debug(&KV, &d, err, sizeof(err)), 0);
	ck_assert_int_eq(d, 1);
	set_s(&F, "logging.debug", "trace");
	d = 0;
	ck_assert_int_eq(config_read_debug(&KV, &d, err, sizeof(err)), 0);
	ck_assert_int_eq(d, 1);
	set_s(&F, "logging.logger_subsys.QDEVICE.debug", "off");
	ck_assert_int_eq(config_read_debug(&KV, &d, err, sizeof(err)), 0);
	ck_assert_int_eq(d, 0);
	set_s(&F, "logging.logger_subsys.QDEVICE.debug", "loud");
	d = 1;
	ck_assert_int_eq(config_read_debug(&KV, &d, err, sizeof(err)), -1);
	ck_assert_int_eq(d, 1);
	ck_assert_ptr_nonnull(strstr(err, "'loud'"));
	ck_assert_ptr_nonnull(strstr(err, "trace"));
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("qdevice config");
	TCase *tc;

	tc = tcase_create("keys");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, defaults);
	tcase_add_loop_test(tc, required_missing, 0, ARRAY_LEN(required));
	tcase_add_test(tc, typed_values);
	tcase_add_test(tc, unreadable);
	tcase_add_loop_test(tc, good_value, 0, ARRAY_LEN(good));
	tcase_add_loop_test(tc, bad_value, 0, ARRAY_LEN(bad));
	tcase_add_test(tc, test_algorithm_enabled);
	tcase_add_test(tc, connect_timeout_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("derived");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, derived_intervals, 0, ARRAY_LEN(derived));
	tcase_add_test(tc, heartbeat_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("heuristics");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, heuristics_defaults);
	tcase_add_loop_test(tc, heuristics_mode, 0, ARRAY_LEN(modes));
	tcase_add_test(tc, heuristics_bad);
	tcase_add_test(tc, heuristics_ranges);
	tcase_add_test(tc, heuristics_execs);
	tcase_add_test(tc, heuristics_too_many);
	tcase_add_test(tc, heuristics_mode_words);
	suite_add_tcase(s, tc);

	tc = tcase_create("nodelist");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, nodelist_order);
	tcase_add_test(tc, nodelist_values);
	tcase_add_test(tc, nodelist_auto_ids);
	tcase_add_test(tc, nodelist_errors);
	tcase_add_test(tc, nodelist_compare);
	tcase_add_test(tc, debug_switch);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
