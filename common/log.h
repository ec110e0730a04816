/*
 * Logging through libqb: syslog (facility daemon) always, stderr too in the
 * foreground, in the 3.0.3 line format "Nov 22 03:31:55 debug   text".
 */
#ifndef QN_LOG_H
#define QN_LOG_H

#include <syslog.h>
#include <qb/qblog.h>

struct log_opts {
	int foreground;		/* also log to stderr */
	int debug;		/* emit debug messages */
	int priority_bump;	/* send debug messages to syslog as info */
};

void	log_open(const char *ident, const struct log_opts *o);
void	log_set_debug(int debug);
/* Syslog target on while /dev/log exists, off while not (no listener). */
void	log_syslog_probe(void);
void	log_close(void);

#define log_crit(...)	qb_log(LOG_CRIT, __VA_ARGS__)
#define log_err(...)	qb_log(LOG_ERR, __VA_ARGS__)
#define log_warn(...)	qb_log(LOG_WARNING, __VA_ARGS__)
#define log_notice(...)	qb_log(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)	qb_log(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	qb_log(LOG_DEBUG, __VA_ARGS__)

#endif
