/*
 * The heuristics keys of the qdevice configuration (BEHAVIOUR.md §3.3):
 * defaults, modes, bad values, ranges, the exec list and its limit.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_harness.h"

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

TCase *
config_heuristics_tcase(void)
{
	TCase *tc = tcase_create("heuristics");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, heuristics_defaults);
	tcase_add_loop_test(tc, heuristics_mode, 0, ARRAY_LEN(modes));
	tcase_add_test(tc, heuristics_bad);
	tcase_add_test(tc, heuristics_ranges);
	tcase_add_test(tc, heuristics_execs);
	tcase_add_test(tc, heuristics_too_many);
	tcase_add_test(tc, heuristics_mode_words);
	return tc;
}
