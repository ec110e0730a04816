/*
 * The qdevice "net" model wire protocol: message types, options and the
 * values they carry.  Numbers are fixed by the protocol (PROTOCOL.md §3-§5);
 * everything on the wire is big-endian.
 */
#ifndef QN_PROTO_H
#define QN_PROTO_H

#include <stdint.h>

#define QN_DEFAULT_PORT		5403
#define QN_HEADER_SIZE		6	/* u16 type, u32 body length */
#define QN_TLV_HEADER_SIZE	4	/* u16 option, u16 value length */

enum qn_msg_type {
	QN_MSG_PREINIT = 0,
	QN_MSG_PREINIT_REPLY = 1,
	QN_MSG_STARTTLS = 2,
	QN_MSG_INIT = 3,
	QN_MSG_INIT_REPLY = 4,
	QN_MSG_SERVER_ERROR = 5,
	QN_MSG_SET_OPTION = 6,
	QN_MSG_SET_OPTION_REPLY = 7,
	QN_MSG_ECHO_REQUEST = 8,
	QN_MSG_ECHO_REPLY = 9,
	QN_MSG_NODE_LIST = 10,
	QN_MSG_NODE_LIST_REPLY = 11,
	QN_MSG_ASK_FOR_VOTE = 12,
	QN_MSG_ASK_FOR_VOTE_REPLY = 13,
	QN_MSG_VOTE_INFO = 14,
	QN_MSG_VOTE_INFO_REPLY = 15,
	QN_MSG_HEURISTICS_CHANGE = 16,
	QN_MSG_HEURISTICS_CHANGE_REPLY = 17,
	QN_MSG_COUNT
};

enum qn_opt {
	QN_OPT_SEQ = 0,
	QN_OPT_CLUSTER_NAME = 1,
	QN_OPT_TLS_SUPPORTED = 2,
	QN_OPT_TLS_CLIENT_CERT_REQUIRED = 3,
	QN_OPT_SUPPORTED_MESSAGES = 4,
	QN_OPT_SUPPORTED_OPTIONS = 5,
	QN_OPT_REPLY_ERROR_CODE = 6,
	QN_OPT_SERVER_MAX_REQUEST_SIZE = 7,
	QN_OPT_SERVER_MAX_REPLY_SIZE = 8,
	QN_OPT_NODE_ID = 9,
	QN_OPT_SUPPORTED_ALGORITHMS = 10,
	QN_OPT_ALGORITHM = 11,
	QN_OPT_HEARTBEAT_INTERVAL = 12,
	QN_OPT_RING_ID = 13,
	QN_OPT_CONFIG_VERSION = 14,
	QN_OPT_DATA_CENTER_ID = 15,
	QN_OPT_NODE_STATE = 16,
	QN_OPT_NODE_INFO = 17,
	QN_OPT_NODE_LIST_TYPE = 18,
	QN_OPT_VOTE = 19,
	QN_OPT_QUORATE = 20,
	QN_OPT_TIE_BREAKER = 21,
	QN_OPT_HEURISTICS = 22,
	QN_OPT_KAP_TIE_BREAKER = 23,
	QN_OPT_COUNT
};

enum qn_tls {
	QN_TLS_UNSUPPORTED = 0,
	QN_TLS_SUPPORTED = 1,
	QN_TLS_REQUIRED = 2
};

/* Reply error codes (option 6), PROTOCOL.md §4.2. */
enum qn_err {
	QN_ERR_NONE = 0,
	QN_ERR_UNSUPPORTED_NEEDED_MESSAGE = 1,
	QN_ERR_UNSUPPORTED_NEEDED_OPTION = 2,
	QN_ERR_TLS_REQUIRED = 3,
	QN_ERR_UNSUPPORTED_MESSAGE = 4,
	QN_ERR_MESSAGE_TOO_LONG = 5,
	QN_ERR_PREINIT_REQUIRED = 6,
	QN_ERR_DOESNT_CONTAIN_REQUIRED_OPTION = 7,
	QN_ERR_UNEXPECTED_MESSAGE = 8,
	QN_ERR_ERROR_DECODING_MSG = 9,
	QN_ERR_INTERNAL_ERROR = 10,
	QN_ERR_INIT_REQUIRED = 11,
	QN_ERR_UNSUPPORTED_DECISION_ALGORITHM = 12,
	QN_ERR_INVALID_HEARTBEAT_INTERVAL = 13,
	QN_ERR_UNSUPPORTED_DECISION_ALGORITHM_MESSAGE = 14,
	QN_ERR_TIE_BREAKER_DIFFERS_FROM_OTHER_NODES = 15,
	QN_ERR_ALGORITHM_DIFFERS_FROM_OTHER_NODES = 16,
	QN_ERR_DUPLICATE_NODE_ID = 17,
	QN_ERR_INVALID_CONFIG_NODE_LIST = 18,
	QN_ERR_INVALID_MEMBERSHIP_NODE_LIST = 19
};

enum qn_algo {
	QN_ALGO_TEST = 0,
	QN_ALGO_FFSPLIT = 1,
	QN_ALGO_2NODELMS = 2,
	QN_ALGO_LMS = 3,
	QN_ALGO_COUNT
};

enum qn_node_state {
	QN_NODE_STATE_NOT_SET = 0,	/* never on the wire */
	QN_NODE_STATE_MEMBER = 1,
	QN_NODE_STATE_DEAD = 2,
	QN_NODE_STATE_LEAVING = 3
};

enum qn_list_type {
	QN_LIST_INITIAL_CONFIG = 0,
	QN_LIST_CHANGED_CONFIG = 1,
	QN_LIST_MEMBERSHIP = 2,
	QN_LIST_QUORUM = 3
};

enum qn_vote {
	QN_VOTE_UNDEFINED = 0,	/* never on the wire */
	QN_VOTE_ACK = 1,
	QN_VOTE_NACK = 2,
	QN_VOTE_ASK_LATER = 3,
	QN_VOTE_WAIT_FOR_REPLY = 4,
	QN_VOTE_NO_CHANGE = 5
};

enum qn_tb_mode {
	QN_TB_LOWEST = 1,
	QN_TB_HIGHEST = 2,
	QN_TB_NODE_ID = 3
};

/* Undefined is sent by omitting option 22. */
enum qn_heuristics {
	QN_HEUR_UNDEFINED = 0,
	QN_HEUR_PASS = 1,
	QN_HEUR_FAIL = 2
};

/*
 * Enrolment (ours, issue 14): message types and options far from 3.0.3's,
 * which a 3.0.3 daemon answers with SERVER_ERROR "unsupported message".
 * The exchange is in corosync-qnetd(8), PROTOCOL NOTES.
 */
enum qn_enroll_msg_type {
	QN_MSG_ENROLL_STARTTLS = 0x7E00,	/* client: TLS, no client cert
						   (renewal: its current one) */
	QN_MSG_ENROLL_REQUEST = 0x7E01,		/* client: token id, proof, CSR;
						   renewal: RENEW, CSR */
	QN_MSG_ENROLL_REPLY = 0x7E02		/* server: error or certificates */
};

enum qn_enroll_opt {
	QN_OPT_ENROLL_TOKEN_ID = 0x7E00,	/* 8 hex digits */
	QN_OPT_ENROLL_PROOF = 0x7E01,		/* HMAC-SHA-256, 32 bytes */
	QN_OPT_ENROLL_CSR = 0x7E02,		/* PKCS#10, DER */
	QN_OPT_ENROLL_CERT = 0x7E03,		/* the signed certificate, DER */
	QN_OPT_ENROLL_CA_CERT = 0x7E04,		/* the QNet CA, DER */
	QN_OPT_ENROLL_ERROR = 0x7E05,		/* enum qn_enroll_err, u16 */
	QN_OPT_ENROLL_REASON = 0x7E06,		/* text for the node's user */
	QN_OPT_ENROLL_RENEW = 0x7E07		/* u8 1: renewal, not a token */
};

enum qn_enroll_err {
	QN_ENROLL_OK = 0,
	QN_ENROLL_REFUSED = 1,		/* token or request refused (reason) */
	QN_ENROLL_RATE_LIMITED = 2,	/* too many attempts from this address */
	QN_ENROLL_UNAVAILABLE = 3,	/* no TLS, no CA key: can't sign */
	QN_ENROLL_BAD_REQUEST = 4	/* malformed, or sent out of turn */
};

/* A type the reader keeps (3.0.3's, then ours); others are skipped. */
static inline int
qn_msg_type_known(uint16_t t)
{
	return t < QN_MSG_COUNT ||
	    (t >= QN_MSG_ENROLL_STARTTLS && t <= QN_MSG_ENROLL_REPLY);
}

/* The keying-material label the token proof is bound to (RFC 5705). */
#define QN_ENROLL_EXPORTER_LABEL	"EXPORTER-corosync-qnetd-enroll"
#define QN_ENROLL_EXPORTER_LEN		32

struct qn_ring_id {
	uint32_t node_id;
	uint64_t seq;
};

struct qn_tie_breaker {
	uint8_t mode;		/* enum qn_tb_mode */
	uint32_t node_id;	/* meaningful only for QN_TB_NODE_ID */
};

struct qn_node {
	uint32_t node_id;	/* never 0 */
	uint32_t dc_id;		/* 0 = not set */
	uint8_t state;		/* enum qn_node_state */
};

static inline int
qn_ring_id_eq(const struct qn_ring_id *a, const struct qn_ring_id *b)
{
	return a->node_id == b->node_id && a->seq == b->seq;
}

static inline int
qn_tie_breaker_eq(const struct qn_tie_breaker *a, const struct qn_tie_breaker *b)
{
	return a->mode == b->mode &&
	    (a->mode != QN_TB_NODE_ID || a->node_id == b->node_id);
}

#endif
