/*
 * Unit tests of the qdevice's configuration (qdevice/conf.c) against
 * BEHAVIOUR.md §3.3: every quorum.device.* key with its default, good and
 * bad values (the refusal names the key, the value and what is allowed),
 * the derived intervals, heuristics, the node list and the debug switch.
 * The configuration comes from an in-memory key -> value table that
 * behaves like cmap (keys listed in name order), conf_harness.c.  The
 * keys and derived intervals are tested here, the heuristics in
 * test_qdevice_config_heur.c, the node list in test_qdevice_config_nodes.c.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_harness.h"

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

	suite_add_tcase(s, config_heuristics_tcase());
	suite_add_tcase(s, config_nodelist_tcase());
	suite_add_tcase(s, config_hosts_tcase());
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
