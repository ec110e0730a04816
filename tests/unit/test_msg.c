/*
 * Unit tests of the message codec (common/msg.c) against PROTOCOL.md:
 * the worked examples of §12 byte for byte, round trips of every message
 * type with every option, the decoding rules of §3.2-§3.4 on malformed
 * input, and the encoder's limits.  This file runs the cases of
 * test_msg_golden.c, test_msg_round_trip.c, test_msg_decode.c and
 * test_msg_encode.c; their helpers are in msg_harness.c.
 */
#include <stdlib.h>

#include "msg_harness.h"

static Suite *
msg_suite(void)
{
	Suite *s = suite_create("msg");

	suite_add_tcase(s, msg_golden_tcase());
	suite_add_tcase(s, msg_round_trip_tcase());
	suite_add_tcase(s, msg_decode_tcase());
	suite_add_tcase(s, msg_encode_tcase());
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(msg_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
