#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"

/*
 * stderr goes through a custom target: libqb's own formatter right-aligns
 * the priority, while 3.0.3 prints "Nov 22 03:31:55 debug   text".
 */
static int32_t stderr_target = -1;

static const char *
prio_name(int prio)
{
	static const char *const names[] = { "emerg", "alert", "crit",
	    "error", "warning", "notice", "info", "debug" };

	return prio >= 0 && prio <= LOG_DEBUG ? names[prio] : "debug";
}

static void
stderr_log(int32_t t, struct qb_log_callsite *cs, struct timespec *ts,
    const char *msg)
{
	char when[32];
	struct tm tm;
	time_t sec = ts->tv_sec;

	(void)t;
	localtime_r(&sec, &tm);
	strftime(when, sizeof(when), "%b %d %H:%M:%S", &tm);
	fprintf(stderr, "%s %-7s %s\n", when, prio_name(cs->priority), msg);
}

/*
 * Everything from info up; debug messages only from our own sources.
 * libqb logs its IPC internals (ring buffers, connects: the qdevice talks
 * to corosync through it) at debug level from files named without a
 * directory, ours are compiled with one; 3.0.3 shows none of libqb's.
 */
static void
target_filters(int32_t target, int debug)
{
	qb_log_filter_ctl(target, QB_LOG_FILTER_CLEAR_ALL,
	    QB_LOG_FILTER_FILE, "*", LOG_DEBUG);
	qb_log_filter_ctl(target, QB_LOG_FILTER_ADD,
	    QB_LOG_FILTER_FILE, "*", LOG_INFO);
	if (debug)
		qb_log_filter_ctl(target, QB_LOG_FILTER_ADD,
		    QB_LOG_FILTER_FILE_REGEX, "/", LOG_DEBUG);
}

static void
set_filters(int debug)
{
	target_filters(QB_LOG_SYSLOG, debug);
	if (stderr_target >= 0)
		target_filters(stderr_target, debug);
}

void
log_open(const char *ident, const struct log_opts *o)
{
	qb_log_init(ident, LOG_DAEMON, LOG_INFO);
	qb_log_ctl(QB_LOG_SYSLOG, QB_LOG_CONF_ENABLED, QB_TRUE);
	qb_log_ctl(QB_LOG_STDERR, QB_LOG_CONF_ENABLED, QB_FALSE);
	qb_log_ctl(QB_LOG_SYSLOG, QB_LOG_CONF_PRIORITY_BUMP,
	    o->priority_bump ? LOG_INFO - LOG_DEBUG : 0);
	qb_log_format_set(QB_LOG_SYSLOG, "%b");
	if (o->foreground) {
		stderr_target = qb_log_custom_open(stderr_log, NULL, NULL, NULL);
		if (stderr_target >= 0)
			qb_log_ctl(stderr_target, QB_LOG_CONF_ENABLED, QB_TRUE);
	}
	set_filters(o->debug);
}

void
log_set_debug(int debug)
{
	set_filters(debug);
}

void
log_close(void)
{
	/* qb_log_fini() leaves the filters (and their compiled regexes). */
	qb_log_filter_ctl(QB_LOG_SYSLOG, QB_LOG_FILTER_CLEAR_ALL,
	    QB_LOG_FILTER_FILE, "*", LOG_DEBUG);
	if (stderr_target >= 0) {
		qb_log_filter_ctl(stderr_target, QB_LOG_FILTER_CLEAR_ALL,
		    QB_LOG_FILTER_FILE, "*", LOG_DEBUG);
		qb_log_custom_close(stderr_target);
	}
	stderr_target = -1;
	qb_log_fini();
}
