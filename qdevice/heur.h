/*
 * The heuristics adapter: when heuristics run and where their results go
 * (BEHAVIOUR.md §3.8).  Results are reported as heur_result events.
 */
#ifndef QDEVICE_HEUR_H
#define QDEVICE_HEUR_H

#include <stdint.h>
#include <uv.h>

#include "conf.h"
#include "events.h"
#include "heuristics.h"

/* Purposes of a heuristics run; a newer run takes over older ones. */
enum {
	HEUR_FOR_MEMBERSHIP = 1,
	HEUR_FOR_CONNECT = 2,
	HEUR_FOR_REGULAR = 4
};

struct qd_heur;

/* The latest results, enum qn_heuristics values (for the status). */
struct qd_heur_results {
	uint8_t latest, regular, membership, connect;
};

/* How a command ended in the latest run that reported on it. */
struct qd_heur_exec_last {
	char *name;
	uint32_t seq;			/* of the run */
	enum heur_outcome outcome;
	int64_t code;			/* exit status, signal or -1 */
	int64_t start_ms;		/* wall clock, ms since the epoch */
	uint64_t duration_ms;
};

struct qd_heur *qd_heur_new(void);
void	qd_heur_free(struct qd_heur *h);

/* Fork the worker (before corosync: it inherits no corosync handles). */
int	qd_heur_start(struct qd_heur *h, uv_loop_t *loop,
	    const struct heur_settings *hs, const struct qd_events *ev);
/* Take a new configuration (cfg is moved); the first one is the start. */
int	qd_heur_configure(struct qd_heur *h, struct heur_config *cfg);
/*
 * Run the heuristics for purpose (HEUR_FOR_*), with the sync timeout
 * during a membership change, else the regular one.
 */
void	qd_heur_run(struct qd_heur *h, unsigned purpose, int sync);
void	qd_heur_stop_regular(struct qd_heur *h);
/*
 * A run asked for by the administrator (corosync-qdevice-tool
 * --run-heuristics): its result counts as a regular one (a change is sent
 * to qnetd).  A run in progress takes the regular purpose instead.
 */
enum heur_run_now {
	HEUR_RUN_STARTED,
	HEUR_RUN_JOINED,		/* a run was in progress */
	HEUR_RUN_DISABLED		/* heuristics mode off */
};
enum heur_run_now qd_heur_run_now(struct qd_heur *h);
int	qd_heur_enabled(const struct qd_heur *h);
enum heur_mode qd_heur_mode(const struct qd_heur *h);
uint32_t qd_heur_sync_timeout(const struct qd_heur *h);
/* A run is outstanding. */
int	qd_heur_pending(const struct qd_heur *h);
const struct qd_heur_results *qd_heur_results(const struct qd_heur *h);
/* Each command's latest outcome (forgotten when the list changes). */
const struct qd_heur_exec_last *qd_heur_execs(const struct qd_heur *h,
	    size_t *count);

void	qd_heur_close(struct qd_heur *h);
void	qd_heur_finish(struct qd_heur *h);

#endif
