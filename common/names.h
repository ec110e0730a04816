/*
 * Protocol values as the 3.0.3 tools print them (text output) and as our
 * JSON output names them (short lower-case identifiers).
 */
#ifndef QN_NAMES_H
#define QN_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

const char *algo_name(uint8_t algo);		/* "Fifty-Fifty split" */
const char *algo_id(uint8_t algo);		/* "ffsplit" */
const char *msg_type_name(uint16_t type);	/* "Node list reply" */
const char *vote_name(uint8_t vote);		/* "Wait for reply" */
const char *vote_id(uint8_t vote);		/* "wait_for_reply" */
const char *heuristics_name(uint8_t h);		/* "Pass" */
const char *heuristics_id(uint8_t h);		/* "pass" */
const char *tls_name(uint8_t tls);		/* "Supported" */
const char *tls_id(uint8_t tls);		/* "supported" */
const char *node_state_name(uint8_t state);	/* "member" */
const char *tb_mode_id(uint8_t mode);		/* "lowest" */
/* "Node with lowest node ID", "Node with node ID 3" */
void	tie_breaker_text(const struct qn_tie_breaker *tb, char *out, size_t len);

#endif
