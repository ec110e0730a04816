/* The corosync-qnetd instance: the one struct the daemon keeps. */
#ifndef QNETD_QNETD_H
#define QNETD_QNETD_H

#include <stddef.h>
#include <uv.h>

#include "cluster.h"
#include "conn.h"
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
	long long local_socket_backlog;
	long long ipc_max_clients;
	long long ipc_max_receive_size;
	long long ipc_max_send_size;
	int keep_active_partition_tie_breaker;
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
	int foreground;
	int debug;

	uv_loop_t *loop;
	struct conn_ctx conn_ctx;
	struct tls_server *tls;
	int listen_fd;
	uv_poll_t listen_poll;
	struct ipc_server ipc;
	uv_signal_t sigint, sigterm;
	uv_idle_t reaper;		/* runs deferred disconnects */

	struct cluster_table clusters;
	struct client *clients;		/* every TCP client, INIT or not */
	size_t client_count;
	struct client *doomed;		/* disconnects waiting for the reaper */
	int stopping;
};

/* qnetd/defaults.c: zero *q, then the defaults the command line changes. */
void	qnetd_defaults(struct qnetd *q);

/* qnetd/server.c */
int	server_start(struct qnetd *q);
void	server_stop(struct qnetd *q);

/* qnetd/status.c: the local socket's commands. */
enum ipc_result status_command(void *arg, char *line, struct buf *out);

#endif
