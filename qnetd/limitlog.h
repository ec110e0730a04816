/*
 * Log lines of the abuse limits: a connect flood must not become a log
 * flood, so each limit logs at most one line per interval and counts the
 * rest.
 */
#ifndef QNETD_LIMITLOG_H
#define QNETD_LIMITLOG_H

#include <stdarg.h>
#include <stdint.h>

struct qnetd;

/* The limits whose log lines are rate-limited. */
enum qnetd_limit {
	LIMIT_MAX_CLIENTS,
	LIMIT_OPEN_FILES,
	LIMIT_PER_ADDRESS,
	LIMIT_INIT_TIMEOUT,
	LIMIT_MAX_CLUSTERS,
	LIMIT_SEND_BUFFERS,
	LIMIT_SEND_BYTES,
	LIMIT_MESSAGE_RATE,
	LIMIT_TLS_HANDSHAKES,
	LIMIT_ACCEPT,		/* accept() failed: out of descriptors, memory */
	LIMIT_CLUSTER_CPU,
	LIMIT_ENROLL_ATTEMPTS,
	LIMIT_COUNT
};

/* At most one log line per limit per interval; the rest are counted. */
struct log_limit {
	uint64_t next;		/* loop time (ms) the next line may be logged */
	unsigned long suppressed;
};

/* The server's, in struct qnetd: one per limit. */
struct limits {
	struct log_limit log[LIMIT_COUNT];
};

/*
 * Log that a limit (with its value) was reached by the client at addr: a
 * warning naming the limit, at most one per limit every 10 s, with the
 * number of events left out since the previous one.
 */
void	limit_log(struct qnetd *q, enum qnetd_limit l, const char *addr,
	    long long value, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));
/* The same against a log_limit of the caller's (one per address). */
void	limit_vlog(struct qnetd *q, struct log_limit *ll, enum qnetd_limit l,
	    const char *addr, long long value, const char *fmt, va_list ap)
	    __attribute__((format(printf, 6, 0)));

#endif
