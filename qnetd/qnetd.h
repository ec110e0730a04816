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
#include "persist.h"
#include "rate.h"
#include "server.h"

struct client;
struct metrics;
struct tls_server;

struct qnetd_events;

struct qnetd_settings {
	long long listen_backlog;
	long long max_client_send_buffers;
	long long max_client_send_size;
	long long max_client_receive_size;
	char *nss_db_dir;
	char *cert_nickname;
	char *tls_backend;		/* "nss" (3.0.3's) or "openssl" (tls.h) */
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
	/* Events (events.h) */
	char *event_hook;			/* NULL: none */
	long long event_hook_timeout;		/* ms */
	long long event_hook_rate;		/* starts per second */
	long long event_hook_queue;		/* events waiting */
	/* The HTTP endpoint (metrics.h); off without http_listen. */
	char *http_listen;			/* one address per line */
	long long http_max_connections;		/* per address */
	long long http_timeout;			/* s of silence */
	long long http_max_request_size;	/* bytes, headers included */
	/* Decision memory (memory.h, persist.h). */
	char *state_dir;			/* "": not saved */
	long long state_save_interval;		/* ms between saves, at most */
	long long memory_keep_time;		/* ms after the last client */
	long long memory_max_clusters;		/* idle records kept */
	long long tie_hold_time;		/* ms a remembered tie is held */
	int state_dir_shared;			/* load another host's file */
	char *enroll_state_dir;			/* token uses taken */
	long long enroll_cert_lifetime;		/* days, enrolment (enroll.c) */
	long long enroll_attempts_per_minute;	/* per address; 0 = off */
};

struct qnetd {
	struct qnetd_settings set;

	/* Command line */
	/* -l, in order; none = the wildcard */
	const char *listen_addrs[LISTEN_MAX_ADDRS];
	size_t nlisten_addrs;
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

	struct metrics *metrics;	/* metrics.c */

	struct decide_core core;	/* clusters, the ACK gate (decide.h) */
	struct qnetd_events *events;	/* NULL when stopped (events.h) */
	uv_timer_t gate_timer;		/* the core's gate timer (send.c) */
	struct persist persist;		/* saving the decision memory */
	int stopping;
	int lock_fd;			/* the pid lock file, -1 before it */
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
