#include <stdio.h>

#include "names.h"

#define NAME(table, i) \
	((i) < sizeof(table) / sizeof(table[0]) && table[i] ? table[i] : "Unknown")

static const char *const algo_names[] = {
	"Test", "Fifty-Fifty split", "2 Node LMS", "LMS"
};
static const char *const algo_ids[] = { "test", "ffsplit", "2nodelms", "lms" };
static const char *const msg_names[] = {
	"Preinit", "Preinit reply", "StartTLS", "Init", "Init reply",
	"Server error", "Set option", "Set option reply", "Echo request",
	"Echo reply", "Node list", "Node list reply", "Ask for vote",
	"Ask for vote reply", "Vote info", "Vote info reply",
	"Heuristics change", "Heuristics change reply"
};
static const char *const vote_names[] = {
	"Undefined", "ACK", "NACK", "Ask later", "Wait for reply", "No change"
};
static const char *const vote_ids[] = {
	"undefined", "ack", "nack", "ask_later", "wait_for_reply", "no_change"
};
static const char *const heur_names[] = { "Undefined", "Pass", "Fail" };
static const char *const heur_ids[] = { "undefined", "pass", "fail" };
static const char *const tls_names[] = { "Unsupported", "Supported", "Required" };
static const char *const tls_ids[] = { "off", "on", "required" };
static const char *const state_names[] = { "not set", "member", "dead", "leaving" };
static const char *const tb_ids[] = { NULL, "lowest", "highest", "node_id" };

const char *algo_name(uint8_t a) { return NAME(algo_names, a); }
const char *algo_id(uint8_t a) { return NAME(algo_ids, a); }
const char *msg_type_name(uint16_t t) { return NAME(msg_names, t); }
const char *vote_name(uint8_t v) { return NAME(vote_names, v); }
const char *vote_id(uint8_t v) { return NAME(vote_ids, v); }
const char *heuristics_name(uint8_t h) { return NAME(heur_names, h); }
const char *heuristics_id(uint8_t h) { return NAME(heur_ids, h); }
const char *tls_name(uint8_t t) { return NAME(tls_names, t); }
const char *tls_id(uint8_t t) { return NAME(tls_ids, t); }
const char *node_state_name(uint8_t s) { return NAME(state_names, s); }
const char *tb_mode_id(uint8_t m) { return NAME(tb_ids, m); }

void
tie_breaker_text(const struct qn_tie_breaker *tb, char *out, size_t len)
{
	switch (tb->mode) {
	case QN_TB_LOWEST:
		snprintf(out, len, "Node with lowest node ID");
		break;
	case QN_TB_HIGHEST:
		snprintf(out, len, "Node with highest node ID");
		break;
	case QN_TB_NODE_ID:
		snprintf(out, len, "Node with node ID %u", tb->node_id);
		break;
	default:
		snprintf(out, len, "Unknown");
		break;
	}
}
