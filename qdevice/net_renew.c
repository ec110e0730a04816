/*
 * A renewed client certificate (SIGHUP).  The connection up sent the old
 * one, so the node reconnects to present the new one, but only when
 * dropping the connection cannot cost this node quorum
 * (policy_cert_reconnect_safe(), on what votequorum counts right now).
 * Until then the reconnect is deferred and checked again at every quorum
 * or membership notification and every cast-vote interval (not during a
 * membership change: its counts are judged at the quorum notification
 * that ends it); a connection
 * attempt for any other reason sends the new certificate and ends the
 * wait.  The reconnect itself is an ordinary disconnect
 * (DISC_CLIENT_CERT_RENEWED), after which net.c reconnects at once.
 */
#include "config.h"

#include <inttypes.h>

#include "log.h"
#include "names.h"
#include "net_int.h"

static void
clear(struct qd_net *n)
{
	n->cert_pending = 0;
	n->cert_deferred_logged = 0;
	if (n->cert_timer_up)
		uv_timer_stop(&n->cert_timer);
}

/*
 * 1 when dropping the connection now cannot cost this node quorum, 0 when
 * quorum depends on the Qdevice vote, -1 when votequorum cannot tell yet:
 * during a membership change (from its node list to the quorum
 * notification that ends it) the counts may still be the old ones.
 */
static int
safe_now(struct qd_net *n)
{
	struct qd_vq_votes v;
	struct policy_quorum q;

	if (qd_vq_view(n->vq)->sync_in_progress) {
		log_debug("Renewed client certificate: the membership is "
		    "changing, checked again at its quorum notification");
		return -1;
	}
	if (qd_vq_local_votes(n->vq, &v) != 0) {
		log_debug("Can't read votequorum: the reconnect with the "
		    "renewed client certificate waits");
		return -1;
	}
	q.vote = qd_vq_vote(n->vq);
	q.vote_on_disconnect = policy_vote_on_disconnect(n->cfg->net.algorithm,
	    v.quorate, n->cfg->wait_for_all);
	q.quorate = v.quorate;
	q.total_votes = v.total_votes;
	q.qdevice_votes = v.qdevice_votes;
	q.quorum = v.quorum;
	log_debug("Renewed client certificate: vote %s, quorate %d, votes %"
	    PRIu32 " (Qdevice %" PRIu32 "), quorum %" PRIu32,
	    vote_name(q.vote), q.quorate, q.total_votes, q.qdevice_votes,
	    q.quorum);
	return policy_cert_reconnect_safe(&q);
}

static void	tick(uv_timer_t *t);

static void
try_now(struct qd_net *n)
{
	int safe;

	if (!n->cert_pending || net_phase(n) != PHASE_RUNNING)
		return;
	if (net_link_cert_changed(n) != 1) {
		/* Changed back, or the connection is going anyway. */
		log_info("Client certificate: no reconnect needed any more");
		clear(n);
		return;
	}
	if ((safe = safe_now(n)) != 1) {
		if (safe == 0 && !n->cert_deferred_logged) {
			log_notice("Client certificate changed; reconnect "
			    "deferred while this node's quorum depends on the "
			    "Qdevice vote");
			n->cert_deferred_logged = 1;
		}
		if (n->cert_timer_up &&
		    !uv_is_active((uv_handle_t *)&n->cert_timer))
			uv_timer_start(&n->cert_timer, tick,
			    n->cfg->net.cast_vote_interval,
			    n->cfg->net.cast_vote_interval);
		return;
	}
	clear(n);
	log_notice("Reconnecting to qnetd with the renewed client certificate");
	net_disconnect(n, DISC_CLIENT_CERT_RENEWED);
}

static void
tick(uv_timer_t *t)
{
	try_now(t->data);
}

void
net_tls_reload(struct qd_net *n)
{
	int changed;

	if (n->link.tls == NULL || net_link_tls_reload(n) != 0)
		return;
	changed = net_link_cert_changed(n);
	if (changed < 0) {
		log_info("Not connected to qnetd over TLS: the next connection "
		    "sends the client certificate");
		return;
	}
	if (changed == 0) {
		log_info("Client certificate unchanged: the connection stays");
		clear(n);
		return;
	}
	n->cert_pending = 1;
	try_now(n);
}

void
net_renew_recheck(struct qd_net *n)
{
	try_now(n);
}

void
net_renew_attempt(struct qd_net *n)
{
	if (!n->cert_pending)
		return;
	log_info("The new connection to qnetd sends the renewed client "
	    "certificate");
	clear(n);
}

const char *
net_cert_reconnect_id(const struct qd_net *n)
{
	return n->cert_pending ? "deferred" : "none";
}

void
net_renew_init(struct qd_net *n)
{
	uv_timer_init(n->loop, &n->cert_timer);
	n->cert_timer.data = n;
	n->cert_timer_up = 1;
}

void
net_renew_close(struct qd_net *n)
{
	clear(n);
	if (n->cert_timer_up &&
	    !uv_is_closing((uv_handle_t *)&n->cert_timer))
		uv_close((uv_handle_t *)&n->cert_timer, NULL);
	n->cert_timer_up = 0;
}
