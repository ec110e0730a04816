/*
 * corosync-qnetd and its service manager: the start-up line, systemd's
 * READY/STATUS/WATCHDOG (common/notify.h) and SIGHUP, which reloads what
 * can be reloaded and never ends the daemon.
 */
#ifndef QNETD_SYSD_H
#define QNETD_SYSD_H

#include <stddef.h>

struct qnetd;

/* Once listening: log the start-up line, handle SIGHUP, tell systemd. */
void	sysd_start(struct qnetd *q);
/* At shutdown: STOPPING=1, close the handles. */
void	sysd_stop(struct qnetd *q);
/*
 * "N clusters, N clients, N without a vote": every connection counts as
 * a client; one without a vote is one whose last ACK/NACK was not an ACK
 * (none yet, or NACK).  Public for the tests' sake of precision only.
 */
void	sysd_status_line(const struct qnetd *q, char *buf, size_t len);

#endif
