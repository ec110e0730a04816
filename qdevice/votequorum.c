/*
 * votequorum: the device's registration, the notifications that drive the
 * model and the polls that cast its vote (BEHAVIOUR.md §3.2).
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "qdevice.h"

static struct qdevice *
instance(votequorum_handle_t h)
{
	void *ctx = NULL;

	if (votequorum_context_get(h, &ctx) != CS_OK)
		return NULL;
	return ctx;
}

/*
 * A new membership: corosync is syncing, it waits for a poll carrying the
 * new ring id.  Record it before anything else so every poll from now on
 * carries it.
 */
static void
nodelist_notify(votequorum_handle_t h, uint64_t context,
    votequorum_ring_id_t ring_id, uint32_t n, uint32_t nodes[])
{
	struct qdevice *q = instance(h);
	struct qd_vq *vq;
	uint32_t *m;

	(void)context;
	if (q == NULL || q->phase == PHASE_EXITING)
		return;
	vq = &q->vq;
	log_debug("Votequorum nodelist notify callback:");
	log_debug("  Ring_id = (%" PRIx32 ".%" PRIx64 ")", ring_id.nodeid,
	    ring_id.seq);
	log_debug("  Node list (size = %" PRIu32 "):", n);
	for (uint32_t i = 0; i < n; i++)
		log_debug("    %" PRIu32 " nodeid = %" PRIu32, i, nodes[i]);

	vq->ring_id.node_id = ring_id.nodeid;
	vq->ring_id.seq = ring_id.seq;
	vq->has_ring_id = 1;
	m = n ? malloc(n * sizeof(*m)) : NULL;
	if (n && m == NULL) {
		log_crit("Can't store votequorum node list: out of memory");
		net_disconnect(q, DISC_CANT_ALLOCATE_MSG_BUFFER);
		return;
	}
	if (n)
		memcpy(m, nodes, n * sizeof(*m));
	free(vq->members);
	vq->members = m;
	vq->member_count = n;
	vq->sync_in_progress = 1;
	qd_cmap_pause(q, 1);

	net_membership_changed(q);
	if (q->phase == PHASE_WAIT_RING_ID)
		qdevice_startup_ring_id(q);
}

static void
quorum_notify(votequorum_handle_t h, uint64_t context, uint32_t quorate,
    uint32_t n, votequorum_node_t nodes[])
{
	struct qdevice *q = instance(h);
	struct qd_vq *vq;
	votequorum_node_t *copy;

	(void)context;
	if (q == NULL || q->phase == PHASE_EXITING)
		return;
	vq = &q->vq;
	log_debug("Votequorum quorum notify callback:");
	log_debug("  Quorate = %" PRIu32, quorate);
	log_debug("  Node list (size = %" PRIu32 "):", n);
	for (uint32_t i = 0; i < n; i++)
		log_debug("    %" PRIu32 " nodeid = %" PRIu32 ", state = %"
		    PRIu32, i, nodes[i].nodeid, nodes[i].state);

	copy = n ? malloc(n * sizeof(*copy)) : NULL;
	if (n && copy == NULL) {
		log_crit("Can't store votequorum quorum list: out of memory");
		net_disconnect(q, DISC_CANT_ALLOCATE_MSG_BUFFER);
		return;
	}
	if (n)
		memcpy(copy, nodes, n * sizeof(*copy));
	free(vq->quorum_nodes);
	vq->quorum_nodes = copy;
	vq->quorum_count = n;
	vq->quorate = quorate != 0;
	vq->has_quorum = 1;
	vq->sync_in_progress = 0;
	qd_cmap_pause(q, 0);

	net_quorum_changed(q);
}

static void
expected_votes_notify(votequorum_handle_t h, uint64_t context,
    uint32_t expected_votes)
{
	struct qdevice *q = instance(h);

	(void)context;
	if (q == NULL || q->phase == PHASE_EXITING)
		return;
	log_debug("Votequorum expected_votes notify callback:");
	log_debug("  Expected_votes: %" PRIu32, expected_votes);
	q->vq.expected_votes = expected_votes;
	net_expected_votes_changed(q);
}

struct init_args {
	votequorum_handle_t *handle;
	votequorum_callbacks_t *cb;
};

static cs_error_t
do_initialize(void *arg)
{
	struct init_args *a = arg;

	return votequorum_initialize(a->handle, a->cb);
}

struct name_args {
	votequorum_handle_t handle;
	const char *name;
};

static cs_error_t
do_register(void *arg)
{
	struct name_args *a = arg;

	return votequorum_qdevice_register(a->handle, a->name);
}

/* Start-up step 7: a failure ends the daemon before it serves anything. */
int
qd_vq_init(struct qdevice *q)
{
	static votequorum_callbacks_t cb = {
		.votequorum_quorum_notify_fn = quorum_notify,
		.votequorum_expectedvotes_notify_fn = expected_votes_notify,
		.votequorum_nodelist_notify_fn = nodelist_notify,
	};
	struct qd_vq *vq = &q->vq;
	struct init_args ia = { &vq->handle, &cb };
	struct name_args na;
	struct votequorum_info info;
	cs_error_t e;

	log_debug("Initializing votequorum");
	if (qd_cs_retry(q, do_initialize, &ia, &e) != 0) {
		log_crit("Failed to initialize the votequorum API. Error %s",
		    cs_strerror(e));
		return -1;
	}
	vq->initialized = 1;
	na = (struct name_args){ vq->handle, q->set.votequorum_device_name };
	if (qd_cs_retry(q, do_register, &na, &e) != 0) {
		log_crit("Can't register votequorum device '%s'. Error %s",
		    q->set.votequorum_device_name, cs_strerror(e));
		return -1;
	}
	vq->registered = 1;
	if (votequorum_context_set(vq->handle, q) != CS_OK) {
		log_crit("Can't set votequorum context");
		return -1;
	}
	if ((e = votequorum_getinfo(vq->handle, 0, &info)) != CS_OK) {
		log_crit("Can't get votequorum information. Error %s",
		    cs_strerror(e));
		return -1;
	}
	vq->expected_votes = info.node_expected_votes;
	if ((e = votequorum_trackstart(vq->handle, 0, CS_TRACK_CHANGES)) !=
	    CS_OK) {
		log_crit("Can't start tracking votequorum changes. Error %s",
		    cs_strerror(e));
		return -1;
	}
	return 0;
}

/* Start-up step 10.  No model asks for master-wins, so "model" means off. */
int
qd_vq_master_wins(struct qdevice *q)
{
	unsigned allow = q->set.master_wins_mode == MASTER_WINS_FORCE_ON;
	cs_error_t e;

	log_debug("Configuring master_wins");
	e = votequorum_qdevice_master_wins(q->vq.handle,
	    q->set.votequorum_device_name, allow);
	if (e != CS_OK) {
		log_crit("Can't set master_wins. Error %s", cs_strerror(e));
		return -1;
	}
	return 0;
}

static cs_error_t
dispatch(struct qdevice *q)
{
	return votequorum_dispatch(q->vq.handle, CS_DISPATCH_ALL);
}

/* Main-loop callbacks (start-up step 13): notifications flow from now on. */
int
qd_vq_start(struct qdevice *q)
{
	struct qd_vq *vq = &q->vq;

	return qd_cs_poll_start(q, &vq->cs, "votequorum",
	    votequorum_fd_get(vq->handle, &vq->cs.fd), dispatch);
}

int
qd_vq_poll(struct qdevice *q, int cast_vote)
{
	struct qd_vq *vq = &q->vq;
	votequorum_ring_id_t ring = {
		.nodeid = vq->ring_id.node_id, .seq = vq->ring_id.seq
	};
	cs_error_t e;

	log_debug("Voting %s votequorum device (ring id %" PRIx32 ".%" PRIx64
	    ")", cast_vote ? "for" : "against", ring.nodeid, ring.seq);
	e = votequorum_qdevice_poll(vq->handle, q->set.votequorum_device_name,
	    cast_vote ? 1 : 0, ring);
	switch (e) {
	case CS_OK:
		vq->last_poll = time(NULL);
		vq->last_poll_cast_vote = cast_vote;
		return 0;
	case CS_ERR_TRY_AGAIN:
		return 0;
	case CS_ERR_MESSAGE_ERROR:
		/* A newer membership is on its way: its notify follows. */
		log_info("qdevice_votequorum_poll called with old ring id");
		return 0;
	default:
		log_crit("Can't call votequorum_qdevice_poll. Error %s",
		    cs_strerror(e));
		return -1;
	}
}

int
qd_vq_node_votes(struct qdevice *q, uint32_t node_id, uint32_t *votes,
    uint32_t *qdevice_votes)
{
	struct votequorum_info info;
	cs_error_t e = votequorum_getinfo(q->vq.handle, node_id, &info);

	if (e == CS_ERR_NOT_EXIST)
		return 1;
	if (e != CS_OK)
		return -1;
	*votes = info.node_votes;
	*qdevice_votes = info.qdevice_votes;
	return 0;
}

void
qd_vq_close(struct qdevice *q)
{
	qd_cs_poll_close(&q->vq.cs);
}

/*
 * When the main loop ends (shutdown, or a disconnect reason that ends the
 * daemon) the device is unregistered, so corosync stops counting it at
 * once; after an error during start-up or a failed poll it stays
 * registered and corosync declares it lost after quorum.device.timeout.
 */
void
qd_vq_finalize(struct qdevice *q)
{
	struct qd_vq *vq = &q->vq;

	if (vq->initialized) {
		votequorum_trackstop(vq->handle);
		if (vq->registered && q->unregister) {
			log_debug("Unregistering votequorum device");
			votequorum_qdevice_unregister(vq->handle,
			    q->set.votequorum_device_name);
		}
		votequorum_finalize(vq->handle);
	}
	vq->initialized = vq->registered = 0;
	free(vq->members);
	free(vq->quorum_nodes);
	vq->members = NULL;
	vq->quorum_nodes = NULL;
}
