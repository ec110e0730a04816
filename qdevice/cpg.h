/*
 * cpg: the qdevices of a cluster in one corosync process group, so they
 * can agree on one arbiter of the host list (arbiter_agree.c).  Views and
 * reports arrive through struct qd_events (arbiter_view, arbiter_report),
 * in the same order on every member (virtual synchrony).  Used only with
 * more than one host; without it the daemon stays on the first.
 */
#ifndef QDEVICE_CPG_H
#define QDEVICE_CPG_H

#include <uv.h>

#include "arbiter_agree.h"
#include "events.h"

#define QD_CPG_GROUP	"corosync-qdevice-arbiter"

struct qd_cpg;

struct qd_cpg *qd_cpg_new(void);
/* Connect, join the group and watch it; -1 (logged) when CPG is missing. */
int	qd_cpg_start(struct qd_cpg *c, uv_loop_t *loop,
	    const struct qd_events *ev);
int	qd_cpg_running(const struct qd_cpg *c);
/* Broadcast r (its nodeid is ignored: receivers use the sender's). */
int	qd_cpg_send(struct qd_cpg *c, const struct agree_report *r);
void	qd_cpg_close(struct qd_cpg *c);
void	qd_cpg_free(struct qd_cpg *c);

#endif
