/*
 * Daemon side of the heuristics: fork the worker, send it commands, read
 * its results and log lines on the daemon's loop.  Nothing here blocks:
 * both pipe ends are non-blocking and driven by libuv.
 */
/* <>: not qdevice/config.h, the daemon's configuration module */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heuristics.h"
#include "heuristics_ipc.h"
#include "heuristics_worker.h"
#include "log.h"

struct heuristics {
	struct line_writer cmd;
	struct line_reader out;
	int open_handles;	/* freed when both are closed */
	heur_result_cb cb;
	heur_detail_cb detail_cb;	/* NULL: details ignored */
	void *arg;
	pid_t pid;
	int alive;
	int stopping;
	uint32_t seq;		/* of the latest run requested */
};

static void
handle_closed(void *owner)
{
	struct heuristics *h = owner;

	if (--h->open_handles == 0)
		free(h);
}

static void
worker_gone(struct heuristics *h, const char *why)
{
	if (!h->alive || h->stopping)
		return;
	h->alive = 0;
	log_err("Heuristics worker (pid %d) is gone: %s", (int)h->pid, why);
	h->cb(h->arg, 0, HEUR_RESULT_FAIL);
}

/* ------------------------------------------------------------------ */
/* From the worker */

/* qb_log wants its priority at compile time. */
static void
log_worker_line(int prio, const char *text)
{
	switch (prio) {
	case LOG_EMERG:
		qb_log(LOG_EMERG, "worker: %s", text);
		break;
	case LOG_ALERT:
		qb_log(LOG_ALERT, "worker: %s", text);
		break;
	case LOG_CRIT:
		qb_log(LOG_CRIT, "worker: %s", text);
		break;
	case LOG_ERR:
		qb_log(LOG_ERR, "worker: %s", text);
		break;
	case LOG_WARNING:
		qb_log(LOG_WARNING, "worker: %s", text);
		break;
	case LOG_NOTICE:
		qb_log(LOG_NOTICE, "worker: %s", text);
		break;
	case LOG_INFO:
		qb_log(LOG_INFO, "worker: %s", text);
		break;
	default:
		qb_log(LOG_DEBUG, "worker: %s", text);
		break;
	}
}

static int
result_from_word(const char *word, enum heur_result *r)
{
	if (strcmp(word, HEUR_WORD_PASS) == 0)
		*r = HEUR_RESULT_PASS;
	else if (strcmp(word, HEUR_WORD_FAIL) == 0)
		*r = HEUR_RESULT_FAIL;
	else if (strcmp(word, HEUR_WORD_DISABLED) == 0)
		*r = HEUR_RESULT_DISABLED;
	else
		return -1;
	return 0;
}

/* "<seq> <result>" */
static void
result_line(struct heuristics *h, const char *args)
{
	enum heur_result r;
	const char *end;
	uint32_t seq;

	if (parse_u32(args, &end, &seq) != 0 || *end != ' ' ||
	    result_from_word(end + 1, &r) != 0) {
		log_err("Malformed result from the heuristics worker: %s",
		    args);
		return;
	}
	/* The worker drops abandoned runs; this guards the reordering. */
	if (seq != h->seq) {
		log_debug("Ignoring result of superseded heuristics run %"
		    PRIu32, seq);
		return;
	}
	log_debug("Heuristics run %" PRIu32 " result: %s", seq, end + 1);
	h->cb(h->arg, seq, r);
}

static int
outcome_from_word(const char *word, size_t len, enum heur_outcome *o)
{
	static const struct {
		const char *w;
		enum heur_outcome o;
	} t[] = {
		{ HEUR_WORD_PASS, HEUR_OUTCOME_PASS },
		{ HEUR_WORD_FAIL, HEUR_OUTCOME_FAIL },
		{ HEUR_WORD_SIGNAL, HEUR_OUTCOME_SIGNAL },
		{ HEUR_WORD_UNFINISHED, HEUR_OUTCOME_UNFINISHED },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strlen(t[i].w) == len && memcmp(word, t[i].w, len) == 0) {
			*o = t[i].o;
			return 0;
		}
	return -1;
}

/* "<seq> <name> <outcome> <code> <start ms> <duration ms>" */
static void
detail_line(struct heuristics *h, char *args)
{
	struct heur_detail d;
	char word[16];
	uint32_t seq;
	long long code, start;
	unsigned long long dur;
	int n0 = 0, n1 = 0, end = 0;

	if (sscanf(args, "%" SCNu32 " %n%*s%n %15s %lld %lld %llu%n", &seq,
	    &n0, &n1, word, &code, &start, &dur, &end) != 5 || end == 0 ||
	    args[end] != '\0' ||
	    outcome_from_word(word, strlen(word), &d.outcome) != 0) {
		log_err("Malformed detail from the heuristics worker: %s",
		    args);
		return;
	}
	if (seq != h->seq || h->detail_cb == NULL)
		return;
	args[n1] = '\0';
	d.name = args + n0;
	d.code = code;
	d.start_ms = start;
	d.duration_ms = dur;
	h->detail_cb(h->arg, seq, &d);
}

void
heuristics_set_detail_cb(struct heuristics *h, heur_detail_cb cb)
{
	h->detail_cb = cb;
}

static void
out_line(struct line_reader *lr, char *line)
{
	struct heuristics *h = lr->owner;
	size_t verb = strlen(HEUR_REPLY_RESULT);
	const char *text;
	uint32_t prio;

	if (line == NULL) {
		log_err("Heuristics worker sent a line longer than %zu bytes, "
		    "ignored", lr->max);
	} else if (parse_u32(line, &text, &prio) == 0) {
		if (*text == ' ' && prio <= LOG_DEBUG)
			log_worker_line((int)prio, text + 1);
		else
			log_err("Malformed log line from the heuristics "
			    "worker: %s", line);
	} else if (strncmp(line, HEUR_REPLY_RESULT, verb) == 0 &&
	    line[verb] == ' ') {
		result_line(h, line + verb + 1);
	} else if (strncmp(line, HEUR_REPLY_DETAIL,
	    strlen(HEUR_REPLY_DETAIL)) == 0 &&
	    line[strlen(HEUR_REPLY_DETAIL)] == ' ') {
		detail_line(h, line + strlen(HEUR_REPLY_DETAIL) + 1);
	} else {
		log_err("Unexpected line from the heuristics worker: %s", line);
	}
}

static void
out_end(struct line_reader *lr, int err)
{
	worker_gone(lr->owner, err == 0 ? "its pipe closed" : uv_strerror(err));
}

/* ------------------------------------------------------------------ */
/* To the worker */

static void
cmd_failed(struct line_writer *lw, const char *line, int err)
{
	(void)line;
	worker_gone(lw->owner, uv_strerror(err));
}

static int
send_line(struct heuristics *h, const char *line, size_t len)
{
	int err = line_write(&h->cmd, line, len);

	if (err != 0)
		log_err("Can't send to the heuristics worker: %s",
		    uv_strerror(err));
	return err != 0 ? -1 : 0;
}

static int
exec_name_valid(const char *name)
{
	if (*name == '\0')
		return 0;
	for (; *name != '\0'; name++) {
		if (isspace((unsigned char)*name))
			return 0;
	}
	return 1;
}

/* Check everything first, so that an error sends nothing. */
static int
execs_valid(const struct heuristics *h, const struct heur_exec *e, size_t n)
{
	size_t fixed = strlen(HEUR_CMD_LIST_ADD) + 3;	/* 2 blanks, \n */

	for (size_t i = 0; i < n; i++) {
		if (!exec_name_valid(e[i].name)) {
			log_err("Invalid heuristics exec name \"%s\"",
			    e[i].name);
			return 0;
		}
		if (fixed + strlen(e[i].name) + strlen(e[i].command) >
		    h->cmd.max) {
			log_err("Heuristics exec %s is too long (the limit is "
			    "%zu bytes)", e[i].name, h->cmd.max);
			return 0;
		}
	}
	return 1;
}

int
heuristics_set_execs(struct heuristics *h, const struct heur_exec *e,
    size_t n)
{
	if (!h->alive || !execs_valid(h, e, n))
		return -1;
	if (send_line(h, HEUR_CMD_LIST_CLEAR, strlen(HEUR_CMD_LIST_CLEAR)))
		return -1;
	for (size_t i = 0; i < n; i++) {
		char *line;
		int len, err;

		len = asprintf(&line, "%s %s %s", HEUR_CMD_LIST_ADD,
		    e[i].name, e[i].command);
		if (len < 0) {
			log_err("Can't send heuristics exec %s: out of memory",
			    e[i].name);
			return -1;
		}
		err = send_line(h, line, (size_t)len);
		free(line);
		if (err != 0)
			return -1;
	}
	return 0;
}

uint32_t
heuristics_run(struct heuristics *h, uint32_t timeout_ms)
{
	uint32_t seq = h->seq + 1 != 0 ? h->seq + 1 : 1;
	char line[64];
	int len;

	if (!h->alive)
		return 0;
	len = snprintf(line, sizeof(line), "%s %" PRIu32 " %" PRIu32,
	    HEUR_CMD_EXEC, timeout_ms, seq);
	if (send_line(h, line, (size_t)len) != 0)
		return 0;
	h->seq = seq;
	log_debug("Heuristics run %" PRIu32 " started (timeout %" PRIu32
	    " ms)", seq, timeout_ms);
	return seq;
}

/* ------------------------------------------------------------------ */
/* Life cycle */

/* Two pipes, every end non-blocking (D12) and close-on-exec. */
static int
make_pipes(int cmd[2], int out[2])
{
	if (pipe2(cmd, O_CLOEXEC | O_NONBLOCK) != 0)
		return -1;
	if (pipe2(out, O_CLOEXEC | O_NONBLOCK) != 0) {
		close(cmd[0]);
		close(cmd[1]);
		return -1;
	}
	return 0;
}

static pid_t
fork_worker(const struct heur_settings *s, int cmd[2], int out[2])
{
	struct fd_snapshot *snap = fd_snapshot_take();
	pid_t pid = fork();

	if (pid == 0)
		heur_worker_main(cmd[0], out[1], s, snap);
	fd_snapshot_free(snap);
	close(cmd[0]);
	close(out[1]);
	if (pid < 0) {
		log_err("Can't fork the heuristics worker: %s",
		    strerror(errno));
		close(cmd[1]);
		close(out[0]);
	}
	return pid;
}

struct heuristics *
heuristics_start(uv_loop_t *loop, const struct heur_settings *s,
    heur_result_cb cb, void *arg)
{
	struct heuristics *h = calloc(1, sizeof(*h));
	int cmd[2], out[2], err, err2;

	if (h == NULL || make_pipes(cmd, out) != 0) {
		log_err("Can't start the heuristics worker: %s",
		    strerror(errno));
		free(h);
		return NULL;
	}
	/* A write to a dead worker must fail with EPIPE, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	h->pid = fork_worker(s, cmd, out);
	if (h->pid < 0) {
		free(h);
		return NULL;
	}
	h->cb = cb;
	h->arg = arg;
	h->alive = 1;
	h->open_handles = 2;
	h->cmd.owner = h->out.owner = h;
	h->cmd.on_error = cmd_failed;
	h->cmd.on_closed = h->out.on_closed = handle_closed;
	h->out.on_line = out_line;
	h->out.on_end = out_end;
	err = line_writer_open(&h->cmd, loop, cmd[1], s->ipc_max_size);
	err2 = line_reader_open(&h->out, loop, out[0], s->ipc_max_size);
	if (err == 0 && err2 == 0) {
		log_debug("Heuristics worker started (pid %d)", (int)h->pid);
		return h;
	}
	log_err("Can't watch the heuristics worker's pipes: %s",
	    uv_strerror(err != 0 ? err : err2));
	/* Closing its command pipe makes the worker exit. */
	heuristics_stop(h);
	return NULL;
}

int
heuristics_alive(const struct heuristics *h)
{
	return h->alive;
}

pid_t
heuristics_pid(const struct heuristics *h)
{
	return h->pid;
}

void
heuristics_stop(struct heuristics *h)
{
	h->stopping = 1;
	line_writer_close(&h->cmd);
	line_reader_close(&h->out);
}
