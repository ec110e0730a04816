/*
 * libFuzzer target: the order of a qdevice's messages.  fuzz_qnetd feeds
 * arbitrary bytes, so most inputs die in the decoder; here every input byte
 * is one well-formed step of one of four clients, and the fuzzer explores
 * which steps come in which order: PREINIT naming one of two clusters,
 * STARTTLS, INIT (good, with a refused heartbeat, another algorithm),
 * echoes, node lists, vote replies, option and heuristics changes, a close,
 * time passing.  After every step the harness checks each reply and that
 * every client is in the cluster its PREINIT named (D25: a connection
 * belongs to one cluster for its life); at the end nothing may be left.
 *
 * Input: one configuration byte (CFG_* of qnetd_harness.h), then steps
 *	[b]	client b & 3, step (b >> 2) & 15, variant b >> 6
 *
 * The fuzz build has no TLS context: STARTTLS ends the connection, so the
 * TLS half of the binding is left to tests/proto/test_tls.c.
 */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "msg.h"
#include "qnetd_harness.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	harness_init("fuzz_order");
	return 0;
}

static const char *const clusters[] = { "one", "two" };

/* Encode m and send it from client k. */
static void
put(struct harness *h, int k, const struct msg *m)
{
	struct buf b;

	buf_init(&b);
	if (msg_encode(m, &b, SIZE_MAX) != 0 || b.failed)
		fail("can't encode a step");
	slot_write(h, k, b.data, b.len);
	buf_free(&b);
}

static void
init(struct msg *m, int k, unsigned variant)
{
	static const uint16_t algos[] = { QN_ALGO_FFSPLIT, QN_ALGO_FFSPLIT,
	    QN_ALGO_LMS, QN_ALGO_2NODELMS };

	msg_init(m, QN_MSG_INIT);
	msg_set_node_id(m, (uint32_t)k + 1);
	msg_set_algorithm(m, algos[variant]);
	/* Variant 1: a heartbeat qnetd refuses (error 13). */
	msg_set_heartbeat_interval(m, variant == 1 ? 1 : 8000);
	msg_set_tie_breaker(m, &(struct qn_tie_breaker){ .mode = QN_TB_LOWEST });
	msg_set_ring_id(m, &(struct qn_ring_id){ 1, 1 });
}

/* A node list of type t: nodes 1..n, or only the client's own node. */
static void
list(struct msg *m, int k, uint8_t t, unsigned variant, struct qn_node *nodes)
{
	size_t n = variant & 1 ? 1 : 4;

	for (size_t i = 0; i < n; i++)
		nodes[i] = (struct qn_node){ .node_id = n == 1 ?
		    (uint32_t)k + 1 : (uint32_t)i + 1,
		    .state = t == QN_LIST_QUORUM ? QN_NODE_STATE_MEMBER : 0 };
	msg_init(m, QN_MSG_NODE_LIST);
	msg_set_node_list_type(m, t);
	msg_set_nodes(m, nodes, n);
	if (t == QN_LIST_MEMBERSHIP)
		msg_set_ring_id(m, &(struct qn_ring_id){ n == 1 ?
		    (uint32_t)k + 1 : 1, 2 + variant });
	if (t == QN_LIST_QUORUM)
		msg_set_quorate(m, variant < 2);
}

static void
step(struct harness *h, uint32_t seq[SLOTS], uint8_t b)
{
	int k = b & (SLOTS - 1);
	unsigned what = (b >> 2) & 15, variant = b >> 6;
	struct qn_node nodes[4];
	const char *name;
	struct msg m;

	switch (what) {
	case 0:
	case 1:
		name = clusters[(what + variant) & 1];
		msg_init(&m, QN_MSG_PREINIT);
		msg_set_cluster_name(&m, name, strlen(name));
		break;
	case 2:
		msg_init(&m, QN_MSG_STARTTLS);
		break;
	case 3:
	case 4:
		init(&m, k, what == 4 ? variant : 0);
		break;
	case 5:
		msg_init(&m, QN_MSG_ECHO_REQUEST);
		break;
	case 6:
		list(&m, k, variant & 2 ? QN_LIST_CHANGED_CONFIG :
		    QN_LIST_INITIAL_CONFIG, 0, nodes);
		break;
	case 7:
	case 8:
		list(&m, k, QN_LIST_MEMBERSHIP, variant + (what == 8), nodes);
		break;
	case 9:
		list(&m, k, QN_LIST_QUORUM, variant, nodes);
		break;
	case 10:
		msg_init(&m, QN_MSG_VOTE_INFO_REPLY);
		msg_set_seq(&m, variant + 1);
		put(h, k, &m);
		pump(h);
		return;
	case 11:
		msg_init(&m, QN_MSG_SET_OPTION);
		msg_set_kap_tie_breaker(&m, variant & 1);
		break;
	case 12:
		msg_init(&m, QN_MSG_HEURISTICS_CHANGE);
		msg_set_heuristics(&m, variant & 1 ? QN_HEUR_PASS :
		    QN_HEUR_FAIL);
		break;
	case 13:
		slot_close(&h->s[k]);
		seq[k] = 0;
		pump(h);
		return;
	default:
		advance(h);
		return;
	}
	msg_set_seq(&m, ++seq[k]);
	put(h, k, &m);
	pump(h);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct harness h;
	uint32_t seq[SLOTS] = { 0 };

	if (size < 1)
		return 0;
	memset(&h, 0, sizeof(h));
	setup(&h, data[0], 0);
	for (size_t i = 1; i < size; i++)
		step(&h, seq, data[i]);
	teardown(&h, (data[0] & CFG_SHUTDOWN) != 0);
	return 0;
}
