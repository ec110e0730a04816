#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "cert_watch.h"
#include "client.h"
#include "cluster.h"
#include "events.h"
#include "log.h"
#include "names.h"
#include "notify.h"
#include "qnetd.h"
#include "sysd.h"
#include "tls.h"

/* One daemon per process, and systemd knows one status of it. */
static struct notify notify;
/*
 * A certificate nearing its end is logged at load, on SIGHUP and daily,
 * and is an event then, at most once a day (common/cert_watch.h).
 */
static struct cert_watch *expiry;

static size_t
expiry_query(void *arg, struct tls_expiry *out, size_t max)
{
	const struct qnetd *q = arg;

	return q->tls != NULL ? tls_server_expiring(q->tls, out, max) : 0;
}

static void
expiry_emit(void *arg, const struct tls_expiry *x, const char *reason)
{
	const struct qnetd *q = arg;

	(void)x;
	events_cert_expiring(q->events, reason);
}

static const struct cert_watch_ops expiry_ops = { expiry_query, expiry_emit };

void
sysd_status_line(const struct qnetd *q, char *buf, size_t len)
{
	const struct cluster *cl;
	const struct member *m;
	size_t clients = server_client_count(q), acked = 0;

	cluster_table_for_each(&q->core.clusters, cl)
		cluster_for_each(cl, m)
			if (m->last_ack_nack == QN_VOTE_ACK)
				acked++;
	snprintf(buf, len, "%zu cluster%s, %zu client%s, %zu without a vote",
	    q->core.clusters.count, q->core.clusters.count == 1 ? "" : "s",
	    clients, clients == 1 ? "" : "s",
	    clients > acked ? clients - acked : 0);
}

static void
status_cb(void *arg, char *buf, size_t len)
{
	sysd_status_line(arg, buf, len);
}

/* The addresses the listeners got, which -l may have named: "A, B and C". */
static void
bound_addresses(const struct qnetd *q, char *buf, size_t len)
{
	size_t n = listen_count(q), used = 0;
	char a[INET6_ADDRSTRLEN + 16];

	if (n == 0) {
		listen_address(q, 0, buf, len);
		return;
	}
	buf[0] = '\0';
	for (size_t i = 0; i < n && used < len; i++) {
		listen_address(q, i, a, sizeof(a));
		used += (size_t)snprintf(buf + used, len - used, "%s%s",
		    i == 0 ? "" : i + 1 == n ? " and " : ", ", a);
	}
}

static void
startup_line(const struct qnetd *q)
{
	char addr[LISTEN_MAX_ADDRS * (INET6_ADDRSTRLEN + 24)];
	const char *sd = q->set.state_dir;
	int has_sd = sd != NULL && sd[0] != '\0';

	bound_addresses(q, addr, sizeof(addr));
	log_notice("QNetd listening on %s, TLS %s%s, local socket %s, "
	    "%s%s", addr, tls_name((uint8_t)q->tls_mode),
	    q->tls_mode != QN_TLS_UNSUPPORTED && q->client_cert_required ?
	    " (client certificate required)" : "", q->set.local_socket_file,
	    has_sd ? "state directory " : "no state directory",
	    has_sd ? sd : "");
}

/*
 * SIGHUP.  There is no configuration file: the command line and -S stay
 * as they were.  What can change under a running daemon is re-read: the
 * syslog socket, and the server certificate in the NSS database.
 */
static void
on_sighup(uv_signal_t *h, int signum)
{
	struct qnetd *q = h->data;

	(void)signum;
	if (q->stopping)
		return;
	notify_reloading(&notify);
	log_notice("SIGHUP: reloading");
	log_syslog_probe();
	if (q->tls != NULL) {
		if (tls_server_reload(q->tls, q->set.cert_nickname) == 0)
			log_notice("Reloaded certificate '%s' from %s",
			    q->set.cert_nickname, q->set.nss_db_dir);
		else
			log_err("NSS error (%s): can't reload certificate "
			    "'%s'; keeping the one loaded", tls_error(),
			    q->set.cert_nickname);
		/* Reloading logged it. */
		if (expiry != NULL)
			cert_watch_check(expiry, 0);
	}
	notify_ready(&notify);
}

void
sysd_start(struct qnetd *q)
{
	startup_line(q);
	daemon_sighup_start(&q->signals, q->loop, on_sighup, q);
	/* Loading the certificate logged it. */
	if (q->tls != NULL &&
	    (expiry = cert_watch_new(q->loop, &expiry_ops, q)) != NULL)
		cert_watch_check(expiry, 0);
	notify_start(&notify, q->loop, status_cb, q);
	notify_ready(&notify);
}

void
sysd_stop(struct qnetd *q)
{
	(void)q;
	cert_watch_close(expiry);
	expiry = NULL;
	notify_stop(&notify);
}
