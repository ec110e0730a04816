/*
 * corosync-qdevice: the quorum device daemon of one cluster node.  This
 * file reads the command line and the -S settings as 3.0.3 does
 * (BEHAVIOUR.md §5.1, §5.2); start.c runs the daemon.
 */
#include "config.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "daemon.h"
#include "qd_settings.h"
#include "settings.h"
#include "start.h"

#define RUNDIR	LOCALSTATEDIR "/run/corosync-qdevice"
#define OFF(f)	offsetof(struct qdevice_settings, f)
#define die(...)	daemon_die(PROG, __VA_ARGS__)

static const struct setting qdevice_settings[] = {
	{ "lock_file", SETTING_STR, OFF(lock_file), 0, 0 },
	{ "local_socket_file", SETTING_STR, OFF(local_socket_file), 0, 0 },
	{ "local_socket_backlog", SETTING_INT, OFF(ipc.backlog), 1,
	    INT_MAX },
	{ "max_cs_try_again", SETTING_INT, OFF(max_cs_try_again), 1, INT_MAX },
	{ "votequorum_device_name", SETTING_STR, OFF(votequorum_device_name),
	    0, 0 },
	{ "ipc_max_clients", SETTING_INT, OFF(ipc.max_clients), 0, LLONG_MAX },
	{ "ipc_max_receive_size", SETTING_INT, OFF(ipc.max_receive_size), 1024,
	    LLONG_MAX },
	{ "ipc_max_send_size", SETTING_INT, OFF(ipc.max_send_size), 1024,
	    LLONG_MAX },
	/* Ours: a client that holds its slot without a command is dropped. */
	{ "ipc_idle_timeout", SETTING_INT, OFF(ipc.idle_timeout), 0,
	    IPC_IDLE_TIMEOUT_MAX },
	/* 3.0.4's: the local socket's mode and group (daemon.h). */
	{ "local_socket_umask", SETTING_STR, OFF(ipc.umask_text), 0, 0 },
	{ "local_socket_gid", SETTING_STR, OFF(ipc.gid_text), 0, 0 },
	{ "master_wins", SETTING_STR, OFF(master_wins), 0, 0 },
	{ "heuristics_ipc_max_send_buffers", SETTING_INT,
	    OFF(heuristics_ipc_max_send_buffers), 10, LLONG_MAX },
	{ "heuristics_ipc_max_send_receive_size", SETTING_INT,
	    OFF(heuristics_ipc_max_send_receive_size), 1024, INT_MAX },
	{ "heuristics_min_timeout", SETTING_INT, OFF(heuristics_min_timeout),
	    250, UINT32_MAX },
	{ "heuristics_max_timeout", SETTING_INT, OFF(heuristics_max_timeout),
	    250, UINT32_MAX },
	{ "heuristics_min_interval", SETTING_INT, OFF(heuristics_min_interval),
	    250, UINT32_MAX },
	{ "heuristics_max_interval", SETTING_INT, OFF(heuristics_max_interval),
	    250, UINT32_MAX },
	{ "heuristics_max_execs", SETTING_INT, OFF(heuristics_max_execs), 1,
	    UINT32_MAX },
	{ "heuristics_use_execvp", SETTING_BOOL, OFF(heuristics_use_execvp),
	    0, 0 },
	{ "heuristics_max_processes", SETTING_INT,
	    OFF(heuristics_max_processes), 1, UINT32_MAX },
	{ "heuristics_kill_list_interval", SETTING_INT,
	    OFF(heuristics_kill_list_interval), 250, UINT32_MAX },
	{ "net_nss_db_dir", SETTING_STR, OFF(net_nss_db_dir), 0, 0 },
	{ "net_initial_msg_receive_size", SETTING_INT,
	    OFF(net_initial_msg_receive_size), 16, UINT32_MAX },
	{ "net_initial_msg_send_size", SETTING_INT,
	    OFF(net_initial_msg_send_size), 16, UINT32_MAX },
	{ "net_min_msg_send_size", SETTING_INT, OFF(net_min_msg_send_size), 16,
	    UINT32_MAX },
	{ "net_max_msg_receive_size", SETTING_INT,
	    OFF(net_max_msg_receive_size), 16, UINT32_MAX },
	{ "net_max_send_buffers", SETTING_INT, OFF(net_max_send_buffers), 2,
	    LLONG_MAX },
	{ "net_nss_qnetd_cn", SETTING_STR, OFF(net_nss_qnetd_cn), 0, 0 },
	{ "net_nss_client_cert_nickname", SETTING_STR,
	    OFF(net_nss_client_cert_nickname), 0, 0 },
	{ "net_heartbeat_interval_min", SETTING_INT,
	    OFF(net_heartbeat_interval_min), 1, UINT32_MAX },
	{ "net_heartbeat_interval_max", SETTING_INT,
	    OFF(net_heartbeat_interval_max), 1, UINT32_MAX },
	{ "net_min_connect_timeout", SETTING_INT, OFF(net_min_connect_timeout),
	    1, UINT32_MAX },
	{ "net_max_connect_timeout", SETTING_INT, OFF(net_max_connect_timeout),
	    1, UINT32_MAX },
	{ "net_test_algorithm_enabled", SETTING_BOOL,
	    OFF(net_test_algorithm_enabled), 0, 0 },
	{ "event_hook", SETTING_STR, OFF(event_hook), 0, 0 },
	{ "event_hook_timeout", SETTING_INT, OFF(event_hook_timeout), 1,
	    18000000 },
	{ "event_hook_rate", SETTING_INT, OFF(event_hook_rate), 1, 1000 },
	{ "event_hook_queue", SETTING_INT, OFF(event_hook_queue), 1, 1000000 },
	/* Ours: the HTTP endpoint (metrics.h). */
	{ "http_listen", SETTING_STRLIST, OFF(http_listen), 0, 0 },
	{ "http_max_connections", SETTING_INT, OFF(http_max_connections), 1,
	    1024 },
	{ "http_timeout", SETTING_INT, OFF(http_timeout), 1, 3600 },
	{ "http_max_request_size", SETTING_INT, OFF(http_max_request_size),
	    4096, 1048576 },
	{ NULL, 0, 0, 0, 0 }
};

static void
defaults(struct qdevice_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->ipc.backlog = 10;
	s->max_cs_try_again = 10;
	s->ipc.max_clients = 10;
	s->ipc.max_receive_size = 4096;
	s->ipc.max_send_size = 65536;
	s->ipc.idle_timeout = IPC_IDLE_TIMEOUT_DEFAULT;
	s->ipc.umask = -1;
	s->ipc.gid = -1;
	s->heuristics_ipc_max_send_buffers = 128;
	s->heuristics_ipc_max_send_receive_size = 4096;
	s->heuristics_min_timeout = 1000;
	s->heuristics_max_timeout = 120000;
	s->heuristics_min_interval = 1000;
	s->heuristics_max_interval = 3600000;
	s->heuristics_max_execs = 32;
	s->heuristics_use_execvp = 0;
	s->heuristics_max_processes = 160;
	s->heuristics_kill_list_interval = 5000;
	s->net_initial_msg_receive_size = 32768;
	s->net_initial_msg_send_size = 32768;
	s->net_min_msg_send_size = 32768;
	s->net_max_msg_receive_size = 16777216;
	s->net_max_send_buffers = 10;
	s->net_heartbeat_interval_min = 1000;
	s->net_heartbeat_interval_max = 120000;
	s->net_min_connect_timeout = 1000;
	s->net_max_connect_timeout = 120000;
	/* 3.0.3 has it on only in --enable-debug builds. */
	s->net_test_algorithm_enabled = 0;
	s->http_max_connections = 16;
	s->http_timeout = 10;
	s->http_max_request_size = 16384;
	s->master_wins_mode = MASTER_WINS_MODEL;
	s->event_hook_timeout = 10000;
	s->event_hook_rate = 10;
	s->event_hook_queue = 1000;
}

/* String settings get their defaults only if -S did not set them. */
static const struct setting_default string_defaults[] = {
	{ OFF(lock_file), RUNDIR "/corosync-qdevice.pid" },
	{ OFF(local_socket_file), RUNDIR "/corosync-qdevice.sock" },
	{ OFF(votequorum_device_name), "Qdevice" },
	{ OFF(master_wins), "model" },
	{ OFF(net_nss_db_dir), COROSYNCSYSCONFDIR "/qdevice/net/nssdb" },
	{ OFF(net_nss_qnetd_cn), "Qnetd Server" },
	{ OFF(net_nss_client_cert_nickname), "Cluster Cert" },
};

static void
usage(void)
{
	printf("usage: %s [-dfh] [-S option=value[,option2=value2,...]]\n",
	    PROG);
}

/* 3.0.3 has no -v; the first line is in the format of qnetd's. */
static void
version(void)
{
	printf("Corosync Qdevice Daemon, version '%s'\n", PACKAGE_VERSION);
	daemon_print_compat();
}

static int
parse_master_wins(const char *v, enum master_wins *m)
{
	int b;

	if (strcasecmp(v, "model") == 0) {
		*m = MASTER_WINS_MODEL;
		return 0;
	}
	if (parse_bool(v, &b) != 0)
		return -1;
	*m = b ? MASTER_WINS_FORCE_ON : MASTER_WINS_FORCE_OFF;
	return 0;
}

/*
 * -S name=value[,...]: items one at a time, so that master_wins (a word
 * the table cannot express) is checked in its place in the list and the
 * first bad item is the one reported, as 3.0.3 does.
 */
static void
parse_advanced(struct qdevice_settings *s, const char *arg)
{
	char *copy, *item, *save = NULL;

	if ((copy = strdup(arg)) == NULL)
		die("Out of memory");
	for (item = strtok_r(copy, ",", &save); item != NULL;
	    item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');

		if (item[0] == '=')
			break;		/* an empty name ends the list */
		daemon_setting(PROG, qdevice_settings, s, item);
		if (eq != NULL && (size_t)(eq - item) == strlen("master_wins") &&
		    strncasecmp(item, "master_wins", (size_t)(eq - item)) == 0 &&
		    parse_master_wins(eq + 1, &s->master_wins_mode) != 0)
			die("Invalid value '%s' for option '%.*s'", eq + 1,
			    (int)(eq - item), item);
	}
	free(copy);
}

static void
parse_args(struct qdevice_settings *s, int *foreground, int *debug, int argc,
    char **argv)
{
	int ch;

	while ((ch = getopt(argc, argv, "dfhS:v")) != -1) {
		switch (ch) {
		case 'd':
			(*debug)++;
			break;
		case 'f':
			*foreground = 1;
			break;
		case 'S':
			parse_advanced(s, optarg);
			break;
		case 'v':
			version();
			exit(EXIT_SUCCESS);
		default:	/* -h too: 3.0.3 exits 1 */
			usage();
			exit(EXIT_FAILURE);
		}
	}
}

int
main(int argc, char **argv)
{
	struct qdevice_settings set;
	int foreground = 0, debug = 0, status;

	defaults(&set);
	parse_args(&set, &foreground, &debug, argc, argv);
	if (settings_defaults(&set, string_defaults,
	    sizeof(string_defaults) / sizeof(string_defaults[0])) != 0)
		die("Out of memory");
	daemon_ipc_settings(PROG, &set.ipc);
	signal(SIGPIPE, SIG_IGN);
	daemon_ignore_sighup();
	status = qdevice_run(&set, foreground, debug);
	settings_free(qdevice_settings, &set);
	return status;
}
