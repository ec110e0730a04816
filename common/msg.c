#include <stdlib.h>
#include <string.h>

#include "msg.h"

#define END	0xff

/*
 * Option order per message type as the 3.0.3 daemons write it
 * (PROTOCOL.md §5.1); options absent from a message are skipped.
 */
static const uint8_t opt_order[QN_MSG_COUNT][9] = {
	[QN_MSG_PREINIT] = { 0, 1, END },
	[QN_MSG_PREINIT_REPLY] = { 0, 2, 3, END },
	[QN_MSG_STARTTLS] = { 0, END },
	[QN_MSG_INIT] = { 0, 4, 5, 9, 11, 12, 21, 13, END },
	[QN_MSG_INIT_REPLY] = { 6, 4, 5, 0, 7, 8, 10, END },
	[QN_MSG_SERVER_ERROR] = { 0, 6, END },
	[QN_MSG_SET_OPTION] = { 0, 12, 23, END },
	[QN_MSG_SET_OPTION_REPLY] = { 0, 12, 23, END },
	[QN_MSG_ECHO_REQUEST] = { 0, END },
	[QN_MSG_ECHO_REPLY] = { 0, END },
	[QN_MSG_NODE_LIST] = { 0, 18, 13, 14, 20, 17, 22, END },
	[QN_MSG_NODE_LIST_REPLY] = { 0, 18, 13, 19, END },
	[QN_MSG_ASK_FOR_VOTE] = { 0, END },
	[QN_MSG_ASK_FOR_VOTE_REPLY] = { 0, 19, 13, END },
	[QN_MSG_VOTE_INFO] = { 0, 19, 13, END },
	[QN_MSG_VOTE_INFO_REPLY] = { 0, END },
	[QN_MSG_HEURISTICS_CHANGE] = { 0, 22, END },
	[QN_MSG_HEURISTICS_CHANGE_REPLY] = { 0, 19, 13, 22, END },
};

static uint16_t all_options[QN_OPT_COUNT] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
	20, 21, 22, 23
};
static uint16_t all_messages[QN_MSG_COUNT] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17
};
const struct u16_list msg_all_options = { all_options, QN_OPT_COUNT };
const struct u16_list msg_all_messages = { all_messages, QN_MSG_COUNT };
const struct u16_list msg_all_algorithms = { all_messages, QN_ALGO_COUNT };

void
msg_init(struct msg *m, enum qn_msg_type type)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
}

void
msg_free(struct msg *m)
{
	free((char *)m->cluster_name);
	free(m->supported_messages.v);
	free(m->supported_options.v);
	free(m->supported_algorithms.v);
	free(m->nodes);
	msg_init(m, m->type);
}

int
u16_list_has(const struct u16_list *l, uint16_t v)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i] == v)
			return 1;
	return 0;
}

const char *
decode_err_str(enum decode_err e)
{
	switch (e) {
	case DECODE_OK:
		return "no error";
	case DECODE_INCONSISTENT:
		return "inconsistent lengths";
	case DECODE_WRONG_SIZE:
		return "option has a wrong size";
	case DECODE_BAD_VALUE:
		return "option has an invalid value";
	case DECODE_NOMEM:
		return "out of memory";
	}
	return "unknown error";
}

/* ------------------------------------------------------------------ */
/* Decoding */

struct tlv {
	uint16_t type;
	uint16_t len;
	const uint8_t *val;
};

/*
 * Step to the next TLV of [*p, end).  Returns 1 with *t filled, 0 at a clean
 * end, -1 when the lengths do not add up or 1-3 stray bytes remain.
 */
static int
tlv_next(const uint8_t **p, const uint8_t *end, struct tlv *t)
{
	size_t left = (size_t)(end - *p);

	if (left == 0)
		return 0;
	if (left < QN_TLV_HEADER_SIZE)
		return -1;
	t->type = get_u16(*p);
	t->len = get_u16(*p + 2);
	if ((size_t)t->len > left - QN_TLV_HEADER_SIZE)
		return -1;
	t->val = *p + QN_TLV_HEADER_SIZE;
	*p = t->val + t->len;
	return 1;
}

static enum decode_err
decode_node(const struct tlv *outer, struct qn_node *n)
{
	const uint8_t *p = outer->val, *end = outer->val + outer->len;
	struct tlv t;
	int r;

	memset(n, 0, sizeof(*n));
	if (outer->len == 0)
		return DECODE_INCONSISTENT;
	while ((r = tlv_next(&p, end, &t)) == 1) {
		switch (t.type) {
		case QN_OPT_NODE_ID:
		case QN_OPT_DATA_CENTER_ID:
			if (t.len != 4)
				return DECODE_WRONG_SIZE;
			if (t.type == QN_OPT_NODE_ID)
				n->node_id = get_u32(t.val);
			else
				n->dc_id = get_u32(t.val);
			break;
		case QN_OPT_NODE_STATE:
			if (t.len != 1)
				return DECODE_WRONG_SIZE;
			if (t.val[0] < QN_NODE_STATE_MEMBER ||
			    t.val[0] > QN_NODE_STATE_LEAVING)
				return DECODE_BAD_VALUE;
			n->state = t.val[0];
			break;
		default:
			break;
		}
	}
	if (r < 0)
		return DECODE_INCONSISTENT;
	return n->node_id == 0 ? DECODE_BAD_VALUE : DECODE_OK;
}

static enum decode_err
decode_u16_list(const struct tlv *t, struct u16_list *l)
{
	uint16_t *v = NULL;
	size_t n = t->len / 2;

	if (t->len % 2 != 0)
		return DECODE_WRONG_SIZE;
	if (n > 0 && (v = malloc(n * sizeof(*v))) == NULL)
		return DECODE_NOMEM;
	for (size_t i = 0; i < n; i++)
		v[i] = get_u16(t->val + 2 * i);
	free(l->v);
	l->v = v;
	l->n = n;
	return DECODE_OK;
}

/* Fixed value sizes; 0 marks variable-length options. */
static const uint8_t opt_size[QN_OPT_COUNT] = {
	[QN_OPT_SEQ] = 4, [QN_OPT_TLS_SUPPORTED] = 1,
	[QN_OPT_TLS_CLIENT_CERT_REQUIRED] = 1, [QN_OPT_REPLY_ERROR_CODE] = 2,
	[QN_OPT_SERVER_MAX_REQUEST_SIZE] = 4,
	[QN_OPT_SERVER_MAX_REPLY_SIZE] = 4, [QN_OPT_NODE_ID] = 4,
	[QN_OPT_ALGORITHM] = 2, [QN_OPT_HEARTBEAT_INTERVAL] = 4,
	[QN_OPT_RING_ID] = 12, [QN_OPT_CONFIG_VERSION] = 8,
	[QN_OPT_DATA_CENTER_ID] = 4, [QN_OPT_NODE_STATE] = 1,
	[QN_OPT_NODE_LIST_TYPE] = 1, [QN_OPT_VOTE] = 1, [QN_OPT_QUORATE] = 1,
	[QN_OPT_TIE_BREAKER] = 5, [QN_OPT_HEURISTICS] = 1,
	[QN_OPT_KAP_TIE_BREAKER] = 1,
};

static int
in_range(uint8_t v, uint8_t lo, uint8_t hi)
{
	return v >= lo && v <= hi;
}

static enum decode_err
decode_option(const struct tlv *t, struct msg *m)
{
	const uint8_t *v = t->val;
	struct qn_node *nodes;
	enum decode_err e;
	char *name;

	if (opt_size[t->type] != 0 && t->len != opt_size[t->type])
		return DECODE_WRONG_SIZE;

	switch ((enum qn_opt)t->type) {
	case QN_OPT_SEQ:
		m->seq = get_u32(v);
		break;
	case QN_OPT_CLUSTER_NAME:
		if ((name = malloc((size_t)t->len + 1)) == NULL)
			return DECODE_NOMEM;
		memcpy(name, v, t->len);
		name[t->len] = '\0';
		free((char *)m->cluster_name);
		m->cluster_name = name;
		m->cluster_name_len = t->len;
		break;
	case QN_OPT_TLS_SUPPORTED:
		if (!in_range(v[0], QN_TLS_UNSUPPORTED, QN_TLS_REQUIRED))
			return DECODE_BAD_VALUE;
		m->tls_supported = v[0];
		break;
	case QN_OPT_TLS_CLIENT_CERT_REQUIRED:
		m->tls_client_cert_required = v[0];
		break;
	case QN_OPT_SUPPORTED_MESSAGES:
		if ((e = decode_u16_list(t, &m->supported_messages)) != DECODE_OK)
			return e;
		break;
	case QN_OPT_SUPPORTED_OPTIONS:
		if ((e = decode_u16_list(t, &m->supported_options)) != DECODE_OK)
			return e;
		break;
	case QN_OPT_REPLY_ERROR_CODE:
		m->reply_error_code = get_u16(v);
		break;
	case QN_OPT_SERVER_MAX_REQUEST_SIZE:
		m->server_max_request_size = get_u32(v);
		break;
	case QN_OPT_SERVER_MAX_REPLY_SIZE:
		m->server_max_reply_size = get_u32(v);
		break;
	case QN_OPT_NODE_ID:
		m->node_id = get_u32(v);
		break;
	case QN_OPT_SUPPORTED_ALGORITHMS:
		if ((e = decode_u16_list(t, &m->supported_algorithms)) != DECODE_OK)
			return e;
		break;
	case QN_OPT_ALGORITHM:
		m->algorithm = get_u16(v);
		break;
	case QN_OPT_HEARTBEAT_INTERVAL:
		m->heartbeat_interval = get_u32(v);
		break;
	case QN_OPT_RING_ID:
		m->ring_id.node_id = get_u32(v);
		m->ring_id.seq = get_u64(v + 4);
		break;
	case QN_OPT_CONFIG_VERSION:
		m->config_version = get_u64(v);
		break;
	case QN_OPT_DATA_CENTER_ID:
		m->data_center_id = get_u32(v);
		break;
	case QN_OPT_NODE_STATE:
		if (!in_range(v[0], QN_NODE_STATE_MEMBER, QN_NODE_STATE_LEAVING))
			return DECODE_BAD_VALUE;
		m->node_state = v[0];
		break;
	case QN_OPT_NODE_INFO:
		nodes = realloc(m->nodes, (m->node_count + 1) * sizeof(*nodes));
		if (nodes == NULL)
			return DECODE_NOMEM;
		m->nodes = nodes;
		if ((e = decode_node(t, &nodes[m->node_count])) != DECODE_OK)
			return e;
		m->node_count++;
		break;
	case QN_OPT_NODE_LIST_TYPE:
		if (!in_range(v[0], QN_LIST_INITIAL_CONFIG, QN_LIST_QUORUM))
			return DECODE_BAD_VALUE;
		m->node_list_type = v[0];
		break;
	case QN_OPT_VOTE:
		if (!in_range(v[0], QN_VOTE_ACK, QN_VOTE_NO_CHANGE))
			return DECODE_BAD_VALUE;
		m->vote = v[0];
		break;
	case QN_OPT_QUORATE:
		if (!in_range(v[0], 0, 1))
			return DECODE_BAD_VALUE;
		m->quorate = v[0];
		break;
	case QN_OPT_TIE_BREAKER:
		if (!in_range(v[0], QN_TB_LOWEST, QN_TB_NODE_ID))
			return DECODE_BAD_VALUE;
		m->tie_breaker.mode = v[0];
		m->tie_breaker.node_id = get_u32(v + 1);
		break;
	case QN_OPT_HEURISTICS:
		if (!in_range(v[0], QN_HEUR_PASS, QN_HEUR_FAIL))
			return DECODE_BAD_VALUE;
		m->heuristics = v[0];
		break;
	case QN_OPT_KAP_TIE_BREAKER:
		if (!in_range(v[0], 0, 1))
			return DECODE_BAD_VALUE;
		m->kap_tie_breaker = v[0];
		break;
	case QN_OPT_COUNT:
		break;
	}
	m->has |= QN_BIT(t->type);
	return DECODE_OK;
}

enum decode_err
msg_decode(const uint8_t *data, size_t len, struct msg *m)
{
	const uint8_t *p, *end;
	enum decode_err e;
	struct tlv t;
	int r;

	msg_init(m, 0);
	if (len < QN_HEADER_SIZE ||
	    get_u32(data + 2) != len - QN_HEADER_SIZE)
		return DECODE_INCONSISTENT;
	m->type = get_u16(data);
	p = data + QN_HEADER_SIZE;
	end = data + len;
	if (p == end)
		return DECODE_INCONSISTENT;	/* a body needs one TLV */
	while ((r = tlv_next(&p, end, &t)) == 1) {
		if (t.type >= QN_OPT_COUNT)
			continue;		/* unknown options are ignored */
		if ((e = decode_option(&t, m)) != DECODE_OK)
			return e;
	}
	return r < 0 ? DECODE_INCONSISTENT : DECODE_OK;
}

/* ------------------------------------------------------------------ */
/* Encoding */

static void
put_tlv_header(struct buf *b, enum qn_opt opt, size_t len)
{
	if (len > UINT16_MAX) {
		b->failed = 1;
		return;
	}
	buf_put_u16(b, opt);
	buf_put_u16(b, (uint16_t)len);
}

static void
put_u16_list(struct buf *b, enum qn_opt opt, const struct u16_list *l)
{
	uint8_t *p;

	put_tlv_header(b, opt, 2 * l->n);
	/* One reservation for the list (INIT_REPLY's lists are long). */
	if (b->failed || buf_reserve(b, 2 * l->n) != 0)
		return;
	p = b->data + b->len;
	for (size_t i = 0; i < l->n; i++) {
		p[2 * i] = (uint8_t)(l->v[i] >> 8);
		p[2 * i + 1] = (uint8_t)l->v[i];
	}
	b->len += 2 * l->n;
}

static void
put_node(struct buf *b, const struct qn_node *n)
{
	size_t len = 8 + (n->dc_id ? 8 : 0) + (n->state ? 5 : 0);

	put_tlv_header(b, QN_OPT_NODE_INFO, len);
	put_tlv_header(b, QN_OPT_NODE_ID, 4);
	buf_put_u32(b, n->node_id);
	if (n->dc_id) {
		put_tlv_header(b, QN_OPT_DATA_CENTER_ID, 4);
		buf_put_u32(b, n->dc_id);
	}
	if (n->state) {
		put_tlv_header(b, QN_OPT_NODE_STATE, 1);
		buf_put_u8(b, n->state);
	}
}

static void
put_u8_opt(struct buf *b, enum qn_opt opt, uint8_t v)
{
	put_tlv_header(b, opt, 1);
	buf_put_u8(b, v);
}

static void
put_u32_opt(struct buf *b, enum qn_opt opt, uint32_t v)
{
	put_tlv_header(b, opt, 4);
	buf_put_u32(b, v);
}

static void
put_option(struct buf *b, const struct msg *m, enum qn_opt opt)
{
	switch (opt) {
	case QN_OPT_SEQ:
		put_u32_opt(b, opt, m->seq);
		break;
	case QN_OPT_CLUSTER_NAME:
		put_tlv_header(b, opt, m->cluster_name_len);
		buf_put(b, m->cluster_name, m->cluster_name_len);
		break;
	case QN_OPT_TLS_SUPPORTED:
		put_u8_opt(b, opt, m->tls_supported);
		break;
	case QN_OPT_TLS_CLIENT_CERT_REQUIRED:
		put_u8_opt(b, opt, m->tls_client_cert_required);
		break;
	case QN_OPT_SUPPORTED_MESSAGES:
		put_u16_list(b, opt, &m->supported_messages);
		break;
	case QN_OPT_SUPPORTED_OPTIONS:
		put_u16_list(b, opt, &m->supported_options);
		break;
	case QN_OPT_REPLY_ERROR_CODE:
		put_tlv_header(b, opt, 2);
		buf_put_u16(b, m->reply_error_code);
		break;
	case QN_OPT_SERVER_MAX_REQUEST_SIZE:
		put_u32_opt(b, opt, m->server_max_request_size);
		break;
	case QN_OPT_SERVER_MAX_REPLY_SIZE:
		put_u32_opt(b, opt, m->server_max_reply_size);
		break;
	case QN_OPT_NODE_ID:
		put_u32_opt(b, opt, m->node_id);
		break;
	case QN_OPT_SUPPORTED_ALGORITHMS:
		put_u16_list(b, opt, &m->supported_algorithms);
		break;
	case QN_OPT_ALGORITHM:
		put_tlv_header(b, opt, 2);
		buf_put_u16(b, m->algorithm);
		break;
	case QN_OPT_HEARTBEAT_INTERVAL:
		put_u32_opt(b, opt, m->heartbeat_interval);
		break;
	case QN_OPT_RING_ID:
		put_tlv_header(b, opt, 12);
		buf_put_u32(b, m->ring_id.node_id);
		buf_put_u64(b, m->ring_id.seq);
		break;
	case QN_OPT_CONFIG_VERSION:
		put_tlv_header(b, opt, 8);
		buf_put_u64(b, m->config_version);
		break;
	case QN_OPT_DATA_CENTER_ID:
		put_u32_opt(b, opt, m->data_center_id);
		break;
	case QN_OPT_NODE_STATE:
		put_u8_opt(b, opt, m->node_state);
		break;
	case QN_OPT_NODE_INFO:
		for (size_t i = 0; i < m->node_count; i++)
			put_node(b, &m->nodes[i]);
		break;
	case QN_OPT_NODE_LIST_TYPE:
		put_u8_opt(b, opt, m->node_list_type);
		break;
	case QN_OPT_VOTE:
		put_u8_opt(b, opt, m->vote);
		break;
	case QN_OPT_QUORATE:
		put_u8_opt(b, opt, m->quorate);
		break;
	case QN_OPT_TIE_BREAKER:
		/* The node id travels only with mode "node id". */
		put_tlv_header(b, opt, 5);
		buf_put_u8(b, m->tie_breaker.mode);
		buf_put_u32(b, m->tie_breaker.mode == QN_TB_NODE_ID ?
		    m->tie_breaker.node_id : 0);
		break;
	case QN_OPT_HEURISTICS:
		put_u8_opt(b, opt, m->heuristics);
		break;
	case QN_OPT_KAP_TIE_BREAKER:
		put_u8_opt(b, opt, m->kap_tie_breaker);
		break;
	case QN_OPT_COUNT:
		break;
	}
}

int
msg_encode(const struct msg *m, struct buf *out, size_t max_size)
{
	size_t start = out->len;
	uint32_t done = 0;
	const uint8_t *order = m->type < QN_MSG_COUNT ?
	    opt_order[m->type] : opt_order[QN_MSG_ECHO_REQUEST];

	out->failed = 0;
	buf_put_u16(out, m->type);
	buf_put_u32(out, 0);
	for (; *order != END; order++) {
		if (msg_has(m, *order))
			put_option(out, m, *order);
		done |= QN_BIT(*order);
	}
	for (int opt = 0; opt < QN_OPT_COUNT; opt++)
		if (msg_has(m, opt) && !(done & QN_BIT(opt)))
			put_option(out, m, opt);

	if (out->failed || out->len - start > max_size) {
		out->len = start;
		out->failed = 0;
		return -1;
	}
	buf_set_u32(out, start + 2, (uint32_t)(out->len - start - QN_HEADER_SIZE));
	return 0;
}
