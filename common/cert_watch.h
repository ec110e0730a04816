/*
 * The daily certificate expiry check of both daemons (not in 3.0.3): a
 * timer, the log, and the certificate_expiring event, at most once a day
 * per certificate whatever asks for a check (start-up, the timer, SIGHUP).
 * The daemon says which certificates it holds (query) and how an event
 * goes out (emit); this module owns the timer and what was told when.
 */
#ifndef COMMON_CERT_WATCH_H
#define COMMON_CERT_WATCH_H

#include <stdint.h>
#include <uv.h>

#include "tls.h"

#define CERT_WATCH_DAY_MS	(24 * 3600 * 1000ULL)
#define CERT_WATCH_MAX		4	/* certificates a query may report */

struct cert_watch_ops {
	/* The certificates expiring now (tls_server_expiring & co). */
	size_t	(*query)(void *arg, struct tls_expiry *out, size_t max);
	/* One event; reason is tls_expiry_text(x). */
	void	(*emit)(void *arg, const struct tls_expiry *x,
		    const char *reason);
};

struct cert_watch;

/* Starts the daily timer (it keeps no loop alive); NULL: no memory. */
struct cert_watch *cert_watch_new(uv_loop_t *loop,
	    const struct cert_watch_ops *ops, void *arg);
/*
 * Check now: an event for each expiring certificate not reported in the
 * last day; with log, each is also logged (the timer logs; start-up and
 * reload paths that logged already pass 0).
 */
void	cert_watch_check(struct cert_watch *w, int log);
/* Stop the timer; w is freed once the loop closed it.  NULL: nothing. */
void	cert_watch_close(struct cert_watch *w);

#endif
