/*
 * The model interface the adapters report to.  start.c fills one table
 * and gives it to each adapter (cs.c, cmap.c, cpg.c, votequorum.c,
 * heur.c) and to the net model at init; the adapters turn corosync and
 * worker events into these calls and never call start.c, the model or
 * each other.  The net model uses only phase, exit and event.
 */
#ifndef QDEVICE_EVENTS_H
#define QDEVICE_EVENTS_H

#include <stdint.h>

#include "arbiter_agree.h"
#include "policy.h"

enum phase {
	PHASE_WAIT_RING_ID,		/* start-up steps up to 14 */
	PHASE_WAIT_HEURISTICS,		/* start-up step 16 */
	PHASE_RUNNING,
	PHASE_EXITING
};

/* What changed in corosync.conf (cmap), handled in this order. */
enum {
	CMAP_CHANGED_LOGGING = 1,
	CMAP_CHANGED_NODELIST = 2,
	CMAP_CHANGED_HEURISTICS = 4
};

struct qd_events {
	void	*arg;
	/* Where the daemon is: events that come while exiting are dropped. */
	enum phase (*phase)(void *arg);
	/* End the daemon; unregister takes the device out of votequorum. */
	void	(*exit)(void *arg, int status, int unregister);
	/* Drop the qnetd connection (only scheduled; the model decides). */
	void	(*disconnect)(void *arg, enum disc_reason r);

	/* votequorum: a new node list (ring id), a quorum notification */
	void	(*membership)(void *arg);
	void	(*quorum)(void *arg);
	void	(*expected_votes)(void *arg);
	/* cmap: CMAP_CHANGED_* keys changed during one dispatch */
	void	(*config_changed)(void *arg, unsigned what);
	/*
	 * heuristics: a result for HEUR_FOR_* purposes (prev is the latest
	 * result before it); then, for a membership run, membership_done.
	 */
	void	(*heur_result)(void *arg, unsigned purposes, uint8_t prev,
		    uint8_t h);
	void	(*heur_membership_done)(void *arg);
	/* a configuration reload switched heuristics on */
	void	(*heur_enabled)(void *arg);

	/* model: an event for the hook and --follow (common/hook.h) */
	void	(*event)(void *arg, const char *name, const char *vote,
		    const char *reason);
	/* cpg: the arbiter group's view (node ids), a member's report */
	void	(*arbiter_view)(void *arg, const uint32_t *members, size_t n);
	void	(*arbiter_report)(void *arg, const struct agree_report *r);
};

/* Report an event (name static: "vote_changed"), if anybody listens. */
static inline void
qd_event(const struct qd_events *ev, const char *name, const char *vote,
    const char *reason)
{
	if (ev->event != NULL)
		ev->event(ev->arg, name, vote, reason);
}

static inline enum phase
qd_phase(const struct qd_events *ev)
{
	return ev->phase(ev->arg);
}

#endif
