/*
 * Codec of the enrolment messages (include/proto.h, QN_MSG_ENROLL_*): the
 * header and TLVs of every message (PROTOCOL.md §3), with options of their
 * own that do not fit struct msg's option bits.  Unknown options are
 * skipped, as in the rest of the protocol.
 */
#ifndef QN_ENROLL_MSG_H
#define QN_ENROLL_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "proto.h"

/* Pointers into the decoded message (or the caller's data to encode). */
struct enroll_msg {
	uint16_t type;
	const char *token_id;
	size_t token_id_len;
	const uint8_t *proof, *csr, *cert, *ca_cert;
	size_t proof_len, csr_len, cert_len, ca_cert_len;
	int renew;			/* QN_OPT_ENROLL_RENEW: 0 or 1 */
	int has_error;
	uint16_t error;			/* enum qn_enroll_err */
	const char *reason;		/* not NUL-terminated */
	size_t reason_len;
};

int	enroll_msg_is_type(uint16_t type);

/*
 * Decode a whole message (header included); the pointers point into data.
 * 0, or -1 when the lengths do not add up or an option repeats.
 */
int	enroll_msg_decode(const uint8_t *data, size_t len, struct enroll_msg *m);
/* Append the message to out: 0, or -1 (an option over 65535 bytes, memory). */
int	enroll_msg_encode(const struct enroll_msg *m, struct buf *out);

const char *enroll_err_str(uint16_t e);

#endif
