/*
 * Helpers of the codec tests: hex as PROTOCOL.md prints it, byte and
 * message comparisons that say where they differ, and field setters.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg_harness.h"

/*
 * Parse hex as the document prints it: pairs of hex digits, with spaces,
 * newlines and '|' ignored.  Returns a malloc'd buffer.
 */
uint8_t *
hex_parse(const char *s, size_t *len)
{
	uint8_t *out = malloc(strlen(s) / 2 + 1);
	size_t n = 0;
	int hi = -1;

	ck_assert_ptr_nonnull(out);
	for (; *s != '\0'; s++) {
		int d;

		if (*s == ' ' || *s == '\n' || *s == '|')
			continue;
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else {
			ck_abort_msg("bad character '%c' in hex string", *s);
			d = 0;
		}
		if (hi < 0)
			hi = d;
		else {
			out[n++] = (uint8_t)(hi << 4 | d);
			hi = -1;
		}
	}
	ck_assert_msg(hi < 0, "odd number of hex digits");
	*len = n;
	return out;
}

static char *
hex_dump(const uint8_t *p, size_t len)
{
	char *s = malloc(2 * len + 1);

	ck_assert_ptr_nonnull(s);
	for (size_t i = 0; i < len; i++)
		sprintf(s + 2 * i, "%02x", p[i]);
	s[2 * len] = '\0';
	return s;
}

void
assert_bytes(const uint8_t *got, size_t got_len, const uint8_t *want,
    size_t want_len, const char *what)
{
	if (got_len != want_len || memcmp(got, want, want_len) != 0) {
		char *g = hex_dump(got, got_len), *w = hex_dump(want, want_len);

		ck_abort_msg("%s: bytes differ\n got  %s\n want %s", what, g, w);
	}
}

static void
assert_list_eq(const struct u16_list *a, const struct u16_list *b,
    const char *what)
{
	ck_assert_msg(a->n == b->n, "%s: %zu elements, want %zu", what,
	    a->n, b->n);
	for (size_t i = 0; i < a->n; i++)
		ck_assert_msg(a->v[i] == b->v[i], "%s[%zu] = %u, want %u",
		    what, i, a->v[i], b->v[i]);
}

/* Every field of *got equals that of *want (unset fields are zero in both). */
void
assert_msg_eq(const struct msg *got, const struct msg *want)
{
	ck_assert_uint_eq(got->type, want->type);
	ck_assert_msg(got->has == want->has, "has = %#x, want %#x",
	    (unsigned)got->has, (unsigned)want->has);
	ck_assert_uint_eq(got->seq, want->seq);
	ck_assert_uint_eq(got->cluster_name_len, want->cluster_name_len);
	if (want->cluster_name_len > 0)
		ck_assert_mem_eq(got->cluster_name, want->cluster_name,
		    want->cluster_name_len);
	ck_assert_uint_eq(got->tls_supported, want->tls_supported);
	ck_assert_uint_eq(got->tls_client_cert_required,
	    want->tls_client_cert_required);
	assert_list_eq(&got->supported_messages, &want->supported_messages,
	    "supported_messages");
	assert_list_eq(&got->supported_options, &want->supported_options,
	    "supported_options");
	ck_assert_uint_eq(got->reply_error_code, want->reply_error_code);
	ck_assert_uint_eq(got->server_max_request_size,
	    want->server_max_request_size);
	ck_assert_uint_eq(got->server_max_reply_size,
	    want->server_max_reply_size);
	ck_assert_uint_eq(got->node_id, want->node_id);
	assert_list_eq(&got->supported_algorithms, &want->supported_algorithms,
	    "supported_algorithms");
	ck_assert_uint_eq(got->algorithm, want->algorithm);
	ck_assert_uint_eq(got->heartbeat_interval, want->heartbeat_interval);
	ck_assert_uint_eq(got->ring_id.node_id, want->ring_id.node_id);
	ck_assert_uint_eq(got->ring_id.seq, want->ring_id.seq);
	ck_assert_uint_eq(got->config_version, want->config_version);
	ck_assert_uint_eq(got->data_center_id, want->data_center_id);
	ck_assert_uint_eq(got->node_state, want->node_state);
	ck_assert_uint_eq(got->node_count, want->node_count);
	for (size_t i = 0; i < want->node_count; i++) {
		ck_assert_uint_eq(got->nodes[i].node_id, want->nodes[i].node_id);
		ck_assert_uint_eq(got->nodes[i].dc_id, want->nodes[i].dc_id);
		ck_assert_uint_eq(got->nodes[i].state, want->nodes[i].state);
	}
	ck_assert_uint_eq(got->node_list_type, want->node_list_type);
	ck_assert_uint_eq(got->vote, want->vote);
	ck_assert_uint_eq(got->quorate, want->quorate);
	ck_assert_uint_eq(got->tie_breaker.mode, want->tie_breaker.mode);
	ck_assert_uint_eq(got->tie_breaker.node_id, want->tie_breaker.node_id);
	ck_assert_uint_eq(got->heuristics, want->heuristics);
	ck_assert_uint_eq(got->kap_tie_breaker, want->kap_tie_breaker);
}
