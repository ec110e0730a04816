/*
 * corosync-qnetd: the arbiter.  Command line and start-up order are those of
 * 3.0.3 (BEHAVIOUR.md §4.1, §4.5).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <unistd.h>

#include "daemon.h"
#include "decide.h"
#include "events.h"
#include "lockfile.h"
#include "log.h"
#include "metrics.h"
#include "names.h"
#include "nssdb.h"
#include "qnetd.h"
#include "settings.h"
#include "sysd.h"
#include "tls.h"

#define PROG	"corosync-qnetd"
#define RUNDIR	LOCALSTATEDIR "/run/corosync-qnetd"
#define NSS_DB_DEFAULT	COROSYNCSYSCONFDIR "/qnetd/nssdb"
#define OFF(f)	offsetof(struct qnetd_settings, f)
/* The largest timer 3.0.3 accepts (ms). */
#define MAX_TIMER_MS	18000000
/* A year: the memory is kept, not timed. */
#define MAX_KEEP_MS	31536000000LL
/* Descriptors that are not clients: stdio, log, lock, NSS, IPC, listen. */
#define FD_RESERVE	64
/* How often to look whether a syslog socket came or went. */
#define SYSLOG_PROBE_MS	10000

#define die(...)	daemon_die(PROG, __VA_ARGS__)

static const struct setting qnetd_settings[] = {
	{ "listen_backlog", SETTING_INT, OFF(listen_backlog), 1, INT_MAX },
	{ "max_client_send_buffers", SETTING_INT, OFF(max_client_send_buffers),
	    2, LLONG_MAX },
	{ "max_client_send_size", SETTING_INT, OFF(max_client_send_size), 16,
	    UINT32_MAX },
	{ "max_client_receive_size", SETTING_INT, OFF(max_client_receive_size),
	    16, UINT32_MAX },
	{ "nss_db_dir", SETTING_STR, OFF(nss_db_dir), 0, 0 },
	{ "cert_nickname", SETTING_STR, OFF(cert_nickname), 0, 0 },
	/* Ours: which library runs the TLS of client connections. */
	{ "tls_backend", SETTING_STR, OFF(tls_backend), 0, 0 },
	{ "nss_db_auto_init", SETTING_BOOL, OFF(nss_db_auto_init), 0, 0 },
	{ "heartbeat_interval_min", SETTING_INT, OFF(heartbeat_interval_min),
	    1, UINT32_MAX },
	{ "heartbeat_interval_max", SETTING_INT, OFF(heartbeat_interval_max),
	    1, UINT32_MAX },
	{ "dpd_enabled", SETTING_BOOL, OFF(dpd_enabled), 0, 0 },
	{ "dpd_interval_coefficient", SETTING_REAL,
	    OFF(dpd_interval_coefficient), 1, 1000 },
	{ "dpd_interval", SETTING_DEPRECATED, 0, 0, 0 },
	{ "lock_file", SETTING_STR, OFF(lock_file), 0, 0 },
	{ "local_socket_file", SETTING_STR, OFF(local_socket_file), 0, 0 },
	{ "local_socket_backlog", SETTING_INT, OFF(ipc.backlog), 1,
	    INT_MAX },
	{ "ipc_max_clients", SETTING_INT, OFF(ipc.max_clients), 0, LLONG_MAX },
	{ "ipc_max_receive_size", SETTING_INT, OFF(ipc.max_receive_size), 1024,
	    LLONG_MAX },
	{ "ipc_max_send_size", SETTING_INT, OFF(ipc.max_send_size), 1024,
	    LLONG_MAX },
	{ "keep_active_partition_tie_breaker", SETTING_BOOL,
	    OFF(keep_active_partition_tie_breaker), 0, 0 },
	/* Ours: limits a hostile or broken client runs into (0 = off). */
	{ "init_timeout", SETTING_INT, OFF(init_timeout), 0, MAX_TIMER_MS },
	{ "max_clients_per_address", SETTING_INT,
	    OFF(max_clients_per_address), 0, LLONG_MAX },
	{ "max_clusters", SETTING_INT, OFF(max_clusters), 0, LLONG_MAX },
	{ "max_client_send_bytes", SETTING_INT, OFF(max_client_send_bytes), 0,
	    LLONG_MAX },
	{ "max_client_message_rate", SETTING_INT,
	    OFF(max_client_message_rate), 0, 1000000 },
	{ "max_tls_handshakes", SETTING_INT, OFF(max_tls_handshakes), 0,
	    LLONG_MAX },
	{ "ack_grace_coefficient", SETTING_REAL, OFF(ack_grace_coefficient),
	    0, 1000 },
	{ "max_cluster_cpu_per_second", SETTING_INT,
	    OFF(max_cluster_cpu_per_second), 0, 1000 },
	{ "tls_handshake_stall_timeout", SETTING_INT,
	    OFF(tls_handshake_stall_timeout), 0, MAX_TIMER_MS },
	/* Enrolment over the qnetd port (enroll.c). */
	{ "enroll_state_dir", SETTING_STR, OFF(enroll_state_dir), 0, 0 },
	{ "enroll_cert_lifetime", SETTING_INT, OFF(enroll_cert_lifetime), 1,
	    36600 },
	{ "enroll_attempts_per_minute", SETTING_INT,
	    OFF(enroll_attempts_per_minute), 0, 1000000 },
	{ "ipc_idle_timeout", SETTING_INT, OFF(ipc.idle_timeout), 0,
	    IPC_IDLE_TIMEOUT_MAX },
	/* Ours: the decision memory and where it is saved (persist.h). */
	{ "state_dir", SETTING_STR, OFF(state_dir), 0, 0 },
	{ "state_save_interval", SETTING_INT, OFF(state_save_interval), 0,
	    MAX_TIMER_MS },
	{ "memory_keep_time", SETTING_INT, OFF(memory_keep_time), 0,
	    MAX_KEEP_MS },
	{ "memory_max_clusters", SETTING_INT, OFF(memory_max_clusters), 0,
	    LLONG_MAX },
	{ "tie_hold_time", SETTING_INT, OFF(tie_hold_time), 0, MAX_TIMER_MS },
	{ "state_dir_shared", SETTING_BOOL, OFF(state_dir_shared), 0, 0 },
	/* 3.0.4's: the local socket's mode and group (daemon.h). */
	{ "local_socket_umask", SETTING_STR, OFF(ipc.umask_text), 0, 0 },
	{ "local_socket_gid", SETTING_STR, OFF(ipc.gid_text), 0, 0 },
	{ "event_hook", SETTING_STR, OFF(event_hook), 0, 0 },
	{ "event_hook_timeout", SETTING_INT, OFF(event_hook_timeout), 1,
	    MAX_TIMER_MS },
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

/* String settings get their defaults only if -S did not set them. */
static const struct setting_default string_defaults[] = {
	{ OFF(nss_db_dir), NSS_DB_DEFAULT },
	{ OFF(cert_nickname), "QNetd Cert" },
	{ OFF(tls_backend), "nss" },
	{ OFF(enroll_state_dir), LOCALSTATEDIR "/lib/corosync-qnetd" },
	{ OFF(lock_file), RUNDIR "/corosync-qnetd.pid" },
	{ OFF(local_socket_file), RUNDIR "/corosync-qnetd.sock" },
	{ OFF(state_dir), LOCALSTATEDIR "/lib/corosync-qnetd" },
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: %s [-46dfhv] [-l listen_addr] [-p listen_port] "
	    "[-s tls]\n", PROG);
	fprintf(f, "              [-c client_cert_required] [-m max_clients] "
	    "[-S option=value[,option2=value2,...]]\n");
}

static void
version(void)
{
	printf("Corosync Qdevice Network Daemon, version '%s'\n",
	    PACKAGE_VERSION);
	daemon_print_compat();
	printf("\n");
	printf("Supported algorithms: ");
	for (int a = 0; a < QN_ALGO_COUNT; a++)
		printf("%s%s (%d)", a ? ", " : "", algo_name((uint8_t)a), a);
	printf("\nSupported message types: ");
	for (int t = 0; t < QN_MSG_COUNT; t++)
		printf("%s%s (%d)", t ? ", " : "", msg_type_name((uint16_t)t), t);
	printf("\n");
}

static void
parse_args(struct qnetd *q, int argc, char **argv)
{
	long long v;
	int ch;

	while ((ch = getopt(argc, argv, "46c:dfhl:m:p:S:s:v")) != -1) {
		switch (ch) {
		case '4':
			q->family = 4;
			break;
		case '6':
			q->family = 6;
			break;
		case 'd':
			q->debug++;
			break;
		case 'f':
			q->foreground = 1;
			break;
		case 'l':
			/* 3.0.3 kept the last -l; we listen on each. */
			if (q->nlisten_addrs == LISTEN_MAX_ADDRS)
				die("at most %d listen addresses (-l)",
				    LISTEN_MAX_ADDRS);
			q->listen_addrs[q->nlisten_addrs++] = optarg;
			break;
		case 'p':
			if (parse_ll(optarg, 1, 65535, &v) != 0)
				die("host port must be in range 1-65535");
			q->port = v;
			break;
		case 's':
			if (strcasecmp(optarg, "on") == 0)
				q->tls_mode = QN_TLS_SUPPORTED;
			else if (strcasecmp(optarg, "off") == 0)
				q->tls_mode = QN_TLS_UNSUPPORTED;
			else if (strcasecmp(optarg, "req") == 0 ||
			    strcasecmp(optarg, "required") == 0)
				q->tls_mode = QN_TLS_REQUIRED;
			else
				die("tls must be one of on, off, req, "
				    "required");
			break;
		case 'c':
			if (parse_bool(optarg, &q->client_cert_required) != 0)
				die("client_cert_required should be on/yes/1, "
				    "off/no/0");
			break;
		case 'm':
			if (parse_ll(optarg, 0, LLONG_MAX, &v) != 0)
				die("max clients value %s is invalid", optarg);
			q->max_clients = v;
			break;
		case 'S':
			daemon_setting(PROG, qnetd_settings, &q->set, optarg);
			break;
		case 'v':
			version();
			exit(EXIT_SUCCESS);
		case 'h':
			usage(stdout);
			exit(EXIT_SUCCESS);
		default:
			usage(stdout);
			exit(EXIT_FAILURE);
		}
	}
}

/* Descriptors beyond the clients: FD_RESERVE plus the IPC clients. */
static rlim_t
fd_reserve(const struct qnetd *q)
{
	long long ipc = q->set.ipc.max_clients;

	return FD_RESERVE + (rlim_t)(ipc > 0 && ipc < 4096 ? ipc : 64);
}

/*
 * Every client is a descriptor.  Without -m take the hard limit; with -m
 * take what it needs, raising the hard limit too if we may.  Whatever we
 * get bounds the clients (fd_max_clients): beyond it a client is refused
 * at accept, like at -m, instead of waiting in the backlog for a descriptor
 * that never comes.
 */
static void
raise_nofile(struct qnetd *q)
{
	rlim_t reserve = fd_reserve(q), need = RLIM_INFINITY;
	struct rlimit rl;
	int hard_err = 0;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (q->max_clients != 0 &&
	    (unsigned long long)q->max_clients < RLIM_INFINITY - reserve)
		need = (rlim_t)q->max_clients + reserve;
	if (need != RLIM_INFINITY && need > rl.rlim_max) {
		struct rlimit want = { need, need };

		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			rl = want;
		else
			hard_err = errno;
	}
	if (rl.rlim_cur < rl.rlim_max && rl.rlim_cur < need) {
		rl.rlim_cur = need < rl.rlim_max ? need : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
			log_warn("Can't raise the open files limit to %llu: %s",
			    (unsigned long long)rl.rlim_cur, strerror(errno));
			(void)getrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	if (rl.rlim_cur == RLIM_INFINITY)
		return;
	q->fd_max_clients = rl.rlim_cur > reserve ?
	    (long long)(rl.rlim_cur - reserve) : 1;
	if (need != RLIM_INFINITY && rl.rlim_cur < need)
		log_warn("max_clients (-m) %lld needs %llu open files, but the "
		    "limit is %llu%s%s%s: at most %lld clients will be "
		    "accepted; raise the hard limit (LimitNOFILE=, ulimit -Hn)",
		    q->max_clients, (unsigned long long)need,
		    (unsigned long long)rl.rlim_cur,
		    hard_err ? " (raising the hard limit failed: " : "",
		    hard_err ? strerror(hard_err) : "", hard_err ? ")" : "",
		    q->fd_max_clients);
	else
		log_debug("Open files limit %llu: up to %lld clients",
		    (unsigned long long)rl.rlim_cur, q->fd_max_clients);
}

static void
stop(struct qnetd *q)
{
	if (q->stopping)
		return;
	log_debug("Shutting down");
	sysd_stop(q);
	metrics_stop(q);
	/*
	 * The tool keeps getting answers until the loop has ended: a
	 * supervisor (resource-agents' corosync-qnetd agent) takes a
	 * missing socket next to a live pid for "stopped".
	 */
	ipc_server_unref(&q->ipc);
	daemon_signals_close(&q->signals);
	server_stop(q);
	events_close(q->events);
	q->events = NULL;
}

static void
on_ipc_shutdown(void *arg)
{
	stop(arg);
}

static void
on_signal(uv_signal_t *s, int signum)
{
	(void)signum;
	stop(s->data);
}

static void
on_syslog_probe(uv_timer_t *t)
{
	(void)t;
	log_syslog_probe();
}

/* Events to the tools following them (corosync-qnetd-tool --follow). */
static void
on_event_line(void *arg, const char *line, size_t len)
{
	struct qnetd *q = arg;

	if (q->ipc.open)
		ipc_broadcast(&q->ipc, line, len);
}

static enum tls_backend
tls_backend(const struct qnetd *q)
{
	return strcmp(q->set.tls_backend, "openssl") == 0 ?
	    TLS_BACKEND_OPENSSL : TLS_BACKEND_NSS;
}

static int
start(struct qnetd *q)
{
	if (q->tls_mode != QN_TLS_UNSUPPORTED) {
		if (tls_init(q->set.nss_db_dir) != 0) {
			log_crit("NSS error (%s): can't open NSS database %s",
			    tls_error(), q->set.nss_db_dir);
			if (!nssdb_exists(q->set.nss_db_dir))
				nssdb_log_hint(q->set.nss_db_dir,
				    NSS_DB_DEFAULT);
			return -1;
		}
		q->tls = tls_server_new(q->set.cert_nickname,
		    q->client_cert_required, tls_backend(q));
		if (q->tls == NULL) {
			log_crit("NSS error (%s): can't load certificate '%s'",
			    tls_error(), q->set.cert_nickname);
			nssdb_log_cert_hint(q->set.nss_db_dir,
			    q->set.cert_nickname);
			return -1;
		}
		log_info("TLS connections are served by %s",
		    tls_server_library(q->tls));
	} else if (tls_init(NULL) != 0) {
		log_crit("NSS error (%s)", tls_error());
		return -1;
	}

	q->events = events_new(q->loop, &(struct hook_settings){
	    .path = q->set.event_hook, .prefix = "QNETD",
	    .timeout_ms = (uint32_t)q->set.event_hook_timeout,
	    .rate = (uint32_t)q->set.event_hook_rate,
	    .queue_max = (size_t)q->set.event_hook_queue,
	    .follow = on_event_line, .follow_arg = q });
	if (q->events == NULL) {
		log_crit("Out of memory");
		return -1;
	}
	q->ipc = (struct ipc_server){ .handler = status_command,
	    .on_shutdown = on_ipc_shutdown, .arg = q };
	if (daemon_ipc_start(&q->ipc, q->loop, q->set.local_socket_file,
	    &q->set.ipc) != 0 || server_start(q) != 0 || metrics_start(q) != 0)
		return -1;
	daemon_signals_start(&q->signals, q->loop, on_signal, q);
	/* Unreferenced: it must not keep the loop alive at shutdown. */
	uv_timer_init(q->loop, &q->syslog_probe);
	uv_timer_start(&q->syslog_probe, on_syslog_probe, SYSLOG_PROBE_MS,
	    SYSLOG_PROBE_MS);
	uv_unref((uv_handle_t *)&q->syslog_probe);
	return 0;
}

int
main(int argc, char **argv)
{
	struct qnetd q;
	uv_loop_t loop;
	int rc = EXIT_FAILURE;

	qnetd_defaults(&q);
	parse_args(&q, argc, argv);
	if (settings_defaults(&q.set, string_defaults,
	    sizeof(string_defaults) / sizeof(string_defaults[0])) != 0)
		die("Out of memory");
	daemon_ipc_settings(PROG, &q.set.ipc);
	if (strcmp(q.set.tls_backend, "nss") != 0 &&
	    strcmp(q.set.tls_backend, "openssl") != 0)
		die("tls_backend must be nss or openssl, not '%s'",
		    q.set.tls_backend);

	daemon_log_open(PROG, q.foreground, q.debug);
	log_syslog_probe();
	signal(SIGPIPE, SIG_IGN);
	daemon_ignore_sighup();

	if (q.tls_mode != QN_TLS_UNSUPPORTED && q.set.nss_db_auto_init &&
	    nssdb_auto_init(q.set.nss_db_dir) != 0)
		goto out;
	if (q.tls_mode != QN_TLS_UNSUPPORTED &&
	    access(q.set.nss_db_dir, R_OK | X_OK) != 0) {
		log_crit("Can't open NSS DB directory %s: %s", q.set.nss_db_dir,
		    strerror(errno));
		if (errno == ENOENT)
			nssdb_log_hint(q.set.nss_db_dir, NSS_DB_DEFAULT);
		goto out;
	}
	if (!q.foreground && daemonize() != 0) {
		log_crit("Can't daemonize: %s", strerror(errno));
		goto out;
	}
	if ((q.lock_fd = daemon_lock(q.set.lock_file)) < 0)
		goto out;
	raise_nofile(&q);

	uv_loop_init(&loop);
	q.loop = &loop;
	if (conn_ctx_init(&q.conn_ctx, &loop) != 0 ||
	    decide_core_init(&q.core) != 0) {
		log_crit("Out of memory");
		goto out;
	}
	if (start(&q) == 0) {
		log_debug("QNetd ready to provide service");
		sysd_start(&q);
		uv_run(&loop, UV_RUN_DEFAULT);
		rc = EXIT_SUCCESS;
	}
	metrics_stop(&q);
	/*
	 * Clients and listeners are gone.  Then, in this order: the lock
	 * file (its pid no longer names a running arbiter), the local socket
	 * (so the tool never fails while the pid file still names us), and
	 * whatever start() or the loop left open; nothing after this is seen
	 * from outside.
	 */
	if (lockfile_release(q.lock_fd, q.set.lock_file) != 0)
		log_warn("Can't remove lock file %s: %s", q.set.lock_file,
		    strerror(errno));
	ipc_server_stop(&q.ipc);
	events_close(q.events);
	q.events = NULL;
	conn_ctx_close(&q.conn_ctx);
	daemon_loop_drain(&loop);
	persist_flush(&q);	/* every client has left: the last changes */
	uv_loop_close(&loop);
	server_free(&q);
	decide_core_free(&q.core);
	if (q.tls != NULL)
		tls_server_free(q.tls);
	tls_shutdown();
out:
	log_debug("Closing log");
	log_close();
	settings_free(qnetd_settings, &q.set);
	return rc;
}
