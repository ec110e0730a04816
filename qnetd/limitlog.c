#include <stdarg.h>
#include <stdio.h>

#include "limitlog.h"
#include "log.h"
#include "qnetd.h"

/* A limit's log line at most this often; the rest are counted. */
#define LIMIT_LOG_INTERVAL_MS	10000

static const char *const limit_names[LIMIT_COUNT] = {
	[LIMIT_MAX_CLIENTS] = "max_clients (-m)",
	[LIMIT_OPEN_FILES] = "open files (RLIMIT_NOFILE)",
	[LIMIT_PER_ADDRESS] = "max_clients_per_address",
	[LIMIT_INIT_TIMEOUT] = "init_timeout",
	[LIMIT_MAX_CLUSTERS] = "max_clusters",
	[LIMIT_SEND_BUFFERS] = "max_client_send_buffers",
	[LIMIT_SEND_BYTES] = "max_client_send_bytes",
	[LIMIT_MESSAGE_RATE] = "max_client_message_rate",
	[LIMIT_CLUSTER_CPU] = "max_cluster_cpu_per_second",
	[LIMIT_ENROLL_ATTEMPTS] = "enroll_attempts_per_minute",
	[LIMIT_TLS_HANDSHAKES] = "max_tls_handshakes",
	[LIMIT_ACCEPT] = "accept",
};

void
limit_vlog(struct qnetd *q, struct log_limit *ll, enum qnetd_limit l,
    const char *addr, long long value, const char *fmt, va_list ap)
{
	uint64_t now = uv_now(q->loop);
	char what[160], more[64] = "";

	if (now < ll->next) {
		ll->suppressed++;
		return;
	}
	ll->next = now + LIMIT_LOG_INTERVAL_MS;
	vsnprintf(what, sizeof(what), fmt, ap);
	if (ll->suppressed != 0)
		snprintf(more, sizeof(more), " (%lu more since the last report)",
		    ll->suppressed);
	ll->suppressed = 0;
	log_warn("Limit %s = %lld reached by client %s: %s%s", limit_names[l],
	    value, addr, what, more);
}

void
limit_log(struct qnetd *q, enum qnetd_limit l, const char *addr,
    long long value, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	limit_vlog(q, &q->limits.log[l], l, addr, value, fmt, ap);
	va_end(ap);
}
