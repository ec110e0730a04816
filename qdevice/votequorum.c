/*
 * votequorum: the device's registration, the notifications that drive the
 * model and the polls that cast its vote (BEHAVIOUR.md §3.2, §3.6).
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cast.h"
#include "cs.h"
#include "log.h"
#include "vq.h"

struct qd_vq {
	votequorum_handle_t handle;
	int initialized;
	int registered;
	int cast_up;
	const char *name;		/* the device's name (settings) */
	const struct qd_events *ev;
	struct qd_cs_poll cs;
	struct cast cast;
	struct qd_vq_view v;
};

static struct qd_vq *
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
	struct qd_vq *vq = instance(h);
	struct qd_vq_view *v;
	uint32_t *m;

	(void)context;
	if (vq == NULL || qd_phase(vq->ev) == PHASE_EXITING)
		return;
	v = &vq->v;
	log_debug("Votequorum nodelist notify callback:");
	log_debug("  Ring_id = (%" PRIx32 ".%" PRIx64 ")", ring_id.nodeid,
	    ring_id.seq);
	log_debug("  Node list (size = %" PRIu32 "):", n);
	for (uint32_t i = 0; i < n; i++)
		log_debug("    %" PRIu32 " nodeid = %" PRIu32, i, nodes[i]);

	v->ring_id.node_id = ring_id.nodeid;
	v->ring_id.seq = ring_id.seq;
	v->has_ring_id = 1;
	m = n ? malloc(n * sizeof(*m)) : NULL;
	if (n && m == NULL) {
		log_crit("Can't store votequorum node list: out of memory");
		vq->ev->disconnect(vq->ev->arg, DISC_CANT_ALLOCATE_MSG_BUFFER);
		return;
	}
	if (n)
		memcpy(m, nodes, n * sizeof(*m));
	free(v->members);
	v->members = m;
	v->member_count = n;
	v->sync_in_progress = 1;
	vq->ev->membership(vq->ev->arg);
}

static void
quorum_notify(votequorum_handle_t h, uint64_t context, uint32_t quorate,
    uint32_t n, votequorum_node_t nodes[])
{
	struct qd_vq *vq = instance(h);
	struct qd_vq_view *v;
	votequorum_node_t *copy;

	(void)context;
	if (vq == NULL || qd_phase(vq->ev) == PHASE_EXITING)
		return;
	v = &vq->v;
	log_debug("Votequorum quorum notify callback:");
	log_debug("  Quorate = %" PRIu32, quorate);
	log_debug("  Node list (size = %" PRIu32 "):", n);
	for (uint32_t i = 0; i < n; i++)
		log_debug("    %" PRIu32 " nodeid = %" PRIu32 ", state = %"
		    PRIu32, i, nodes[i].nodeid, nodes[i].state);

	copy = n ? malloc(n * sizeof(*copy)) : NULL;
	if (n && copy == NULL) {
		log_crit("Can't store votequorum quorum list: out of memory");
		vq->ev->disconnect(vq->ev->arg, DISC_CANT_ALLOCATE_MSG_BUFFER);
		return;
	}
	if (n)
		memcpy(copy, nodes, n * sizeof(*copy));
	free(v->quorum_nodes);
	v->quorum_nodes = copy;
	v->quorum_count = n;
	v->quorate = quorate != 0;
	v->has_quorum = 1;
	v->sync_in_progress = 0;
	vq->ev->quorum(vq->ev->arg);
}

static void
expected_votes_notify(votequorum_handle_t h, uint64_t context,
    uint32_t expected_votes)
{
	struct qd_vq *vq = instance(h);

	(void)context;
	if (vq == NULL || qd_phase(vq->ev) == PHASE_EXITING)
		return;
	log_debug("Votequorum expected_votes notify callback:");
	log_debug("  Expected_votes: %" PRIu32, expected_votes);
	vq->v.expected_votes = expected_votes;
	vq->ev->expected_votes(vq->ev->arg);
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
qd_vq_init(struct qd_vq *vq, const char *device_name, long long tries,
    const struct qd_events *ev)
{
	static votequorum_callbacks_t cb = {
		.votequorum_quorum_notify_fn = quorum_notify,
		.votequorum_expectedvotes_notify_fn = expected_votes_notify,
		.votequorum_nodelist_notify_fn = nodelist_notify,
	};
	struct init_args ia = { &vq->handle, &cb };
	struct name_args na;
	struct votequorum_info info;
	cs_error_t e;

	vq->name = device_name;
	vq->ev = ev;
	log_debug("Initializing votequorum");
	if (qd_cs_retry(tries, do_initialize, &ia, &e) != 0) {
		log_crit("Failed to initialize the votequorum API. Error %s",
		    cs_strerror(e));
		return -1;
	}
	vq->initialized = 1;
	na = (struct name_args){ vq->handle, vq->name };
	if (qd_cs_retry(tries, do_register, &na, &e) != 0) {
		log_crit("Can't register votequorum device '%s'. Error %s",
		    vq->name, cs_strerror(e));
		return -1;
	}
	vq->registered = 1;
	if (votequorum_context_set(vq->handle, vq) != CS_OK) {
		log_crit("Can't set votequorum context");
		return -1;
	}
	if ((e = votequorum_getinfo(vq->handle, 0, &info)) != CS_OK) {
		log_crit("Can't get votequorum information. Error %s",
		    cs_strerror(e));
		return -1;
	}
	vq->v.expected_votes = info.node_expected_votes;
	if ((e = votequorum_trackstart(vq->handle, 0, CS_TRACK_CHANGES)) !=
	    CS_OK) {
		log_crit("Can't start tracking votequorum changes. Error %s",
		    cs_strerror(e));
		return -1;
	}
	return 0;
}

/* Start-up step 10. */
int
qd_vq_master_wins(struct qd_vq *vq, int allow)
{
	cs_error_t e;

	log_debug("Configuring master_wins");
	e = votequorum_qdevice_master_wins(vq->handle, vq->name,
	    allow ? 1 : 0);
	if (e != CS_OK) {
		log_crit("Can't set master_wins. Error %s", cs_strerror(e));
		return -1;
	}
	return 0;
}

static cs_error_t
dispatch(void *arg)
{
	struct qd_vq *vq = arg;

	return votequorum_dispatch(vq->handle, CS_DISPATCH_ALL);
}

/* Main-loop callbacks (start-up step 13): notifications flow from now on. */
int
qd_vq_start(struct qd_vq *vq, uv_loop_t *loop)
{
	return qd_cs_poll_start(loop, &vq->cs, "votequorum",
	    votequorum_fd_get(vq->handle, &vq->cs.fd), dispatch, vq, vq->ev);
}

/* The cast vote timer's poll: tell votequorum "vote" or "no vote". */
static int
poll_vote(void *arg, int cast_vote)
{
	struct qd_vq *vq = arg;
	votequorum_ring_id_t ring = {
		.nodeid = vq->v.ring_id.node_id, .seq = vq->v.ring_id.seq
	};
	cs_error_t e;

	log_debug("Voting %s votequorum device (ring id %" PRIx32 ".%" PRIx64
	    ")", cast_vote ? "for" : "against", ring.nodeid, ring.seq);
	e = votequorum_qdevice_poll(vq->handle, vq->name, cast_vote ? 1 : 0,
	    ring);
	switch (e) {
	case CS_OK:
		vq->v.last_poll = time(NULL);
		vq->v.last_poll_cast_vote = cast_vote;
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

/* A poll failed: the daemon ends (the device stays registered). */
static void
poll_failed(void *arg)
{
	struct qd_vq *vq = arg;

	vq->ev->exit(vq->ev->arg, 1, 0);
}

void
qd_vq_cast_init(struct qd_vq *vq, uv_loop_t *loop, uint32_t interval)
{
	cast_init(&vq->cast, loop, interval, poll_vote, poll_failed, vq);
	vq->cast_up = 1;
	log_debug("Cast vote timer remains stopped.");
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

int
qd_vq_cast_running(const struct qd_vq *vq)
{
	return cast_running(&vq->cast);
}

int
qd_vq_cast_casting(const struct qd_vq *vq)
{
	return cast_casting(&vq->cast);
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
	struct votequorum_info info;
	cs_error_t e = votequorum_getinfo(vq->handle, node_id, &info);

	if (e == CS_ERR_NOT_EXIST)
		return 1;
	if (e != CS_OK)
		return -1;
	*votes = info.node_votes;
	*qdevice_votes = info.qdevice_votes;
	return 0;
}

int
qd_vq_local_votes(struct qd_vq *vq, struct qd_vq_votes *out)
{
	struct votequorum_info info;

	/* Node id 0: this node, as votequorum sees it right now. */
	if (votequorum_getinfo(vq->handle, 0, &info) != CS_OK)
		return -1;
	out->quorate = (info.flags & VOTEQUORUM_INFO_QUORATE) != 0;
	out->total_votes = info.total_votes;
	out->quorum = info.quorum;
	/* Counted only while the device casts (cautious: alive or not). */
	out->qdevice_votes = info.flags & VOTEQUORUM_INFO_QDEVICE_CAST_VOTE ?
	    info.qdevice_votes : 0;
	return 0;
}

void
qd_vq_close(struct qd_vq *vq)
{
	if (vq->cast_up)
		cast_close(&vq->cast);
	vq->cast_up = 0;
	qd_cs_poll_close(&vq->cs);
}

/*
 * When the main loop ends (shutdown, or a disconnect reason that ends the
 * daemon) the device is unregistered, so corosync stops counting it at
 * once; after an error during start-up or a failed poll it stays
 * registered and corosync declares it lost after quorum.device.timeout.
 */
void
qd_vq_finalize(struct qd_vq *vq, int unregister)
{
	if (vq->initialized) {
		votequorum_trackstop(vq->handle);
		if (vq->registered && unregister) {
			log_debug("Unregistering votequorum device");
			votequorum_qdevice_unregister(vq->handle, vq->name);
		}
		votequorum_finalize(vq->handle);
	}
	vq->initialized = vq->registered = 0;
	free(vq->v.members);
	free(vq->v.quorum_nodes);
	vq->v.members = NULL;
	vq->v.quorum_nodes = NULL;
}

struct qd_vq *
qd_vq_new(void)
{
	return calloc(1, sizeof(struct qd_vq));
}

void
qd_vq_free(struct qd_vq *vq)
{
	free(vq);
}
