/*
 * What systemd hears from a daemon (sd_notify(3)): READY=1, a STATUS= line
 * kept current, WATCHDOG=1 while the event loop turns, and the reload
 * sequence RELOADING=1 + MONOTONIC_USEC, then READY=1.  Without
 * $NOTIFY_SOCKET (not started by systemd) nothing runs and nothing is
 * computed.
 */
#ifndef QN_NOTIFY_H
#define QN_NOTIFY_H

#include <stddef.h>
#include <uv.h>

/* How often the status line is recomputed (and sent when it changed). */
#define NOTIFY_STATUS_INTERVAL_MS	1000

/* Writes the daemon's one-line status (no newline) into buf. */
typedef void (*notify_status_fn)(void *arg, char *buf, size_t len);

struct notify {
	int active;			/* $NOTIFY_SOCKET is set */
	int started;			/* the timers were initialised */
	uint64_t watchdog_ms;		/* ping interval, 0 = no watchdog */
	uv_timer_t watchdog;
	uv_timer_t status_timer;
	notify_status_fn status;
	void *arg;
	char last[256];			/* the STATUS= systemd has */
};

/*
 * Start the watchdog pings (when WatchdogSec= is set for this process) and
 * the status updates on loop.  The timers do not keep the loop alive.
 */
void	notify_start(struct notify *n, uv_loop_t *loop, notify_status_fn fn,
	    void *arg);
/* READY=1 with the current status. */
void	notify_ready(struct notify *n);
/* RELOADING=1 and MONOTONIC_USEC=<now>; notify_ready() ends the reload. */
void	notify_reloading(struct notify *n);
/* Recompute the status now and send it if it changed. */
void	notify_status(struct notify *n);
/* STOPPING=1; close the timers. */
void	notify_stop(struct notify *n);

#endif
