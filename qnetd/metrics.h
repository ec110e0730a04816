/*
 * corosync-qnetd's metrics (Prometheus text, corosync-qnetd-tool
 * --metrics) and its HTTP endpoint (-S http_listen): /metrics, /livez,
 * /readyz.  Reads each owning module through its functions and counters.
 */
#ifndef QNETD_METRICS_H
#define QNETD_METRICS_H

#include "buf.h"

struct qnetd;

/* After the server started: the loop-lag probe, and HTTP when asked for. */
int	metrics_start(struct qnetd *q);
void	metrics_stop(struct qnetd *q);
/* The metrics text; per-node series with nodes. */
void	metrics_write(struct qnetd *q, struct buf *o, int openmetrics,
	    int nodes);

#endif
