/*
 * The daemon's -S settings (BEHAVIOUR.md §5.2): parsed by main.c, read by
 * start.c and the modules it hands them to.
 */
#ifndef QDEVICE_QD_SETTINGS_H
#define QDEVICE_QD_SETTINGS_H

#include "ipc.h"

#define PROG	"corosync-qdevice"

enum master_wins {
	MASTER_WINS_MODEL,	/* as the model asks: no model ever does */
	MASTER_WINS_FORCE_OFF,
	MASTER_WINS_FORCE_ON
};

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
	/* Events (common/hook.h) */
	char *event_hook;		/* NULL: none */
	long long event_hook_timeout;	/* ms */
	long long event_hook_rate;	/* starts per second */
	long long event_hook_queue;	/* events waiting */
	int net_test_algorithm_enabled;
	/* The HTTP endpoint (metrics.h); off without http_listen. */
	char *http_listen;			/* one address per line */
	long long http_max_connections;		/* per address */
	long long http_timeout;			/* s of silence */
	long long http_max_request_size;	/* bytes, headers included */
	enum master_wins master_wins_mode;
};

#endif
