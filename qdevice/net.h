/*
 * The net model: the connection to qnetd and what the node tells it
 * (BEHAVIOUR.md §3.4-§3.7, PROTOCOL.md §6, §7, §10.2).  start.c drives it
 * with the events of the adapters; it asks the votequorum and heuristics
 * adapters for what it needs through their functions.
 */
#ifndef QDEVICE_NET_H
#define QDEVICE_NET_H

#include <stdint.h>
#include <uv.h>

#include "conf.h"
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
/* SIGHUP: which client certificate the next handshake sends (logged). */
void	net_tls_reload(struct qd_net *n);

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
time_t	net_connected_since(const struct qd_net *n);
time_t	net_echo_reply_time(const struct qd_net *n);	/* 0: none yet */
/* "Enabled", "Unsupported by QNetd", ... and their JSON ids. */
const char *net_kap_text(const struct qd_net *n);
const char *net_kap_id(const struct qd_net *n);
const char *net_state_text(const struct qd_net *n);
const char *net_state_id(const struct qd_net *n);

#endif
