/*
 * Runs of the heuristics worker (BEHAVIOUR.md §3.8): results, timeouts,
 * killing whole process groups, abandoned runs, the process limit, worker
 * death, shutdown, and what a command inherits.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "heur_harness.h"

START_TEST(test_pass)
{
	struct ctx *c = ctx_start(&default_settings);
	const struct heur_exec e[] = {
		{ "one", "/bin/true" },
		{ "two", "/bin/sh -c \"exit 0\"" },
	};

	set_execs(c, e, ARRAY_LEN(e));
	ck_assert_int_eq(run_and_wait(c, LONG_TIMEOUT), HEUR_RESULT_PASS);
	/* the list stays for later runs */
	ck_assert_int_eq(run_and_wait(c, LONG_TIMEOUT), HEUR_RESULT_PASS);
	ctx_stop(c);
}
END_TEST

START_TEST(test_fail)
{
	struct ctx *c = ctx_start(&default_settings);
	const struct heur_exec e[] = { { "bad", "/bin/false" } };

	set_execs(c, e, ARRAY_LEN(e));
	ck_assert_int_eq(run_and_wait(c, LONG_TIMEOUT), HEUR_RESULT_FAIL);
	/* logged by the worker, relayed as "worker: ..." at its priority */
	ck_assert_ptr_nonnull(find_log(c, LOG_WARNING,
	    "worker: Heuristics exec bad (pid "));
	ck_assert_ptr_nonnull(find_log(c, LOG_WARNING,
	    "failed with exit status 1"));
	ctx_stop(c);
}
END_TEST

START_TEST(test_killed_by_signal)
{
	struct ctx *c = ctx_start(&default_settings);
	const struct heur_exec e[] = {
		{ "suicide", "/bin/sh -c \"kill -KILL $$\"" },
	};

	set_execs(c, e, ARRAY_LEN(e));
	ck_assert_int_eq(run_and_wait(c, LONG_TIMEOUT), HEUR_RESULT_FAIL);
	ck_assert_ptr_nonnull(find_log(c, LOG_WARNING, "killed by signal 9"));
	ctx_stop(c);
}
END_TEST

/* One failure decides at once: the slow one is not awaited but killed. */
START_TEST(test_mixed)
{
	struct ctx *c = ctx_start(&default_settings);
	const struct heur_exec e[] = {
		{ "good", "/bin/true" },
		{ "slow", "/bin/sleep 60" },
		{ "bad", "/bin/false" },
	};
	pid_t slow;

	set_execs(c, e, ARRAY_LEN(e));
	ck_assert_int_eq(run_and_wait(c, LONG_TIMEOUT), HEUR_RESULT_FAIL);
	ck_assert_ptr_null(find_log(c, -1, "finished on time"));
	slow = started_pid(c, "slow");
	wait_log(c, LOG_WARNING, "slow (pid");
	ck_assert(run_until(c, pid_gone, &slow, WAIT_MS));
	ctx_stop(c);
}
END_TEST

START_TEST(test_disabled)
{
	struct ctx *c = ctx_start(&default_settings);
	const struct heur_exec e[] = { { "one", "/bin/true" } };

	/* never set */
	ck_assert_int_eq(run_and_wait(c, LONG_TIMEOUT), HEUR_RESULT_DISABLED);
	set_execs(c, e, ARRAY_LEN(e));
	ck_assert_int_eq(run_and_wait(c, LONG_TIMEOUT), HEUR_RESULT_PASS);
	/* set to empty */
	set_execs(c, NULL, 0);
	ck_assert_int_eq(run_and_wait(c, LONG_TIMEOUT), HEUR_RESULT_DISABLED);
	ctx_stop(c);
}
END_TEST

/* Each command's outcome, exit status or signal, start and duration. */
START_TEST(test_details)
{
	struct ctx *c = ctx_start(&default_settings);
	const struct heur_exec e[] = {
		{ "good", "/bin/true" },
		{ "three", "/bin/sh -c \"exit 3\"" },
	};
	const struct heur_exec slow[] = {
		{ "hang", "/bin/sleep 60" },
		{ "sig", "/bin/sh -c \"kill -KILL $$\"" },
	};
	const struct detail *d;
	uint32_t seq;
	int64_t now = (int64_t)time(NULL) * 1000;

	set_execs(c, e, 1);
	ck_assert_int_eq(run_and_wait(c, LONG_TIMEOUT), HEUR_RESULT_PASS);
	seq = c->results[c->n_results - 1].seq;
	d = find_detail(c, seq, "good");
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(d->outcome, HEUR_OUTCOME_PASS);
	ck_assert_int_eq(d->code, 0);
	ck_assert_int_ge(d->start_ms, now - 1000);
	ck_assert_int_le(d->start_ms, (int64_t)time(NULL) * 1000 + 1000);

	set_execs(c, e, ARRAY_LEN(e));
	ck_assert_int_eq(run_and_wait(c, LONG_TIMEOUT), HEUR_RESULT_FAIL);
	seq = c->results[c->n_results - 1].seq;
	d = find_detail(c, seq, "three");
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(d->outcome, HEUR_OUTCOME_FAIL);
	ck_assert_int_eq(d->code, 3);

	/* The signal ends the run: the sleeper is reported unfinished. */
	set_execs(c, slow, ARRAY_LEN(slow));
	ck_assert_int_eq(run_and_wait(c, LONG_TIMEOUT), HEUR_RESULT_FAIL);
	seq = c->results[c->n_results - 1].seq;
	d = find_detail(c, seq, "sig");
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(d->outcome, HEUR_OUTCOME_SIGNAL);
	ck_assert_int_eq(d->code, 9);
	d = find_detail(c, seq, "hang");
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(d->outcome, HEUR_OUTCOME_UNFINISHED);
	ck_assert_int_eq(d->code, -1);
	ck_assert_uint_lt(d->duration_ms, 60000);
	ctx_stop(c);
}
END_TEST

START_TEST(test_timeout)
{
	struct ctx *c = ctx_start(&default_settings);
	const struct heur_exec e[] = { { "hang", "/bin/sleep 60" } };
	pid_t pid;

	set_execs(c, e, ARRAY_LEN(e));
	ck_assert_int_eq(run_and_wait(c, 300), HEUR_RESULT_FAIL);
	ck_assert_ptr_nonnull(find_log(c, LOG_WARNING,
	    "worker: Not all heuristics execs finished on time"));
	pid = started_pid(c, "hang");
	ck_assert(run_until(c, pid_reaped, &pid, WAIT_MS));
	ctx_stop(c);
}
END_TEST

/*
 * A shell and its background child both ignore SIGTERM: the group must get
 * SIGKILL and vanish.  The run fails through "trigger" only once the group
 * is ready, so the SIGTERM certainly finds the traps set.
 */
START_TEST(test_group_ignoring_sigterm)
{
	struct ctx *c = ctx_start(&default_settings);
	const struct heur_exec e[] = {
		{ "stubborn", cmd_in_dir(c, STUBBORN) },
		{ "trigger", cmd_in_dir(c, "/bin/sh -c \"while [ ! -e "
		    "@D/ready_* ]; do /bin/sleep 0.01; done; exit 1\"") },
	};
	pid_t pgid;

	set_execs(c, e, ARRAY_LEN(e));
	ck_assert_int_eq(run_and_wait(c, LONG_TIMEOUT), HEUR_RESULT_FAIL);
	pgid = started_pid(c, "stubborn");
	wait_log(c, LOG_WARNING, "stubborn (pid");
	wait_log(c, LOG_WARNING, "has not exited, sending SIGKILL to its "
	    "process group");
	ck_assert_msg(run_until(c, group_gone, &pgid, WAIT_MS),
	    "process group %d survived", (int)pgid);
	ctx_stop(c);
}
END_TEST

/* A command that exits 0 but leaves a background process behind. */
START_TEST(test_leftover_killed)
{
	struct ctx *c = ctx_start(&default_settings);
	const struct heur_exec e[] = {
		{ "daemonish", "/bin/sh -c \"/bin/sleep 60 & exit 0\"" },
	};
	pid_t pgid;

	set_execs(c, e, ARRAY_LEN(e));
	ck_assert_int_eq(run_and_wait(c, LONG_TIMEOUT), HEUR_RESULT_PASS);
	pgid = started_pid(c, "daemonish");
	wait_log(c, LOG_WARNING, "left processes behind");
	ck_assert(run_until(c, group_gone, &pgid, WAIT_MS));
	ctx_stop(c);
}
END_TEST

START_TEST(test_relative_path)
{
	struct ctx *c = ctx_start(&default_settings);
	const struct heur_exec e[] = { { "rel", "true" } };

	set_execs(c, e, ARRAY_LEN(e));
	ck_assert_int_eq(run_and_wait(c, LONG_TIMEOUT), HEUR_RESULT_FAIL);
	ck_assert_ptr_nonnull(find_log(c, LOG_WARNING,
	    "rel: true is not an absolute path"));
	ctx_stop(c);
}
END_TEST

/* With heuristics_use_execvp PATH is searched. */
START_TEST(test_execvp)
{
	struct heur_settings s = default_settings;
	const struct heur_exec e[] = { { "rel", "true" } };
	struct ctx *c;

	s.use_execvp = 1;
	c = ctx_start(&s);
	set_execs(c, e, ARRAY_LEN(e));
	ck_assert_int_eq(run_and_wait(c, LONG_TIMEOUT), HEUR_RESULT_PASS);
	ctx_stop(c);
}
END_TEST

/* Exec failures are failures, logged apart from exit status 1. */
START_TEST(test_exec_failure)
{
	struct ctx *c = ctx_start(&default_settings);
	const struct heur_exec missing[] = {
		{ "ok", "/bin/true" },
		{ "ghost", "/nonexistent/heuristics-test" },
	};
	const struct heur_exec not_exec[] = { { "data", "/dev/null" } };
	const struct heur_exec unparsable[] = { { "quote", "/bin/true \"" } };
	const struct heur_exec empty[] = { { "blank", "  " } };

	set_execs(c, missing, ARRAY_LEN(missing));
	ck_assert_int_eq(run_and_wait(c, LONG_TIMEOUT), HEUR_RESULT_FAIL);
	ck_assert_ptr_nonnull(find_log(c, LOG_WARNING, "worker: Can't execute "
	    "heuristics exec ghost (/nonexistent/heuristics-test): no such "
	    "file or directory"));
	ck_assert_ptr_null(find_log(c, -1, "exit status"));

	set_execs(c, not_exec, ARRAY_LEN(not_exec));
	ck_assert_int_eq(run_and_wait(c, LONG_TIMEOUT), HEUR_RESULT_FAIL);
	ck_assert_ptr_nonnull(find_log(c, LOG_WARNING, "exec data (/dev/null)"));

	set_execs(c, unparsable, ARRAY_LEN(unparsable));
	ck_assert_int_eq(run_and_wait(c, LONG_TIMEOUT), HEUR_RESULT_FAIL);
	ck_assert_ptr_nonnull(find_log(c, LOG_WARNING,
	    "quote: can't parse the command"));

	set_execs(c, empty, ARRAY_LEN(empty));
	ck_assert_int_eq(run_and_wait(c, LONG_TIMEOUT), HEUR_RESULT_FAIL);
	ck_assert_ptr_nonnull(find_log(c, LOG_WARNING, "blank: empty command"));
	ctx_stop(c);
}
END_TEST

/* A new run abandons the old one: killed, and its result never shows. */
START_TEST(test_abandon)
{
	struct ctx *c = ctx_start(&default_settings);
	const struct heur_exec slow[] = {
		{ "long", cmd_in_dir(c, "/bin/sh -c \": > @D/ready; "
		    "exec /bin/sleep 60\"") },
	};
	const struct heur_exec quick[] = { { "quick", "/bin/true" } };
	uint32_t old, seq;
	pid_t pid;

	set_execs(c, slow, ARRAY_LEN(slow));
	old = heuristics_run(c->h, LONG_TIMEOUT);
	ck_assert_uint_ne(old, 0);
	wait_files(c, "ready", 1);
	set_execs(c, quick, ARRAY_LEN(quick));
	seq = heuristics_run(c->h, LONG_TIMEOUT);
	ck_assert_uint_ne(seq, old);
	ck_assert(run_until(c, has_result, &seq, WAIT_MS));
	ck_assert_int_eq(find_result(c, seq)->r, HEUR_RESULT_PASS);
	pid = started_pid(c, "long");
	wait_log(c, LOG_WARNING, "long (pid");
	ck_assert(run_until(c, pid_gone, &pid, WAIT_MS));
	/* give a stray result every chance to arrive */
	run_until(c, never, NULL, 300);
	ck_assert_ptr_null(find_result(c, old));
	ck_assert_uint_eq(c->n_results, 1);
	ctx_stop(c);
}
END_TEST

START_TEST(test_max_processes)
{
	struct heur_settings s = default_settings;
	struct ctx *c;
	const struct heur_exec three[] = {
		{ "a", "/bin/true" }, { "b", "/bin/true" }, { "c", "/bin/true" },
	};
	const struct heur_exec one[] = { { "d", "/bin/true" } };
	const struct heur_exec *two;
	enum heur_result r;

	s.max_processes = 2;
	c = ctx_start(&s);
	two = (const struct heur_exec[]){
		{ "s1", cmd_in_dir(c, STUBBORN) },
		{ "s2", cmd_in_dir(c, STUBBORN) },
	};

	set_execs(c, three, ARRAY_LEN(three));
	ck_assert_int_eq(run_and_wait(c, LONG_TIMEOUT), HEUR_RESULT_FAIL);
	ck_assert_ptr_nonnull(find_log(c, LOG_ERR,
	    "worker: Too many heuristics processes"));

	/* the two being killed count against the limit too */
	set_execs(c, two, 2);
	ck_assert_uint_ne(heuristics_run(c->h, LONG_TIMEOUT), 0);
	wait_files(c, "ready", 2);
	set_execs(c, one, ARRAY_LEN(one));
	ck_assert_int_eq(run_and_wait(c, LONG_TIMEOUT), HEUR_RESULT_FAIL);
	ck_assert_ptr_nonnull(find_log(c, LOG_ERR, "2 running or being killed"));

	/* and stop counting once SIGKILL got them reaped */
	while ((r = run_and_wait(c, LONG_TIMEOUT)) == HEUR_RESULT_FAIL &&
	    c->n_results < MAX_RESULTS / 2)
		run_until(c, never, NULL, 50);
	ck_assert_int_eq(r, HEUR_RESULT_PASS);
	ctx_stop(c);
}
END_TEST

START_TEST(test_worker_death)
{
	struct ctx *c = ctx_start(&default_settings);
	const struct heur_exec e[] = { { "one", "/bin/true" } };

	set_execs(c, e, ARRAY_LEN(e));
	ck_assert_int_eq(kill(c->worker, SIGKILL), 0);
	ck_assert(run_until(c, worker_died, NULL, WAIT_MS));
	ck_assert_int_eq(c->n_results, 1);
	ck_assert_int_eq(c->results[0].r, HEUR_RESULT_FAIL);
	ck_assert(!heuristics_alive(c->h));
	ck_assert_uint_eq(heuristics_run(c->h, LONG_TIMEOUT), 0);
	ck_assert_int_eq(heuristics_set_execs(c->h, e, ARRAY_LEN(e)), -1);
	ck_assert_ptr_nonnull(find_log(c, LOG_ERR, "Heuristics worker"));
	ctx_stop(c);
}
END_TEST

/* Stopping kills a running group and the worker exits: see ctx_stop(). */
START_TEST(test_stop_kills_everything)
{
	struct ctx *c = ctx_start(&default_settings);
	const struct heur_exec e[] = {
		{ "stubborn", cmd_in_dir(c, STUBBORN) },
		{ "plain", "/bin/sleep 60" },
	};

	set_execs(c, e, ARRAY_LEN(e));
	ck_assert_uint_ne(heuristics_run(c->h, LONG_TIMEOUT), 0);
	wait_files(c, "ready", 1);
	started_pid(c, "plain");
	ctx_stop(c);
}
END_TEST

/* Nothing of the daemon reaches the worker or the commands. */
START_TEST(test_descriptors_and_environment)
{
	int leak = open("/dev/zero", O_RDONLY);	/* no O_CLOEXEC, on purpose */
	char path[512], link[256], *line = NULL;
	size_t cap = 0;
	int seen = 0;
	struct dirent *de;
	struct ctx *c;
	FILE *f;
	DIR *d;

	ck_assert_int_ge(leak, 0);
	ck_assert_int_eq(setenv("HEUR_TEST_VAR", "hello world", 1), 0);
	c = ctx_start(&default_settings);
	const struct heur_exec e[] = {
		{ "fds", cmd_in_dir(c, "/bin/sh -c \"exec /bin/ls -ln "
		    "/proc/self/fd/ > @D/fds\"") },
		/* newlines become blanks; the environment is inherited */
		{ "env", "/bin/sh\n-c\n\"[ \\\"$HEUR_TEST_VAR\\\" = "
		    "'hello world' ]\"" },
	};

	set_execs(c, e, ARRAY_LEN(e));
	ck_assert_int_eq(run_and_wait(c, LONG_TIMEOUT), HEUR_RESULT_PASS);

	/* the worker: no /dev/zero */
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)c->worker);
	d = opendir(path);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/%d/fd/%s", (int)c->worker,
		    de->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0)
			continue;
		link[n] = '\0';
		ck_assert_msg(strcmp(link, "/dev/zero") != 0,
		    "the worker kept the daemon's fd %s", de->d_name);
		seen++;
	}
	closedir(d);
	ck_assert_int_ge(seen, 3);
	seen = 0;

	/* the command: /dev/null as stdin and stderr, nothing else */
	snprintf(path, sizeof(path), "%s/fds", c->dir);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (getline(&line, &cap, f) > 0) {
		const char *arrow = strstr(line, " -> "), *fd = arrow;

		if (arrow == NULL)
			continue;
		/* "... <fd> -> <target>" */
		while (fd > line && fd[-1] != ' ')
			fd--;
		arrow += 4;
		seen++;
		if (strncmp(fd, "0 ", 2) == 0 || strncmp(fd, "2 ", 2) == 0)
			ck_assert_msg(strncmp(arrow, "/dev/null", 9) == 0,
			    "the command has %s", line);
		else
			ck_assert_msg(strncmp(arrow, c->dir, strlen(c->dir))
			    == 0 || strncmp(arrow, "/proc/", 6) == 0,
			    "the command inherited %s", line);
	}
	free(line);
	fclose(f);
	ck_assert_int_ge(seen, 3);
	ctx_stop(c);
	close(leak);
}
END_TEST

START_TEST(test_limits)
{
	struct heur_settings s = default_settings;
	char big[1100], *path;
	struct ctx *c;

	s.ipc_max_size = 1024;
	c = ctx_start(&s);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	const struct heur_exec too_long[] = { { "big", big } };
	const struct heur_exec bad_name[] = { { "a b", "/bin/true" } };
	const struct heur_exec no_name[] = { { "", "/bin/true" } };
	const struct heur_exec good[] = { { "one", "/bin/true" } };

	set_execs(c, good, ARRAY_LEN(good));
	ck_assert_int_eq(heuristics_set_execs(c->h, too_long, 1), -1);
	ck_assert_int_eq(heuristics_set_execs(c->h, bad_name, 1), -1);
	ck_assert_int_eq(heuristics_set_execs(c->h, no_name, 1), -1);
	/* nothing was sent: the previous list still runs */
	ck_assert_int_eq(run_and_wait(c, LONG_TIMEOUT), HEUR_RESULT_PASS);

	/* a worker log line over the limit arrives cut, not lost */
	path = big + 100;
	memcpy(path, "/nonexistent/", 13);
	const struct heur_exec long_log[] = { { "n", path } };
	set_execs(c, long_log, 1);
	ck_assert_int_eq(run_and_wait(c, LONG_TIMEOUT), HEUR_RESULT_FAIL);
	ck_assert_ptr_nonnull(find_log(c, LOG_WARNING,
	    "worker: Can't execute heuristics exec n (/nonexistent/xxx"));
	ctx_stop(c);
}
END_TEST

TCase *
heuristics_runs_tcase(void)
{
	TCase *tc = tcase_create("runs");

	/* sanitizer builds on a loaded machine are slow; waits are bounded */
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_pass);
	tcase_add_test(tc, test_fail);
	tcase_add_test(tc, test_killed_by_signal);
	tcase_add_test(tc, test_mixed);
	tcase_add_test(tc, test_disabled);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_group_ignoring_sigterm);
	tcase_add_test(tc, test_leftover_killed);
	tcase_add_test(tc, test_relative_path);
	tcase_add_test(tc, test_execvp);
	tcase_add_test(tc, test_exec_failure);
	tcase_add_test(tc, test_abandon);
	tcase_add_test(tc, test_details);
	tcase_add_test(tc, test_max_processes);
	tcase_add_test(tc, test_worker_death);
	tcase_add_test(tc, test_stop_kills_everything);
	tcase_add_test(tc, test_descriptors_and_environment);
	tcase_add_test(tc, test_limits);
	return tc;
}
