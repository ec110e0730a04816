/*
 * Message codec: one struct holds any message; a bit per option says which
 * options it carries.  Encoding writes options in the order the 3.0.3
 * daemons use for the message type (so captures match byte for byte), then
 * any other present option in ascending code order.  Decoding follows the
 * rules of PROTOCOL.md §3.2 exactly, including what stays decoded when a
 * later option fails.
 */
#ifndef QN_MSG_H
#define QN_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "buf.h"

#define QN_BIT(opt)	(UINT32_C(1) << (opt))

struct u16_list {
	uint16_t *v;
	size_t n;
};

struct msg {
	uint16_t type;			/* enum qn_msg_type */
	uint32_t has;			/* QN_BIT(opt) for every option present */

	uint32_t seq;
	const char *cluster_name;	/* not NUL-terminated: use the length */
	size_t cluster_name_len;
	uint8_t tls_supported;		/* enum qn_tls */
	uint8_t tls_client_cert_required;
	struct u16_list supported_messages;
	struct u16_list supported_options;
	uint16_t reply_error_code;	/* enum qn_err */
	uint32_t server_max_request_size;
	uint32_t server_max_reply_size;
	uint32_t node_id;
	struct u16_list supported_algorithms;
	uint16_t algorithm;		/* enum qn_algo, range-checked by users */
	uint32_t heartbeat_interval;
	struct qn_ring_id ring_id;
	uint64_t config_version;
	uint32_t data_center_id;
	uint8_t node_state;		/* enum qn_node_state */
	struct qn_node *nodes;		/* one per node-info option, wire order */
	size_t node_count;
	uint8_t node_list_type;		/* enum qn_list_type */
	uint8_t vote;			/* enum qn_vote */
	uint8_t quorate;
	struct qn_tie_breaker tie_breaker;
	uint8_t heuristics;		/* enum qn_heuristics; absent = undefined */
	uint8_t kap_tie_breaker;
};

enum decode_err {
	DECODE_OK = 0,
	DECODE_INCONSISTENT,	/* lengths do not add up, empty body, stray bytes */
	DECODE_WRONG_SIZE,	/* fixed-size option with another length */
	DECODE_BAD_VALUE,	/* enumeration out of range, node id 0 */
	DECODE_NOMEM
};

static inline int
msg_has(const struct msg *m, enum qn_opt opt)
{
	return (m->has & QN_BIT(opt)) != 0;
}

/*
 * Setters: each stores one option's value and marks the option present in
 * the same step, so a message cannot carry a value it will not send nor
 * send an option whose value was never set.  The encoder orders options by
 * message type, so the order of the calls does not change the bytes.
 * Pointers (name, lists, nodes) are stored, not copied: keep them alive
 * until the message is encoded.
 */
static inline void
msg_set_seq(struct msg *m, uint32_t v)
{
	m->seq = v;
	m->has |= QN_BIT(QN_OPT_SEQ);
}

static inline void
msg_set_tls_supported(struct msg *m, uint8_t v)
{
	m->tls_supported = v;
	m->has |= QN_BIT(QN_OPT_TLS_SUPPORTED);
}

static inline void
msg_set_tls_client_cert_required(struct msg *m, uint8_t v)
{
	m->tls_client_cert_required = v;
	m->has |= QN_BIT(QN_OPT_TLS_CLIENT_CERT_REQUIRED);
}

static inline void
msg_set_reply_error_code(struct msg *m, uint16_t v)
{
	m->reply_error_code = v;
	m->has |= QN_BIT(QN_OPT_REPLY_ERROR_CODE);
}

static inline void
msg_set_server_max_request_size(struct msg *m, uint32_t v)
{
	m->server_max_request_size = v;
	m->has |= QN_BIT(QN_OPT_SERVER_MAX_REQUEST_SIZE);
}

static inline void
msg_set_server_max_reply_size(struct msg *m, uint32_t v)
{
	m->server_max_reply_size = v;
	m->has |= QN_BIT(QN_OPT_SERVER_MAX_REPLY_SIZE);
}

static inline void
msg_set_node_id(struct msg *m, uint32_t v)
{
	m->node_id = v;
	m->has |= QN_BIT(QN_OPT_NODE_ID);
}

static inline void
msg_set_algorithm(struct msg *m, uint16_t v)
{
	m->algorithm = v;
	m->has |= QN_BIT(QN_OPT_ALGORITHM);
}

static inline void
msg_set_heartbeat_interval(struct msg *m, uint32_t v)
{
	m->heartbeat_interval = v;
	m->has |= QN_BIT(QN_OPT_HEARTBEAT_INTERVAL);
}

static inline void
msg_set_config_version(struct msg *m, uint64_t v)
{
	m->config_version = v;
	m->has |= QN_BIT(QN_OPT_CONFIG_VERSION);
}

static inline void
msg_set_data_center_id(struct msg *m, uint32_t v)
{
	m->data_center_id = v;
	m->has |= QN_BIT(QN_OPT_DATA_CENTER_ID);
}

static inline void
msg_set_node_state(struct msg *m, uint8_t v)
{
	m->node_state = v;
	m->has |= QN_BIT(QN_OPT_NODE_STATE);
}

static inline void
msg_set_node_list_type(struct msg *m, uint8_t v)
{
	m->node_list_type = v;
	m->has |= QN_BIT(QN_OPT_NODE_LIST_TYPE);
}

static inline void
msg_set_vote(struct msg *m, uint8_t v)
{
	m->vote = v;
	m->has |= QN_BIT(QN_OPT_VOTE);
}

static inline void
msg_set_quorate(struct msg *m, uint8_t v)
{
	m->quorate = v;
	m->has |= QN_BIT(QN_OPT_QUORATE);
}

static inline void
msg_set_heuristics(struct msg *m, uint8_t v)
{
	m->heuristics = v;
	m->has |= QN_BIT(QN_OPT_HEURISTICS);
}

static inline void
msg_set_kap_tie_breaker(struct msg *m, uint8_t v)
{
	m->kap_tie_breaker = v;
	m->has |= QN_BIT(QN_OPT_KAP_TIE_BREAKER);
}

static inline void
msg_set_cluster_name(struct msg *m, const char *name, size_t len)
{
	m->cluster_name = name;
	m->cluster_name_len = len;
	m->has |= QN_BIT(QN_OPT_CLUSTER_NAME);
}

static inline void
msg_set_supported_messages(struct msg *m, const struct u16_list *l)
{
	m->supported_messages = *l;
	m->has |= QN_BIT(QN_OPT_SUPPORTED_MESSAGES);
}

static inline void
msg_set_supported_options(struct msg *m, const struct u16_list *l)
{
	m->supported_options = *l;
	m->has |= QN_BIT(QN_OPT_SUPPORTED_OPTIONS);
}

static inline void
msg_set_supported_algorithms(struct msg *m, const struct u16_list *l)
{
	m->supported_algorithms = *l;
	m->has |= QN_BIT(QN_OPT_SUPPORTED_ALGORITHMS);
}

static inline void
msg_set_ring_id(struct msg *m, const struct qn_ring_id *r)
{
	m->ring_id = *r;
	m->has |= QN_BIT(QN_OPT_RING_ID);
}

static inline void
msg_set_tie_breaker(struct msg *m, const struct qn_tie_breaker *tb)
{
	m->tie_breaker = *tb;
	m->has |= QN_BIT(QN_OPT_TIE_BREAKER);
}

/* One node-info option per node; n may be 0 (then none is sent). */
static inline void
msg_set_nodes(struct msg *m, struct qn_node *nodes, size_t n)
{
	m->nodes = nodes;
	m->node_count = n;
	m->has |= QN_BIT(QN_OPT_NODE_INFO);
}

/* Zero the message and set its type. */
void	msg_init(struct msg *m, enum qn_msg_type type);

/*
 * Decode a whole message (header included).  On error, options decoded
 * before the failing one remain set.  Pointers and lists in *m are owned by
 * *m (the cluster name is copied) and released by msg_free().
 */
enum decode_err msg_decode(const uint8_t *data, size_t len, struct msg *m);
void	msg_free(struct msg *m);

/*
 * Append the encoded message to out.  Pointers in *m are only read.
 * Returns 0, or -1 when the message would exceed max_size bytes (header
 * included) or memory ran out; out is then left as it was.
 */
int	msg_encode(const struct msg *m, struct buf *out, size_t max_size);

/* What every 3.0.3 daemon advertises: options 0..23, messages 0..17, algorithms 0..3. */
extern const struct u16_list msg_all_options;
extern const struct u16_list msg_all_messages;
extern const struct u16_list msg_all_algorithms;

int	u16_list_has(const struct u16_list *l, uint16_t v);

const char *decode_err_str(enum decode_err e);

#endif
