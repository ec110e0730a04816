/*
 * The instance's defaults before the command line: shared by main.c and the
 * fuzzer (tests/fuzz/fuzz_qnetd.c), which builds an instance without one.
 */
#include <string.h>

#include "qnetd.h"

void
qnetd_defaults(struct qnetd *q)
{
	struct qnetd_settings *s = &q->set;

	memset(q, 0, sizeof(*q));
	q->lock_fd = -1;
	/* 3.0.3 listens with a backlog of 10: a restart then takes a minute
	 * to readmit 2,000 clients (PROTOCOL.md §14.3). */
	s->listen_backlog = 4096;
	s->max_client_send_buffers = 32;
	s->max_client_send_size = 32768;
	s->max_client_receive_size = 32768;
	s->heartbeat_interval_min = 1000;
	s->heartbeat_interval_max = 120000;
	s->dpd_enabled = 1;
	s->dpd_interval_coefficient = 1.5;
	s->ipc.backlog = 10;
	s->ipc.max_clients = 10;
	s->ipc.max_receive_size = 4096;
	s->ipc.max_send_size = 10485760;
	s->ipc.idle_timeout = IPC_IDLE_TIMEOUT_DEFAULT;
	s->ipc.umask = -1;		/* local_socket_umask: unchanged */
	s->ipc.gid = -1;		/* local_socket_gid: unchanged */
	/* Abuse limits (ours; 0 turns each off).  A qdevice completes INIT
	 * in a few round trips, where 3.0.3 waits 180 s. */
	s->init_timeout = 15000;
	s->max_clients_per_address = 1024;
	s->max_clusters = 65536;
	/* Replies are < 200 bytes; 256 KiB is 8 echoes of the largest size. */
	s->max_client_send_bytes = 262144;
	/* A qdevice sends a handful per membership change and one per HB. */
	s->max_client_message_rate = 200;
	/* Enough to keep a CPU busy across network round trips; more only
	 * makes every handshake slower (handshake.c): 3,000
	 * TLS clients with 8 s connect timers on a busy 2-CPU machine were
	 * all in after 39 s with 8, 52 s with 16, 55 s with 64 (1,252
	 * handshakes wasted on clients that gave up) and 79 s with 2. */
	s->max_tls_handshakes = 16;
	/* Two heartbeats for a qdevice to notice its arbiter is gone, plus
	 * quorum.device.timeout (1.25 heartbeats) should it hang, plus a
	 * quarter for scheduling: see gate.h. */
	s->ack_grace_coefficient = 3.5;
	/* Half the loop: a node list of the largest size costs a cluster of
	 * 20 clients 0.2 ms, so a cluster needs thousands a second to get
	 * there, and the others keep at least the other half. */
	s->max_cluster_cpu_per_second = 500;
	/* A qdevice answers our part of the handshake within a round trip
	 * and milliseconds of CPU; a host that stalls the handshakes it
	 * starts holds each slot this long, so 16 slots serve 32 of them a
	 * second and still have room for the others (handshake.c). */
	s->tls_handshake_stall_timeout = 500;
	/* A hook is a process per event: a few a second is plenty for an
	 * admin's script, and a storm can't fork more (events.c). */
	s->event_hook_timeout = 10000;
	s->event_hook_rate = 10;
	s->event_hook_queue = 1000;
	s->http_max_connections = 16;
	s->http_timeout = 10;
	s->http_max_request_size = 16384;
	/* Decision memory: a save costs a write and two fsyncs, so at most
	 * one a second; kept a day after a cluster's last client, for up to
	 * max_clusters clusters; a remembered tie held for 30 s, which is
	 * time enough for a qdevice to reconnect after a restart (it retries
	 * every second or so) and short next to a node's boot. */
	s->state_save_interval = 1000;
	s->memory_keep_time = 86400000;
	s->memory_max_clusters = 65536;
	s->tie_hold_time = 30000;
	/* Enrolment: certificates for 2 years (issue 14), and a node that
	 * mistypes a token a few times is not locked out for long. */
	s->enroll_cert_lifetime = 730;
	s->enroll_attempts_per_minute = 10;
	q->port = QN_DEFAULT_PORT;
	q->tls_mode = QN_TLS_SUPPORTED;
	q->client_cert_required = 1;
}
