/*
 * When heuristics run and where their results go (BEHAVIOUR.md §3.8).  The
 * commands themselves run in the worker of libheuristics; this module only
 * asks for runs: at membership changes (sync_timeout), after connecting
 * (timeout, or sync_timeout during a sync) and, in mode "on", every
 * interval.  One run is outstanding at a time: a newer run takes over the
 * purposes of the one it abandons, so no result is lost to a race.
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "heur.h"
#include "log.h"
#include "names.h"

struct qd_heur {
	struct heuristics *worker;
	const struct qd_events *ev;
	struct heur_config cfg;
	int configured;
	uint32_t pending_seq;		/* 0: no run outstanding */
	unsigned pending_for;		/* HEUR_FOR_* */
	uint32_t pending_timeout;
	uv_timer_t regular_timer;
	struct qd_heur_results res;
	struct qd_heur_exec_last *last;	/* one per command reported */
	size_t n_last;
};

static void	run(struct qd_heur *h, unsigned purpose, uint32_t timeout);
static void	schedule_regular(struct qd_heur *h);

static uint8_t
to_wire(enum heur_result r)
{
	switch (r) {
	case HEUR_RESULT_PASS:
		return QN_HEUR_PASS;
	case HEUR_RESULT_FAIL:
		return QN_HEUR_FAIL;
	default:
		return QN_HEUR_UNDEFINED;
	}
}

static void
worker_gone(struct qd_heur *h)
{
	log_err("Heuristics worker died");
	h->ev->disconnect(h->ev->arg, DISC_HEURISTICS_WORKER_CLOSED);
}

static void
on_result(void *arg, uint32_t seq, enum heur_result r)
{
	struct qd_heur *h = arg;
	unsigned purposes;
	uint8_t v, prev;

	if (qd_phase(h->ev) == PHASE_EXITING)
		return;
	if (seq == 0 || !heuristics_alive(h->worker)) {
		worker_gone(h);
		return;
	}
	if (seq != h->pending_seq) {
		log_debug("Ignoring result of abandoned heuristics run %" PRIu32,
		    seq);
		return;
	}
	purposes = h->pending_for;
	h->pending_seq = 0;
	h->pending_for = 0;
	v = to_wire(r);
	log_debug("Heuristics exec result: seq %" PRIu32 ", result %s", seq,
	    heuristics_name(v));

	if (purposes & HEUR_FOR_MEMBERSHIP)
		h->res.membership = v;
	if (purposes & HEUR_FOR_CONNECT)
		h->res.connect = v;
	if (purposes & HEUR_FOR_REGULAR)
		h->res.regular = v;
	/* The model compares with the previous latest result. */
	prev = h->res.latest;
	h->ev->heur_result(h->ev->arg, purposes, prev, v);
	h->res.latest = v;

	if (purposes & (HEUR_FOR_MEMBERSHIP | HEUR_FOR_REGULAR))
		schedule_regular(h);
	if (purposes & HEUR_FOR_MEMBERSHIP)
		h->ev->heur_membership_done(h->ev->arg);
}

static void
forget_execs(struct qd_heur *h)
{
	for (size_t i = 0; i < h->n_last; i++)
		free(h->last[i].name);
	free(h->last);
	h->last = NULL;
	h->n_last = 0;
}

static void
on_detail(void *arg, uint32_t seq, const struct heur_detail *d)
{
	struct qd_heur *h = arg;
	struct qd_heur_exec_last *e = NULL, *grown;

	for (size_t i = 0; i < h->n_last && e == NULL; i++)
		if (strcmp(h->last[i].name, d->name) == 0)
			e = &h->last[i];
	if (e == NULL) {
		grown = realloc(h->last, (h->n_last + 1) * sizeof(*grown));
		if (grown == NULL)
			return;
		h->last = grown;
		e = &h->last[h->n_last];
		if ((e->name = strdup(d->name)) == NULL)
			return;
		h->n_last++;
	}
	e->seq = seq;
	e->outcome = d->outcome;
	e->code = d->code;
	e->start_ms = d->start_ms;
	e->duration_ms = d->duration_ms;
}

const struct qd_heur_exec_last *
qd_heur_execs(const struct qd_heur *h, size_t *count)
{
	*count = h->n_last;
	return h->last;
}

int
qd_heur_start(struct qd_heur *h, uv_loop_t *loop,
    const struct heur_settings *hs, const struct qd_events *ev)
{
	h->ev = ev;
	h->worker = heuristics_start(loop, hs, on_result, h);
	if (h->worker == NULL)
		return -1;
	heuristics_set_detail_cb(h->worker, on_detail);
	uv_timer_init(loop, &h->regular_timer);
	h->regular_timer.data = h;
	return 0;
}

static void
run(struct qd_heur *h, unsigned purpose, uint32_t timeout)
{
	uint32_t seq;

	if (h->pending_seq != 0)
		log_debug("Heuristics run %" PRIu32 " abandoned for a new one",
		    h->pending_seq);
	seq = heuristics_run(h->worker, timeout);
	if (seq == 0) {
		worker_gone(h);
		return;
	}
	h->pending_seq = seq;
	h->pending_for |= purpose;
	h->pending_timeout = timeout;
	log_debug("Executing heuristics: seq %" PRIu32 ", timeout %" PRIu32
	    "ms", seq, timeout);
}

void
qd_heur_run(struct qd_heur *h, unsigned purpose, int sync)
{
	run(h, purpose, sync ? h->cfg.sync_timeout : h->cfg.timeout);
}

static void
regular_tick(uv_timer_t *t)
{
	struct qd_heur *h = t->data;

	if (qd_phase(h->ev) == PHASE_EXITING || h->cfg.mode != HEUR_MODE_ON)
		return;
	if (h->pending_seq != 0) {
		/* Another run is on: try again one interval later. */
		schedule_regular(h);
		return;
	}
	log_debug("Executing regular heuristics");
	run(h, HEUR_FOR_REGULAR, h->cfg.timeout);
}

static void
schedule_regular(struct qd_heur *h)
{
	if (h->cfg.mode != HEUR_MODE_ON) {
		log_debug("Not scheduling heuristics timer because mode is not "
		    "enabled");
		uv_timer_stop(&h->regular_timer);
		return;
	}
	log_debug("Scheduling next regular heuristics in %" PRIu32 "ms",
	    h->cfg.interval);
	uv_timer_start(&h->regular_timer, regular_tick, h->cfg.interval, 0);
}

enum heur_run_now
qd_heur_run_now(struct qd_heur *h)
{
	if (h->cfg.mode == HEUR_MODE_OFF)
		return HEUR_RUN_DISABLED;
	if (h->pending_seq != 0) {
		h->pending_for |= HEUR_FOR_REGULAR;
		return HEUR_RUN_JOINED;
	}
	log_info("Executing heuristics on request");
	uv_timer_stop(&h->regular_timer);
	run(h, HEUR_FOR_REGULAR, h->cfg.timeout);
	return HEUR_RUN_STARTED;
}

void
qd_heur_stop_regular(struct qd_heur *h)
{
	uv_timer_stop(&h->regular_timer);
}

int
qd_heur_enabled(const struct qd_heur *h)
{
	return h->cfg.mode != HEUR_MODE_OFF;
}

enum heur_mode
qd_heur_mode(const struct qd_heur *h)
{
	return h->cfg.mode;
}

uint32_t
qd_heur_sync_timeout(const struct qd_heur *h)
{
	return h->cfg.sync_timeout;
}

int
qd_heur_pending(const struct qd_heur *h)
{
	return h->pending_seq != 0;
}

const struct qd_heur_results *
qd_heur_results(const struct qd_heur *h)
{
	return &h->res;
}

/* With mode off the worker gets no commands and answers "Disabled". */
static int
send_execs(struct qd_heur *h, const struct heur_config *c)
{
	struct heur_exec *e = NULL;
	size_t n = c->mode == HEUR_MODE_OFF ? 0 : c->exec_count;
	int rc;

	if (n > 0 && (e = calloc(n, sizeof(*e))) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		e[i].name = c->execs[i].name;
		e[i].command = c->execs[i].command;
	}
	rc = heuristics_set_execs(h->worker, e, n);
	free(e);
	return rc;
}

static int
same_effective_execs(const struct heur_config *a, const struct heur_config *b)
{
	int a_on = a->mode != HEUR_MODE_OFF && a->exec_count > 0;
	int b_on = b->mode != HEUR_MODE_OFF && b->exec_count > 0;

	if (!a_on || !b_on)
		return a_on == b_on;
	return heur_execs_equal(a, b);
}

/*
 * Take a new configuration (cfg is moved into the instance).  The first
 * call gives the worker its commands.
 */
int
qd_heur_configure(struct qd_heur *h, struct heur_config *cfg)
{
	int first = !h->configured;
	int was_enabled = h->cfg.mode != HEUR_MODE_OFF;
	int execs_changed = first || !same_effective_execs(&h->cfg, cfg);
	int mode_changed = h->cfg.mode != cfg->mode;
	int interval_changed = h->cfg.interval != cfg->interval;

	heur_config_free(&h->cfg);
	h->cfg = *cfg;
	*cfg = (struct heur_config){ 0 };
	h->configured = 1;

	if (execs_changed) {
		log_debug("Sending heuristics exec list to the worker");
		forget_execs(h);
		if (send_execs(h, &h->cfg) != 0) {
			worker_gone(h);
			return -1;
		}
		/* A run waiting for its result restarts with the new list. */
		if (h->pending_seq != 0)
			run(h, 0, h->pending_timeout);
	}
	if (first)
		return 0;
	if (mode_changed || interval_changed) {
		if (h->pending_seq == 0 && qd_phase(h->ev) == PHASE_RUNNING)
			schedule_regular(h);
		else if (h->cfg.mode != HEUR_MODE_ON)
			qd_heur_stop_regular(h);
	}
	if (!was_enabled && h->cfg.mode != HEUR_MODE_OFF)
		h->ev->heur_enabled(h->ev->arg);
	return 0;
}

void
qd_heur_close(struct qd_heur *h)
{
	if (h->regular_timer.data != NULL &&
	    !uv_is_closing((uv_handle_t *)&h->regular_timer))
		uv_close((uv_handle_t *)&h->regular_timer, NULL);
}

/* Close the worker's command pipe: it kills its children and exits. */
void
qd_heur_finish(struct qd_heur *h)
{
	if (h->worker != NULL) {
		log_debug("Destroying heuristics");
		heuristics_stop(h->worker);
	}
	h->worker = NULL;
	heur_config_free(&h->cfg);
	forget_execs(h);
}

struct qd_heur *
qd_heur_new(void)
{
	return calloc(1, sizeof(struct qd_heur));
}

void
qd_heur_free(struct qd_heur *h)
{
	free(h);
}
