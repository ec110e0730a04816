#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "notify.h"

static void
on_watchdog(uv_timer_t *t)
{
	(void)t;
	/* A timer that fires is a loop that turns. */
	sd_notify(0, "WATCHDOG=1");
}

static void
on_status(uv_timer_t *t)
{
	notify_status(t->data);
}

void
notify_start(struct notify *n, uv_loop_t *loop, notify_status_fn fn,
    void *arg)
{
	uint64_t usec = 0;

	memset(n, 0, sizeof(*n));
	n->status = fn;
	n->arg = arg;
	n->active = getenv("NOTIFY_SOCKET") != NULL;
	if (!n->active)
		return;
	/* WATCHDOG_USEC for us (WATCHDOG_PID unset or ours). */
	if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
		/* Twice per period, as sd_watchdog_enabled(3) advises. */
		n->watchdog_ms = usec / 2000 > 0 ? usec / 2000 : 1;
		log_debug("systemd watchdog: every %" PRIu64 " ms",
		    n->watchdog_ms);
	}
	uv_timer_init(loop, &n->watchdog);
	uv_timer_init(loop, &n->status_timer);
	n->status_timer.data = n;
	uv_unref((uv_handle_t *)&n->watchdog);
	uv_unref((uv_handle_t *)&n->status_timer);
	n->started = 1;
	if (n->watchdog_ms != 0)
		uv_timer_start(&n->watchdog, on_watchdog, n->watchdog_ms,
		    n->watchdog_ms);
	uv_timer_start(&n->status_timer, on_status, NOTIFY_STATUS_INTERVAL_MS,
	    NOTIFY_STATUS_INTERVAL_MS);
}

/* The status line, or "" when it has not changed since the last send. */
static int
status_changed(struct notify *n, char *line, size_t len)
{
	line[0] = '\0';
	if (n->status == NULL)
		return 0;
	n->status(n->arg, line, len);
	if (strcmp(line, n->last) == 0)
		return 0;
	snprintf(n->last, sizeof(n->last), "%s", line);
	return 1;
}

void
notify_status(struct notify *n)
{
	char line[sizeof(n->last)];

	if (n->active && status_changed(n, line, sizeof(line)))
		sd_notifyf(0, "STATUS=%s", line);
}

void
notify_ready(struct notify *n)
{
	char line[sizeof(n->last)];

	if (!n->active)
		return;
	status_changed(n, line, sizeof(line));
	sd_notifyf(0, "READY=1\nSTATUS=%s", n->last);
}

void
notify_reloading(struct notify *n)
{
	struct timespec ts;

	if (!n->active)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
	    (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
}

void
notify_stop(struct notify *n)
{
	if (!n->active)
		return;
	sd_notify(0, "STOPPING=1");
	if (n->started) {
		uv_close((uv_handle_t *)&n->watchdog, NULL);
		uv_close((uv_handle_t *)&n->status_timer, NULL);
		n->started = 0;
	}
	n->active = 0;
}
