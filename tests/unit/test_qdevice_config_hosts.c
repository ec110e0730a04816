/*
 * The host list (qdevice/conf_hosts.c): quorum.device.net.host_2 ...
 * host_8 with their port_N, and host_return_hold.  3.0.3 ignores these
 * keys; we read them, refuse gaps and stray keys, and every refusal names
 * the key.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "conf_harness.h"

#define NET	"quorum.device.net."

START_TEST(one_host_by_default)
{
	struct qdevice_config c;

	set_s(&F, NET "port", "5500");
	c = read_ok();
	ck_assert_uint_eq(c.net.host_count, 1);
	ck_assert_str_eq(c.net.hosts[0].host, "qnetd.example.com");
	ck_assert_uint_eq(c.net.hosts[0].port, 5500);
	ck_assert_uint_eq(c.net.host_return_hold, 60000);
	config_free(&c);
}
END_TEST

START_TEST(list_in_order)
{
	struct qdevice_config c;

	set_s(&F, NET "port", "5500");
	set_s(&F, NET "host_2", "192.0.2.2");
	set_s(&F, NET "host_3", "qnetd3.example.com");
	set_n(&F, NET "port_3", 6000);		/* cmap may type it */
	set_s(&F, NET "host_return_hold", "5000");
	c = read_ok();
	ck_assert_uint_eq(c.net.host_count, 3);
	ck_assert_str_eq(c.net.hosts[0].host, "qnetd.example.com");
	ck_assert_str_eq(c.net.hosts[1].host, "192.0.2.2");
	ck_assert_str_eq(c.net.hosts[2].host, "qnetd3.example.com");
	/* port_N defaults to port. */
	ck_assert_uint_eq(c.net.hosts[1].port, 5500);
	ck_assert_uint_eq(c.net.hosts[2].port, 6000);
	ck_assert_uint_eq(c.net.host_return_hold, 5000);
	/* host and port stay the first. */
	ck_assert_str_eq(c.net.host, "qnetd.example.com");
	ck_assert_uint_eq(c.net.port, 5500);
	config_free(&c);
}
END_TEST

START_TEST(all_eight)
{
	struct qdevice_config c;
	char key[64], val[32];

	for (int i = 2; i <= 8; i++) {
		snprintf(key, sizeof(key), NET "host_%d", i);
		snprintf(val, sizeof(val), "192.0.2.%d", i);
		set_s(&F, key, val);
	}
	set_s(&F, NET "host_return_hold", "0");
	c = read_ok();
	ck_assert_uint_eq(c.net.host_count, 8);
	ck_assert_str_eq(c.net.hosts[7].host, "192.0.2.8");
	ck_assert_uint_eq(c.net.host_return_hold, 0);
	config_free(&c);
}
END_TEST

static const struct {
	const char *set[3][2];		/* keys set (NULL ends) */
	const char *key, *value, *allowed;	/* what the refusal names */
} bad[] = {
	/* A gap: host_3 without host_2. */
	{ { { NET "host_3", "192.0.2.3" } }, NET "host_3", NULL,
	    NET "host_2 is not" },
	{ { { NET "host_2", "192.0.2.2" }, { NET "host_4", "192.0.2.4" } },
	    NET "host_4", NULL, NET "host_3 is not" },
	/* A port without its host. */
	{ { { NET "port_2", "5403" } }, NET "port_2", NULL,
	    "without " NET "host_2" },
	{ { { NET "host_2", "192.0.2.2" }, { NET "port_3", "5403" } },
	    NET "port_3", NULL, "without " NET "host_3" },
	/* Bad ports. */
	{ { { NET "host_2", "192.0.2.2" }, { NET "port_2", "0" } },
	    NET "port_2", "0", "1-65535" },
	{ { { NET "host_2", "192.0.2.2" }, { NET "host_3", "192.0.2.3" },
	    { NET "port_3", "65536" } }, NET "port_3", "65536", "1-65535" },
	{ { { NET "host_2", "192.0.2.2" }, { NET "port_2", "54o3" } },
	    NET "port_2", "54o3", "1-65535" },
	/* An empty host. */
	{ { { NET "host_2", "" } }, NET "host_2", "", "host name or address" },
	/* Outside 2..8. */
	{ { { NET "host_9", "192.0.2.9" } }, NET "host_9", NULL, "host_8" },
	{ { { NET "port_1", "5403" } }, NET "port_1", NULL, "port_8" },
	{ { { NET "host_02", "192.0.2.2" } }, NET "host_02", NULL, "host_8" },
	/* The hold. */
	{ { { NET "host_return_hold", "999" } }, NET "host_return_hold", "999",
	    "0 (stay) or an integer 1000-86400000" },
	{ { { NET "host_return_hold", "86400001" } }, NET "host_return_hold",
	    "86400001", "1000-86400000" },
	{ { { NET "host_return_hold", "1m" } }, NET "host_return_hold", "1m",
	    "1000-86400000" },
};

START_TEST(bad_list)
{
	for (int k = 0; k < 3 && bad[_i].set[k][0] != NULL; k++)
		set_s(&F, bad[_i].set[k][0], bad[_i].set[k][1]);
	read_fails(bad[_i].key, bad[_i].value, bad[_i].allowed);
}
END_TEST

TCase *
config_hosts_tcase(void)
{
	TCase *tc = tcase_create("host list");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, one_host_by_default);
	tcase_add_test(tc, list_in_order);
	tcase_add_test(tc, all_eight);
	tcase_add_loop_test(tc, bad_list, 0, ARRAY_LEN(bad));
	return tc;
}
