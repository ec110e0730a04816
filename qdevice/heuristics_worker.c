/*
 * The heuristics worker: a process of its own (own session, own libuv
 * loop) that runs the configured commands when the daemon asks and reports
 * Pass/Fail/Disabled (BEHAVIOUR.md §3.8).
 *
 * Children are started with uv_spawn, each in a new session (so its process
 * group id is its pid), and reaped through SIGCHLD.  When a run ends, what
 * is left of each command's process group is killed: SIGTERM at once, then
 * SIGKILL every kill_list_interval until the command itself is reaped.
 */
/* <>: not qdevice/config.h, the daemon's configuration module */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "heuristics.h"
#include "heuristics_ipc.h"
#include "heuristics_worker.h"

/* ------------------------------------------------------------------ */
/* The worker's state */

struct exec_entry {
	char *name;
	char **argv;		/* NULL: the command does not parse */
};

enum child_state {
	CHILD_RUN,		/* part of the current run */
	CHILD_KILL		/* being killed */
};

struct worker;

struct child {
	uv_process_t proc;
	uv_timer_t kill_timer;
	struct worker *w;
	struct child *next;
	char *name;
	pid_t pgid;		/* = pid: the child is a session leader */
	uint64_t start_ns;	/* uv_hrtime() at spawn */
	int64_t start_ms;	/* wall clock at spawn, ms since the epoch */
	enum child_state state;
	int reaped;
	int sigkill_sent;
	int handles;		/* still open; freed at 0 */
};

struct worker {
	uv_loop_t loop;
	struct heur_settings s;
	struct line_reader cmd;
	struct line_writer out;
	int out_broken;		/* the daemon is not reading: use syslog */
	int syslog_open;
	uv_signal_t sigterm;
	uv_signal_t sigint;
	uv_timer_t run_timer;
	uv_timer_t exit_timer;
	int devnull;
	struct exec_entry *execs;
	size_t n_execs;
	struct child *children;
	uint32_t nprocs;	/* started and not reaped */
	int run_active;
	uint32_t run_seq;
	size_t run_pending;	/* children of the run not reaped yet */
	int shutting_down;
};

/* ------------------------------------------------------------------ */
/* Logging through the daemon */

static void
syslog_fallback(struct worker *w, int prio, const char *text)
{
	if (!w->syslog_open) {
		openlog("qdevice_heuristics_worker", LOG_PID, LOG_DAEMON);
		w->syslog_open = 1;
	}
	syslog(prio, "%s", text);
}

/* A line could not reach the daemon: keep log lines in syslog. */
static void
out_failed(struct line_writer *lw, const char *line, int err)
{
	struct worker *w = lw->owner;
	const char *text;
	uint32_t prio;

	(void)err;
	w->out_broken = 1;
	if (parse_u32(line, &text, &prio) == 0 && *text == ' ')
		syslog_fallback(w, (int)prio, text + 1);
}

static void wlog(struct worker *w, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
wlog(struct worker *w, int prio, const char *fmt, ...)
{
	size_t max = w->s.ipc_max_size;
	char *line = malloc(max);
	va_list ap;
	int n;

	if (line == NULL)
		return;
	/* At most max - 1 bytes, the newline makes max: cut to fit. */
	n = snprintf(line, max, "%d ", prio);
	va_start(ap, fmt);
	vsnprintf(line + n, max - (size_t)n, fmt, ap);
	va_end(ap);
	if (w->out_broken || line_write(&w->out, line, strlen(line)) != 0)
		syslog_fallback(w, prio, line + n);
	free(line);
}

static void
report(struct worker *w, uint32_t seq, enum heur_result r)
{
	static const char *const words[] = {
		[HEUR_RESULT_DISABLED] = HEUR_WORD_DISABLED,
		[HEUR_RESULT_PASS] = HEUR_WORD_PASS,
		[HEUR_RESULT_FAIL] = HEUR_WORD_FAIL,
	};
	char line[64];
	int n;

	n = snprintf(line, sizeof(line), "%s %" PRIu32 " %s",
	    HEUR_REPLY_RESULT, seq, words[r]);
	if (!w->out_broken && line_write(&w->out, line, (size_t)n) != 0)
		w->out_broken = 1;
}

/*
 * How one command of a reported run ended, sent before the run's result:
 * "exec-detail <seq> <name> <outcome> <code> <start ms> <duration ms>".
 */
static void
report_detail(struct worker *w, const struct child *c, const char *outcome,
    int64_t code)
{
	char line[512];
	int n;

	n = snprintf(line, sizeof(line), "%s %" PRIu32 " %s %s %" PRId64
	    " %" PRId64 " %" PRIu64, HEUR_REPLY_DETAIL, w->run_seq, c->name,
	    outcome, code, c->start_ms,
	    (uv_hrtime() - c->start_ns) / 1000000);
	if (n > 0 && (size_t)n < sizeof(line) && !w->out_broken &&
	    line_write(&w->out, line, (size_t)n) != 0)
		w->out_broken = 1;
}

/* ------------------------------------------------------------------ */
/* Children */

static void worker_maybe_exit(struct worker *w);

static void
child_closed(uv_handle_t *h)
{
	struct child *c = h->data;

	if (--c->handles > 0)
		return;
	free(c->name);
	free(c);
}

/* Forget a child whose process is reaped (or given up on). */
static void
child_free(struct child *c)
{
	struct worker *w = c->w;

	for (struct child **pc = &w->children; *pc != NULL;
	    pc = &(*pc)->next) {
		if (*pc == c) {
			*pc = c->next;
			break;
		}
	}
	uv_close((uv_handle_t *)&c->proc, child_closed);
	uv_close((uv_handle_t *)&c->kill_timer, child_closed);
	worker_maybe_exit(w);
}

/* Does anything of the command's process group still exist? */
static int
group_alive(const struct child *c)
{
	return kill(-c->pgid, 0) == 0 || errno == EPERM;
}

static void
child_signal(struct child *c, int sig)
{
	struct worker *w = c->w;

	wlog(w, LOG_WARNING, "Heuristics exec %s (pid %d) %s, sending %s to "
	    "its process group", c->name, (int)c->pgid,
	    c->reaped ? "left processes behind" : "has not exited",
	    sig == SIGKILL ? "SIGKILL" : "SIGTERM");
	if (kill(-c->pgid, sig) != 0 && errno != ESRCH)
		wlog(w, LOG_WARNING, "Can't signal process group %d: %s",
		    (int)c->pgid, strerror(errno));
	if (sig == SIGKILL)
		c->sigkill_sent = 1;
}

/*
 * Once the command is reaped and its group has had a SIGKILL, nothing of it
 * can outlive the signal; stragglers reparented to init are init's to reap.
 */
static int
kill_done(const struct child *c)
{
	return c->reaped && (c->sigkill_sent || !group_alive(c));
}

static void
kill_tick(uv_timer_t *t)
{
	struct child *c = t->data;

	if (!kill_done(c))
		child_signal(c, SIGKILL);
	if (kill_done(c))
		child_free(c);
}

static void
kill_start(struct child *c)
{
	uint32_t ms = c->w->s.kill_list_interval;

	c->state = CHILD_KILL;
	child_signal(c, SIGTERM);
	uv_timer_start(&c->kill_timer, kill_tick, ms, ms);
}

/* The run is over for this child: kill what is left of it, if anything. */
static void
child_release(struct child *c)
{
	if (c->reaped && !group_alive(c))
		child_free(c);
	else
		kill_start(c);
}

/* ------------------------------------------------------------------ */
/* Runs */

/* End the current run: release its children, report unless abandoned. */
static void
run_finish(struct worker *w, int report_it, enum heur_result r)
{
	struct child *c, *next;

	w->run_active = 0;
	uv_timer_stop(&w->run_timer);
	for (c = w->children; c != NULL; c = next) {
		next = c->next;
		if (c->state != CHILD_RUN)
			continue;
		if (report_it && !c->reaped)
			report_detail(w, c, HEUR_WORD_UNFINISHED, -1);
		child_release(c);
	}
	if (report_it)
		report(w, w->run_seq, r);
}

static void
run_timeout(uv_timer_t *t)
{
	struct worker *w = t->data;

	wlog(w, LOG_WARNING, "Not all heuristics execs finished on time");
	run_finish(w, 1, HEUR_RESULT_FAIL);
}

static void
child_exited(uv_process_t *p, int64_t status, int sig)
{
	struct child *c = p->data;
	struct worker *w = c->w;

	c->reaped = 1;
	w->nprocs--;
	if (c->state == CHILD_KILL) {
		wlog(w, LOG_DEBUG, "Heuristics exec %s (pid %d) reaped",
		    c->name, (int)c->pgid);
		if (kill_done(c))
			child_free(c);
		return;
	}
	w->run_pending--;
	if (sig != 0) {
		wlog(w, LOG_WARNING, "Heuristics exec %s (pid %d) was killed "
		    "by signal %d", c->name, (int)c->pgid, sig);
		report_detail(w, c, HEUR_WORD_SIGNAL, sig);
	} else if (status != 0) {
		wlog(w, LOG_WARNING, "Heuristics exec %s (pid %d) failed with "
		    "exit status %" PRId64, c->name, (int)c->pgid, status);
		report_detail(w, c, HEUR_WORD_FAIL, status);
	} else {
		wlog(w, LOG_DEBUG, "Heuristics exec %s (pid %d) passed",
		    c->name, (int)c->pgid);
		report_detail(w, c, HEUR_WORD_PASS, 0);
		if (w->run_pending == 0)
			run_finish(w, 1, HEUR_RESULT_PASS);
		return;
	}
	run_finish(w, 1, HEUR_RESULT_FAIL);
}

/* Can argv be started at all?  Logs why not. */
static int
exec_runnable(struct worker *w, const struct exec_entry *e)
{
	if (e->argv == NULL) {
		wlog(w, LOG_WARNING, "Heuristics exec %s: can't parse the "
		    "command (unterminated quote or trailing backslash)",
		    e->name);
		return 0;
	}
	if (e->argv[0] == NULL) {
		wlog(w, LOG_WARNING, "Heuristics exec %s: empty command",
		    e->name);
		return 0;
	}
	if (e->argv[0][0] != '/' && !w->s.use_execvp) {
		wlog(w, LOG_WARNING, "Heuristics exec %s: %s is not an "
		    "absolute path (heuristics_use_execvp is off)", e->name,
		    e->argv[0]);
		return 0;
	}
	return 1;
}

static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Start one command of the run; -1 (logged) if it could not start. */
static int
child_start(struct worker *w, const struct exec_entry *e)
{
	uv_stdio_container_t stdio[3];
	uv_process_options_t o;
	struct child *c;
	int err;

	if (!exec_runnable(w, e))
		return -1;
	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->name = strdup(e->name)) == NULL) {
		wlog(w, LOG_ERR, "Can't start heuristics exec %s: out of "
		    "memory", e->name);
		free(c);
		return -1;
	}
	c->w = w;
	c->handles = 2;
	uv_timer_init(&w->loop, &c->kill_timer);
	c->kill_timer.data = c;
	for (int i = 0; i < 3; i++) {
		stdio[i].flags = UV_INHERIT_FD;
		stdio[i].data.fd = w->devnull;
	}
	memset(&o, 0, sizeof(o));
	o.exit_cb = child_exited;
	o.file = e->argv[0];
	o.args = e->argv;
	o.stdio = stdio;
	o.stdio_count = 3;
	/* setsid() in the child: its own process group, to kill it whole. */
	o.flags = UV_PROCESS_DETACHED;
	err = uv_spawn(&w->loop, &c->proc, &o);
	c->proc.data = c;
	if (err != 0) {
		wlog(w, LOG_WARNING, "Can't execute heuristics exec %s (%s): %s",
		    e->name, e->argv[0], uv_strerror(err));
		uv_close((uv_handle_t *)&c->proc, child_closed);
		uv_close((uv_handle_t *)&c->kill_timer, child_closed);
		return -1;
	}
	c->pgid = uv_process_get_pid(&c->proc);
	c->start_ns = uv_hrtime();
	c->start_ms = wall_ms();
	c->state = CHILD_RUN;
	c->next = w->children;
	w->children = c;
	w->nprocs++;
	w->run_pending++;
	wlog(w, LOG_DEBUG, "Heuristics exec %s started (pid %d)", e->name,
	    (int)c->pgid);
	return 0;
}

static void
run_start(struct worker *w, uint32_t timeout, uint32_t seq)
{
	if (w->run_active)
		run_finish(w, 0, HEUR_RESULT_FAIL);
	w->run_seq = seq;
	if (w->n_execs == 0) {
		report(w, seq, HEUR_RESULT_DISABLED);
		return;
	}
	if ((uint64_t)w->nprocs + w->n_execs > w->s.max_processes) {
		wlog(w, LOG_ERR, "Too many heuristics processes: %" PRIu32
		    " running or being killed, %zu more needed, limit %" PRIu32,
		    w->nprocs, w->n_execs, w->s.max_processes);
		report(w, seq, HEUR_RESULT_FAIL);
		return;
	}
	w->run_active = 1;
	w->run_pending = 0;
	for (size_t i = 0; i < w->n_execs; i++) {
		if (child_start(w, &w->execs[i]) != 0) {
			run_finish(w, 1, HEUR_RESULT_FAIL);
			return;
		}
	}
	uv_timer_start(&w->run_timer, run_timeout, timeout, 0);
}

/* ------------------------------------------------------------------ */
/* Commands from the daemon */

static void
execs_clear(struct worker *w)
{
	for (size_t i = 0; i < w->n_execs; i++) {
		free(w->execs[i].name);
		heuristics_free_argv(w->execs[i].argv);
	}
	free(w->execs);
	w->execs = NULL;
	w->n_execs = 0;
}

/* "<name> <command>" */
static void
execs_add(struct worker *w, const char *args)
{
	const char *space = strchr(args, ' ');
	struct exec_entry *bigger, e;

	if (space == NULL || space == args) {
		wlog(w, LOG_ERR, "Malformed heuristics exec from the daemon");
		return;
	}
	e.name = strndup(args, (size_t)(space - args));
	if (heuristics_split(space + 1, &e.argv) < 0 && errno != EINVAL)
		goto nomem;
	bigger = realloc(w->execs, (w->n_execs + 1) * sizeof(*bigger));
	if (e.name == NULL || bigger == NULL)
		goto nomem;
	w->execs = bigger;
	w->execs[w->n_execs++] = e;
	return;
nomem:
	wlog(w, LOG_ERR, "Can't store heuristics exec: out of memory");
	free(e.name);
	heuristics_free_argv(e.argv);
}

/* "<timeout> <seq>" */
static void
cmd_exec(struct worker *w, const char *args)
{
	uint32_t timeout, seq;
	const char *end;

	if (parse_u32(args, &end, &timeout) != 0 || *end != ' ' ||
	    parse_u32(end + 1, NULL, &seq) != 0) {
		wlog(w, LOG_ERR, "Malformed heuristics exec request: %s", args);
		return;
	}
	run_start(w, timeout, seq);
}

/* Is line "<word> ..."?  Then *args points after the blank. */
static int
has_verb(const char *line, const char *verb, const char **args)
{
	size_t n = strlen(verb);

	if (strncmp(line, verb, n) != 0 || line[n] != ' ')
		return 0;
	*args = line + n + 1;
	return 1;
}

static void
cmd_line(struct line_reader *lr, char *line)
{
	struct worker *w = lr->owner;
	const char *args;

	if (line == NULL)
		wlog(w, LOG_ERR, "Command from the daemon too long, ignored");
	else if (strcmp(line, HEUR_CMD_LIST_CLEAR) == 0)
		execs_clear(w);
	else if (has_verb(line, HEUR_CMD_LIST_ADD, &args))
		execs_add(w, args);
	else if (has_verb(line, HEUR_CMD_EXEC, &args))
		cmd_exec(w, args);
	else
		wlog(w, LOG_ERR, "Unknown command from the daemon: %s", line);
}

/* ------------------------------------------------------------------ */
/* Shutdown */

/* Let uv_run() return: close what keeps the loop alive (once). */
static void
worker_close_all(struct worker *w)
{
	if (uv_is_closing((uv_handle_t *)&w->run_timer))
		return;
	uv_close((uv_handle_t *)&w->run_timer, NULL);
	uv_close((uv_handle_t *)&w->exit_timer, NULL);
	uv_close((uv_handle_t *)&w->sigterm, NULL);
	uv_close((uv_handle_t *)&w->sigint, NULL);
	line_writer_close(&w->out);
}

static void
worker_maybe_exit(struct worker *w)
{
	if (w->shutting_down && w->children == NULL)
		worker_close_all(w);
}

/* Children that survived SIGKILL rounds (uninterruptible sleep): leave. */
static void
exit_timeout(uv_timer_t *t)
{
	struct worker *w = t->data;

	wlog(w, LOG_WARNING, "Heuristics processes still not reaped, "
	    "exiting without them");
	while (w->children != NULL)
		child_free(w->children);
}

/*
 * The daemon is gone (command pipe closed) or we got a termination
 * signal: kill every child, then exit once they are reaped, or after two
 * kill intervals (SIGTERM, SIGKILL, give up) at the latest.
 */
static void
worker_shutdown(struct worker *w)
{
	if (w->shutting_down)
		return;
	w->shutting_down = 1;
	line_reader_close(&w->cmd);
	uv_timer_start(&w->exit_timer, exit_timeout,
	    2 * (uint64_t)w->s.kill_list_interval, 0);
	if (w->run_active)
		run_finish(w, 0, HEUR_RESULT_FAIL);
	worker_maybe_exit(w);
}

static void
cmd_end(struct line_reader *lr, int err)
{
	(void)err;
	worker_shutdown(lr->owner);
}

static void
termination_signal(uv_signal_t *sig, int signum)
{
	(void)signum;
	worker_shutdown(sig->data);
}

/* ------------------------------------------------------------------ */
/* Process setup */

/*
 * The daemon's handlers would write to its loop's descriptors, which are
 * gone here; its mask is not ours either.
 */
static void
reset_signals(void)
{
	sigset_t none;

	for (int sig = 1; sig < 32; sig++) {
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	}
	/* A dead daemon must show as EPIPE; children get SIG_DFL back. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/*
 * Every handle gets initialised, so that worker_shutdown() can close them
 * all whatever failed.
 */
static int
worker_init(struct worker *w, int cmd_fd, int out_fd)
{
	int err, err2;

	w->out.owner = w;
	w->out.on_error = out_failed;
	err = line_writer_open(&w->out, &w->loop, out_fd, w->s.ipc_max_size);
	w->out_broken = err != 0;
	w->cmd.owner = w;
	w->cmd.on_line = cmd_line;
	w->cmd.on_end = cmd_end;
	err2 = line_reader_open(&w->cmd, &w->loop, cmd_fd, w->s.ipc_max_size);
	if (err == 0)
		err = err2;
	uv_timer_init(&w->loop, &w->run_timer);
	uv_timer_init(&w->loop, &w->exit_timer);
	uv_signal_init(&w->loop, &w->sigterm);
	uv_signal_init(&w->loop, &w->sigint);
	w->run_timer.data = w->exit_timer.data = w;
	w->sigterm.data = w->sigint.data = w;
	if (err == 0)
		err = uv_signal_start(&w->sigterm, termination_signal, SIGTERM);
	if (err == 0)
		err = uv_signal_start(&w->sigint, termination_signal, SIGINT);
	if (err != 0)
		wlog(w, LOG_CRIT, "Can't set up the heuristics worker: %s",
		    uv_strerror(err));
	return err != 0 ? -1 : 0;
}

void
heur_worker_main(int cmd_fd, int out_fd, const struct heur_settings *s,
    struct fd_snapshot *snap)
{
	struct worker w;
	int listed = snap != NULL;
	int status;

	memset(&w, 0, sizeof(w));
	w.s = *s;
	w.out_broken = 1;	/* until the pipe is open: log to syslog */
	/* Away from the daemon's session: its terminal, its group signals. */
	setsid();
	reset_signals();
	/* syslog's socket is among what gets closed below. */
	closelog();
	if (snap != NULL)
		fd_snapshot_close(snap, cmd_fd, out_fd);
	fd_snapshot_free(snap);
	w.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (w.devnull < 0 || uv_loop_init(&w.loop) != 0) {
		syslog_fallback(&w, LOG_CRIT, "Can't set up the heuristics "
		    "worker");
		_exit(1);
	}
	status = worker_init(&w, cmd_fd, out_fd) == 0 ? 0 : 1;
	if (!listed)
		wlog(&w, LOG_WARNING, "Can't list inherited descriptors; "
		    "the heuristics worker keeps them");
	if (status == 0)
		wlog(&w, LOG_DEBUG, "Heuristics worker started (pid %d)",
		    (int)getpid());
	else
		worker_shutdown(&w);
	uv_run(&w.loop, UV_RUN_DEFAULT);
	execs_clear(&w);
	uv_loop_close(&w.loop);
	close(w.devnull);
	/* _exit: nothing of the daemon's (atexit, stdio buffers) may run. */
	_exit(status);
}
