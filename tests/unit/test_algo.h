/*
 * Harness for the decision algorithm tests: drives decide_* the way qnetd's
 * message handlers do and plays the qdevices, recording every VOTE_INFO and
 * reply in order.  The world is the decision core and a recording services
 * table (core.h) in place of the server.
 */
#ifndef TEST_ALGO_H
#define TEST_ALGO_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "algo/algo.h"
#include "cluster.h"
#include "decide.h"

#define H_MAX_CLIENTS	32
#define H_MAX_EVENTS	1024

enum h_kind { H_VOTE_INFO, H_REPLY };

struct h_event {
	enum h_kind kind;
	uint32_t node;
	uint32_t seq;			/* VOTE_INFO */
	uint8_t vote;
	struct qn_ring_id ring;
	char reason[DECISION_REASON_LEN];
	int answered;			/* VOTE_INFO was answered */
};

/* A connected qdevice as the tests see it. */
struct h_client {
	struct member c;		/* first: the services get &c */
	struct qn_ring_id sent_ring;	/* INIT's, then membership's */
	uint8_t vote;			/* the vote the qdevice acts on */
	int timer_armed;
	uint32_t timer_ms;
	int gone;
};

struct qnetd {
	struct decide_core core;
	struct h_event ev[H_MAX_EVENTS];
	size_t nev;
	struct h_client *clients[H_MAX_CLIENTS];
	size_t nclients;
};

/* Results of the message helpers: a vote, or minus an error code. */
#define H_ERR(e)	(-(int)(e))

struct qnetd *h_world(void);
void	h_world_free(struct qnetd *w);

/* A client after PREINIT and INIT validation, not yet joined. */
struct h_client *h_new(struct qnetd *w, const char *cluster, uint32_t node,
	    uint8_t algo, uint8_t tb_mode, uint32_t tb_node,
	    struct qn_ring_id ring);
/* decide_join; returns the INIT_REPLY error code. */
int	h_join(struct qnetd *w, struct h_client *hc);
/* h_new + h_join, which must succeed. */
struct h_client *h_connect(struct qnetd *w, const char *cluster,
	    uint32_t node, uint8_t algo, uint8_t tb_mode, uint32_t tb_node,
	    struct qn_ring_id ring);
void	h_leave(struct qnetd *w, struct h_client *hc,
	    int server_going_down);

/* Node lists are written "1,2,3". */
int	h_config(struct qnetd *w, struct h_client *hc, int initial,
	    const char *ids);
int	h_membership(struct qnetd *w, struct h_client *hc,
	    struct qn_ring_id ring, const char *ids, uint8_t heuristics);
int	h_quorum(struct qnetd *w, struct h_client *hc, int quorate,
	    const char *ids);
int	h_heuristics(struct qnetd *w, struct h_client *hc,
	    uint8_t heuristics);
int	h_ask(struct qnetd *w, struct h_client *hc);

/* Answer VOTE_INFO event i / every unanswered one, oldest first. */
void	h_answer(struct qnetd *w, size_t i);
void	h_answer_all(struct qnetd *w);
/* Fire armed algorithm timers in node id order until none is armed. */
int	h_fire_timers(struct qnetd *w);

struct h_client *h_node(struct qnetd *w, uint32_t node);
/* Index of the first matching event at or after from, or -1. */
long	h_find(const struct qnetd *w, size_t from, enum h_kind kind,
	    uint32_t node, uint8_t vote);
size_t	h_count(const struct qnetd *w, size_t from, enum h_kind kind);
int	h_in_ids(const char *ids, uint32_t node);
struct qn_ring_id h_ring(uint32_t node, uint64_t seq);

Suite	*decide_suite(void);
Suite	*ffsplit_suite(void);
Suite	*lms_suite(void);
Suite	*twonode_suite(void);
Suite	*model_suite(void);

#endif
