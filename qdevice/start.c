/*
 * The corosync-qdevice instance: start-up in the order of 3.0.3
 * (BEHAVIOUR.md §3.1, steps 4-17), the events of the adapters routed to
 * the model and to the start-up phases, shutdown.  The one place that
 * knows every module; none of them calls back into it except through
 * struct qd_events.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmap.h"
#include "cpg.h"
#include "daemon.h"
#include "heur.h"
#include "hook.h"
#include "log.h"
#include "metrics.h"
#include "names.h"
#include "net.h"
#include "notify.h"
#include "start.h"
#include "status.h"
#include "vq.h"

struct qdevice {
	const struct qdevice_settings *set;
	struct config_limits limits;
	int foreground;
	int debug;			/* -d count */
	int config_debug;		/* from logging.debug */

	uv_loop_t *loop;
	enum phase phase;
	uv_timer_t startup_timer;
	struct daemon_signals signals;
	struct notify notify;		/* systemd (notify.h) */
	struct ipc_server ipc;
	struct http *http;		/* -S http_listen (metrics.h) */
	int exit_status;
	int unregister;			/* clean exit: unregister the device */

	struct qdevice_config cfg;
	struct nodelist nodes;		/* until the model takes it */

	struct qd_events ev;
	struct hook *hook;		/* events (common/hook.h) */
	struct qd_status status;
	struct qd_cmap *cmap;
	struct qd_cpg *cpg;		/* with a host list only */
	struct qd_vq *vq;
	struct qd_heur *heur;
	struct qd_net *net;
};

static void
limits_from_settings(struct qdevice *q)
{
	const struct qdevice_settings *s = q->set;
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

/* -d forces debug; otherwise corosync.conf's logging.debug decides. */
static void
apply_debug(struct qdevice *q)
{
	char err[CONFIG_ERR_LEN];
	int d = q->config_debug;
	int rc = config_read_debug(qd_cmap_kv(q->cmap), &d, err, sizeof(err));

	if (rc < 0)
		log_warn("%s; keeping the previous debug setting", err);
	else if (rc == 0)
		q->config_debug = d;
	else
		q->config_debug = 0;
	log_set_debug(q->debug > 0 || q->config_debug);
}

static void
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
	net_disconnect(q->net, DISC_LOCAL_SOCKET_CLOSED);
}

/* "run-heuristics": not in 3.0.3 (corosync-qdevice-tool --run-heuristics). */
static enum ipc_result
run_heuristics(struct qdevice *q, struct buf *out)
{
	if (q->phase != PHASE_RUNNING) {
		buf_printf(out, "Can't run heuristics now");
		return IPC_ERROR;
	}
	switch (qd_heur_run_now(q->heur)) {
	case HEUR_RUN_STARTED:
		buf_printf(out, "Heuristics run started\n");
		return IPC_OK;
	case HEUR_RUN_JOINED:
		buf_printf(out, "Heuristics run already in progress\n");
		return IPC_OK;
	default:
		buf_printf(out, "Heuristics are disabled");
		return IPC_ERROR;
	}
}

static enum ipc_result
on_ipc_command(void *arg, char *line, struct buf *out)
{
	struct qdevice *q = arg;
	size_t skip = strspn(line, " \t"), len = strcspn(line + skip, " \t");

	if (len == 14 && strncasecmp(line + skip, "run-heuristics", len) == 0)
		return run_heuristics(q, out);
	/* Ours: events as JSON lines until the client goes. */
	if (len == 6 && strncasecmp(line + skip, "follow", len) == 0)
		return IPC_OK_FOLLOW;
	return status_command(&q->status, line, out);
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
	notify_stop(&((struct qdevice *)s->data)->notify);
	request_shutdown(s->data);
}

/* ------------------------------------------------------------------ */
/* systemd: STATUS= and SIGHUP */

/* "qnetd HOST:PORT: Connected, vote ACK (cast)" */
static void
status_line(void *arg, char *buf, size_t len)
{
	struct qdevice *q = arg;

	if (q->phase != PHASE_RUNNING) {
		snprintf(buf, len, "Starting: waiting for %s",
		    q->phase == PHASE_WAIT_HEURISTICS ? "heuristics" :
		    "the membership");
		return;
	}
	snprintf(buf, len, "qnetd %s:%u: %s, vote %s%s",
	    net_hosts_current(q->net)->host,
	    (unsigned)net_hosts_current(q->net)->port, net_state_text(q->net),
	    vote_name(qd_vq_vote(q->vq)),
	    qd_vq_cast_casting(q->vq) ? " (cast)" : " (not cast)");
}

/*
 * SIGHUP: the log level (-d, else logging.debug) and the syslog socket.
 * corosync.conf is followed through cmap anyway, as in 3.0.3; the NSS
 * database is read at each connection.
 */
static void
on_sighup(uv_signal_t *s, int signum)
{
	struct qdevice *q = s->data;

	(void)signum;
	if (q->phase == PHASE_EXITING)
		return;
	notify_reloading(&q->notify);
	log_notice("SIGHUP: reloading");
	apply_debug(q);
	log_syslog_probe();
	net_tls_reload(q->net);
	notify_ready(&q->notify);
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

/* The first membership heuristics result arrived: serve. */
static void
startup_heuristics(struct qdevice *q)
{
	uv_timer_stop(&q->startup_timer);
	q->phase = PHASE_RUNNING;
	log_debug("Qdevice ready to provide service");
	log_notice("Qdevice of cluster node %" PRIu32 " for qnetd %s:%u%s, "
	    "algorithm %s, TLS %s, local socket %s", q->cfg.node_id,
	    q->cfg.net.host, (unsigned)q->cfg.net.port,
	    q->cfg.net.host_count > 1 ? " (first of the host list)" : "",
	    algo_id(q->cfg.net.algorithm), tls_id(q->cfg.net.tls),
	    q->set->local_socket_file);
	notify_ready(&q->notify);
	log_debug("Running QDevice main loop");
	net_start(q->net);
}

/* The first node-list notification arrived. */
static void
startup_ring_id(struct qdevice *q)
{
	uint64_t wait = 2 * (uint64_t)qd_heur_sync_timeout(q->heur);

	daemon_signals_start(&q->signals, q->loop, on_signal, q);
	q->phase = PHASE_WAIT_HEURISTICS;
	if (!qd_heur_pending(q->heur)) {
		startup_heuristics(q);
		return;
	}
	log_debug("Waiting for initial heuristics exec result");
	uv_timer_start(&q->startup_timer, startup_timeout, wait, 0);
}

/* ------------------------------------------------------------------ */
/* Events of the adapters (struct qd_events) */

static enum phase
ev_phase(void *arg)
{
	struct qdevice *q = arg;

	return q->phase;
}

static void
ev_exit(void *arg, int status, int unregister)
{
	struct qdevice *q = arg;

	if (q->phase == PHASE_EXITING)
		return;
	q->unregister = unregister;
	qdevice_exit(q, status);
}

static void
ev_disconnect(void *arg, enum disc_reason r)
{
	struct qdevice *q = arg;

	net_disconnect(q->net, r);
}

/*
 * corosync may block cmap while it syncs a new membership, so cmap is not
 * dispatched between a node-list and the following quorum notification.
 */
static void
ev_membership(void *arg)
{
	struct qdevice *q = arg;

	qd_cmap_pause(q->cmap, 1);
	net_membership_changed(q->net);
	if (q->phase == PHASE_WAIT_RING_ID)
		startup_ring_id(q);
}

static void
ev_quorum(void *arg)
{
	struct qdevice *q = arg;

	qd_cmap_pause(q->cmap, 0);
	net_quorum_changed(q->net);
}

static void
ev_expected_votes(void *arg)
{
	struct qdevice *q = arg;

	net_expected_votes_changed(q->net);
}

static void
ev_config_changed(void *arg, unsigned what)
{
	struct qdevice *q = arg;
	const struct kv *kv = qd_cmap_kv(q->cmap);
	char err[CONFIG_ERR_LEN];

	if (what & CMAP_CHANGED_LOGGING)
		apply_debug(q);
	if (what & CMAP_CHANGED_NODELIST) {
		struct nodelist nl;

		log_debug("Node list configuration possibly changed");
		if (config_read_nodelist(kv, &nl, err, sizeof(err)) != 0) {
			log_err("Can't read node list: %s", err);
			net_disconnect(q->net, DISC_CANT_ALLOCATE_MSG_BUFFER);
		} else {
			net_nodelist_changed(q->net, &nl);
		}
	}
	if (what & CMAP_CHANGED_HEURISTICS) {
		struct heur_config h;

		log_debug("Heuristics configuration possibly changed");
		if (config_read_heuristics(kv, &q->limits, q->cfg.timeout,
		    q->cfg.sync_timeout, &h, err, sizeof(err)) != 0) {
			/* 3.0.3 ends the daemon here too (D14). */
			log_crit("Invalid heuristics configuration: %s", err);
			qdevice_exit(q, 1);
			return;
		}
		if (qd_heur_configure(q->heur, &h) != 0)
			qdevice_exit(q, 1);
	}
}

static void
ev_heur_result(void *arg, unsigned purposes, uint8_t prev, uint8_t h)
{
	struct qdevice *q = arg;

	net_heur_result(q->net, purposes, prev, h);
}

static void
ev_heur_membership_done(void *arg)
{
	struct qdevice *q = arg;

	if (q->phase == PHASE_WAIT_HEURISTICS)
		startup_heuristics(q);
}

static void
ev_arbiter_view(void *arg, const uint32_t *members, size_t n)
{
	struct qdevice *q = arg;

	net_hosts_view(q->net, members, n);
}

static void
ev_arbiter_report(void *arg, const struct agree_report *r)
{
	struct qdevice *q = arg;

	net_arbiter_report(q->net, r);
}

static int
cpg_send(void *arg, const struct agree_report *r)
{
	return qd_cpg_send(arg, r);
}

/*
 * A host list is used only by agreement of all nodes (net_hosts.c), over
 * CPG; without it the daemon stays on the first host, as it would alone.
 */
static void
start_host_list(struct qdevice *q)
{
	if (q->cfg.net.host_count < 2)
		return;
	if ((q->cpg = qd_cpg_new()) == NULL ||
	    qd_cpg_start(q->cpg, q->loop, &q->ev) != 0 ||
	    net_hosts_agree_start(q->net, cpg_send, q->cpg) != 0) {
		qd_cpg_close(q->cpg);
		log_warn("quorum.device.net.host_2 and later are set, but the "
		    "nodes can't agree on a host: using only host %s:%u",
		    q->cfg.net.hosts[0].host,
		    (unsigned)q->cfg.net.hosts[0].port);
	}
}

static void
ev_heur_enabled(void *arg)
{
	struct qdevice *q = arg;

	net_heuristics_enabled(q->net);
}

static void
ev_event(void *arg, const char *name, const char *vote, const char *reason)
{
	struct qdevice *q = arg;

	hook_emit(q->hook, &(struct hook_event){ .name = name,
	    .coalesce = strcmp(name, "vote_changed") == 0,
	    .cluster = q->cfg.cluster_name, .node = q->cfg.node_id,
	    .vote = vote, .reason = reason });
}

/* Events to the tools following them (corosync-qdevice-tool --follow). */
static void
on_event_line(void *arg, const char *line, size_t len)
{
	struct qdevice *q = arg;

	if (q->ipc.open)
		ipc_broadcast(&q->ipc, line, len);
}

/* ------------------------------------------------------------------ */
/* Start-up steps 7-13 */

static int
read_config(struct qdevice *q)
{
	char err[CONFIG_ERR_LEN];
	struct heur_config h;

	log_debug("Configuring qdevice");
	if (config_read(qd_cmap_kv(q->cmap), &q->limits, &q->cfg, err,
	    sizeof(err)) != 0) {
		log_crit("Invalid configuration: %s", err);
		return -1;
	}
	if (config_read_heuristics(qd_cmap_kv(q->cmap), &q->limits,
	    q->cfg.timeout, q->cfg.sync_timeout, &h, err, sizeof(err)) != 0) {
		log_crit("Invalid heuristics configuration: %s", err);
		return -1;
	}
	if (qd_heur_configure(q->heur, &h) != 0) {
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
	if (config_read_nodelist(qd_cmap_kv(q->cmap), &q->nodes, err,
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
	const struct qdevice_settings *s = q->set;

	if (daemon_lock(s->lock_file) < 0 ||
	    qd_vq_init(q->vq, s->votequorum_device_name, s->max_cs_try_again,
	    &q->ev) != 0)
		return -1;

	q->hook = hook_new(q->loop, &(struct hook_settings){
	    .path = s->event_hook, .prefix = "QDEVICE",
	    .timeout_ms = (uint32_t)s->event_hook_timeout,
	    .rate = (uint32_t)s->event_hook_rate,
	    .queue_max = (size_t)s->event_hook_queue,
	    .follow = on_event_line, .follow_arg = q });
	if (q->hook == NULL)
		return -1;
	daemon_sighup_start(&q->signals, q->loop, on_sighup, q);
	notify_start(&q->notify, q->loop, status_line, q);
	log_debug("Initializing local socket");
	q->status = (struct qd_status){ &q->cfg, q->net, q->vq, q->heur,
	    &q->ev, q->hook };
	q->ipc = (struct ipc_server){ .handler = on_ipc_command,
	    .on_shutdown = on_ipc_shutdown, .arg = q };
	if (daemon_ipc_start(&q->ipc, q->loop, s->local_socket_file,
	    &s->ipc) != 0)
		return -1;

	/* No model asks for master-wins, so "model" means off. */
	if (read_config(q) != 0 ||
	    qd_vq_master_wins(q->vq,
	    s->master_wins_mode == MASTER_WINS_FORCE_ON) != 0 ||
	    read_nodelist(q) != 0)
		return -1;
	log_debug("Initializing qdevice model");
	if (net_init(q->net, q->loop, s, &q->cfg, &q->nodes, q->vq, q->heur,
	    &q->ev) != 0)
		return -1;
	qd_vq_cast_init(q->vq, q->loop, q->cfg.net.cast_vote_interval);
	start_host_list(q);
	if (qd_cmap_track(q->cmap, q->loop, &q->ev) != 0)
		return -1;
	log_debug("Registering main poll loop callbacks");
	if (qd_vq_start(q->vq, q->loop) != 0 ||
	    qd_metrics_start(&q->http, q->loop, s, &q->status) != 0)
		return -1;

	log_debug("Waiting for ring id");
	q->phase = PHASE_WAIT_RING_ID;
	uv_timer_start(&q->startup_timer, startup_timeout,
	    (uint64_t)s->max_cs_try_again * 1000, 0);
	return 0;
}

/* Orderly teardown; the device is unregistered only after a shutdown. */
static void
teardown(struct qdevice *q)
{
	q->phase = PHASE_EXITING;
	qd_cmap_untrack(q->cmap);
	log_debug("Destroying qdevice model");
	net_close(q->net);
	qd_metrics_stop(&q->http);
	if (q->ipc.open) {
		log_debug("Destroying qdevice ipc");
		ipc_server_stop(&q->ipc);
	}
	qd_vq_close(q->vq);
	qd_cpg_close(q->cpg);
	qd_cmap_close(q->cmap);
	qd_heur_close(q->heur);
	qd_heur_finish(q->heur);
	hook_close(q->hook);
	q->hook = NULL;
	notify_stop(&q->notify);
	daemon_loop_drain(q->loop);
	net_finish(q->net);
	log_debug("Destroying votequorum and cmap");
	qd_vq_finalize(q->vq, q->unregister);
	qd_cmap_finalize(q->cmap);
}

/* Steps 4-6: the worker, cmap and the log's debug level; then fork. */
static int
prepare(struct qdevice *q)
{
	const struct qdevice_settings *s = q->set;
	struct heur_settings hs;
	char err[CONFIG_ERR_LEN];
	cs_error_t e;
	int cfg_debug = 0;

	/* Before corosync: the commands inherit no corosync handles. */
	hs = (struct heur_settings){
		.use_execvp = s->heuristics_use_execvp,
		.max_processes = (uint32_t)s->heuristics_max_processes,
		.kill_list_interval =
		    (uint32_t)s->heuristics_kill_list_interval,
		.ipc_max_size =
		    (size_t)s->heuristics_ipc_max_send_receive_size,
	};
	if (qd_heur_start(q->heur, q->loop, &hs, &q->ev) != 0) {
		log_crit("Can't start the heuristics worker");
		return -2;
	}

	if (qd_cmap_init(q->cmap, s->max_cs_try_again, &e) != 0) {
		log_crit("Failed to initialize the cmap API. Error %s",
		    cs_strerror(e));
		if (!q->foreground)	/* syslog only: say it on stderr too */
			fprintf(stderr, "%s: Failed to initialize the cmap "
			    "API. Error %s\n", PROG, cs_strerror(e));
		return -1;
	}

	/* Logging proper starts now that corosync.conf can be read. */
	if (config_read_debug(qd_cmap_kv(q->cmap), &cfg_debug, err,
	    sizeof(err)) == 0)
		q->config_debug = cfg_debug;
	log_set_debug(q->debug > 0 || q->config_debug);

	if (!q->foreground) {
		if (daemonize() != 0) {
			log_crit("Can't daemonize: %s", strerror(errno));
			return -1;
		}
		uv_loop_fork(q->loop);
	}
	return 0;
}

static void
free_modules(struct qdevice *q)
{
	net_free(q->net);
	qd_heur_free(q->heur);
	qd_vq_free(q->vq);
	qd_cmap_free(q->cmap);
	qd_cpg_free(q->cpg);
}

int
qdevice_run(const struct qdevice_settings *set, int foreground, int debug)
{
	struct qdevice q;
	uv_loop_t loop;
	int rc;

	memset(&q, 0, sizeof(q));
	q.set = set;
	q.foreground = foreground;
	q.debug = debug;
	q.exit_status = EXIT_FAILURE;
	q.ev = (struct qd_events){
		.arg = &q,
		.phase = ev_phase,
		.exit = ev_exit,
		.disconnect = ev_disconnect,
		.membership = ev_membership,
		.quorum = ev_quorum,
		.expected_votes = ev_expected_votes,
		.config_changed = ev_config_changed,
		.heur_result = ev_heur_result,
		.heur_membership_done = ev_heur_membership_done,
		.heur_enabled = ev_heur_enabled,
		.event = ev_event,
		.arbiter_view = ev_arbiter_view,
		.arbiter_report = ev_arbiter_report,
	};
	limits_from_settings(&q);
	q.cmap = qd_cmap_new();
	q.vq = qd_vq_new();
	q.heur = qd_heur_new();
	q.net = net_new();
	if (q.cmap == NULL || q.vq == NULL || q.heur == NULL ||
	    q.net == NULL) {
		fprintf(stderr, "%s: Out of memory\n", PROG);
		free_modules(&q);
		return EXIT_FAILURE;
	}

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

	rc = prepare(&q);
	if (rc == -2) {
		log_close();
		free_modules(&q);
		return EXIT_FAILURE;
	}
	if (rc == 0 && start(&q) == 0)
		uv_run(&loop, UV_RUN_DEFAULT);
	teardown(&q);
	uv_loop_close(&loop);
	log_debug("Closing log");
	log_close();
	config_free(&q.cfg);
	nodelist_free(&q.nodes);
	free_modules(&q);
	return q.exit_status;
}
