/*
 * The net model: the connection to qnetd and what the node tells it
 * (BEHAVIOUR.md §3.4-§3.7, PROTOCOL.md §6, §7, §10.2).  start.c drives it
 * with the events of the adapters; it asks the votequorum and heuristics
 * adapters for what it needs through their functions.
 */
#ifndef QDEVICE_NET_H
#define QDEVICE_NET_H

#include <stdint.h>
#include <time.h>
#include <uv.h>

#include "conf.h"
#include "counter.h"
#include "events.h"
#include "heur.h"
#include "policy.h"
#include "qd_settings.h"
#include "vq.h"

struct qd_net;

struct qd_net *net_new(void);
void	net_free(struct qd_net *n);

/*
 * Start-up step 12.  nodes (the configured node list) is taken over; set
 * and cfg must outlive the model.
 */
int	net_init(struct qd_net *n, uv_loop_t *loop,
	    const struct qdevice_settings *set, const struct qdevice_config *cfg,
	    struct nodelist *nodes, struct qd_vq *vq, struct qd_heur *heur,
	    const struct qd_events *ev);
/* Start-up step 17: the first connection attempt. */
void	net_start(struct qd_net *n);
/* Close what lives on the loop; net_finish() after the loop drained. */
void	net_close(struct qd_net *n);
void	net_finish(struct qd_net *n);

/* End the connection for reason r (scheduled; the first reason counts). */
void	net_disconnect(struct qd_net *n, enum disc_reason r);
/*
 * SIGHUP: which client certificate the next handshake sends (logged);
 * when it differs from the one the connection sent, reconnect with it as
 * soon as that cannot cost quorum (net_renew.c).
 */
void	net_tls_reload(struct qd_net *n);
/* "deferred" while a renewed certificate waits for a reconnect, "none". */
const char *net_cert_reconnect_id(const struct qd_net *n);

/* Events from corosync and the heuristics */
void	net_membership_changed(struct qd_net *n);
void	net_quorum_changed(struct qd_net *n);
void	net_expected_votes_changed(struct qd_net *n);
/* nl is taken over. */
void	net_nodelist_changed(struct qd_net *n, struct nodelist *nl);
void	net_heuristics_enabled(struct qd_net *n);
/* A heuristics result h for HEUR_FOR_* purposes; prev: the latest before. */
void	net_heur_result(struct qd_net *n, unsigned purposes, uint8_t prev,
	    uint8_t h);

/* For the status */
const struct nodelist *net_nodes(const struct qd_net *n);
/* Connected, and no disconnect pending. */
int	net_connected(const struct qd_net *n);
int	net_tls_active(const struct qd_net *n);
int	net_client_cert_sent(const struct qd_net *n);
int	net_tls_resumed(const struct qd_net *n);
time_t	net_connected_since(const struct qd_net *n);
time_t	net_echo_reply_time(const struct qd_net *n);	/* 0: none yet */
/* Connections to qnetd made (INIT accepted), and ended by reason group. */
const struct counter *net_connects(void);
const struct counter *net_disconnects(void);
/* "Enabled", "Unsupported by QNetd", ... and their JSON ids. */
const char *net_kap_text(const struct qd_net *n);
const char *net_kap_id(const struct qd_net *n);
const char *net_state_text(const struct qd_net *n);
/* The arbiter tried or in use (host list), its index and why (net_hosts.c). */
const struct net_host *net_hosts_current(const struct qd_net *n);
size_t	net_host_index(const struct qd_net *n);
/* 1 if the cluster may move to another host of the list (agreement on). */
int	net_hosts_failover(const struct qd_net *n);
const char *net_host_why_id(const struct qd_net *n);	/* "all_lost_previous" */
const char *net_host_why_text(const struct qd_net *n, char *buf, size_t len);
/*
 * With more than one host: agree with the other nodes on the arbiter,
 * reporting through send (cpg.c); -1 (logged): stay on the first.  The
 * group's views and reports go to net_hosts_view() and net_hosts_report().
 */
int	net_hosts_agree_start(struct qd_net *n,
	    int (*send)(void *arg, const struct agree_report *r), void *arg);
void	net_hosts_view(struct qd_net *n, const uint32_t *members, size_t count);
void	net_arbiter_report(struct qd_net *n, const struct agree_report *r);
/* The agreement (epoch, index, why), or NULL without one. */
const struct agree *net_hosts_agreement(const struct qd_net *n);
const char *net_state_id(const struct qd_net *n);
/* Why the vote is what it is (NULL id: no vote yet); since: its change. */
const char *net_vote_reason_id(const struct qd_net *n);
const char *net_vote_reason(const struct qd_net *n);
time_t	net_vote_since(const struct qd_net *n);
/* The latest change of the connection: "connected" or why it ended. */
const char *net_conn_reason(const struct qd_net *n);
time_t	net_conn_since(const struct qd_net *n);

#endif
