/*
 * fuzz_qdevice: what corosync, the heuristics worker and start.c provide,
 * stubbed (see fuzz_qdevice.c): the votequorum adapter (vq.h), the
 * heuristics adapter (heur.h), start.c's events table, and corosync's
 * membership, quorum and node list as the input sets them.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz_qdevice.h"

/* ------------------------------------------------------------------ */
/* Stubs: votequorum, the heuristics worker, start.c */

int
vq_poll(void *arg, int cast_vote)
{
	(void)arg;
	(void)cast_vote;
	h.polls++;
	return h.cfg & CFG_POLL_FAILS ? -1 : 0;
}

void
ev_exit(void *arg, int status, int unregister)
{
	(void)arg;
	(void)unregister;
	if (h.phase == PHASE_EXITING)
		return;
	h.phase = PHASE_EXITING;
	h.exit_status = status;
	uv_stop(&h.loop);
}

void
vq_poll_failed(void *arg)
{
	ev_exit(arg, 1, 0);
}

enum phase
ev_phase(void *arg)
{
	(void)arg;
	return h.phase;
}

const struct qd_vq_view *
qd_vq_view(const struct qd_vq *vq)
{
	return &vq->v;
}

int
qd_vq_node_votes(struct qd_vq *vq, uint32_t node_id, uint32_t *votes,
    uint32_t *qdevice_votes)
{
	(void)vq;
	if (node_id > NODES_MAX)
		return 1;		/* not known to votequorum */
	*votes = node_id == 3 && (h.cfg2 & CFG2_VOTES_2) ? 2 : 1;
	*qdevice_votes = 1;
	return 0;
}

int
qd_vq_local_votes(struct qd_vq *vq, struct qd_vq_votes *out)
{
	(void)vq;
	(void)out;
	return -1;
}

int
qd_vq_cast(struct qd_vq *vq, uint8_t vote)
{
	return cast_set_vote(&vq->cast, vote);
}

uint8_t
qd_vq_vote(const struct qd_vq *vq)
{
	return vq->cast.vote;
}

void
qd_vq_cast_pause(struct qd_vq *vq, int paused)
{
	cast_pause(&vq->cast, paused);
}

void
qd_heur_run(struct qd_heur *hr, unsigned purpose, int sync)
{
	hr->pending_seq = ++h.heur_seq;
	hr->pending_for |= purpose;
	hr->pending_timeout = sync ? hr->cfg.sync_timeout : hr->cfg.timeout;
}

void
qd_heur_stop_regular(struct qd_heur *hr)
{
	(void)hr;
}

int
qd_heur_enabled(const struct qd_heur *hr)
{
	return hr->cfg.mode != HEUR_MODE_OFF;
}

const struct qd_heur_results *
qd_heur_results(const struct qd_heur *hr)
{
	return &hr->res;
}

/* What heur.c does with the worker's answer. */
void
heur_result(uint8_t v)
{
	struct qd_heur *hr = &h.heur;
	unsigned purposes = hr->pending_for;
	uint8_t prev;

	if (hr->pending_seq == 0 || h.phase == PHASE_EXITING)
		return;
	hr->pending_seq = 0;
	hr->pending_for = 0;
	if (purposes & HEUR_FOR_MEMBERSHIP)
		hr->res.membership = v;
	if (purposes & HEUR_FOR_CONNECT)
		hr->res.connect = v;
	if (purposes & HEUR_FOR_REGULAR)
		hr->res.regular = v;
	prev = hr->res.latest;
	net_heur_result(h.net, purposes, prev, v);
	hr->res.latest = v;
}

/* ------------------------------------------------------------------ */
/* Corosync */

void
set_members(size_t count)
{
	struct qd_vq_view *vq = &h.vq.v;

	free(vq->members);
	vq->members = calloc(count, sizeof(*vq->members));
	vq->member_count = vq->members != NULL ? count : 0;
	for (size_t i = 0; i < vq->member_count; i++)
		vq->members[i] = (uint32_t)i + 1;
	vq->ring_id = (struct qn_ring_id){ 1, ++h.ring_seq };
	vq->has_ring_id = 1;
}

void
set_quorum(int quorate)
{
	struct qd_vq_view *vq = &h.vq.v;
	size_t n = vq->member_count + 1;

	free(vq->quorum_nodes);
	vq->quorum_nodes = calloc(n, sizeof(*vq->quorum_nodes));
	vq->quorum_count = vq->quorum_nodes != NULL ? n : 0;
	for (size_t i = 0; i < vq->quorum_count; i++) {
		/* The last entry is the device itself (node id 0). */
		vq->quorum_nodes[i].nodeid = i + 1 < n ? (uint32_t)i + 1 : 0;
		vq->quorum_nodes[i].state = 1;
	}
	vq->quorate = quorate;
	vq->has_quorum = 1;
}

int
make_nodelist(struct nodelist *nl, size_t count, int version)
{
	memset(nl, 0, sizeof(*nl));
	if ((nl->nodes = calloc(count, sizeof(*nl->nodes))) == NULL)
		return -1;
	nl->count = count;
	for (size_t i = 0; i < count; i++)
		nl->nodes[i].node_id = (uint32_t)i + 1;
	nl->has_config_version = version;
	nl->config_version = 7;
	return 0;
}
