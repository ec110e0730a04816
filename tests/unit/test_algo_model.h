/*
 * What the files of the randomised model tests share (test_algo_model.c
 * runs them): the model of a cluster and its qdevices, the step trace and
 * its assertions, and the entry points of the reference models
 * (test_algo_model_ref.c), the checks (test_algo_model_check.c) and the
 * steps (test_algo_model_steps.c).
 */
#ifndef TEST_ALGO_MODEL_H
#define TEST_ALGO_MODEL_H

#include "test_algo.h"

#define M_MAX_NODES	6

/* splitmix64: the same sequence on every platform. */
struct rng {
	uint64_t s;
};

static inline uint32_t
rnd(struct rng *r, uint32_t n)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return n == 0 ? 0 : (uint32_t)(z % n);
}

static inline int
chance(struct rng *r, uint32_t percent)
{
	return rnd(r, 100) < percent;
}

/*
 * Step trace, printed when a run fails.  A failed harness assertion ends
 * the forked test process at once (_exit), so the trace lives in memory
 * shared with the parent, which prints a run that never finished (see
 * show_interrupted_run).
 */
struct m_trace {
	char buf[32768];
	size_t len;
	uint64_t seed;
	int running;
	int verbose;
};
extern struct m_trace *trace;

void	tr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	print_trace(void);

#define M_FAIL(...) do {						\
	trace->running = 0;						\
	tr("FAILED: ");							\
	tr(__VA_ARGS__);						\
	print_trace();							\
	ck_abort_msg("seed %llu: see the trace on stderr",		\
	    (unsigned long long)trace->seed);				\
} while (0)

#define M_CHECK(cond, ...) do {						\
	if (!(cond))							\
		M_FAIL(__VA_ARGS__);					\
} while (0)

/* Node sets are bit masks over the configured nodes' indices. */
typedef unsigned mask;

static inline int
popcount(mask m)
{
	return __builtin_popcount(m);
}

/* One configured node, its qdevice and what qnetd stored from it. */
struct m_node {
	uint32_t id;
	int group;			/* its partition in the real cluster */
	uint8_t heur;			/* its qdevice's heuristics result */
	struct h_client *hc;		/* connected qdevice, or NULL */
	int kap;
	/* The model's copy of what qnetd stores (BEHAVIOUR.md §2.1). */
	int has_config, has_membership;
	mask cfg;			/* its config list */
	mask mem;
	struct qn_ring_id ring;
	uint8_t latest;
	/* Following the VOTE_INFOs sent to this connection. */
	uint32_t seq;			/* last VOTE_INFO sequence number */
	long last_vi;			/* event index of the last VOTE_INFO */
	long last_ack;			/* of the last ACK, or -1 */
	mask ack_winner;		/* partition that ACK was given to */
	long revoke;			/* first NACK after that ACK, or -1 */
	long answered;			/* highest VOTE_INFO index answered */
	/* lms and 2nodelms. */
	uint8_t result;			/* stored last result, 0 = none */
	uint8_t last_ack_nack;		/* last ACK/NACK it was told */
	uint8_t vote;			/* the vote the qdevice acts on */
	int timer;			/* algorithm timer armed */
};

enum phase { PH_IDLE, PH_NACKS };

struct model {
	uint8_t algo;
	struct rng r;
	struct qnetd *w;
	int n;
	struct m_node node[M_MAX_NODES];
	mask cfg;			/* the configured nodes */
	char config[32];		/* "1,3,4" */
	uint8_t tb_mode;
	uint32_t tb_node;
	int heur;			/* this run uses heuristics */
	/* The real cluster: node i is in group node[i].group. */
	struct qn_ring_id gring[M_MAX_NODES];
	mask gmask[M_MAX_NODES];
	uint64_t ring_seq;
	/* The reference model's cluster state. */
	mask prev_quorate;
	int found;			/* last stable decision found a winner */
	mask winner;
	enum phase phase;
	mask awaiting;			/* losers whose NACK is unanswered */
	mask ack_to;			/* participants to get ACK after them */
	int last_decide_stable;
	int connects;
	size_t scanned;			/* events already followed */
};


/* A step's outcome as the model predicts it. */
enum outcome { OUT_NONE, OUT_UNSTABLE, OUT_STABLE };

/* VOTE_INFOs of one step, as a mask per vote. */
struct sent {
	mask ack, nack;
};

/* How often each rule decided, for MODEL_STATS. */
enum { R_MAJ, R_SCORE, R_ACTIVE, R_KAP, R_TB, R_NONE, R_COUNT };
extern unsigned long rule_count[R_COUNT];
extern unsigned long final_count[3];	/* no winner, winner, nobody */

/* Queries on the model's state and the reference models (_ref.c). */
const char	*vote_str(uint8_t v);
const char	*heur_str(uint8_t h);
int	index_of(const struct model *m, uint32_t id);
const char	*ids_str(const struct model *m, mask s, char *buf, size_t len);
int	is_ffsplit(const struct model *m);
int	connected(const struct model *m, int i);
int	participates(const struct model *m, int i);
mask	participants(const struct model *m);
enum outcome	m_decide(struct model *m);
int	ring_eq(struct qn_ring_id a, struct qn_ring_id b);
void	told(struct model *m, int i, uint8_t vote);
uint8_t	lms_eval(struct model *m, int i, struct qn_ring_id r);
uint8_t	two_judge(struct model *m, int i, struct qn_ring_id r, int members,
	    uint8_t heur);

/* The checks (_check.c). */
struct sent	scan_events(struct model *m);
void	check_safety(struct model *m);
void	check_decision(struct model *m, enum outcome o, struct sent s);
void	check_reply(int got, enum outcome o);
void	check_lms_step(struct model *m, struct sent want, struct sent got);
void	expect_push(struct model *m, struct sent *want, int i, uint8_t vote);
void	check_lms_reply(struct model *m, int i, int got, uint8_t want);

/* The steps (_steps.c). */
void	repartition(struct model *m);
void	set_config(struct model *m, mask cfg);
void	change_config(struct model *m);
struct h_client	*do_connect(struct model *m, int i);
void	do_config(struct model *m, int i, int initial);
void	do_true_membership(struct model *m, int i);
int	reports_truth(const struct model *m, int i);
void	do_heuristics(struct model *m, int i, uint8_t h);
void	do_leave(struct model *m, int i);
void	do_answer(struct model *m, int i, int any);
void	do_quorum(struct model *m, int i);
void	do_ask(struct model *m, int i);
void	do_timer(struct model *m, int i);
int	pick_armed(struct model *m);
void	do_refused_list(struct model *m, int i);
void	do_wrong_membership(struct model *m, int i);

#endif
