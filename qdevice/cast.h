/*
 * The cast-vote timer (BEHAVIOUR.md §3.6): while the vote is ACK or NACK,
 * votequorum is told "vote" or "no vote" at once and then every cast-vote
 * interval; ASK_LATER and WAIT_FOR_REPLY stop telling it, so corosync drops
 * the device's votes after quorum.device.timeout; NO_CHANGE keeps things.
 * During a membership change the timer is paused: ticks are skipped until
 * the new membership has been reported.
 */
#ifndef QDEVICE_CAST_H
#define QDEVICE_CAST_H

#include <stdint.h>
#include <uv.h>

/* Tell votequorum; returns -1 on a failure that must end the daemon. */
typedef int (*cast_poll_fn)(void *arg, int cast_vote);
/* A poll failed: the owner shuts down. */
typedef void (*cast_fail_fn)(void *arg);

struct cast {
	uv_timer_t timer;
	uint32_t interval;	/* ms */
	uint8_t vote;		/* last ACK/NACK/ASK_LATER/WAIT_FOR_REPLY */
	int running;
	int paused;
	cast_poll_fn poll;
	cast_fail_fn fail;
	void *arg;
};

void	cast_init(struct cast *c, uv_loop_t *loop, uint32_t interval,
	    cast_poll_fn poll, cast_fail_fn fail, void *arg);
void	cast_close(struct cast *c);

/*
 * Apply a vote (enum qn_vote).  Returns 0, or -1 when the immediate poll
 * failed (fail has not been called: the caller handles it).
 */
int	cast_set_vote(struct cast *c, uint8_t vote);
void	cast_pause(struct cast *c, int paused);

/* "Poll timer running: Yes (cast vote)" */
int	cast_running(const struct cast *c);
int	cast_casting(const struct cast *c);

#endif
