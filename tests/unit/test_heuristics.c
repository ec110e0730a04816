/*
 * Tests of the heuristics worker and its daemon side (qdevice/heuristics*.c)
 * against BEHAVIOUR.md §3.8: command splitting, run results, killing whole
 * process groups (SIGTERM, then SIGKILL), abandoned runs, the process
 * limit, worker death and shutdown.  The daemon side runs on a real libuv
 * loop and the worker runs real commands; the tests assert outcomes and
 * wait generously, never for a particular duration.  Command splitting is
 * tested here; the runs are in test_heuristics_runs.c, on heur_harness.c.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "heur_harness.h"

/* ------------------------------------------------------------------ */
/* Splitting */

static const struct split_case {
	const char *in;
	int argc;			/* -1: syntax error */
	const char *argv[4];
} split_cases[] = {
	{ "", 0, { NULL } },
	{ " \t  ", 0, { NULL } },
	{ "/bin/true", 1, { "/bin/true" } },
	{ "  a  b\tc  \t", 3, { "a", "b", "c" } },
	{ "a \"b c\" d", 3, { "a", "b c", "d" } },
	{ "a\"b c\"d", 1, { "ab cd" } },
	{ "\"\"", 1, { "" } },
	{ "a \"\" b", 3, { "a", "", "b" } },
	{ "a\\ b", 1, { "a b" } },
	{ "a\\\tb c", 2, { "a\tb", "c" } },
	{ "a\\\"b", 1, { "a\"b" } },
	{ "a\\\\b", 1, { "a\\b" } },
	{ "\\x\\y", 1, { "xy" } },
	{ "\"a\\\\b\"", 1, { "a\\b" } },
	{ "\"a\\\"b\"", 1, { "a\"b" } },
	{ "\"a\\xb\"", 1, { "a\\xb" } },
	{ "\"a\\ b\"", 1, { "a\\ b" } },
	{ "'a b'", 2, { "'a", "b'" } },
	{ "$HOME *.c ~ `x`", 4, { "$HOME", "*.c", "~", "`x`" } },
	{ "/bin/sh -c \"trap '' TERM; exit 0\"", 3,
	    { "/bin/sh", "-c", "trap '' TERM; exit 0" } },
	{ "\"unterminated", -1, { NULL } },
	{ "a \"b", -1, { NULL } },
	{ "trailing\\", -1, { NULL } },
	{ "\"a\\\"", -1, { NULL } },
};

START_TEST(test_split)
{
	const struct split_case *t = &split_cases[_i];
	char **argv;
	int n;

	errno = 0;
	n = heuristics_split(t->in, &argv);
	ck_assert_msg(n == t->argc, "\"%s\": %d words, want %d", t->in, n,
	    t->argc);
	if (n < 0) {
		ck_assert_ptr_null(argv);
		ck_assert_int_eq(errno, EINVAL);
		return;
	}
	for (int i = 0; i < n; i++)
		ck_assert_str_eq(argv[i], t->argv[i]);
	ck_assert_ptr_null(argv[n]);
	heuristics_free_argv(argv);
}
END_TEST

static Suite *
heuristics_suite(void)
{
	Suite *s = suite_create("heuristics");
	TCase *tc = tcase_create("split");

	tcase_add_loop_test(tc, test_split, 0, (int)ARRAY_LEN(split_cases));
	suite_add_tcase(s, tc);

	suite_add_tcase(s, heuristics_runs_tcase());
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(heuristics_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
