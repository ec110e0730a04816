/*
 * Randomised model tests of ffsplit, lms and 2nodelms.  Each run draws a
 * cluster of 2-6 configured nodes (2 for 2nodelms), a tie-breaker,
 * keep-active-partition flags and heuristics, then plays a random
 * interleaving of qdevices connecting (INIT, config list, membership),
 * leaving, reporting true or transiently wrong memberships as the cluster
 * splits and merges, changing heuristics, keep-active-partition and (ffsplit)
 * the configuration, sending lists qnetd refuses, and answering VOTE_INFOs
 * late and in any order across clients (in order per client, sometimes not).
 *
 * ffsplit: a small reference model written from BEHAVIOUR.md §2.2 with the
 * fixes D1, D2 and §14.1 (qnetd/algo/ffsplit.c, man/corosync-qnetd.8)
 * follows the same messages; the runs check
 * - after every step, the NACK-first safety invariant (see check_safety);
 * - after every decision, its reply, that exactly its losers got NACK, or
 *   with no loser its winners got ACK, and that ACKs follow the answer of
 *   the last loser and nothing else does;
 * - at quiescence (every connected qdevice reports the configuration and
 *   its true membership, all VOTE_INFOs answered, timers fired) that every
 *   qdevice acts on the vote the model computed.
 * lms and 2nodelms: see the reference model in test_algo_model_ref.c.
 *
 * Runs use fixed seeds.  On failure the seed and the step trace are
 * printed; MODEL_SEED=n replays one seed with its trace, MODEL_RUNS=n
 * changes how many seeds each loop iteration tries, MODEL_STEPS=n the most
 * random steps of a run (default 80, at least 21), MODEL_STATS=1 prints
 * how often each ffsplit rule decided.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "test_algo_model.h"

#define M_RUNS		400	/* seeds per loop iteration */
#define M_LOOPS		8

static struct m_trace trace_local;
struct m_trace *trace = &trace_local;

void
tr(const char *fmt, ...)
{
	va_list ap;
	int n;

	if (trace->len >= sizeof(trace->buf) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(trace->buf + trace->len, sizeof(trace->buf) - trace->len,
	    fmt, ap);
	va_end(ap);
	if (n > 0)
		trace->len += (size_t)n;
	if (trace->len > sizeof(trace->buf) - 1)
		trace->len = sizeof(trace->buf) - 1;
}

void
print_trace(void)
{
	fprintf(stderr, "model run failed: seed %llu (replay: MODEL_SEED=%llu)"
	    "\n%s\n", (unsigned long long)trace->seed,
	    (unsigned long long)trace->seed, trace->buf);
}

/* A run that started and neither passed nor reported its failure. */
static void
show_interrupted_run(void)
{
	if (trace->running) {
		trace->running = 0;
		print_trace();
	}
}

static uint8_t
random_heur(struct rng *r)
{
	static const uint8_t h[] = { QN_HEUR_UNDEFINED, QN_HEUR_PASS,
	    QN_HEUR_FAIL };

	return h[rnd(r, 3)];
}

static int
pick_node(struct model *m, int want_connected)
{
	int cand[M_MAX_NODES], n = 0;

	for (int i = 0; i < m->n; i++)
		if (connected(m, i) == want_connected)
			cand[n++] = i;
	return n == 0 ? -1 : cand[rnd(&m->r, (uint32_t)n)];
}

static int
pick_unanswered(struct model *m)
{
	int cand[M_MAX_NODES], n = 0;

	for (int i = 0; i < m->n; i++)
		if (connected(m, i) && m->node[i].last_vi > m->node[i].answered)
			cand[n++] = i;
	/* After an answer out of order older ones may still be open. */
	if (n == 0)
		for (size_t k = 0; k < m->w->nev; k++) {
			const struct h_event *e = &m->w->ev[k];

			if (e->kind == H_VOTE_INFO && !e->answered)
				return index_of(m, e->node);
		}
	return n == 0 ? -1 : cand[rnd(&m->r, (uint32_t)n)];
}

static void
random_step(struct model *m)
{
	uint32_t what = rnd(&m->r, 100);
	int i;

	if (what < 12) {
		i = pick_node(m, 0);
		if (i >= 0 && (m->cfg & (1u << i)) &&
		    m->connects < H_MAX_CLIENTS - 2) {
			do_connect(m, i);
			/* The initial burst (PROTOCOL.md §7.5), sometimes cut. */
			if (chance(&m->r, 85))
				do_config(m, i, 1);
			if (m->node[i].has_config && chance(&m->r, 70))
				do_true_membership(m, i);
		}
	} else if (what < 16) {
		if ((i = pick_node(m, 1)) >= 0)
			do_leave(m, i);
	} else if (what < 26) {
		if (is_ffsplit(m) && chance(&m->r, 15))
			change_config(m);
		else
			repartition(m);
	} else if (what < 40) {
		i = pick_node(m, 1);
		if (i < 0)
			return;
		if (!m->node[i].has_config)
			do_config(m, i, 1);
		else if (m->node[i].cfg != m->cfg && chance(&m->r, 50))
			do_config(m, i, 0);
		else if (chance(&m->r, 80))
			do_true_membership(m, i);
		else
			do_wrong_membership(m, i);
	} else if (what < 48) {
		if ((i = pick_node(m, 1)) >= 0 && (m->heur || chance(&m->r, 20)))
			do_heuristics(m, i, random_heur(&m->r));
	} else if (what < 51) {
		if ((i = pick_node(m, 1)) >= 0 && m->node[i].has_config)
			do_config(m, i, 0);
	} else if (what < 52) {
		if ((i = pick_node(m, 1)) >= 0)
			do_refused_list(m, i);
	} else if (what < 53 && is_ffsplit(m)) {
		if ((i = pick_node(m, 1)) >= 0 && m->node[i].has_membership)
			chance(&m->r, 50) ? do_quorum(m, i) : do_ask(m, i);
	} else if (what < 54 && is_ffsplit(m)) {
		/* SET_OPTION: stored, decides nothing until the next event. */
		if ((i = pick_node(m, 1)) >= 0) {
			m->node[i].kap = !m->node[i].kap;
			m->node[i].hc->c.kap = (uint8_t)m->node[i].kap;
			tr("%u sets keep-active-partition %d\n",
			    (unsigned)m->node[i].id, m->node[i].kap);
		}
	} else if (what < 68 && !is_ffsplit(m)) {
		if (m->algo == QN_ALGO_LMS && chance(&m->r, 70) &&
		    (i = pick_armed(m)) >= 0)
			do_timer(m, i);
		else if ((i = pick_node(m, 1)) >= 0 &&
		    m->node[i].has_membership)
			chance(&m->r, 50) ? do_quorum(m, i) : do_ask(m, i);
	} else {
		if ((i = pick_unanswered(m)) >= 0)
			do_answer(m, i, chance(&m->r, 10));
	}
}

/*
 * lms: the timers decide, then every qdevice sends a quorum list, so all
 * are judged on the same state: then at most one ring holds ACK (the
 * refused newcomers of D5 get NACK).  2nodelms judges only a client's own
 * membership, so no such property holds across its clients.
 */
static void
quiesce_lms(struct model *m, const int *order)
{
	int i, fired = 0, holder = -1;

	while ((i = pick_armed(m)) >= 0) {
		M_CHECK(++fired < 50, "lms timers keep firing");
		do_timer(m, i);
	}
	h_answer_all(m->w);
	check_lms_step(m, (struct sent){ 0 }, scan_events(m));
	if (m->algo != QN_ALGO_LMS)
		return;
	for (int k = 0; k < m->n; k++)
		if (connected(m, order[k]))
			do_quorum(m, order[k]);
	for (i = 0; i < m->n; i++) {
		if (!connected(m, i) || m->node[i].vote != QN_VOTE_ACK)
			continue;
		if (holder < 0)
			holder = i;
		M_CHECK(ring_eq(m->node[i].ring, m->node[holder].ring),
		    "nodes %u and %u hold ACK in different rings",
		    (unsigned)m->node[holder].id, (unsigned)m->node[i].id);
	}
}

/* Every connected qdevice reports its lists and the truth, all answer. */
static void
quiesce(struct model *m)
{
	int order[M_MAX_NODES];

	tr("-- quiescence\n");
	for (int i = 0; i < m->n; i++)
		order[i] = i;
	for (int i = m->n - 1; i > 0; i--) {
		int j = (int)rnd(&m->r, (uint32_t)i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (int k = 0; k < m->n; k++) {
		int i = order[k];

		if (!connected(m, i))
			continue;
		if (!m->node[i].has_config || m->node[i].cfg != m->cfg)
			do_config(m, i, !m->node[i].has_config);
		if (connected(m, i) && !reports_truth(m, i))
			do_true_membership(m, i);
		if (is_ffsplit(m))
			check_safety(m);
	}
	if (!is_ffsplit(m)) {
		quiesce_lms(m, order);
		return;
	}
	while ((m->phase == PH_NACKS || m->awaiting) &&
	    pick_unanswered(m) >= 0) {
		do_answer(m, pick_unanswered(m), 0);
		check_safety(m);
	}
	h_answer_all(m->w);
	(void)scan_events(m);
	M_CHECK(h_fire_timers(m->w) == 0, "ffsplit armed a timer");
}

static void
check_final(struct model *m)
{
	char a[32];

	if (!is_ffsplit(m))
		return;		/* every step compared the votes */
	if (participants(m) == 0) {
		final_count[2]++;
		return;
	}
	final_count[m->found]++;
	M_CHECK(m->last_decide_stable, "quiescent but the last decision saw "
	    "an unstable membership");
	tr("final: model winner %s%s%s\n", m->found ? "{" : "none",
	    m->found ? ids_str(m, m->winner, a, sizeof(a)) : "",
	    m->found ? "}" : "");
	for (int i = 0; i < m->n; i++) {
		uint8_t want;

		if (!connected(m, i))
			continue;
		want = (m->winner & (1u << i)) ? QN_VOTE_ACK : QN_VOTE_NACK;
		M_CHECK(m->node[i].hc->vote == want, "node %u acts on %s, "
		    "model: %s", (unsigned)m->node[i].id,
		    vote_str(m->node[i].hc->vote), vote_str(want));
	}
}

/* The seed says the algorithm, so that MODEL_SEED alone replays a run. */
#define SEED_LMS	100000000ULL
#define SEED_2NODELMS	200000000ULL

static uint8_t
algo_of_seed(uint64_t seed)
{
	return seed >= SEED_2NODELMS ? QN_ALGO_2NODELMS :
	    seed >= SEED_LMS ? QN_ALGO_LMS : QN_ALGO_FFSPLIT;
}

static void
setup(struct model *m, uint64_t seed)
{
	mask ids = 0;
	int kap_mode, heur;
	char a[32];

	memset(m, 0, sizeof(*m));
	m->r.s = seed;
	m->algo = algo_of_seed(seed);
	m->n = 2 + (int)rnd(&m->r, M_MAX_NODES - 1);
	if (m->algo == QN_ALGO_2NODELMS)
		m->n = 2;
	/* Node ids from 1..9, so that ids are not indices. */
	while (popcount(ids) < m->n)
		ids |= 1u << rnd(&m->r, 9);
	for (int id = 1, i = 0; id <= 9; id++)
		if (ids & (1u << (id - 1)))
			m->node[i++].id = (uint32_t)id;
	set_config(m, (1u << m->n) - 1);
	m->tb_mode = (uint8_t)(QN_TB_LOWEST + rnd(&m->r, 3));
	/* node-id mode: a configured node, or one that is not. */
	m->tb_node = m->tb_mode != QN_TB_NODE_ID ? 0 : chance(&m->r, 80) ?
	    m->node[rnd(&m->r, (uint32_t)m->n)].id : 10;
	kap_mode = (int)rnd(&m->r, 4);		/* off, on, on, mixed */
	/* Without heuristics, 50:50 splits reach the later rules. */
	heur = m->heur = chance(&m->r, 40);
	for (int i = 0; i < m->n; i++) {
		m->node[i].kap = kap_mode == 3 ? chance(&m->r, 70) : kap_mode > 0;
		m->node[i].heur = heur ? random_heur(&m->r) :
		    QN_HEUR_UNDEFINED;
		m->node[i].group = 0;
	}
	m->gmask[0] = (1u << m->n) - 1;
	m->gring[0] = h_ring(m->node[0].id, ++m->ring_seq);
	m->w = h_world();
	tr("seed %llu: %s, nodes {%s}, tie-breaker %s %u\n",
	    (unsigned long long)seed, is_ffsplit(m) ? "ffsplit" :
	    m->algo == QN_ALGO_LMS ? "lms" : "2nodelms", ids_str(m, m->gmask[0], a, sizeof(a)),
	    m->tb_mode == QN_TB_LOWEST ? "lowest" : m->tb_mode ==
	    QN_TB_HIGHEST ? "highest" : "node", (unsigned)m->tb_node);
}

static uint64_t	env_u64(const char *name, uint64_t dflt);

static void
run_seed(uint64_t seed)
{
	uint64_t max_steps = env_u64("MODEL_STEPS", 80);

	struct model m;
	int steps;

	show_interrupted_run();		/* the loop's last iteration died */
	trace->len = 0;
	trace->buf[0] = '\0';
	trace->seed = seed;
	trace->running = 1;
	setup(&m, seed);
	steps = 20 + (int)rnd(&m.r, (uint32_t)max_steps - 20);
	/* Most qdevices start with the cluster, in one partition. */
	for (int i = 0; i < m.n; i++)
		if (chance(&m.r, 70)) {
			do_connect(&m, i);
			do_config(&m, i, 1);
			do_true_membership(&m, i);
		}
	for (int k = 0; k < steps && m.w->nev < H_MAX_EVENTS - 120; k++) {
		random_step(&m);
		check_safety(&m);
	}
	quiesce(&m);
	check_safety(&m);
	check_final(&m);
	h_world_free(m.w);
	trace->running = 0;
	if (trace->verbose)
		fprintf(stderr, "%s", trace->buf);
}

static uint64_t
env_u64(const char *name, uint64_t dflt)
{
	const char *s = getenv(name);

	return s != NULL && *s != '\0' ? strtoull(s, NULL, 10) : dflt;
}

/* Loop iteration i of an algorithm's test: seeds base + i * 10^6 + k. */
static void
run_seeds(uint64_t base, int i)
{
	uint64_t runs = env_u64("MODEL_RUNS", M_RUNS);

	if (getenv("MODEL_SEED") != NULL) {
		uint64_t seed = env_u64("MODEL_SEED", 0);

		if (i == 0 && (seed >= base) == (base == 0 || seed >= base) &&
		    algo_of_seed(seed) == algo_of_seed(base)) {
			trace->verbose = 1;
			run_seed(seed);
		}
		return;
	}
	for (uint64_t k = 0; k < runs; k++)
		run_seed(base + (uint64_t)i * 1000000 + k + 1);
}

START_TEST(lms_random_runs)
{
	run_seeds(SEED_LMS, _i);
}
END_TEST

START_TEST(twonode_random_runs)
{
	run_seeds(SEED_2NODELMS, _i);
}
END_TEST

START_TEST(ffsplit_random_runs)
{
	run_seeds(0, _i);
	if (getenv("MODEL_SEED") != NULL)
		return;
	if (getenv("MODEL_STATS") != NULL)
		fprintf(stderr, "loop %d: rules majority %lu score %lu active "
		    "%lu kap %lu tie-breaker %lu none %lu; final: no winner "
		    "%lu, winner %lu, no participant %lu\n", _i,
		    rule_count[R_MAJ], rule_count[R_SCORE],
		    rule_count[R_ACTIVE], rule_count[R_KAP], rule_count[R_TB],
		    rule_count[R_NONE], final_count[0], final_count[1],
		    final_count[2]);
}
END_TEST

Suite *
model_suite(void)
{
	Suite *s = suite_create("model");
	TCase *tc = tcase_create("ffsplit");
	void *shared = mmap(NULL, sizeof(*trace), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (shared != MAP_FAILED)
		trace = shared;

	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, NULL, show_interrupted_run);
	tcase_add_loop_test(tc, ffsplit_random_runs, 0, M_LOOPS);
	suite_add_tcase(s, tc);
	tc = tcase_create("lms");
	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, NULL, show_interrupted_run);
	tcase_add_loop_test(tc, lms_random_runs, 0, M_LOOPS / 2);
	suite_add_tcase(s, tc);
	tc = tcase_create("2nodelms");
	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, NULL, show_interrupted_run);
	tcase_add_loop_test(tc, twonode_random_runs, 0, M_LOOPS / 4);
	suite_add_tcase(s, tc);
	return s;
}
