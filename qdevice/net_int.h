/*
 * Inside the net model: its state, shared by its five files, each owning
 * its part of it.  Calls go one way:
 *
 *   net.c      events, the outcome of a disconnect, life cycle, status
 *    net_msg.c   the conversation with qnetd: PREINIT, replies, votes
 *     net_out.c    what the node sends: lists, echo; the vote it casts
 *    net_renew.c a renewed client certificate: reconnect once safe
 *    net_hosts.c which arbiter of the host list; back to the first
 *      net_link.c    the connection: resolve, connect, send, disconnect
 *
 * net_link.c reports up only through struct net_link_cb, which net.c
 * fills at init.
 */
#ifndef QDEVICE_NET_INT_H
#define QDEVICE_NET_INT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <uv.h>

#include "conn.h"
#include "net.h"

struct msg;
struct tls_client;
struct cert_watch;

/* Reason ids of a vote (JSON "reason_id"); qnetd sends none on the wire. */
#define VOTE_WHY_QNETD			"qnetd"
#define VOTE_WHY_HEURISTICS_FAILED	"heuristics_failed"
#define VOTE_WHY_CONNECTION_LOST	"connection_lost"
#define VOTE_WHY_WAITING		"waiting_for_qnetd"
#define VOTE_WHY_EVENT_DISCONNECTED	"event_while_disconnected"

enum net_state {
	NET_WAITING_CONNECT,		/* resolving, TCP connect, or failed */
	NET_WAITING_PREINIT_REPLY,
	NET_WAITING_INIT_REPLY,		/* also: waiting for connect heuristics */
	NET_CONNECTED,
	NET_DISCONNECTED		/* until the reconnect timer fires */
};

struct host_probe;

/* net_hosts.c */
struct net_hosts {
	size_t cur;			/* index in cfg->net.hosts */
	uv_timer_t hold;		/* host_return_hold on another host */
	struct host_probe *probe;	/* TCP connect to the first, or NULL */
	int up;
	/* The host list's agreement; NULL with one host or without CPG. */
	struct agree *ag;
	int	(*send)(void *arg, const struct agree_report *r);
	void *send_arg;
	struct agree_report last;	/* the last report sent */
	int sent;
	int lost;			/* the agreed host failed */
	int first_held;			/* the first answered after the hold */
	int switching;			/* our own disconnect for a switch */
	uint64_t grace_until;		/* uv_now(): no attempt before */
	uv_timer_t resend;		/* after a failed report */
};

/* What the connection reports to the model. */
struct net_link_cb {
	void	(*connected)(struct qd_net *n);
	void	(*message)(struct qd_net *n, const uint8_t *data, size_t len);
	/* A scheduled disconnect runs; progressed: TCP connect got through. */
	void	(*disconnected)(struct qd_net *n, enum disc_reason r,
		    int progressed);
};

/* net_link.c */
struct net_link {
	const struct net_link_cb *cb;
	struct conn_ctx conn_ctx;
	struct conn *conn;		/* NULL when none */
	uv_getaddrinfo_t *resolving;	/* outstanding lookup */
	struct addrinfo *addrs, *next_addr;
	int tcp_connected;		/* this attempt got past TCP connect */
	int connect_failed;		/* every address failed */
	uv_timer_t connect_timer;
	uv_idle_t disconnect_idle;	/* runs a scheduled disconnect */
	int disc_pending;
	enum disc_reason disc_reason;
	const struct net_host *host;	/* this attempt's (net_hosts.c) */
	struct tls_client *tls;
	struct cert_watch *expiry;	/* the client certificate's end */
	int tls_active;
	size_t max_receive, max_send;
	int nss_up, ctx_up, handles_up;
};

struct qd_net {
	/* Given at init */
	uv_loop_t *loop;
	const struct qdevice_settings *set;
	const struct qdevice_config *cfg;
	struct qd_vq *vq;
	struct qd_heur *heur;
	const struct qd_events *ev;

	struct net_link link;
	struct net_hosts hosts;

	/* net_out.c */
	struct nodelist nodes;		/* configured; net.c replaces it */
	uint32_t seq;			/* request counter, never reset */
	struct qn_ring_id sent_ring_id;	/* in INIT or the last membership */
	uv_timer_t echo_timer;
	uint32_t echo_sent, echo_answered;

	/* net.c, net_msg.c: where the conversation is */
	enum net_state state;
	uint32_t preinit_seq, init_seq;
	int init_reply_ok;		/* waiting for connect heuristics */
	int server_known;		/* an INIT_REPLY was accepted once */
	int server_heuristics;		/* server lists option 22 */
	int server_kap;			/* server lists option 23 */
	int membership_pending;		/* membership list waits for heuristics */
	int quorum_pending;		/* quorum list goes after it */
	time_t connected_since;
	time_t echo_reply_time;		/* 0: none yet */

	/* net_out.c: why the vote is what it is (logged when it changes) */
	const char *vote_reason_id;
	char vote_reason[160];
	time_t vote_since;

	/* net.c: the latest change of the connection, and why */
	char conn_reason[128];
	time_t conn_since;
	uv_timer_t reconnect_timer;
	uint64_t rng;			/* reconnect jitter */

	/* net_renew.c: a renewed certificate waits for a safe reconnect */
	int cert_pending;
	int cert_deferred_logged;
	int cert_timer_up;
	uv_timer_t cert_timer;		/* re-check every cast-vote interval */
};

static inline enum phase
net_phase(const struct qd_net *n)
{
	return qd_phase(n->ev);
}

/* net_link.c */
int	net_link_init(struct qd_net *n, const struct net_link_cb *cb);
/* One connection attempt to h: resolve, connect each address in turn. */
void	net_link_connect(struct qd_net *n, const struct net_host *h);
/* A message that cannot be queued ends the connection: -1. */
int	net_send(struct qd_net *n, struct msg *m);
int	net_link_starttls(struct qd_net *n);
void	net_link_set_limits(struct qd_net *n, size_t max_receive,
	    size_t max_send);
void	net_link_stop_connect_timer(struct qd_net *n);
void	net_link_drop(struct qd_net *n);
/* SIGHUP: look the client certificate up again; -1 when there is none. */
int	net_link_tls_reload(struct qd_net *n);
/*
 * 1 when the client certificate the next handshake sends differs from
 * the one this TLS connection sent, 0 when not, -1 without one.
 */
int	net_link_cert_changed(const struct qd_net *n);
void	net_link_close(struct qd_net *n);
void	net_link_finish(struct qd_net *n);

/* net_hosts.c (below net.c, above net_link.c) */
void	net_hosts_init(struct qd_net *n);
void	net_hosts_close(struct qd_net *n);
/* Connected (INIT done, lists sent): on another host, the hold starts. */
void	net_hosts_connected(struct qd_net *n);
/* Disconnected for r, reconnecting (the agreed host lost, unless ours). */
void	net_hosts_disconnected(struct qd_net *n, enum disc_reason r);
/* ms before the next attempt may start; UINT64_MAX: until confirmed. */
uint64_t net_hosts_connect_wait(struct qd_net *n);
/* The configured node list changed (n->nodes). */
void	net_hosts_nodes_changed(struct qd_net *n);
/* A delivered report; 1 when the agreement just became confirmed. */
int	net_hosts_report(struct qd_net *n, const struct agree_report *r);

/* net_renew.c (below net.c, above net_link.c) */
void	net_renew_init(struct qd_net *n);
void	net_renew_close(struct qd_net *n);
/* A quorum or membership notification: reconnect now if it became safe. */
void	net_renew_recheck(struct qd_net *n);
/* A new connection attempt starts: it sends the certificate of today. */
void	net_renew_attempt(struct qd_net *n);

/* net_out.c */
void	net_out_init(struct qd_net *n);
void	net_out_close(struct qd_net *n);
uint32_t net_next_seq(struct qd_net *n);
void	net_fill_ring_id(struct qd_net *n, struct msg *m);
void	net_log_nodes(const struct qn_node *nodes, size_t count);
/*
 * Apply a vote (QN_VOTE_UNDEFINED, QN_VOTE_NO_CHANGE: none) for a reason:
 * its id (VOTE_WHY_*) and a sentence for the log and the JSON status.  A
 * change of vote is logged at NOTICE with its reason.  A failed poll ends
 * the daemon.
 */
void	net_set_vote(struct qd_net *n, uint8_t vote, const char *why_id,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* ffsplit: every node and the device have exactly one vote, or -1. */
int	net_ffsplit_check_votes(struct qd_net *n);
int	net_send_config_list(struct qd_net *n, uint8_t type);
int	net_send_membership_list(struct qd_net *n, uint8_t heuristics);
int	net_send_quorum_list(struct qd_net *n);
int	net_send_heuristics_change(struct qd_net *n, uint8_t heuristics);
void	net_connected_burst(struct qd_net *n, uint8_t heuristics);
void	net_start_echo(struct qd_net *n);
void	net_stop_echo(struct qd_net *n);

/* net_msg.c */
void	net_msg_connected(struct qd_net *n);
void	net_msg_received(struct qd_net *n, const uint8_t *data, size_t len);

#endif
