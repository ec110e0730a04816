/*
 * corosync-qdevice's metrics (Prometheus text, corosync-qdevice-tool
 * --metrics) and its HTTP endpoint (-S http_listen): /metrics, /livez,
 * /readyz.  Reads the modules through the status view (status.h).
 */
#ifndef QDEVICE_METRICS_H
#define QDEVICE_METRICS_H

#include <uv.h>

#include "buf.h"
#include "qd_settings.h"
#include "status.h"

struct http;

/* The HTTP endpoint when set->http_listen asks for it; 0 or -1. */
int	qd_metrics_start(struct http **h, uv_loop_t *loop,
	    const struct qdevice_settings *set, const struct qd_status *st);
void	qd_metrics_stop(struct http **h);
/* The metrics text. */
void	qd_metrics_write(const struct qd_status *st, struct buf *o,
	    int openmetrics);

#endif
