/*
 * The protocol-test harness: the requests a qdevice sends, and the exact
 * reply bytes PROTOCOL.md gives for them.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <string.h>

#include "harness.h"

void
send_preinit(struct qc *c, uint32_t seq, const char *cluster)
{
	struct msg m;

	msg_init(&m, QN_MSG_PREINIT);
	msg_set_seq(&m, seq);
	msg_set_cluster_name(&m, cluster, strlen(cluster));
	qc_send_msg(c, &m);
}

void
expect_preinit_reply_(struct qc *c, const char *file, int line, uint32_t seq,
    int tls, int cert)
{
	qc_expect_(c, file, line, "0001 00000012 | 0000 0004 %08" PRIx32
	    " 0002 0001 %02x 0003 0001 %02x", seq, tls, cert);
}

void
expect_error_(struct qc *c, const char *file, int line, int seq_known,
    uint32_t seq, uint16_t code)
{
	if (seq_known)
		qc_expect_(c, file, line, "0005 0000000e | 0000 0004 %08" PRIx32
		    " 0006 0002 %04x", seq, code);
	else
		qc_expect_(c, file, line, "0005 00000006 | 0006 0002 %04x",
		    code);
}

struct init_p
init_p(uint32_t seq, uint32_t node, uint16_t algo)
{
	struct init_p p;

	memset(&p, 0, sizeof(p));
	p.seq = seq;
	p.node = node;
	p.algo = algo;
	p.hb = 10000;
	p.tb.mode = QN_TB_LOWEST;
	p.ring = RING(1, 1);
	return p;
}

void
init_encode(const struct init_p *p, struct buf *b)
{
	struct msg m;

	msg_init(&m, QN_MSG_INIT);
	msg_set_seq(&m, p->seq);
	msg_set_supported_messages(&m, &msg_all_messages);
	msg_set_supported_options(&m, &msg_all_options);
	msg_set_node_id(&m, p->node);
	msg_set_algorithm(&m, p->algo);
	msg_set_heartbeat_interval(&m, p->hb);
	msg_set_tie_breaker(&m, &p->tb);
	msg_set_ring_id(&m, &p->ring);
	/* On purpose: tests of missing options drop them after setting. */
	m.has &= ~p->omit;
	ck_assert_int_eq(msg_encode(&m, b, SIZE_MAX), 0);
}

void
send_init(struct qc *c, const struct init_p *p)
{
	struct buf b;

	buf_init(&b);
	init_encode(p, &b);
	qc_send(c, b.data, b.len);
	buf_free(&b);
}

/*
 * INIT_REPLY with error code err: the exact bytes of PROTOCOL.md §12.5 for
 * an INIT that carried options 4 and 5 (with45) or neither.
 */
void
expect_init_reply_(struct qc *c, const char *file, int line, uint32_t seq,
    uint16_t err, int with45)
{
	if (with45)
		qc_expect_(c, file, line, "0004 00000086 | 0006 0002 %04x"
		    " 0004 0024 0000 0001 0002 0003 0004 0005 0006 0007 0008"
		    " 0009 000a 000b 000c 000d 000e 000f 0010 0011"
		    " 0005 0030 0000 0001 0002 0003 0004 0005 0006 0007 0008"
		    " 0009 000a 000b 000c 000d 000e 000f 0010 0011 0012 0013"
		    " 0014 0015 0016 0017"
		    " 0000 0004 %08" PRIx32 " 0007 0004 00008000"
		    " 0008 0004 00008000 000a 0008 0000 0001 0002 0003",
		    err, seq);
	else
		qc_expect_(c, file, line, "0004 0000002a | 0006 0002 %04x"
		    " 0000 0004 %08" PRIx32 " 0007 0004 00008000"
		    " 0008 0004 00008000 000a 0008 0000 0001 0002 0003",
		    err, seq);
}

uint16_t
recv_init_error_(struct qc *c, const char *file, int line, uint32_t seq)
{
	struct msg m;
	uint16_t e;

	qc_recv_msg_(c, file, line, QN_MSG_INIT_REPLY, &m);
	ck_assert_msg(msg_has(&m, QN_OPT_SEQ) && m.seq == seq,
	    "%s:%d: INIT_REPLY without seq %" PRIu32, file, line, seq);
	ck_assert_msg(msg_has(&m, QN_OPT_REPLY_ERROR_CODE),
	    "%s:%d: INIT_REPLY without error code", file, line);
	e = m.reply_error_code;
	msg_free(&m);
	return e;
}

/*
 * A duplicate node id is retried for a while: the server may not yet have
 * seen a previous connection of that node go.
 */
void
join_(struct qc *c, const char *file, int line, const struct srv *s,
    const char *cluster, const struct init_p *p0)
{
	struct init_p p = *p0;
	int64_t deadline = now_ms() + TIMEOUT_MS;
	struct msg m;
	uint16_t e;

	qc_connect(c, s);
	send_preinit(c, 1, cluster);
	qc_recv_msg_(c, file, line, QN_MSG_PREINIT_REPLY, &m);
	msg_free(&m);
	c->seq = 1;
	for (;;) {
		p.seq = ++c->seq;
		send_init(c, &p);
		e = recv_init_error_(c, file, line, p.seq);
		if (e != QN_ERR_DUPLICATE_NODE_ID || now_ms() > deadline)
			break;
		sleep_ms(20);
	}
	ck_assert_msg(e == 0, "%s:%d: INIT of node %" PRIu32 " refused with "
	    "%u", file, line, p.node, e);
}

void
join_simple_(struct qc *c, const char *file, int line, const struct srv *s,
    const char *cluster, uint32_t node, uint16_t algo)
{
	struct init_p p = init_p(2, node, algo);

	join_(c, file, line, s, cluster, &p);
}

uint32_t
send_list(struct qc *c, uint8_t type, struct qn_ring_id ring, int quorate,
    const uint32_t *ids, size_t n, uint8_t heur)
{
	struct qn_node nodes[16];
	struct msg m;

	ck_assert_uint_le(n, ARRAY_LEN(nodes));
	memset(nodes, 0, sizeof(nodes));
	for (size_t i = 0; i < n; i++) {
		nodes[i].node_id = ids[i];
		if (type == QN_LIST_QUORUM)
			nodes[i].state = QN_NODE_STATE_MEMBER;
	}
	msg_init(&m, QN_MSG_NODE_LIST);
	msg_set_seq(&m, ++c->seq);
	msg_set_node_list_type(&m, type);
	if (n > 0)
		msg_set_nodes(&m, nodes, n);
	if (type == QN_LIST_MEMBERSHIP)
		msg_set_ring_id(&m, &ring);
	if (type == QN_LIST_QUORUM)
		msg_set_quorate(&m, (uint8_t)quorate);
	if (heur != 0)
		msg_set_heuristics(&m, heur);
	qc_send_msg(c, &m);
	return m.seq;
}

uint32_t
send_seq_only(struct qc *c, uint16_t type)
{
	uint32_t seq = ++c->seq;

	qc_sendf(c, "%04x 00000008 0000 0004 %08" PRIx32, type, seq);
	return seq;
}

void
send_vote_info_reply(struct qc *c, uint32_t seq)
{
	qc_sendf(c, "000f 00000008 0000 0004 %08" PRIx32, seq);
}

uint32_t
send_heuristics_change(struct qc *c, uint8_t heur)
{
	uint32_t seq = ++c->seq;

	qc_sendf(c, "0010 0000000d 0000 0004 %08" PRIx32 " 0016 0001 %02x",
	    seq, heur);
	return seq;
}

void
expect_nlr_(struct qc *c, const char *file, int line, uint32_t seq,
    uint8_t type, struct qn_ring_id ring, uint8_t vote)
{
	qc_expect_(c, file, line, "000b 00000022 | 0000 0004 %08" PRIx32
	    " 0012 0001 %02x 000d 000c %08" PRIx32 " %016" PRIx64
	    " 0013 0001 %02x", seq, type, ring.node_id, ring.seq, vote);
}

uint32_t
expect_vote_info_(struct qc *c, const char *file, int line, uint32_t seq,
    uint8_t vote, struct qn_ring_id ring)
{
	struct msg m;
	uint32_t got;

	if (seq != 0) {
		qc_expect_(c, file, line, "000e 0000001d | 0000 0004 %08" PRIx32
		    " 0013 0001 %02x 000d 000c %08" PRIx32 " %016" PRIx64,
		    seq, vote, ring.node_id, ring.seq);
		return seq;
	}
	qc_recv_msg_(c, file, line, QN_MSG_VOTE_INFO, &m);
	ck_assert_msg(m.has == (QN_BIT(QN_OPT_SEQ) | QN_BIT(QN_OPT_VOTE) |
	    QN_BIT(QN_OPT_RING_ID)), "%s:%d: VOTE_INFO options", file, line);
	ck_assert_msg(m.vote == vote, "%s:%d: VOTE_INFO vote %u, expected %u",
	    file, line, m.vote, vote);
	ck_assert_msg(qn_ring_id_eq(&m.ring_id, &ring), "%s:%d: VOTE_INFO "
	    "ring %" PRIx32 ".%" PRIx64, file, line, m.ring_id.node_id,
	    m.ring_id.seq);
	got = m.seq;
	msg_free(&m);
	return got;
}

void
expect_afvr_(struct qc *c, const char *file, int line, uint32_t seq,
    uint8_t vote, struct qn_ring_id ring)
{
	qc_expect_(c, file, line, "000d 0000001d | 0000 0004 %08" PRIx32
	    " 0013 0001 %02x 000d 000c %08" PRIx32 " %016" PRIx64,
	    seq, vote, ring.node_id, ring.seq);
}

void
expect_hcr_(struct qc *c, const char *file, int line, uint32_t seq,
    uint8_t vote, struct qn_ring_id ring, uint8_t heur)
{
	qc_expect_(c, file, line, "0011 00000022 | 0000 0004 %08" PRIx32
	    " 0013 0001 %02x 000d 000c %08" PRIx32 " %016" PRIx64
	    " 0016 0001 %02x", seq, vote, ring.node_id, ring.seq, heur);
}

void
echo_ok_(struct qc *c, const char *file, int line)
{
	uint32_t seq = ++c->seq;

	qc_sendf(c, "0008 00000008 0000 0004 %08" PRIx32, seq);
	qc_expect_(c, file, line, "0009 00000008 | 0000 0004 %08" PRIx32, seq);
}

void
alive_before_init_(struct qc *c, const char *file, int line)
{
	uint32_t seq = ++c->seq;

	qc_sendf(c, "0008 00000008 0000 0004 %08" PRIx32, seq);
	expect_error_(c, file, line, 1, seq, QN_ERR_INIT_REQUIRED);
}

/* ------------------------------------------------------------------ */
/* A qdevice's exchanges, decoded (the limits and fault tests) */

void
qc_preinit(struct qc *c, const char *cluster)
{
	struct msg r;

	send_preinit(c, ++c->seq, cluster);
	qc_recv_msg(c, QN_MSG_PREINIT_REPLY, &r);
	msg_free(&r);
}

int
qc_join(struct qc *c, const char *cluster, uint32_t node, uint16_t algo,
    uint32_t hb)
{
	struct init_p p;

	qc_preinit(c, cluster);
	p = init_p(++c->seq, node, algo);
	p.hb = hb;
	send_init(c, &p);
	return recv_init_error(c, p.seq);
}

void
send_starttls(struct qc *c)
{
	struct msg m;

	msg_init(&m, QN_MSG_STARTTLS);
	msg_set_seq(&m, ++c->seq);
	qc_send_msg(c, &m);
}

uint32_t
echo_encode(struct qc *c, struct buf *b)
{
	struct msg m;

	msg_init(&m, QN_MSG_ECHO_REQUEST);
	msg_set_seq(&m, ++c->seq);
	ck_assert_int_eq(msg_encode(&m, b, SIZE_MAX), 0);
	return m.seq;
}

int64_t
qc_echo(struct qc *c, int ms)
{
	int64_t t0 = now_ms();
	struct buf b;
	struct msg r;
	uint32_t seq;

	buf_init(&b);
	seq = echo_encode(c, &b);
	qc_send(c, b.data, b.len);
	buf_free(&b);
	for (;;) {
		if (qc_read_msg(c, &r, ms) != RECV_MSG)
			return -1;
		if (r.type == QN_MSG_ECHO_REPLY && r.seq == seq) {
			msg_free(&r);
			return now_ms() - t0;
		}
		msg_free(&r);
	}
}

void
send_node_lists(struct qc *c)
{
	struct qn_node nodes[2] = { { .node_id = 1 }, { .node_id = 2 } };
	struct msg m;
	uint8_t types[] = { QN_LIST_INITIAL_CONFIG, QN_LIST_MEMBERSHIP,
	    QN_LIST_QUORUM };

	for (size_t i = 0; i < ARRAY_LEN(types); i++) {
		msg_init(&m, QN_MSG_NODE_LIST);
		msg_set_seq(&m, ++c->seq);
		msg_set_node_list_type(&m, types[i]);
		msg_set_nodes(&m, nodes, 2);
		if (types[i] == QN_LIST_MEMBERSHIP)
			msg_set_ring_id(&m, &RING(1, 1));
		if (types[i] == QN_LIST_QUORUM) {
			nodes[0].state = nodes[1].state = QN_NODE_STATE_MEMBER;
			msg_set_quorate(&m, 1);
		}
		qc_send_msg(c, &m);
	}
}

void
assert_serving(const struct srv *s, const char *cluster)
{
	struct qc c;
	struct msg r;
	int got_vote = 0;

	qc_connect(&c, s);
	ck_assert_int_eq(qc_join(&c, cluster, 1, QN_ALGO_FFSPLIT, 8000), 0);
	send_node_lists(&c);
	/* ffsplit pushes the ACK in a VOTE_INFO. */
	while (!got_vote && qc_read_msg(&c, &r, TIMEOUT_MS) == RECV_MSG) {
		got_vote = (r.type == QN_MSG_NODE_LIST_REPLY ||
		    r.type == QN_MSG_VOTE_INFO) && r.vote == QN_VOTE_ACK;
		msg_free(&r);
	}
	ck_assert_msg(got_vote, "no ACK for a new client");
	ck_assert_int_ge(qc_echo(&c, TIMEOUT_MS), 0);
	qc_close(&c);
}
