/*
 * Tests of the heuristics worker and its daemon side (qdevice/heuristics*.c)
 * against BEHAVIOUR.md §3.8: command splitting, run results, killing whole
 * process groups (SIGTERM, then SIGKILL), abandoned runs, the process
 * limit, worker death and shutdown.  The daemon side runs on a real libuv
 * loop and the worker runs real commands; the tests assert outcomes and
 * wait generously, never for a particular duration.
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
#include <unistd.h>
#include <qb/qblog.h>

#include "heuristics.h"

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

/* Long enough for a loaded machine; a passing test never waits this. */
#define WAIT_MS		20000
#define LONG_TIMEOUT	20000	/* a run timeout that must not matter */

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

/* ------------------------------------------------------------------ */
/* A daemon side on a real loop, with its results and log lines */

#define MAX_RESULTS	512

struct result {
	uint32_t seq;
	enum heur_result r;
};

struct ctx {
	uv_loop_t loop;
	uv_timer_t tick;
	struct heuristics *h;
	pid_t worker;
	int32_t log_target;
	struct result results[MAX_RESULTS];
	size_t n_results;
	char dir[64];			/* scratch directory for commands */
	char cmds[4][512];		/* commands naming it */
	size_t n_cmds;
	char log[1 << 16];		/* "<priority> <message>\n" lines */
	size_t log_len;
};

static void
capture_log(int32_t t, struct qb_log_callsite *cs, struct timespec *ts,
    const char *msg)
{
	struct ctx *c = qb_log_target_user_data_get(t);
	size_t room = sizeof(c->log) - c->log_len;
	int n;

	(void)ts;
	n = snprintf(c->log + c->log_len, room, "%d %s\n", (int)cs->priority,
	    msg);
	if (n > 0 && (size_t)n < room)
		c->log_len += (size_t)n;
}

static void
log_setup(struct ctx *c)
{
	qb_log_init("test_heuristics", LOG_DAEMON, LOG_DEBUG);
	qb_log_ctl(QB_LOG_SYSLOG, QB_LOG_CONF_ENABLED, QB_FALSE);
	/* stderr goes to the test's .log file, handy when one fails */
	qb_log_ctl(QB_LOG_STDERR, QB_LOG_CONF_ENABLED, QB_TRUE);
	qb_log_filter_ctl(QB_LOG_STDERR, QB_LOG_FILTER_ADD, QB_LOG_FILTER_FILE,
	    "*", LOG_DEBUG);
	c->log_target = qb_log_custom_open(capture_log, NULL, NULL, c);
	ck_assert_int_ge(c->log_target, 0);
	qb_log_ctl(c->log_target, QB_LOG_CONF_ENABLED, QB_TRUE);
	qb_log_filter_ctl(c->log_target, QB_LOG_FILTER_ADD, QB_LOG_FILTER_FILE,
	    "*", LOG_DEBUG);
}

static void
on_result(void *arg, uint32_t seq, enum heur_result r)
{
	struct ctx *c = arg;

	ck_assert_uint_lt(c->n_results, MAX_RESULTS);
	c->results[c->n_results++] = (struct result){ seq, r };
}

static void
tick(uv_timer_t *t)
{
	/* Only wakes the loop up, so that the waits below look around. */
	(void)t;
}

static const struct heur_settings default_settings = {
	.use_execvp = 0,
	.max_processes = 160,
	.kill_list_interval = 200,
	.ipc_max_size = 4096,
};

static struct ctx *
ctx_start(const struct heur_settings *s)
{
	struct ctx *c = calloc(1, sizeof(*c));

	ck_assert_ptr_nonnull(c);
	log_setup(c);
	strcpy(c->dir, "/tmp/test_heuristics.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(c->dir));
	ck_assert_int_eq(uv_loop_init(&c->loop), 0);
	uv_timer_init(&c->loop, &c->tick);
	uv_timer_start(&c->tick, tick, 10, 10);
	c->h = heuristics_start(&c->loop, s, on_result, c);
	ck_assert_ptr_nonnull(c->h);
	c->worker = heuristics_pid(c->h);
	ck_assert_int_gt(c->worker, 0);
	ck_assert(heuristics_alive(c->h));
	return c;
}

/* Run the loop until done(c, arg) holds; 0 if it did not in time. */
static int
run_until(struct ctx *c, int (*done)(struct ctx *, const void *),
    const void *arg, unsigned ms)
{
	uint64_t end = uv_hrtime() + (uint64_t)ms * 1000000;

	while (!done(c, arg)) {
		if (uv_hrtime() >= end)
			return 0;
		uv_run(&c->loop, UV_RUN_ONCE);
	}
	return 1;
}

static int
never(struct ctx *c, const void *arg)
{
	(void)c;
	(void)arg;
	return 0;
}

static const struct result *
find_result(const struct ctx *c, uint32_t seq)
{
	for (size_t i = 0; i < c->n_results; i++) {
		if (c->results[i].seq == seq)
			return &c->results[i];
	}
	return NULL;
}

static int
has_result(struct ctx *c, const void *seq)
{
	return find_result(c, *(const uint32_t *)seq) != NULL;
}

static int
worker_died(struct ctx *c, const void *arg)
{
	(void)arg;
	return has_result(c, &(uint32_t){ 0 });
}

/* A captured line at priority prio containing text (prio -1: any). */
static const char *
find_log(const struct ctx *c, int prio, const char *text)
{
	const char *line = c->log;

	for (const char *nl; (nl = memchr(line, '\n',
	    (size_t)(c->log + c->log_len - line))) != NULL; line = nl + 1) {
		const char *hit = strstr(line, text);

		if (hit != NULL && hit < nl &&
		    (prio < 0 || atoi(line) == prio))
			return line;
	}
	return NULL;
}

struct log_match {
	int prio;
	const char *text;
};

static int
has_log(struct ctx *c, const void *arg)
{
	const struct log_match *m = arg;

	return find_log(c, m->prio, m->text) != NULL;
}

static void
wait_log(struct ctx *c, int prio, const char *text)
{
	struct log_match m = { prio, text };

	ck_assert_msg(run_until(c, has_log, &m, WAIT_MS),
	    "no log line \"%s\" at priority %d", text, prio);
}

/* The pid the worker reported for exec name ("... name started (pid N)"). */
static pid_t
started_pid(struct ctx *c, const char *name)
{
	char text[128];
	const char *line, *p;

	snprintf(text, sizeof(text), "exec %s started (pid ", name);
	wait_log(c, LOG_DEBUG, text);
	line = find_log(c, LOG_DEBUG, text);
	p = strstr(line, text) + strlen(text);
	return (pid_t)atoi(p);
}

static void
set_execs(struct ctx *c, const struct heur_exec *e, size_t n)
{
	ck_assert_int_eq(heuristics_set_execs(c->h, e, n), 0);
}

static enum heur_result
run_and_wait(struct ctx *c, uint32_t timeout_ms)
{
	uint32_t seq = heuristics_run(c->h, timeout_ms);

	ck_assert_uint_ne(seq, 0);
	ck_assert_msg(run_until(c, has_result, &seq, WAIT_MS),
	    "no result for run %u", (unsigned)seq);
	return find_result(c, seq)->r;
}

/* ------------------------------------------------------------------ */
/* Processes, seen through /proc */

static int
proc_stat(pid_t pid, char *state, pid_t *pgrp)
{
	char path[64], buf[512], *p;
	int ppid, pg;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* "pid (comm) state ppid pgrp ...": comm may hold anything */
	p = strrchr(buf, ')');
	if (p == NULL || sscanf(p + 1, " %c %d %d", state, &ppid, &pg) != 3)
		return -1;
	*pgrp = pg;
	return 0;
}

/* Zombies count as gone: orphans may wait for a reaper that never comes. */
static int
pid_gone(struct ctx *c, const void *arg)
{
	pid_t pid = *(const pid_t *)arg, pg;
	char state;

	(void)c;
	return proc_stat(pid, &state, &pg) != 0 || state == 'Z' ||
	    state == 'X';
}

/* Gone for good: reaped (by the worker, for its own children). */
static int
pid_reaped(struct ctx *c, const void *arg)
{
	(void)c;
	return kill(*(const pid_t *)arg, 0) != 0 && errno == ESRCH;
}

/* Is no live process left in process group *arg? */
static int
group_gone(struct ctx *c, const void *arg)
{
	pid_t pgid = *(const pid_t *)arg, pg;
	struct dirent *de;
	int live = 0;
	char state;
	DIR *d;

	(void)c;
	d = opendir("/proc");
	ck_assert_ptr_nonnull(d);
	while (!live && (de = readdir(d)) != NULL) {
		pid_t pid = (pid_t)atoi(de->d_name);

		if (pid > 0 && proc_stat(pid, &state, &pg) == 0 &&
		    pg == pgid && state != 'Z' && state != 'X')
			live = 1;
	}
	closedir(d);
	return !live;
}

static int
file_count(struct ctx *c, const char *prefix)
{
	struct dirent *de;
	int n = 0;
	DIR *d = opendir(c->dir);

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

struct files {
	const char *prefix;
	int n;
};

static int
files_exist(struct ctx *c, const void *arg)
{
	const struct files *f = arg;

	return file_count(c, f->prefix) >= f->n;
}

static void
wait_files(struct ctx *c, const char *prefix, int n)
{
	struct files f = { prefix, n };

	ck_assert_msg(run_until(c, files_exist, &f, WAIT_MS),
	    "no %d files %s* appeared", n, prefix);
}

/* A command with every "@D" replaced by c->dir. */
static const char *
cmd_in_dir(struct ctx *c, const char *tmpl)
{
	char *out, *o;

	ck_assert_uint_lt(c->n_cmds, ARRAY_LEN(c->cmds));
	out = o = c->cmds[c->n_cmds++];
	for (const char *p = tmpl; *p != '\0'; p++) {
		if (strncmp(p, "@D", 2) == 0) {
			o = stpcpy(o, c->dir);
			p++;
		} else {
			*o++ = *p;
		}
		ck_assert_int_lt(o - out, (int)sizeof(c->cmds[0]) - 1);
	}
	*o = '\0';
	return out;
}

/*
 * A group that ignores SIGTERM: a shell and a background sleep; it says
 * "ready_<pid>" in c->dir once both ignore it.
 */
#define STUBBORN	"/bin/sh -c \"trap '' TERM; /bin/sleep 60 & " \
			": > @D/ready_$$; /bin/sleep 60\""

static void
remove_dir(struct ctx *c)
{
	struct dirent *de;
	char path[512];
	DIR *d = opendir(c->dir);

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", c->dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(c->dir);
}

static int
worker_reaped(struct ctx *c, const void *arg)
{
	int status;

	(void)arg;
	return waitpid(c->worker, &status, WNOHANG) == c->worker;
}

/*
 * Stop the daemon side, free everything, and check that the worker exits
 * and that nothing of any command it started is left.
 */
static void
ctx_stop(struct ctx *c)
{
	const char *p = c->log;
	const char *key = "started (pid ";

	heuristics_stop(c->h);
	ck_assert_msg(run_until(c, worker_reaped, NULL, WAIT_MS),
	    "the worker did not exit");
	while ((p = strstr(p, key)) != NULL) {
		pid_t pgid = (pid_t)atoi(p += strlen(key));

		ck_assert_msg(run_until(c, group_gone, &pgid, WAIT_MS),
		    "process group %d survived", (int)pgid);
	}
	uv_close((uv_handle_t *)&c->tick, NULL);
	uv_run(&c->loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&c->loop), 0);
	remove_dir(c);
	qb_log_fini();
	free(c);
}

/* ------------------------------------------------------------------ */
/* Run results */

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

static Suite *
heuristics_suite(void)
{
	Suite *s = suite_create("heuristics");
	TCase *tc = tcase_create("split");

	tcase_add_loop_test(tc, test_split, 0, (int)ARRAY_LEN(split_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("runs");
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
	tcase_add_test(tc, test_max_processes);
	tcase_add_test(tc, test_worker_death);
	tcase_add_test(tc, test_stop_kills_everything);
	tcase_add_test(tc, test_descriptors_and_environment);
	tcase_add_test(tc, test_limits);
	suite_add_tcase(s, tc);
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
