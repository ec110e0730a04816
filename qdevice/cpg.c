/*
 * The arbiter group over libcpg (cpg.h).  A report is 16 bytes:
 * magic "QDAR", version 1, index, reach bits, flags (1: the agreed
 * arbiter is lost, 2: the first host held reachable), epoch, the hash of
 * the sender's host list (all big-endian).  Unknown versions are ignored, so a later
 * format can be rolled out node by node.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <corosync/cpg.h>

#include "cpg.h"
#include "cs.h"
#include "log.h"

#define WIRE_MAGIC	0x51444152u	/* "QDAR" */
#define WIRE_VERSION	1
#define WIRE_LEN	16
#define FLAG_LOST	1
#define FLAG_FIRST_HELD	2

struct join {
	cpg_handle_t handle;
	struct cpg_name name;
};

static cs_error_t
do_join(void *arg)
{
	struct join *j = arg;

	return cpg_join(j->handle, &j->name);
}

struct qd_cpg {
	cpg_handle_t handle;
	int initialized, joined;
	struct qd_cs_poll cs;
	const struct qd_events *ev;
};

static void
deliver(cpg_handle_t h, const struct cpg_name *group, uint32_t nodeid,
    uint32_t pid, void *msg, size_t len)
{
	struct qd_cpg *c = NULL;
	const uint8_t *m = msg;
	struct agree_report r;
	uint32_t v;

	(void)group;
	(void)pid;
	if (cpg_context_get(h, (void **)&c) != CS_OK || c == NULL ||
	    len < WIRE_LEN)
		return;
	memcpy(&v, m, 4);
	if (ntohl(v) != WIRE_MAGIC || m[4] != WIRE_VERSION)
		return;
	memset(&r, 0, sizeof(r));
	r.nodeid = nodeid;
	r.index = m[5];
	r.reach = m[6];
	r.lost = (m[7] & FLAG_LOST) != 0;
	r.first_held = (m[7] & FLAG_FIRST_HELD) != 0;
	memcpy(&v, m + 8, 4);
	r.epoch = ntohl(v);
	memcpy(&v, m + 12, 4);
	r.list = ntohl(v);
	if (qd_phase(c->ev) != PHASE_EXITING)
		c->ev->arbiter_report(c->ev->arg, &r);
}

static void
confchg(cpg_handle_t h, const struct cpg_name *group,
    const struct cpg_address *members, size_t count,
    const struct cpg_address *left, size_t left_count,
    const struct cpg_address *joined, size_t joined_count)
{
	struct qd_cpg *c = NULL;
	uint32_t ids[AGREE_MAX_NODES];
	size_t n = 0;

	(void)group;
	(void)left;
	(void)left_count;
	(void)joined;
	(void)joined_count;
	if (cpg_context_get(h, (void **)&c) != CS_OK || c == NULL)
		return;
	for (size_t i = 0; i < count && n < AGREE_MAX_NODES; i++)
		ids[n++] = members[i].nodeid;
	log_debug("Arbiter group view: %zu members", n);
	if (qd_phase(c->ev) != PHASE_EXITING)
		c->ev->arbiter_view(c->ev->arg, ids, n);
}

static cs_error_t
dispatch(void *arg)
{
	struct qd_cpg *c = arg;

	return cpg_dispatch(c->handle, CS_DISPATCH_ALL);
}

struct qd_cpg *
qd_cpg_new(void)
{
	return calloc(1, sizeof(struct qd_cpg));
}

int
qd_cpg_start(struct qd_cpg *c, uv_loop_t *loop, const struct qd_events *ev)
{
	cpg_callbacks_t cb = { .cpg_deliver_fn = deliver,
	    .cpg_confchg_fn = confchg };
	struct join j;
	cs_error_t e;

	c->ev = ev;
	if ((e = cpg_initialize(&c->handle, &cb)) != CS_OK) {
		log_err("Can't connect to corosync's process groups (CPG, "
		    "error %d): the host list can't be agreed on", (int)e);
		return -1;
	}
	c->initialized = 1;
	cpg_context_set(c->handle, c);
	memset(&j, 0, sizeof(j));
	j.handle = c->handle;
	j.name.length = strlen(QD_CPG_GROUP);
	memcpy(j.name.value, QD_CPG_GROUP, j.name.length);
	if (qd_cs_retry(10, do_join, &j, &e) != 0) {
		log_err("Can't join the process group " QD_CPG_GROUP
		    " (error %d): the host list can't be agreed on", (int)e);
		qd_cpg_close(c);
		return -1;
	}
	c->joined = 1;
	if (qd_cs_poll_start(loop, &c->cs, "cpg",
	    cpg_fd_get(c->handle, &c->cs.fd), dispatch, c, ev) != 0) {
		qd_cpg_close(c);
		return -1;
	}
	log_debug("Joined process group " QD_CPG_GROUP);
	return 0;
}

int
qd_cpg_running(const struct qd_cpg *c)
{
	return c != NULL && c->joined;
}

int
qd_cpg_send(struct qd_cpg *c, const struct agree_report *r)
{
	uint8_t m[WIRE_LEN] = { 0 };
	struct iovec iov = { m, sizeof(m) };
	uint32_t v = htonl(WIRE_MAGIC);
	cs_error_t e;

	if (!c->joined)
		return -1;
	memcpy(m, &v, 4);
	m[4] = WIRE_VERSION;
	m[5] = r->index;
	m[6] = r->reach;
	m[7] = (uint8_t)((r->lost ? FLAG_LOST : 0) |
	    (r->first_held ? FLAG_FIRST_HELD : 0));
	v = htonl(r->epoch);
	memcpy(m + 8, &v, 4);
	v = htonl(r->list);
	memcpy(m + 12, &v, 4);
	e = cpg_mcast_joined(c->handle, CPG_TYPE_AGREED, &iov, 1);
	if (e != CS_OK) {
		log_debug("Can't send the arbiter report (CPG error %d)",
		    (int)e);
		return -1;
	}
	return 0;
}

void
qd_cpg_close(struct qd_cpg *c)
{
	if (c == NULL || !c->initialized)
		return;
	qd_cs_poll_close(&c->cs);
	cpg_finalize(c->handle);
	c->initialized = 0;
	c->joined = 0;
}

void
qd_cpg_free(struct qd_cpg *c)
{
	free(c);
}
