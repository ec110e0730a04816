/*
 * Message connections over loopback TCP: plain exchanges, queueing,
 * partial writes, closing from callbacks, oversized input, and the
 * STARTTLS upgrade with NSS certificates made by certutil for the run.
 * This file runs them; the cases are in test_conn_net.c,
 * test_conn_plain.c and test_conn_tls.c, on the harness conn_harness.c.
 */
#include "config.h"

#include <signal.h>
#include <stdlib.h>

#include "conn_harness.h"

static Suite *
conn_suite(void)
{
	Suite *s = suite_create("conn");

	suite_add_tcase(s, conn_net_tcase());
	suite_add_tcase(s, conn_plain_tcase());
	suite_add_tcase(s, conn_tls_tcase());
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(conn_suite());
	int failed;

	signal(SIGPIPE, SIG_IGN);
	if (certs_create() != 0)
		return EXIT_FAILURE;
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	certs_remove();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
