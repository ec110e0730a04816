/*
 * The node list of the qdevice configuration (BEHAVIOUR.md §3.3): order,
 * values, automatic ids, errors, comparison; and the logging.debug switch.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_harness.h"

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

TCase *
config_nodelist_tcase(void)
{
	TCase *tc = tcase_create("nodelist");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, nodelist_order);
	tcase_add_test(tc, nodelist_values);
	tcase_add_test(tc, nodelist_auto_ids);
	tcase_add_test(tc, nodelist_errors);
	tcase_add_test(tc, nodelist_compare);
	tcase_add_test(tc, debug_switch);
	return tc;
}
