/*
 * What the heuristics tests share (heur_harness.c): a daemon side on a real
 * libuv loop that records its results and log lines, waits with generous
 * deadlines, and sees processes and files through /proc and a scratch
 * directory.
 */
#ifndef HEUR_HARNESS_H
#define HEUR_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <check.h>
#include <qb/qblog.h>

#include "heuristics.h"

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

/* Long enough for a loaded machine; a passing test never waits this. */
#define WAIT_MS		20000
#define LONG_TIMEOUT	20000	/* a run timeout that must not matter */

#define MAX_RESULTS	512

struct result {
	uint32_t seq;
	enum heur_result r;
};

struct detail {
	uint32_t seq;
	char name[32];
	enum heur_outcome outcome;
	int64_t code, start_ms;
	uint64_t duration_ms;
};

struct ctx {
	uv_loop_t loop;
	uv_timer_t tick;
	struct heuristics *h;
	pid_t worker;
	int32_t log_target;
	struct result results[MAX_RESULTS];
	size_t n_results;
	struct detail details[MAX_RESULTS];
	size_t n_details;
	char dir[64];			/* scratch directory for commands */
	char cmds[4][512];		/* commands naming it */
	size_t n_cmds;
	char log[1 << 16];		/* "<priority> <message>\n" lines */
	size_t log_len;
};

/* Settings of most tests: heuristics on, short intervals. */
extern const struct heur_settings default_settings;

/* Start a daemon side with its worker; ctx_stop() ends and checks it. */
struct ctx	*ctx_start(const struct heur_settings *s);
/*
 * Stop the daemon side, free everything, and check that the worker exits
 * and that nothing of any command it started is left.
 */
void	ctx_stop(struct ctx *c);

/* Run the loop until done(c, arg) holds; 0 if it did not in time. */
int	run_until(struct ctx *c, int (*done)(struct ctx *, const void *),
	    const void *arg, unsigned ms);
/* Conditions for run_until(). */
int	never(struct ctx *c, const void *arg);
int	has_result(struct ctx *c, const void *seq);
int	worker_died(struct ctx *c, const void *arg);
/* Zombies count as gone: orphans may wait for a reaper that never comes. */
int	pid_gone(struct ctx *c, const void *arg);
/* Gone for good: reaped (by the worker, for its own children). */
int	pid_reaped(struct ctx *c, const void *arg);
/* Is no live process left in process group *arg? */
int	group_gone(struct ctx *c, const void *arg);

const struct result	*find_result(const struct ctx *c, uint32_t seq);
/* The detail of command name in run seq, or NULL. */
const struct detail	*find_detail(const struct ctx *c, uint32_t seq,
			    const char *name);
/* A captured line at priority prio containing text (prio -1: any). */
const char	*find_log(const struct ctx *c, int prio, const char *text);
void	wait_log(struct ctx *c, int prio, const char *text);
/* The pid the worker reported for exec name ("... name started (pid N)"). */
pid_t	started_pid(struct ctx *c, const char *name);
void	set_execs(struct ctx *c, const struct heur_exec *e, size_t n);
/* Start a run and wait for its result. */
enum heur_result	run_and_wait(struct ctx *c, uint32_t timeout_ms);
/* Wait until n files named prefix* exist in the scratch directory. */
void	wait_files(struct ctx *c, const char *prefix, int n);
/*
 * A group that ignores SIGTERM: a shell and a background sleep; it says
 * "ready_<pid>" in c->dir once both ignore it.
 */
#define STUBBORN	"/bin/sh -c \"trap '' TERM; /bin/sleep 60 & " \
			": > @D/ready_$$; /bin/sleep 60\""

/* A command with every "@D" replaced by c->dir. */
const char	*cmd_in_dir(struct ctx *c, const char *tmpl);

TCase	*heuristics_runs_tcase(void);

#endif
