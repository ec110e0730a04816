#include "log.h"

static void
set_filters(int debug)
{
	int level = debug ? LOG_DEBUG : LOG_INFO;

	qb_log_filter_ctl(QB_LOG_SYSLOG, QB_LOG_FILTER_CLEAR_ALL,
	    QB_LOG_FILTER_FILE, "*", LOG_DEBUG);
	qb_log_filter_ctl(QB_LOG_STDERR, QB_LOG_FILTER_CLEAR_ALL,
	    QB_LOG_FILTER_FILE, "*", LOG_DEBUG);
	qb_log_filter_ctl(QB_LOG_SYSLOG, QB_LOG_FILTER_ADD,
	    QB_LOG_FILTER_FILE, "*", level);
	qb_log_filter_ctl(QB_LOG_STDERR, QB_LOG_FILTER_ADD,
	    QB_LOG_FILTER_FILE, "*", level);
}

void
log_open(const char *ident, const struct log_opts *o)
{
	qb_log_init(ident, LOG_DAEMON, LOG_INFO);
	qb_log_ctl(QB_LOG_SYSLOG, QB_LOG_CONF_ENABLED, QB_TRUE);
	qb_log_ctl(QB_LOG_STDERR, QB_LOG_CONF_ENABLED,
	    o->foreground ? QB_TRUE : QB_FALSE);
	qb_log_ctl(QB_LOG_SYSLOG, QB_LOG_CONF_PRIORITY_BUMP,
	    o->priority_bump ? LOG_INFO - LOG_DEBUG : 0);
	qb_log_format_set(QB_LOG_SYSLOG, "%b");
	qb_log_format_set(QB_LOG_STDERR, "%t %-7p %b");
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
	qb_log_fini();
}
