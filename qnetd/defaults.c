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
	s->local_socket_backlog = 10;
	s->ipc_max_clients = 10;
	s->ipc_max_receive_size = 4096;
	s->ipc_max_send_size = 10485760;
	q->port = QN_DEFAULT_PORT;
	q->tls_mode = QN_TLS_SUPPORTED;
	q->client_cert_required = 1;
	q->listen_fd = -1;
}
