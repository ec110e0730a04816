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
#include "handshake.h"
#include "ipc.h"

struct client;
struct tls_server;

struct qnetd_settings {
	long long listen_backlog;
	long long max_client_send_buffers;
	long long max_client_send_size;
	long long max_client_receive_size;
	char *nss_db_dir;
	char *cert_nickname;
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
};

/* The limits whose log lines are rate-limited (server.c, limit_log). */
enum qnetd_limit {
	LIMIT_MAX_CLIENTS,
	LIMIT_OPEN_FILES,
	LIMIT_PER_ADDRESS,
	LIMIT_INIT_TIMEOUT,
	LIMIT_MAX_CLUSTERS,
	LIMIT_SEND_BUFFERS,
	LIMIT_SEND_BYTES,
	LIMIT_MESSAGE_RATE,
	LIMIT_TLS_HANDSHAKES,
	LIMIT_ACCEPT,		/* accept() failed: out of descriptors, memory */
	LIMIT_CLUSTER_CPU,
	LIMIT_COUNT
};

/* At most one log line per limit per interval; the rest are counted. */
struct log_limit {
	uint64_t next;		/* loop time (ms) the next line may be logged */
	unsigned long suppressed;
};

/* Clients in order of arrival (server.c). */
TAILQ_HEAD(client_queue, client);

/* Connections per source address (server.c). */
struct peer;
struct peer_table {
	struct peer **buckets;
	size_t nbuckets;	/* power of two, 0 until the first client */
	size_t count;
	uint64_t seed;		/* so a client can't choose colliding addresses */
};

/*
 * Clients with the same dead-peer timeout, in the order of their last
 * message, and one timer for the first (server.c).
 */
#define DPD_LISTS	8
struct dpd_list {
	uint64_t ms;			/* the timeout; valid while not empty */
	struct client_queue clients;
	uv_timer_t timer;
};

/* Accepted connections waiting to be set up (server.c). */
struct accepted_fd {
	int fd;
	struct sockaddr_storage ss;
};
struct accepted {
	struct accepted_fd *v;
	size_t n, cap;
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
	int listen_fd;
	uv_poll_t listen_poll;
	unsigned io_since_accept;	/* client events since the last accept */
	struct accepted accepted;	/* accepted, set up after the batch */
	struct dpd_list dpd[DPD_LISTS];
	uv_check_t admit_check;		/* ... by this */
	struct ipc_server ipc;
	struct daemon_signals signals;
	uv_timer_t syslog_probe;	/* syslog on or off: is /dev/log there? */
	uv_idle_t reaper;		/* runs deferred disconnects */
	uv_timer_t listen_retry;	/* accept paused: out of descriptors */
	uv_timer_t throttle_timer;	/* resumes rate-limited clients */
	struct budget budget;		/* clusters over their CPU budget */
	struct client *throttled;	/* clients whose reading is paused */
	struct hs_admission hs;		/* TLS handshakes (handshake.c) */
	struct peer_table peers;
	struct log_limit limit_log[LIMIT_COUNT];
	int listen_watch_fd;		/* netlink: the listen address's fate */
	uv_poll_t listen_watch;
	int listen_watch_family;	/* AF_INET, AF_INET6 */
	uint8_t listen_watch_addr[16];	/* the address listened on */
	int listen_addr_gone;

	struct decide_core core;	/* clusters, the ACK gate (decide.h) */
	uv_timer_t gate_timer;		/* the core's gate timer (send.c) */
	struct client *clients;		/* every TCP client, INIT or not */
	size_t client_count;
	struct client *doomed;		/* disconnects waiting for the reaper */
	int stopping;
	int server_ready;		/* server_init() was called */
};

/* qnetd/defaults.c: zero *q, then the defaults the command line changes. */
void	qnetd_defaults(struct qnetd *q);

/* qnetd/server.c */
/*
 * The server's handles (reaper, timers), without listening: enough for
 * server_add_client() (the fuzzer).  server_start() calls it and listens.
 */
void	server_init(struct qnetd *q);
int	server_start(struct qnetd *q);
void	server_stop(struct qnetd *q);
/* After the loop ended: what the server still holds. */
void	server_free(struct qnetd *q);

/* qnetd/status.c: the local socket's commands. */
enum ipc_result status_command(void *arg, char *line, struct buf *out);

#endif
