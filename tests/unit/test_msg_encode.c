/*
 * The encoder's limits: max_size, the 65535-byte value, the tie-breaker's
 * node id and the optional fields of node info.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg_harness.h"

/* Over max_size (header included): -1 and the buffer as it was (§2.3). */
START_TEST(encode_max_size)
{
	struct msg m;
	struct buf out;
	size_t len;
	uint8_t *want = hex_parse("00000000001000000004000000010001000464656d6f", &len);

	b_preinit(&m);
	buf_init(&out);
	buf_put(&out, "xyz", 3);

	ck_assert_int_eq(msg_encode(&m, &out, len - 1), -1);
	ck_assert_uint_eq(out.len, 3);
	ck_assert_mem_eq(out.data, "xyz", 3);
	ck_assert_int_eq(out.failed, 0);

	ck_assert_int_eq(msg_encode(&m, &out, QN_HEADER_SIZE), -1);
	ck_assert_uint_eq(out.len, 3);

	ck_assert_int_eq(msg_encode(&m, &out, len), 0);
	ck_assert_uint_eq(out.len, 3 + len);
	ck_assert_mem_eq(out.data, "xyz", 3);
	assert_bytes(out.data + 3, out.len - 3, want, len, "after a prefix");

	/* Appending again works after a refusal. */
	ck_assert_int_eq(msg_encode(&m, &out, len - 1), -1);
	ck_assert_uint_eq(out.len, 3 + len);
	ck_assert_int_eq(msg_encode(&m, &out, len), 0);
	assert_bytes(out.data + 3 + len, out.len - 3 - len, want, len, "twice");
	buf_free(&out);
	free(want);
}
END_TEST

/* A value is at most 65535 bytes (§3.1). */
START_TEST(encode_value_limit)
{
	char *name = malloc(65536);
	uint16_t *list = calloc(32768, sizeof(*list));
	struct msg m, got;
	struct buf out;

	ck_assert_ptr_nonnull(name);
	ck_assert_ptr_nonnull(list);
	memset(name, 'n', 65536);
	buf_init(&out);
	buf_put(&out, "ab", 2);

	msg_init(&m, QN_MSG_PREINIT);
	msg_set_seq(&m, 1);
	msg_set_cluster_name(&m, name, 65536);
	ck_assert_int_eq(msg_encode(&m, &out, BIG), -1);
	ck_assert_uint_eq(out.len, 2);
	ck_assert_mem_eq(out.data, "ab", 2);
	ck_assert_int_eq(out.failed, 0);

	m.cluster_name_len = 65535;
	ck_assert_int_eq(msg_encode(&m, &out, BIG), 0);
	ck_assert_uint_eq(out.len, 2 + QN_HEADER_SIZE + 8 + 4 + 65535);
	ck_assert_int_eq(msg_decode(out.data + 2, out.len - 2, &got), DECODE_OK);
	assert_msg_eq(&got, &m);
	msg_free(&got);

	/* Arrays: 32767 elements fit, 32768 (65536 bytes) do not. */
	buf_reset(&out);
	msg_init(&m, QN_MSG_INIT);
	msg_set_supported_options(&m, &(struct u16_list){ list, 32768 });
	ck_assert_int_eq(msg_encode(&m, &out, BIG), -1);
	ck_assert_uint_eq(out.len, 0);
	m.supported_options.n = 32767;
	ck_assert_int_eq(msg_encode(&m, &out, BIG), 0);
	ck_assert_int_eq(msg_decode(out.data, out.len, &got), DECODE_OK);
	assert_msg_eq(&got, &m);
	msg_free(&got);

	buf_free(&out);
	free(name);
	free(list);
}
END_TEST

/* The tie-breaker's node id is written for mode 3 only, 0 otherwise (§3.4). */
START_TEST(encode_tie_breaker)
{
	static const struct {
		uint8_t mode;
		const char *hex;
	} t[] = {
		{ QN_TB_LOWEST, "0003 00000009 0015 0005 01 00000000" },
		{ QN_TB_HIGHEST, "0003 00000009 0015 0005 02 00000000" },
		{ QN_TB_NODE_ID, "0003 00000009 0015 0005 03 0000002a" },
	};

	for (size_t i = 0; i < ARRAY_LEN(t); i++) {
		struct msg m;
		struct buf out;
		size_t len;
		uint8_t *want = hex_parse(t[i].hex, &len);

		msg_init(&m, QN_MSG_INIT);
		msg_set_tie_breaker(&m,
		    &(struct qn_tie_breaker){ t[i].mode, 42 });
		buf_init(&out);
		ck_assert_int_eq(msg_encode(&m, &out, BIG), 0);
		assert_bytes(out.data, out.len, want, len, "tie-breaker");
		buf_free(&out);
		free(want);
	}
}
END_TEST

/* Node info carries dc id and state only when set (§3.4). */
START_TEST(encode_node_info)
{
	static struct qn_node n[] = {
		{ 1, 0, QN_NODE_STATE_NOT_SET },
		{ 2, 3, QN_NODE_STATE_NOT_SET },
		{ 4, 0, QN_NODE_STATE_DEAD },
		{ 5, 6, QN_NODE_STATE_LEAVING },
	};
	struct msg m, got;
	struct buf out;
	size_t len;
	uint8_t *want = hex_parse(
	    "000a 0000004a"
	    "0011 0008 0009 0004 00000001"
	    "0011 0010 0009 0004 00000002 000f 0004 00000003"
	    "0011 000d 0009 0004 00000004 0010 0001 02"
	    "0011 0015 0009 0004 00000005 000f 0004 00000006 0010 0001 03",
	    &len);

	msg_init(&m, QN_MSG_NODE_LIST);
	msg_set_nodes(&m, n, ARRAY_LEN(n));
	buf_init(&out);
	ck_assert_int_eq(msg_encode(&m, &out, BIG), 0);
	assert_bytes(out.data, out.len, want, len, "node info");
	ck_assert_int_eq(msg_decode(out.data, out.len, &got), DECODE_OK);
	assert_msg_eq(&got, &m);
	msg_free(&got);
	buf_free(&out);
	free(want);
}
END_TEST

TCase *
msg_encode_tcase(void)
{
	TCase *tc = tcase_create("encode");

	tcase_add_test(tc, encode_max_size);
	tcase_add_test(tc, encode_value_limit);
	tcase_add_test(tc, encode_tie_breaker);
	tcase_add_test(tc, encode_node_info);
	return tc;
}
