/*
 * corosync-qdevice: the quorum device daemon of one cluster node.  Command
 * line, start-up order and shutdown are those of 3.0.3 (BEHAVIOUR.md §3.1,
 * §5.1); everything after start-up runs on one libuv loop.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include "daemon.h"
#include "log.h"
#include "qdevice.h"
#include "settings.h"

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
	{ NULL, 0, 0, 0, 0 }
};

static void
defaults(struct qdevice *q)
{
	struct qdevice_settings *s = &q->set;

	memset(q, 0, sizeof(*q));
	s->ipc.backlog = 10;
	s->max_cs_try_again = 10;
	s->ipc.max_clients = 10;
	s->ipc.max_receive_size = 4096;
	s->ipc.max_send_size = 65536;
	s->ipc.idle_timeout = IPC_IDLE_TIMEOUT_DEFAULT;
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
	s->master_wins_mode = MASTER_WINS_MODEL;
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
limits_from_settings(struct qdevice *q)
{
	const struct qdevice_settings *s = &q->set;
	struct config_limits *l = &q->limits;

	config_limits_default(l);
	l->heartbeat_min = (uint32_t)s->net_heartbeat_interval_min;
	l->heartbeat_max = (uint32_t)s->net_heartbeat_interval_max;
	l->connect_timeout_min = (uint32_t)s->net_min_connect_timeout;
	l->connect_timeout_max = (uint32_t)s->net_max_connect_timeout;
	l->heuristics_timeout_min = (uint32_t)s->heuristics_min_timeout;
	l->heuristics_timeout_max = (uint32_t)s->heuristics_max_timeout;
	l->heuristics_interval_min = (uint32_t)s->heuristics_min_interval;
	l->heuristics_interval_max = (uint32_t)s->heuristics_max_interval;
	l->heuristics_max_execs = (uint32_t)s->heuristics_max_execs;
	l->test_algorithm_enabled = s->net_test_algorithm_enabled;
}

static void
usage(void)
{
	printf("usage: %s [-dfh] [-S option=value[,option2=value2,...]]\n",
	    PROG);
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
parse_advanced(struct qdevice *q, const char *arg)
{
	char *copy, *item, *save = NULL;

	if ((copy = strdup(arg)) == NULL)
		die("Out of memory");
	for (item = strtok_r(copy, ",", &save); item != NULL;
	    item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');

		if (item[0] == '=')
			break;		/* an empty name ends the list */
		daemon_setting(PROG, qdevice_settings, &q->set, item);
		if (eq != NULL && (size_t)(eq - item) == strlen("master_wins") &&
		    strncasecmp(item, "master_wins", (size_t)(eq - item)) == 0 &&
		    parse_master_wins(eq + 1, &q->set.master_wins_mode) != 0)
			die("Invalid value '%s' for option '%.*s'", eq + 1,
			    (int)(eq - item), item);
	}
	free(copy);
}

static void
parse_args(struct qdevice *q, int argc, char **argv)
{
	int ch;

	while ((ch = getopt(argc, argv, "dfhS:")) != -1) {
		switch (ch) {
		case 'd':
			q->debug++;
			break;
		case 'f':
			q->foreground = 1;
			break;
		case 'S':
			parse_advanced(q, optarg);
			break;
		default:	/* -h too: 3.0.3 exits 1 */
			usage();
			exit(EXIT_FAILURE);
		}
	}
}

/* -d forces debug; otherwise corosync.conf's logging.debug decides. */
void
qdevice_apply_debug(struct qdevice *q)
{
	char err[CONFIG_ERR_LEN];
	int d = q->config_debug;
	int rc = config_read_debug(qd_cmap_kv(q), &d, err, sizeof(err));

	if (rc < 0)
		log_warn("%s; keeping the previous debug setting", err);
	else if (rc == 0)
		q->config_debug = d;
	else
		q->config_debug = 0;
	log_set_debug(q->debug > 0 || q->config_debug);
}

void
qdevice_exit(struct qdevice *q, int status)
{
	if (q->phase == PHASE_EXITING)
		return;
	q->phase = PHASE_EXITING;
	q->exit_status = status;
	uv_stop(q->loop);
}

/* ------------------------------------------------------------------ */
/* Shutdown requests */

static void
request_shutdown(struct qdevice *q)
{
	if (q->phase == PHASE_EXITING)
		return;
	if (q->ipc.open) {
		ipc_server_stop(&q->ipc);
		log_debug("Listening socket is closed");
	}
	net_disconnect(q, DISC_LOCAL_SOCKET_CLOSED);
}

static void
on_ipc_shutdown(void *arg)
{
	log_debug("IPC client requested shutdown");
	request_shutdown(arg);
}

static void
on_signal(uv_signal_t *s, int signum)
{
	log_debug("Received signal %d: shutting down", signum);
	request_shutdown(s->data);
}

/* ------------------------------------------------------------------ */
/* Start-up steps 14-17: waits that run on the loop. */

static void
startup_timeout(uv_timer_t *t)
{
	struct qdevice *q = t->data;

	if (q->phase == PHASE_WAIT_RING_ID)
		log_crit("Can't get initial votequorum membership information");
	else if (q->phase == PHASE_WAIT_HEURISTICS)
		log_crit("Can't get initial heuristics result in time");
	qdevice_exit(q, 1);
}

/* The first node-list notification arrived. */
void
qdevice_startup_ring_id(struct qdevice *q)
{
	uint64_t wait = 2 * (uint64_t)q->heur.cfg.sync_timeout;

	daemon_signals_start(&q->signals, q->loop, on_signal, q);
	q->phase = PHASE_WAIT_HEURISTICS;
	if (q->heur.pending_seq == 0) {
		qdevice_startup_heuristics(q);
		return;
	}
	log_debug("Waiting for initial heuristics exec result");
	uv_timer_start(&q->startup_timer, startup_timeout, wait, 0);
}

/* The first membership heuristics result arrived: serve. */
void
qdevice_startup_heuristics(struct qdevice *q)
{
	uv_timer_stop(&q->startup_timer);
	q->phase = PHASE_RUNNING;
	log_debug("Qdevice ready to provide service");
	sd_notify(0, "READY=1");
	log_debug("Running QDevice main loop");
	net_start(q);
}

/* ------------------------------------------------------------------ */

static int
read_config(struct qdevice *q)
{
	char err[CONFIG_ERR_LEN];
	struct heur_config h;

	log_debug("Configuring qdevice");
	if (config_read(qd_cmap_kv(q), &q->limits, &q->cfg, err,
	    sizeof(err)) != 0) {
		log_crit("Invalid configuration: %s", err);
		return -1;
	}
	if (config_read_heuristics(qd_cmap_kv(q), &q->limits, q->cfg.timeout,
	    q->cfg.sync_timeout, &h, err, sizeof(err)) != 0) {
		log_crit("Invalid heuristics configuration: %s", err);
		return -1;
	}
	if (qd_heur_configure(q, &h) != 0) {
		heur_config_free(&h);
		return -1;
	}
	return 0;
}

static int
read_nodelist(struct qdevice *q)
{
	char err[CONFIG_ERR_LEN];

	log_debug("Getting configuration node list");
	if (config_read_nodelist(qd_cmap_kv(q), &q->nodes, err,
	    sizeof(err)) != 0) {
		log_crit("Can't read configuration node list: %s", err);
		return -1;
	}
	if (q->nodes.count == 0) {
		log_crit("Configuration node list is empty (nodelist.node.*): "
		    "the qdevice needs the nodes of the cluster");
		return -1;
	}
	return 0;
}

/* Steps 7-13 of BEHAVIOUR.md §3.1; 0 when the loop may run. */
static int
start(struct qdevice *q)
{
	if (daemon_lock(q->set.lock_file) != 0 || qd_vq_init(q) != 0)
		return -1;

	log_debug("Initializing local socket");
	q->ipc = (struct ipc_server){ .handler = status_command,
	    .on_shutdown = on_ipc_shutdown, .arg = q };
	if (daemon_ipc_start(&q->ipc, q->loop, q->set.local_socket_file,
	    &q->set.ipc) != 0)
		return -1;

	if (read_config(q) != 0 || qd_vq_master_wins(q) != 0 ||
	    read_nodelist(q) != 0)
		return -1;
	log_debug("Initializing qdevice model");
	if (net_init(q) != 0)
		return -1;
	if (qd_cmap_track(q) != 0)
		return -1;
	log_debug("Registering main poll loop callbacks");
	if (qd_vq_start(q) != 0)
		return -1;

	log_debug("Waiting for ring id");
	q->phase = PHASE_WAIT_RING_ID;
	uv_timer_start(&q->startup_timer, startup_timeout,
	    (uint64_t)q->set.max_cs_try_again * 1000, 0);
	return 0;
}

/* Orderly teardown; the device is unregistered only after a shutdown. */
static void
teardown(struct qdevice *q)
{
	q->phase = PHASE_EXITING;
	qd_cmap_untrack(q);
	log_debug("Destroying qdevice model");
	net_close(q);
	if (q->ipc.open) {
		log_debug("Destroying qdevice ipc");
		ipc_server_stop(&q->ipc);
	}
	qd_vq_close(q);
	qd_cmap_close(q);
	qd_heur_close(q);
	qd_heur_finish(q);
	daemon_loop_drain(q->loop);
	net_finish(q);
	log_debug("Destroying votequorum and cmap");
	qd_vq_finalize(q);
	qd_cmap_finalize(q);
}

int
main(int argc, char **argv)
{
	struct qdevice q;
	struct heur_settings hs;
	uv_loop_t loop;
	char err[CONFIG_ERR_LEN];
	cs_error_t e;
	int cfg_debug = 0;

	defaults(&q);
	q.exit_status = EXIT_FAILURE;
	parse_args(&q, argc, argv);
	if (settings_defaults(&q.set, string_defaults,
	    sizeof(string_defaults) / sizeof(string_defaults[0])) != 0)
		die("Out of memory");
	limits_from_settings(&q);
	signal(SIGPIPE, SIG_IGN);

	uv_loop_init(&loop);
	q.loop = &loop;
	uv_timer_init(&loop, &q.startup_timer);
	q.startup_timer.data = &q;

	/*
	 * libqb drops what is logged before it is initialised, and the
	 * worker's start-up is worth seeing: open the log first, with
	 * corosync.conf's debug setting applied once cmap is up.
	 */
	daemon_log_open(PROG, q.foreground, q.debug);

	/* Before corosync: the commands inherit no corosync handles. */
	hs = (struct heur_settings){
		.use_execvp = q.set.heuristics_use_execvp,
		.max_processes = (uint32_t)q.set.heuristics_max_processes,
		.kill_list_interval =
		    (uint32_t)q.set.heuristics_kill_list_interval,
		.ipc_max_size =
		    (size_t)q.set.heuristics_ipc_max_send_receive_size,
	};
	if (qd_heur_start(&q, &hs) != 0) {
		log_crit("Can't start the heuristics worker");
		log_close();
		return EXIT_FAILURE;
	}

	if (qd_cmap_init(&q, &e) != 0) {
		log_crit("Failed to initialize the cmap API. Error %s",
		    cs_strerror(e));
		if (!q.foreground)	/* syslog only: say it on stderr too */
			fprintf(stderr, "%s: Failed to initialize the cmap "
			    "API. Error %s\n", PROG, cs_strerror(e));
		q.exit_status = EXIT_FAILURE;
		goto out;
	}

	/* Logging proper starts now that corosync.conf can be read. */
	if (config_read_debug(qd_cmap_kv(&q), &cfg_debug, err,
	    sizeof(err)) == 0)
		q.config_debug = cfg_debug;
	log_set_debug(q.debug > 0 || q.config_debug);

	if (!q.foreground) {
		if (daemonize() != 0) {
			log_crit("Can't daemonize: %s", strerror(errno));
			goto out;
		}
		uv_loop_fork(&loop);
	}

	if (start(&q) == 0)
		uv_run(&loop, UV_RUN_DEFAULT);
out:
	teardown(&q);
	uv_loop_close(&loop);
	log_debug("Closing log");
	log_close();
	config_free(&q.cfg);
	nodelist_free(&q.nodes);
	settings_free(qdevice_settings, &q.set);
	return q.exit_status;
}
