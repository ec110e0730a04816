/*
 * What the codec tests share (msg_harness.c): hex as PROTOCOL.md prints
 * it, comparisons of bytes and of decoded messages, field setters, and the
 * test cases of each file (test_msg.c runs them).
 */
#ifndef MSG_HARNESS_H
#define MSG_HARNESS_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "buf.h"
#include "msg.h"

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))
#define BIG		(16u * 1024 * 1024)	/* an encode limit never hit */

/*
 * Parse hex as the document prints it: pairs of hex digits, with spaces,
 * newlines and '|' ignored.  Returns a malloc'd buffer.
 */
uint8_t	*hex_parse(const char *s, size_t *len);
/* Equal bytes, or a failure that shows both in hex. */
void	assert_bytes(const uint8_t *got, size_t got_len, const uint8_t *want,
	    size_t want_len, const char *what);
/* Every field of *got equals that of *want (unset fields are zero in both). */
void	assert_msg_eq(const struct msg *got, const struct msg *want);


/* §12.1's PREINIT (test_msg_golden.c). */
void	b_preinit(struct msg *m);
/* A message carrying every option 0..23 (test_msg_round_trip.c). */
void	build_all_options(struct msg *m, uint16_t type);

TCase	*msg_golden_tcase(void);
TCase	*msg_round_trip_tcase(void);
TCase	*msg_decode_tcase(void);
TCase	*msg_encode_tcase(void);

#endif
