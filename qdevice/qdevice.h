/*
 * The corosync-qdevice instance: the one struct the daemon keeps, and the
 * calls its modules make into each other.
 *
 *   main.c        command line, start-up order, shutdown
 *   cmap.c        cmap: configuration, node list, tracking of changes
 *   votequorum.c  votequorum: device registration, notifications, polls
 *   heur.c        when heuristics run and where their results go
 *   net.c         the net model: connection to qnetd, state machine
 *   net_msg.c     the net model: messages received from qnetd
 *   status.c      the local socket's commands (corosync-qdevice-tool)
 *   cast.c, config.c, policy.c   (libqdevice.a, unit-tested)
 */
#ifndef QDEVICE_QDEVICE_H
#define QDEVICE_QDEVICE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <uv.h>
#include <corosync/cmap.h>
#include <corosync/votequorum.h>

#include "buf.h"
#include "cast.h"
#include "conf.h"
#include "conn.h"
#include "daemon.h"
#include "heuristics.h"
#include "ipc.h"
#include "policy.h"
#include "proto.h"

struct msg;
struct tls_client;

#define PROG	"corosync-qdevice"

enum master_wins {
	MASTER_WINS_MODEL,	/* as the model asks: no model ever does */
	MASTER_WINS_FORCE_OFF,
	MASTER_WINS_FORCE_ON
};

/* -S settings (BEHAVIOUR.md §5.2). */
struct qdevice_settings {
	char *lock_file;
	char *local_socket_file;
	struct ipc_settings ipc;
	long long max_cs_try_again;
	char *votequorum_device_name;
	char *master_wins;		/* text; checked into master_wins_mode */
	long long heuristics_ipc_max_send_buffers;
	long long heuristics_ipc_max_send_receive_size;
	long long heuristics_min_timeout;
	long long heuristics_max_timeout;
	long long heuristics_min_interval;
	long long heuristics_max_interval;
	long long heuristics_max_execs;
	int heuristics_use_execvp;
	long long heuristics_max_processes;
	long long heuristics_kill_list_interval;
	char *net_nss_db_dir;
	long long net_initial_msg_receive_size;
	long long net_initial_msg_send_size;
	long long net_min_msg_send_size;
	long long net_max_msg_receive_size;
	long long net_max_send_buffers;
	char *net_nss_qnetd_cn;
	char *net_nss_client_cert_nickname;
	long long net_heartbeat_interval_min;
	long long net_heartbeat_interval_max;
	long long net_min_connect_timeout;
	long long net_max_connect_timeout;
	int net_test_algorithm_enabled;
	enum master_wins master_wins_mode;
};

/* cs.c: a corosync library's descriptor on the loop */
struct qd_cs_poll {
	int fd;
	uv_poll_t poll;		/* data: this, NULL until started */
	int polling;
	struct qdevice *q;
	const char *lib;	/* "cmap": for the log */
	cs_error_t (*dispatch)(struct qdevice *q);
};

/* cmap.c */
struct qd_cmap {
	cmap_handle_t handle;
	int initialized;
	struct kv kv;			/* config.c reads through this */
	struct qd_cs_poll cs;
	cmap_track_handle_t track[4];
	size_t tracks;
	int reload_in_progress;
	/* Changes seen during one dispatch, handled after it. */
	int nodelist_changed, logging_changed, heuristics_changed;
};

/* votequorum.c */
struct qd_vq {
	votequorum_handle_t handle;
	int initialized;
	int registered;
	struct qd_cs_poll cs;
	/* Latest node-list notification: polls carry this ring id. */
	int has_ring_id;
	struct qn_ring_id ring_id;
	uint32_t *members;
	size_t member_count;
	/* Latest quorum notification, node id 0 entries included. */
	int has_quorum;
	int quorate;
	votequorum_node_t *quorum_nodes;
	size_t quorum_count;
	uint32_t expected_votes;
	/* Between a node-list and the following quorum notification. */
	int sync_in_progress;
	time_t last_poll;		/* 0: never */
	int last_poll_cast_vote;
};

/* Purposes of a heuristics run; a newer run takes over older ones. */
enum {
	HEUR_FOR_MEMBERSHIP = 1,
	HEUR_FOR_CONNECT = 2,
	HEUR_FOR_REGULAR = 4
};

/* heur.c */
struct qd_heur {
	struct heuristics *worker;
	struct heur_config cfg;
	int configured;
	uint32_t pending_seq;		/* 0: no run outstanding */
	unsigned pending_for;		/* HEUR_FOR_* */
	uint32_t pending_timeout;
	uv_timer_t regular_timer;
	/* enum qn_heuristics values */
	uint8_t latest, regular, membership, connect;
};

enum net_state {
	NET_WAITING_CONNECT,		/* resolving, TCP connect, or failed */
	NET_WAITING_PREINIT_REPLY,
	NET_WAITING_INIT_REPLY,		/* also: waiting for connect heuristics */
	NET_CONNECTED,
	NET_DISCONNECTED		/* until the reconnect timer fires */
};

/* net.c, net_msg.c */
struct qd_net {
	enum net_state state;
	struct conn_ctx conn_ctx;
	struct conn *conn;		/* NULL when none */
	uv_getaddrinfo_t *resolving;	/* outstanding lookup */
	struct addrinfo *addrs, *next_addr;
	int tcp_connected;		/* this attempt got past TCP connect */
	int connect_failed;		/* every address failed */
	uv_timer_t connect_timer;
	uv_timer_t echo_timer;
	uv_timer_t reconnect_timer;
	uv_idle_t disconnect_idle;	/* runs a scheduled disconnect */
	struct tls_client *tls;
	struct cast cast;

	uint32_t seq;			/* request counter, never reset */
	uint32_t preinit_seq, init_seq;
	uint32_t echo_sent, echo_answered;
	struct qn_ring_id sent_ring_id;	/* in INIT or the last membership */
	size_t max_receive, max_send;

	int init_reply_ok;		/* waiting for connect heuristics */
	int server_known;		/* an INIT_REPLY was accepted once */
	int server_heuristics;		/* server lists option 22 */
	int server_kap;			/* server lists option 23 */
	int tls_active;
	int membership_pending;		/* membership list waits for heuristics */
	int quorum_pending;		/* quorum list goes after it */
	time_t connected_since;
	time_t echo_reply_time;		/* 0: none yet */

	int disc_pending;
	enum disc_reason disc_reason;
	uint64_t rng;			/* reconnect jitter */
	int nss_up, ctx_up, handles_up;
};

enum phase {
	PHASE_WAIT_RING_ID,		/* start-up step 14 */
	PHASE_WAIT_HEURISTICS,		/* start-up step 16 */
	PHASE_RUNNING,
	PHASE_EXITING
};

struct qdevice {
	struct qdevice_settings set;
	struct config_limits limits;
	int foreground;
	int debug;			/* -d count */
	int config_debug;		/* from logging.debug */

	uv_loop_t *loop;
	enum phase phase;
	uv_timer_t startup_timer;
	struct daemon_signals signals;
	struct ipc_server ipc;
	int exit_status;
	int unregister;			/* clean exit: unregister the device */

	struct qdevice_config cfg;
	struct nodelist nodes;

	struct qd_cmap cmap;
	struct qd_vq vq;
	struct qd_heur heur;
	struct qd_net net;
};

/* main.c: end the daemon (the loop stops; cleanup follows in main). */
void	qdevice_exit(struct qdevice *q, int status);
void	qdevice_startup_ring_id(struct qdevice *q);
void	qdevice_startup_heuristics(struct qdevice *q);
void	qdevice_apply_debug(struct qdevice *q);

/* cs.c */
/* Retry a corosync call on CS_ERR_TRY_AGAIN (1 s apart, start-up only). */
int	qd_cs_retry(const struct qdevice *q, cs_error_t (*call)(void *),
	    void *arg, cs_error_t *res);
/*
 * Watch p->fd, which the library's fd_get (its result in fd_get) filled
 * in, and call dispatch when it is readable.  A failed dispatch stops the
 * watch and drops the qnetd connection.  Logs why not and returns -1.
 */
int	qd_cs_poll_start(struct qdevice *q, struct qd_cs_poll *p,
	    const char *lib, cs_error_t fd_get,
	    cs_error_t (*dispatch)(struct qdevice *q));
void	qd_cs_poll_pause(struct qd_cs_poll *p, int paused);
void	qd_cs_poll_close(struct qd_cs_poll *p);

/* cmap.c */
int	qd_cmap_init(struct qdevice *q, cs_error_t *e);
const struct kv *qd_cmap_kv(struct qdevice *q);
int	qd_cmap_track(struct qdevice *q);
void	qd_cmap_untrack(struct qdevice *q);
void	qd_cmap_pause(struct qdevice *q, int paused);
void	qd_cmap_close(struct qdevice *q);
void	qd_cmap_finalize(struct qdevice *q);

/* votequorum.c */
int	qd_vq_init(struct qdevice *q);
int	qd_vq_master_wins(struct qdevice *q);
int	qd_vq_start(struct qdevice *q);
int	qd_vq_poll(struct qdevice *q, int cast_vote);
int	qd_vq_node_votes(struct qdevice *q, uint32_t node_id, uint32_t *votes,
	    uint32_t *qdevice_votes);
void	qd_vq_close(struct qdevice *q);
void	qd_vq_finalize(struct qdevice *q);

/* heur.c */
int	qd_heur_start(struct qdevice *q, const struct heur_settings *hs);
int	qd_heur_configure(struct qdevice *q, struct heur_config *cfg);
void	qd_heur_run(struct qdevice *q, unsigned purpose, uint32_t timeout);
void	qd_heur_schedule_regular(struct qdevice *q);
void	qd_heur_stop_regular(struct qdevice *q);
int	qd_heur_enabled(const struct qdevice *q);
void	qd_heur_close(struct qdevice *q);
void	qd_heur_finish(struct qdevice *q);

/* net.c: the model */
int	net_init(struct qdevice *q);
void	net_start(struct qdevice *q);
void	net_close(struct qdevice *q);
void	net_finish(struct qdevice *q);
void	net_disconnect(struct qdevice *q, enum disc_reason r);
int	net_send(struct qdevice *q, struct msg *m);
uint32_t net_next_seq(struct qdevice *q);
void	net_set_vote(struct qdevice *q, uint8_t vote);
void	net_connected_burst(struct qdevice *q, uint8_t heuristics);
void	net_start_echo(struct qdevice *q);
void	net_fill_ring_id(struct qdevice *q, struct msg *m);
/* Events from corosync and the heuristics */
void	net_membership_changed(struct qdevice *q);
void	net_quorum_changed(struct qdevice *q);
void	net_expected_votes_changed(struct qdevice *q);
void	net_nodelist_changed(struct qdevice *q, struct nodelist *nl);
void	net_heuristics_enabled(struct qdevice *q);
/* A heuristics result for HEUR_FOR_* purposes; q->heur.latest is the previous. */
void	net_heur_result(struct qdevice *q, unsigned purposes, uint8_t h);
/* net_msg.c */
void	net_msg_received(struct qdevice *q, const uint8_t *data, size_t len);
/* "Enabled", "Unsupported by QNetd", ... for the status. */
const char *net_kap_text(const struct qdevice *q);
const char *net_kap_id(const struct qdevice *q);
const char *net_state_text(const struct qdevice *q);
const char *net_state_id(const struct qdevice *q);

/* status.c */
enum ipc_result status_command(void *arg, char *line, struct buf *out);

#endif
