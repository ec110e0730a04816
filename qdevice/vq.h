/*
 * The votequorum adapter: the device's registration, the notifications
 * (reported as membership, quorum and expected_votes events) and the cast
 * vote timer that polls votequorum (cast.c).  The model reads what the
 * notifications said through qd_vq_view() and asks for a vote with
 * qd_vq_cast().
 */
#ifndef QDEVICE_VQ_H
#define QDEVICE_VQ_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <uv.h>
#include <corosync/votequorum.h>

#include "events.h"
#include "proto.h"

struct qd_vq;

/* What the latest notifications said; owned by votequorum.c. */
struct qd_vq_view {
	/* Latest node-list notification: polls carry this ring id. */
	int has_ring_id;
	struct qn_ring_id ring_id;
	uint32_t *members;
	size_t member_count;
	/* Latest quorum notification, node id 0 entries included. */
	int has_quorum;
	int quorate;
	votequorum_node_t *quorum_nodes;
	size_t quorum_count;
	uint32_t expected_votes;
	/* Between a node-list and the following quorum notification. */
	int sync_in_progress;
	time_t last_poll;		/* 0: never */
	int last_poll_cast_vote;
};

struct qd_vq *qd_vq_new(void);
void	qd_vq_free(struct qd_vq *vq);

/* Start-up step 7: connect, register the device, track changes. */
int	qd_vq_init(struct qd_vq *vq, const char *device_name, long long tries,
	    const struct qd_events *ev);
/* Start-up step 10: master_wins on or off. */
int	qd_vq_master_wins(struct qd_vq *vq, int allow);
/* Start-up step 12: the cast vote timer, every interval ms. */
void	qd_vq_cast_init(struct qd_vq *vq, uv_loop_t *loop, uint32_t interval);
/* Start-up step 13: watch the descriptor, notifications flow. */
int	qd_vq_start(struct qd_vq *vq, uv_loop_t *loop);

const struct qd_vq_view *qd_vq_view(const struct qd_vq *vq);
/* votequorum's votes of a node: 0, 1 unknown node, -1 error. */
int	qd_vq_node_votes(struct qd_vq *vq, uint32_t node_id, uint32_t *votes,
	    uint32_t *qdevice_votes);

/* This node's votes as votequorum counts them now (votequorum_getinfo). */
struct qd_vq_votes {
	int quorate;
	uint32_t total_votes;		/* the Qdevice's included when cast */
	uint32_t qdevice_votes;		/* 0 unless votequorum counts them */
	uint32_t quorum;
};
/* 0, or -1 when votequorum cannot be asked. */
int	qd_vq_local_votes(struct qd_vq *vq, struct qd_vq_votes *out);

/*
 * Apply a vote (enum qn_vote) to the cast vote timer (cast.h); -1 when
 * the immediate poll failed (the caller ends the daemon).
 */
int	qd_vq_cast(struct qd_vq *vq, uint8_t vote);
/* The vote the timer casts (QN_VOTE_UNDEFINED before the first). */
uint8_t	qd_vq_vote(const struct qd_vq *vq);
/* No polls while a membership change is being reported. */
void	qd_vq_cast_pause(struct qd_vq *vq, int paused);
/* "Poll timer running: Yes (cast vote)" */
int	qd_vq_cast_running(const struct qd_vq *vq);
int	qd_vq_cast_casting(const struct qd_vq *vq);

void	qd_vq_close(struct qd_vq *vq);
/* Unregister the device when unregister is set, then disconnect. */
void	qd_vq_finalize(struct qd_vq *vq, int unregister);

#endif
