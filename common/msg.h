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
