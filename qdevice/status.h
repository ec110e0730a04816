/*
 * The local socket's commands (corosync-qdevice-tool): status [verbose]
 * [json], shutdown.  Reads every module through its functions.
 */
#ifndef QDEVICE_STATUS_H
#define QDEVICE_STATUS_H

#include "buf.h"
#include "conf.h"
#include "events.h"
#include "heur.h"
#include "hook.h"
#include "ipc.h"
#include "net.h"
#include "vq.h"

/* What the status shows. */
struct qd_status {
	const struct qdevice_config *cfg;
	const struct qd_net *net;
	const struct qd_vq *vq;
	const struct qd_heur *heur;
	const struct qd_events *ev;	/* phase */
	const struct hook *hook;	/* events (common/hook.h) */
};

/* One command line of a local-socket client (arg: struct qd_status). */
enum ipc_result status_command(void *arg, char *line, struct buf *out);

#endif
