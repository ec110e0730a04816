/* The corosync-qnetd instance: the one struct the daemon keeps. */
#ifndef QNETD_QNETD_H
#define QNETD_QNETD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <uv.h>

#include "budget.h"
#include "conn.h"
#include "core.h"
#include "daemon.h"
#include "dpd.h"
#include "enroll.h"
#include "gate.h"
#include "handshake.h"
#include "ipc.h"
#include "limitlog.h"
#include "listen.h"
#include "peer.h"
#include "rate.h"
#include "server.h"

struct client;
struct tls_server;

struct qnetd_settings {
	long long listen_backlog;
	long long max_client_send_buffers;
	long long max_client_send_size;
	long long max_client_receive_size;
	char *nss_db_dir;
	char *cert_nickname;
	int nss_db_auto_init;		/* create a missing database (nssdb.c) */
	long long heartbeat_interval_min;
	long long heartbeat_interval_max;
	int dpd_enabled;
	double dpd_interval_coefficient;
	char *lock_file;
	char *local_socket_file;
	struct ipc_settings ipc;
	int keep_active_partition_tie_breaker;
	/* Abuse limits (0 = off); see man/corosync-qnetd.8, LIMITS. */
	long long init_timeout;			/* ms until INIT is done */
	long long max_clients_per_address;
	long long max_clusters;
	long long max_client_send_bytes;	/* send queue, in bytes */
	long long max_client_message_rate;	/* messages per second */
	long long max_tls_handshakes;		/* in progress at once */
	double ack_grace_coefficient;		/* gate.h; 0 = off */
	long long max_cluster_cpu_per_second;	/* ms, budget.c */
	long long tls_handshake_stall_timeout;	/* ms until a slot is lost */
	char *enroll_state_dir;			/* token uses taken */
	long long enroll_cert_lifetime;		/* days, enrolment (enroll.c) */
	long long enroll_attempts_per_minute;	/* per address; 0 = off */
};

struct qnetd {
	struct qnetd_settings set;

	/* Command line */
	const char *listen_addr;	/* NULL = wildcard */
	long long port;
	int family;			/* 0, 4 or 6 */
	int tls_mode;			/* enum qn_tls */
	int client_cert_required;
	long long max_clients;		/* 0 = unlimited */
	long long fd_max_clients;	/* what the open files limit allows */
	int foreground;
	int debug;

	uv_loop_t *loop;
	struct conn_ctx conn_ctx;
	struct tls_server *tls;
	struct ipc_server ipc;
	struct daemon_signals signals;
	uv_timer_t syslog_probe;	/* syslog on or off: is /dev/log there? */

	/* The server's mechanisms, each touched only by its own file. */
	struct server server;		/* the clients (server.c) */
	struct listener listen;		/* listening, accept (listen.c) */
	struct peer_table peers;	/* per source address (peer.c) */
	struct limits limits;		/* limits' log lines (limitlog.c) */
	struct rate rate;		/* message rate (rate.c) */
	struct dpd dpd;			/* dead peers (dpd.c) */
	struct budget budget;		/* clusters over their CPU budget */
	struct hs_admission hs;		/* TLS handshakes (handshake.c) */
	struct enroll_state enroll;	/* enrolment (enroll.c) */

	/*
	 * What the modules below the server (handlers, send, handshake,
	 * budget) ask of it: filled in by server_init(), so that calls go
	 * one way, down, and these come back up through the table.
	 */
	const struct client_upcalls *up;

	struct decide_core core;	/* clusters, the ACK gate (decide.h) */
	uv_timer_t gate_timer;		/* the core's gate timer (send.c) */
	int stopping;
	int server_ready;		/* server_init() was called */
};

struct client_upcalls {
	/*
	 * Disconnect silently: I/O stops now, the algorithm re-decides for
	 * the rest of the cluster once the current event is done.  Safe from
	 * within any handler or algorithm callback, and more than once.
	 */
	void	(*disconnect)(struct client *c, const char *why);
	/*
	 * Start the TLS handshake of a client that sent STARTTLS, or queue
	 * it (reading paused) while max_tls_handshakes are in progress.
	 */
	void	(*starttls)(struct client *c);
	/* Pause or resume reading as the client's rate, handshake slot and
	 * cluster budget (budget.c) say. */
	void	(*read_pause_update)(struct client *c);
};

/* qnetd/defaults.c: zero *q, then the defaults the command line changes. */
void	qnetd_defaults(struct qnetd *q);

/* qnetd/status.c: the local socket's commands. */
enum ipc_result status_command(void *arg, char *line, struct buf *out);

#endif
