/*
 * Heuristics: admin-configured commands (quorum.device.heuristics.exec_*)
 * whose exit statuses say whether this node is fit to get the qdevice vote.
 *
 * They run in a separate worker process, forked before the daemon connects
 * to corosync so the commands inherit no corosync handles.  Each command is
 * started in its own process group; when a run ends (first failure, all
 * passed, or timeout) whatever still runs is killed as a group, SIGTERM then
 * SIGKILL (BEHAVIOUR.md §3.8, fixing D13).
 */
#ifndef QDEVICE_HEURISTICS_H
#define QDEVICE_HEURISTICS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

enum heur_result {
	HEUR_RESULT_DISABLED,	/* no commands: maps to "undefined" */
	HEUR_RESULT_PASS,
	HEUR_RESULT_FAIL
};

struct heur_exec {
	const char *name;	/* the part after "exec_" */
	const char *command;	/* split like 3.0.3: blanks, "..." and \ */
};

struct heur_settings {
	int use_execvp;			/* search PATH for argv[0] */
	uint32_t max_processes;		/* running + being killed */
	uint32_t kill_list_interval;	/* ms between SIGTERM and SIGKILL rounds */
	size_t ipc_max_size;		/* longest line between the processes,
					   newline included */
};

struct heuristics;

typedef void (*heur_result_cb)(void *arg, uint32_t seq, enum heur_result r);

/* How one command of a run ended (reported before the run's result). */
enum heur_outcome {
	HEUR_OUTCOME_PASS,		/* exit status 0 */
	HEUR_OUTCOME_FAIL,		/* code: the exit status */
	HEUR_OUTCOME_SIGNAL,		/* code: the signal */
	HEUR_OUTCOME_UNFINISHED		/* the run ended first (code -1) */
};

struct heur_detail {
	const char *name;
	enum heur_outcome outcome;
	int64_t code;
	int64_t start_ms;		/* wall clock, ms since the epoch */
	uint64_t duration_ms;
};

typedef void (*heur_detail_cb)(void *arg, uint32_t seq,
    const struct heur_detail *d);

/*
 * Fork the worker.  Results arrive through cb on loop.  If the worker dies
 * the callback gets seq 0 and HEUR_RESULT_FAIL and heuristics_alive()
 * turns false (the daemon then exits, as 3.0.3 does).  The callback is
 * never called from inside a heuristics_*() call.  SIGPIPE is set to be
 * ignored (a write to a dead worker must fail, not kill the daemon).
 * Returns NULL (error logged) on failure; run loop before uv_loop_close()
 * even then, as handles may be closing.  The worker holds nothing of the
 * caller's (it closes every inherited descriptor).  A caller that forks
 * afterwards and keeps loop in the child needs uv_loop_fork() there, as
 * for any libuv handle.
 */
struct heuristics *heuristics_start(uv_loop_t *loop,
	    const struct heur_settings *s, heur_result_cb cb, void *arg);

/* Per-command details of the current run, to the arg of heuristics_start(). */
void	heuristics_set_detail_cb(struct heuristics *h, heur_detail_cb cb);

/*
 * Replace the command list; takes effect for the next run.  Names must be
 * non-empty and free of blanks.  -1 (error logged) on an invalid name, a
 * line longer than ipc_max_size or a dead worker.
 */
int	heuristics_set_execs(struct heuristics *h, const struct heur_exec *e,
	    size_t n);

/*
 * Start a run bounded by timeout_ms; a run still going is abandoned (its
 * late result is never reported).  Returns the run's sequence number (> 0),
 * or 0 if the worker is gone.
 */
uint32_t heuristics_run(struct heuristics *h, uint32_t timeout_ms);

int	heuristics_alive(const struct heuristics *h);

/*
 * The worker's pid.  The worker is a child of the process that called
 * heuristics_start(); nothing here reaps it (a daemon that forks away
 * leaves that to init, a foreground one may waitpid() it).
 */
pid_t	heuristics_pid(const struct heuristics *h);

/*
 * Close the command pipe; the worker kills its children (SIGTERM, then
 * SIGKILL after kill_list_interval) and exits.  Never blocks and never
 * calls cb again; h is freed once loop has run the close callbacks of its
 * handles, so run the loop (e.g. to completion before uv_loop_close()).
 */
void	heuristics_stop(struct heuristics *h);

/*
 * Split a command line the way 3.0.3 does (BEHAVIOUR.md §3.8); exposed for
 * the tests.  Returns the number of words and a NULL-terminated *argv (an
 * empty one for a blank line), or -1 with *argv NULL and errno EINVAL for
 * an unterminated quote or a trailing backslash, ENOMEM when out of memory.
 */
int	heuristics_split(const char *command, char ***argv);
void	heuristics_free_argv(char **argv);

#endif
