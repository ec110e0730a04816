/*
 * test (BEHAVIOUR.md §2.5): every membership list and ASK_FOR_VOTE gets
 * ACK, everything else NO_CHANGE.  Several partitions can get the vote at
 * once, so it is for testing only; qdevice refuses it unless told otherwise.
 */
#include <inttypes.h>

#include "algo.h"
#include "log.h"

static enum qn_err
test_client_init(struct member *c)
{
	log_warn("algo-test: node %" PRIu32 " of cluster %s uses the test "
	    "algorithm, which can make several partitions quorate",
	    c->node_id, c->cluster->name);
	return QN_ERR_NONE;
}

static enum qn_err
test_config_list(struct member *c, int initial, const struct node_list *nodes,
    struct decision *d)
{
	log_info("algo-test: node %" PRIu32 " sent %s config list with %zu "
	    "nodes", c->node_id, initial ? "initial" : "changed",
	    nodes->count);
	decision_vote(d, QN_VOTE_NO_CHANGE);
	return QN_ERR_NONE;
}

static enum qn_err
test_membership_list(struct member *c, const struct qn_ring_id *ring,
    const struct node_list *nodes, uint8_t heuristics, struct decision *d)
{
	char r[RING_STR_LEN];

	log_info("algo-test: node %" PRIu32 " sent membership list of ring %s "
	    "with %zu nodes, heuristics %u", c->node_id,
	    ring_str(r, sizeof(r), ring), nodes->count, heuristics);
	decision_set(d, QN_VOTE_ACK, "test: every partition gets the vote");
	return QN_ERR_NONE;
}

static enum qn_err
test_quorum_list(struct member *c, int quorate, const struct node_list *nodes,
    struct decision *d)
{
	log_info("algo-test: node %" PRIu32 " sent quorum list with %zu nodes, "
	    "quorate %d", c->node_id, nodes->count, quorate);
	decision_vote(d, QN_VOTE_NO_CHANGE);
	return QN_ERR_NONE;
}

static enum qn_err
test_ask_for_vote(struct member *c, struct decision *d)
{
	log_info("algo-test: node %" PRIu32 " asked for a vote", c->node_id);
	decision_set(d, QN_VOTE_ACK, "test: every partition gets the vote");
	return QN_ERR_NONE;
}

static enum qn_err
test_vote_info_reply(struct member *c, uint32_t seq)
{
	log_info("algo-test: node %" PRIu32 " answered vote info %" PRIu32,
	    c->node_id, seq);
	return QN_ERR_NONE;
}

static enum qn_err
test_heuristics_change(struct member *c, uint8_t heuristics,
    struct decision *d)
{
	log_info("algo-test: node %" PRIu32 " changed heuristics to %u",
	    c->node_id, heuristics);
	decision_vote(d, QN_VOTE_NO_CHANGE);
	return QN_ERR_NONE;
}

static void
test_disconnect(struct member *c, int server_going_down)
{
	log_info("algo-test: node %" PRIu32 " left%s", c->node_id,
	    server_going_down ? " (server going down)" : "");
}

const struct algo algo_test = {
	.id = QN_ALGO_TEST,
	.name = "Test",
	.client_init = test_client_init,
	.config_list = test_config_list,
	.membership_list = test_membership_list,
	.quorum_list = test_quorum_list,
	.ask_for_vote = test_ask_for_vote,
	.vote_info_reply = test_vote_info_reply,
	.heuristics_change = test_heuristics_change,
	.disconnect = test_disconnect,
};
