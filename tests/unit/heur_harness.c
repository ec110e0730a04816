/*
 * The harness of the heuristics tests: a daemon side on a real libuv
 * loop that records its results and log lines, waits with generous
 * deadlines, and looks at processes and files through /proc.
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

#include "heur_harness.h"

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
on_detail(void *arg, uint32_t seq, const struct heur_detail *d)
{
	struct ctx *c = arg;
	struct detail *x;

	ck_assert_uint_lt(c->n_details, MAX_RESULTS);
	/* Details come before their run's result. */
	ck_assert_ptr_null(find_result(c, seq));
	x = &c->details[c->n_details++];
	x->seq = seq;
	snprintf(x->name, sizeof(x->name), "%s", d->name);
	x->outcome = d->outcome;
	x->code = d->code;
	x->start_ms = d->start_ms;
	x->duration_ms = d->duration_ms;
}

const struct detail *
find_detail(const struct ctx *c, uint32_t seq, const char *name)
{
	for (size_t i = 0; i < c->n_details; i++)
		if (c->details[i].seq == seq &&
		    strcmp(c->details[i].name, name) == 0)
			return &c->details[i];
	return NULL;
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

const struct heur_settings default_settings = {
	.use_execvp = 0,
	.max_processes = 160,
	.kill_list_interval = 200,
	.ipc_max_size = 4096,
};

struct ctx *
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
	if (c->h != NULL)
		heuristics_set_detail_cb(c->h, on_detail);
	ck_assert_ptr_nonnull(c->h);
	c->worker = heuristics_pid(c->h);
	ck_assert_int_gt(c->worker, 0);
	ck_assert(heuristics_alive(c->h));
	return c;
}

/* Run the loop until done(c, arg) holds; 0 if it did not in time. */
int
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

int
never(struct ctx *c, const void *arg)
{
	(void)c;
	(void)arg;
	return 0;
}

const struct result *
find_result(const struct ctx *c, uint32_t seq)
{
	for (size_t i = 0; i < c->n_results; i++) {
		if (c->results[i].seq == seq)
			return &c->results[i];
	}
	return NULL;
}

int
has_result(struct ctx *c, const void *seq)
{
	return find_result(c, *(const uint32_t *)seq) != NULL;
}

int
worker_died(struct ctx *c, const void *arg)
{
	(void)arg;
	return has_result(c, &(uint32_t){ 0 });
}

/* A captured line at priority prio containing text (prio -1: any). */
const char *
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

void
wait_log(struct ctx *c, int prio, const char *text)
{
	struct log_match m = { prio, text };

	ck_assert_msg(run_until(c, has_log, &m, WAIT_MS),
	    "no log line \"%s\" at priority %d", text, prio);
}

/* The pid the worker reported for exec name ("... name started (pid N)"). */
pid_t
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

void
set_execs(struct ctx *c, const struct heur_exec *e, size_t n)
{
	ck_assert_int_eq(heuristics_set_execs(c->h, e, n), 0);
}

enum heur_result
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
int
pid_gone(struct ctx *c, const void *arg)
{
	pid_t pid = *(const pid_t *)arg, pg;
	char state;

	(void)c;
	return proc_stat(pid, &state, &pg) != 0 || state == 'Z' ||
	    state == 'X';
}

/* Gone for good: reaped (by the worker, for its own children). */
int
pid_reaped(struct ctx *c, const void *arg)
{
	(void)c;
	return kill(*(const pid_t *)arg, 0) != 0 && errno == ESRCH;
}

/* Is no live process left in process group *arg? */
int
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

void
wait_files(struct ctx *c, const char *prefix, int n)
{
	struct files f = { prefix, n };

	ck_assert_msg(run_until(c, files_exist, &f, WAIT_MS),
	    "no %d files %s* appeared", n, prefix);
}

/* A command with every "@D" replaced by c->dir. */
const char *
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
void
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
