#include <paths.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

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

/*
 * The stderr target's state: the timestamp of the last line, formatted.
 * localtime_r() and strftime() cost more than the rest of a line, and a
 * storm logs thousands of lines within the same second.
 */
struct stderr_state {
	time_t sec;		/* when[] is for this second; -1: nothing yet */
	size_t when_len;
	char when[32];
};

static void
stderr_log(int32_t t, struct qb_log_callsite *cs, struct timespec *ts,
    const char *msg)
{
	struct stderr_state *st = qb_log_target_user_data_get(t);
	char line[1024];
	const char *name;
	size_t n, nlen, mlen;
	struct tm tm;

	if (st == NULL)
		return;
	if (ts->tv_sec != st->sec) {
		st->sec = ts->tv_sec;
		localtime_r(&st->sec, &tm);
		st->when_len = strftime(st->when, sizeof(st->when),
		    "%b %d %H:%M:%S", &tm);
	}
	/* Same text as fprintf("%s %-7s %s\n"), in one write. */
	name = prio_name(cs->priority);
	nlen = strlen(name);
	mlen = strlen(msg);
	if (st->when_len + 1 + 8 + mlen + 1 > sizeof(line)) {
		fprintf(stderr, "%s %-7s %s\n", st->when, name, msg);
		return;
	}
	memcpy(line, st->when, st->when_len);
	n = st->when_len;
	line[n++] = ' ';
	memcpy(line + n, name, nlen);
	n += nlen;
	/* %-7s and the space after it. */
	do
		line[n++] = ' ';
	while (nlen++ < 7);
	memcpy(line + n, msg, mlen);
	line[n + mlen] = '\n';
	fwrite(line, 1, n + mlen + 1, stderr);
}

static void
stderr_close(int32_t t)
{
	free(qb_log_target_user_data_get(t));
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
		struct stderr_state *st = calloc(1, sizeof(*st));

		if (st != NULL) {
			st->sec = -1;
			stderr_target = qb_log_custom_open(stderr_log, NULL,
			    stderr_close, st);
			if (stderr_target < 0)
				free(st);
		}
		if (stderr_target >= 0)
			qb_log_ctl(stderr_target, QB_LOG_CONF_ENABLED, QB_TRUE);
	}
	set_filters(o->debug);
}

/*
 * Without a syslog listener, glibc's syslog() tries to connect for every
 * line (socket, connect, close): in a container without /dev/log that was
 * a tenth of a decision storm's CPU, for lines nobody receives.  So the
 * syslog target is off while there is no socket, and on again once one
 * appears (the daemon calls this now and then).
 */
void
log_syslog_probe(void)
{
	struct stat sb;
	int present = stat(_PATH_LOG, &sb) == 0 && S_ISSOCK(sb.st_mode);
	int enabled = qb_log_ctl(QB_LOG_SYSLOG, QB_LOG_CONF_STATE_GET, 0) ==
	    QB_LOG_STATE_ENABLED;

	if (present != enabled)
		qb_log_ctl(QB_LOG_SYSLOG, QB_LOG_CONF_ENABLED,
		    present ? QB_TRUE : QB_FALSE);
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
