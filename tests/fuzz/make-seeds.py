#!/usr/bin/env python3
"""Seed corpora of tests/fuzz/fuzz_qnetd (multi-client sessions) and
tests/fuzz/fuzz_qdevice (a qnetd's side of a qdevice's connections).

Usage: make-seeds.py [QNETD_OUTDIR [QDEVICE_OUTDIR]]   (default:
tests/fuzz/corpus-qnetd and corpus-qdevice next to this script).  Rewrites
every seed it owns; deterministic.

Each seed is the fuzzer's input format (see fuzz_qnetd.c): two configuration
bytes, then records [op][len][bytes] (bytes for client op & 3) and one-byte
events (0xa0|k close client k, 0xc0 time passes, 0xe0|k pause/resume
reading client k).  The sessions are what qdevices of 2 to 4 nodes send in
each algorithm (PROTOCOL.md §7.5): PREINIT, INIT, the config, membership
and quorum lists, VOTE_INFO_REPLYs, echoes, a membership change, a leave,
plus a few sessions around errors.  The message encoder is checked against
the golden messages of tests/fuzz/corpus first.
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# Message types and options (PROTOCOL.md §3.3, §5.1)
PREINIT, STARTTLS, INIT, SET_OPTION, ECHO_REQUEST = 0, 2, 3, 6, 8
NODE_LIST, ASK_FOR_VOTE, VOTE_INFO_REPLY, HEURISTICS_CHANGE = 10, 12, 15, 16
INIT_REPLY = 4

TEST, FFSPLIT, TWONODELMS, LMS = 0, 1, 2, 3
INITIAL, CHANGED, MEMBERSHIP, QUORUM = 0, 1, 2, 3
PASS, FAIL = 1, 2

# Configuration byte (fuzz_qnetd.c)
CFG_TLS_ON, CFG_TLS_REQ = 0x02, 0x03
CFG_KAP, CFG_NO_DPD, CFG_SMALL_BUF = 0x04, 0x08, 0x10
CFG_SMALL_MSG, CFG_NO_CERT, CFG_SHUTDOWN = 0x20, 0x40, 0x80
CFG2_RATE, CFG2_SEND_BYTES, CFG2_INIT_TMO = 0x01, 0x02, 0x04
CFG2_CLUSTERS, CFG2_HB_MIN, CFG2_DPD_COEF = 0x08, 0x10, 0x20


def tlv(opt, value):
    return struct.pack(">HH", opt, len(value)) + value


def u8(v):
    return struct.pack(">B", v)


def u16(v):
    return struct.pack(">H", v)


def u32(v):
    return struct.pack(">I", v)


def u64(v):
    return struct.pack(">Q", v)


def message(mtype, *tlvs):
    body = b"".join(tlvs)
    return struct.pack(">HI", mtype, len(body)) + body


def seq(n):
    return tlv(0, u32(n))


def ring(node, rseq):
    return tlv(13, u32(node) + u64(rseq))


def preinit(s, name=b"demo"):
    return message(PREINIT, seq(s), tlv(1, name))


def init(s, node, algo, hb=8000, tb=(1, 0), rng=(1, 10)):
    return message(INIT, seq(s),
                   tlv(4, b"".join(u16(i) for i in range(18))),
                   tlv(5, b"".join(u16(i) for i in range(24))),
                   tlv(9, u32(node)), tlv(11, u16(algo)), tlv(12, u32(hb)),
                   tlv(21, u8(tb[0]) + u32(tb[1])), ring(*rng))


def node_info(node, dc=0, state=0):
    inner = tlv(9, u32(node))
    if dc:
        inner += tlv(15, u32(dc))
    if state:
        inner += tlv(16, u8(state))
    return tlv(17, inner)


def config_list(s, nodes, initial=True, version=None):
    opts = [seq(s), tlv(18, u8(INITIAL if initial else CHANGED))]
    if version is not None:
        opts.append(tlv(14, u64(version)))
    opts += [node_info(n) for n in nodes]
    return message(NODE_LIST, *opts)


def membership_list(s, nodes, rng, heur=None):
    opts = [seq(s), tlv(18, u8(MEMBERSHIP)), ring(*rng)]
    opts += [node_info(n) for n in nodes]
    if heur:
        opts.append(tlv(22, u8(heur)))
    return message(NODE_LIST, *opts)


def quorum_list(s, nodes, quorate=1, dead=()):
    opts = [seq(s), tlv(18, u8(QUORUM)), tlv(20, u8(quorate))]
    opts += [node_info(n, state=2 if n in dead else 1) for n in nodes]
    return message(NODE_LIST, *opts)


def echo(s):
    return message(ECHO_REQUEST, seq(s))


def vote_info_reply(s):
    return message(VOTE_INFO_REPLY, seq(s))


def set_option(s, kap=None, hb=None):
    opts = [seq(s)]
    if hb is not None:
        opts.append(tlv(12, u32(hb)))
    if kap is not None:
        opts.append(tlv(23, u8(kap)))
    return message(SET_OPTION, *opts)


def heuristics_change(s, h):
    return message(HEURISTICS_CHANGE, seq(s), tlv(22, u8(h)))


def ask_for_vote(s):
    return message(ASK_FOR_VOTE, seq(s))


def starttls(s):
    return message(STARTTLS, seq(s))


class Session:
    """Records for the fuzzer; messages longer than 255 bytes are split."""

    def __init__(self, cfg=0, cfg2=0):
        self.out = bytearray([cfg, cfg2])

    def send(self, k, data, chunk=255):
        for off in range(0, len(data), chunk):
            part = data[off:off + chunk]
            self.out += bytes([k, len(part)]) + part
        return self

    def close(self, k):
        self.out.append(0xa0 | k)
        return self

    def time_passes(self):
        self.out.append(0xc0)
        return self

    def pause(self, k):
        self.out.append(0xe0 | k)
        return self


class Node:
    """One qdevice: its own sequence counter (PROTOCOL.md §6)."""

    def __init__(self, sess, k, node_id, algo, name=b"demo", tb=(1, 0),
                 hb=8000):
        self.s, self.k, self.id, self.algo = sess, k, node_id, algo
        self.name, self.tb, self.hb = name, tb, hb
        self.seq = 1
        self.echo_seq = 0

    def next(self):
        self.seq += 1
        return self.seq

    def send(self, data, chunk=255):
        self.s.send(self.k, data, chunk)

    def connect(self, rng, chunk=255):
        self.send(preinit(self.seq, self.name), chunk)
        self.send(init(self.next(), self.id, self.algo, self.hb, self.tb,
                       rng), chunk)

    def burst(self, config, members, rng, quorate=1, heur=None, kap=None):
        if kap is not None:
            self.send(set_option(self.next(), kap=kap))
        self.send(config_list(self.next(), config))
        self.send(membership_list(self.next(), members, rng, heur))
        self.send(quorum_list(self.next(), members, quorate))

    def membership(self, members, rng, heur=None):
        self.send(membership_list(self.next(), members, rng, heur))

    def quorum(self, members, quorate=1, dead=()):
        self.send(quorum_list(self.next(), members, quorate, dead))

    def echo(self):
        self.echo_seq += 1
        self.send(echo(self.echo_seq))

    def vote_info_replies(self, *seqs):
        for s in seqs:
            self.send(vote_info_reply(s))


def cluster_session(algo, n, cfg=0, split=None, heur=None, kap=None,
                    timers=False, leave=None, tb=(1, 0), chunk=255, cfg2=0,
                    hb=8000):
    """n nodes join one cluster; optionally the membership splits."""
    sess = Session(cfg, cfg2)
    ids = list(range(1, n + 1))
    nodes = [Node(sess, k, ids[k], algo, tb=tb, hb=hb) for k in range(n)]
    rng = (1, 8)
    for nd in nodes:
        nd.connect(rng, chunk)
    for nd in nodes:
        nd.burst(ids, ids, rng, heur=heur and heur.get(nd.id), kap=kap)
    for nd in nodes:
        nd.vote_info_replies(1)
        nd.echo()
    if timers:
        sess.time_passes()
    if split:
        # Each part gets its own ring; each node reports its part.
        for part in split:
            prng = (part[0], 12)
            for nid in part:
                nd = nodes[nid - 1]
                nd.membership(part, prng,
                              heur and heur.get(nid))
                nd.quorum(ids, quorate=0, dead=set(ids) - set(part))
        if timers:
            sess.time_passes()
            sess.time_passes()
        for nd in nodes:
            nd.vote_info_replies(2, 3)
        if algo in (TWONODELMS, LMS, TEST):
            for nd in nodes:
                nd.send(ask_for_vote(nd.next()))
    if heur:
        nodes[0].send(heuristics_change(nodes[0].next(), FAIL))
        nodes[0].vote_info_replies(3, 4)
    if leave is not None:
        sess.close(leave)
        for nd in nodes:
            if nd.k != leave:
                nd.vote_info_replies(2, 3, 4)
        # ... and it comes back.
        back = nodes[leave]
        back.connect(rng, chunk)
        back.burst(ids, ids, rng)
    for nd in nodes:
        nd.echo()
    return bytes(sess.out)


def error_sessions():
    seeds = {}

    # Everything before PREINIT / INIT, then the right order.
    s = Session(0)
    s.send(0, init(2, 1, FFSPLIT))
    s.send(0, echo(1))
    s.send(0, config_list(3, [1, 2]))
    s.send(0, set_option(4, kap=1))
    s.send(0, vote_info_reply(1))
    s.send(0, heuristics_change(5, PASS))
    s.send(0, message(INIT_REPLY, seq(9), tlv(6, u16(0))))
    s.send(0, message(99, seq(1)))
    s.send(0, message(ECHO_REQUEST))
    s.send(0, message(ECHO_REQUEST, seq(1), b"\x00"))
    s.send(0, preinit(1))
    s.send(0, init(2, 1, 7))
    s.send(0, init(3, 1, FFSPLIT, hb=10))
    s.send(0, init(4, 1, FFSPLIT))
    s.send(0, init(5, 1, FFSPLIT))
    s.send(0, set_option(6, hb=500))
    s.send(0, set_option(7, hb=2000, kap=0))
    s.send(0, ask_for_vote(8))
    s.send(0, config_list(9, []))
    s.send(0, config_list(10, [2, 3]))
    s.send(0, membership_list(11, [], (1, 1)))
    s.send(0, message(NODE_LIST, seq(12), tlv(18, u8(MEMBERSHIP))))
    s.send(0, message(NODE_LIST, seq(13), tlv(18, u8(QUORUM))))
    s.send(0, message(NODE_LIST, tlv(18, u8(QUORUM))))
    s.send(0, message(NODE_LIST, seq(14)))
    seeds["errors-order"] = bytes(s.out)

    # D25: a connection switching clusters around INIT, after an error
    # reply, a refused INIT and a good one; with TLS on, STARTTLS too.
    for name, cfg in (("switch-cluster", 0), ("switch-cluster-tls", CFG_TLS_ON)):
        s = Session(cfg)
        s.send(0, preinit(1, b"one"))
        s.send(0, echo(2))
        s.send(0, preinit(3, b"two"))
        s.send(0, init(4, 1, FFSPLIT, hb=10))
        s.send(0, preinit(5, b"one"))
        s.send(0, init(6, 1, FFSPLIT))
        s.send(0, config_list(7, [1, 2]))
        s.send(0, preinit(8, b"two"))
        s.send(0, init(9, 1, FFSPLIT))
        s.send(1, preinit(1, b"two"))
        s.send(1, starttls(2))
        s.send(1, preinit(3, b"one"))
        s.send(1, init(4, 2, FFSPLIT))
        seeds[name] = bytes(s.out)

    # Two nodes that disagree with a third: tie-breaker, algorithm, id.
    s = Session(0)
    a = Node(s, 0, 1, LMS)
    b = Node(s, 1, 2, LMS, tb=(3, 2))
    c = Node(s, 2, 1, LMS)
    d = Node(s, 3, 3, FFSPLIT)
    for nd in (a, b, c, d):
        nd.connect((1, 4))
    a.burst([1, 2, 3], [1], (1, 4))
    s.close(0)
    c.connect((1, 4))
    c.burst([1, 2, 3], [1], (1, 4))
    seeds["errors-join"] = bytes(s.out)

    # TLS: required (INIT refused), on without certificate (STARTTLS drops).
    for name, cfg in (("tls-required", CFG_TLS_REQ), ("tls-on", CFG_TLS_ON)):
        s = Session(cfg)
        a = Node(s, 0, 1, FFSPLIT)
        s.send(0, preinit(1))
        s.send(0, starttls(2))
        s.send(0, init(3, 1, FFSPLIT))
        a.seq = 3
        a.connect((1, 1))
        a.burst([1, 2], [1, 2], (1, 1))
        seeds[name] = bytes(s.out)

    # Small limits: a message too long, replies piling up unread.
    s = Session(CFG_SMALL_MSG | CFG_SMALL_BUF)
    a = Node(s, 0, 1, TEST)
    a.connect((1, 2), chunk=37)
    s.send(0, config_list(a.next(), list(range(1, 40))))
    s.pause(0)
    for i in range(1, 40):
        s.send(0, echo(i))
    s.pause(0)
    s.send(0, echo(99))
    seeds["small-limits"] = bytes(s.out)

    # Dead peers: a short heartbeat, then time passes.
    s = Session(0)
    a = Node(s, 0, 1, FFSPLIT, hb=1000)
    b = Node(s, 1, 2, FFSPLIT, hb=1000)
    for nd in (a, b):
        nd.connect((1, 3))
    for nd in (a, b):
        nd.burst([1, 2], [1, 2], (1, 3))
    s.time_passes()
    b.echo()
    s.time_passes()
    s.time_passes()
    a.vote_info_replies(1, 2)
    seeds["dead-peer"] = bytes(s.out)

    # The golden messages, one client, byte by byte for the first ones.
    s = Session(CFG_NO_CERT)
    golden = os.path.join(HERE, "corpus")
    order = ["preinit", "init", "set_option", "node_list_config",
             "node_list_membership", "node_list_quorum", "echo",
             "vote_info_reply", "heuristics_change", "starttls"]
    for i, name in enumerate(order):
        with open(os.path.join(golden, name), "rb") as f:
            s.send(0, f.read()[1:], chunk=1 if i == 0 else 255)
    for name in sorted(os.listdir(golden)):
        if name not in order:
            with open(os.path.join(golden, name), "rb") as f:
                s.send(1, f.read()[1:])
    seeds["golden"] = bytes(s.out)

    # The abuse limits.  A fast client is throttled, then time passes.
    s = Session(0, CFG2_RATE)
    a = Node(s, 0, 1, TEST)
    a.connect((1, 2))
    for _ in range(30):
        a.echo()
    s.time_passes()
    s.time_passes()
    a.burst([1, 2], [1, 2], (1, 2))
    seeds["limit-rate"] = bytes(s.out)

    # Replies pile up unread past max_client_send_bytes.
    s = Session(CFG_SMALL_BUF, CFG2_SEND_BYTES)
    a = Node(s, 0, 1, FFSPLIT)
    a.connect((1, 2))
    s.pause(0)
    for _ in range(40):
        a.send(message(ECHO_REQUEST, seq(1), tlv(1, b"x" * 200)))
    seeds["limit-send-bytes"] = bytes(s.out)

    # INIT too late; a second cluster over max_clusters.
    s = Session(0, CFG2_INIT_TMO | CFG2_CLUSTERS)
    a = Node(s, 0, 1, LMS)
    b = Node(s, 1, 1, LMS, name=b"other")
    c = Node(s, 2, 2, LMS)
    s.send(3, preinit(1))
    a.connect((1, 5))
    b.connect((1, 5))
    c.send(preinit(1))
    s.time_passes()
    c.connect((1, 5))
    a.burst([1, 2], [1], (1, 5))
    seeds["limit-init-clusters"] = bytes(s.out)
    return seeds


# fuzz_qdevice (see fuzz_qdevice.c): the server's side.
QD_ALGO = {TEST: 0, FFSPLIT: 1, TWONODELMS: 2, LMS: 3}
QD_HEUR_ON, QD_HEUR_SYNC = 1 << 2, 2 << 2
QD_WFA, QD_QUORATE, QD_POLL_FAILS, QD_SMALL_RECV = 0x10, 0x20, 0x40, 0x80
QD2_NO_KAP, QD2_TB_HIGH, QD2_THREE, QD2_VOTES_2 = 0x01, 0x02, 0x04, 0x08
# Reply ops: 0x80 | vote index (0 ACK, 1 NACK, 2 ask later, 3 wait,
# 4 no change, 7 invalid) | 8 stale ring; 0x90 | same: VOTE_INFO.
R_ACK, R_NACK, R_LATER, R_WAIT, R_NOCHANGE, R_BAD = 0, 1, 2, 3, 4, 7
R_STALE = 8
EV_CLOSE, EV_TIME, EV_HEUR, EV_MEMBERSHIP = 0xa0, 0xa1, 0xa2, 0xa3
EV_QUORUM = 0xa4
EV_NODELIST, EV_EXPECTED, EV_HEUR_ON = 0xa5, 0xa6, 0xa7
EV_HEUR_REGULAR, EV_QNETD_DOWN_UP = 0xa8, 0xa9


class Server:
    """Records of a fuzz_qdevice input."""

    def __init__(self, cfg=0, cfg2=0):
        self.out = bytearray([cfg, cfg2])

    def reply(self, vote=R_ACK):
        self.out.append(0x80 | vote)
        return self

    def vote_info(self, vote=R_ACK):
        self.out.append(0x90 | vote)
        return self

    def raw(self, data, chunk=127):
        for off in range(0, len(data), chunk):
            part = data[off:off + chunk]
            self.out += bytes([len(part) & 0x7f, len(part)]) + part
        return self

    def event(self, op, arg=None):
        self.out.append(op)
        if arg is not None:
            self.out.append(arg)
        return self

    def connect(self, heur=None):
        """PREINIT_REPLY, INIT_REPLY, (heuristics), replies to the burst."""
        self.reply(R_ACK).reply(R_ACK)
        if heur is not None:
            self.event(EV_HEUR, heur)
        # SET_OPTION (KAP), config, membership and quorum lists.
        return self.reply().reply(R_LATER).reply(R_ACK).reply(R_NOCHANGE)


def qdevice_session(algo, cfg=0, cfg2=0, heur=None):
    s = Server(QD_ALGO[algo] | cfg, cfg2)
    s.connect(heur)
    s.vote_info(R_ACK)
    s.event(EV_TIME).event(EV_TIME).reply()    # cast vote, echo
    s.event(EV_MEMBERSHIP, 0)                  # one member left
    if heur is not None:
        s.event(EV_HEUR, 2)
    s.reply(R_NACK).event(EV_QUORUM, 0).reply(R_NOCHANGE)
    s.vote_info(R_NACK | R_STALE).vote_info(R_ACK)
    s.event(EV_NODELIST, 2).reply(R_NOCHANGE)
    s.event(EV_EXPECTED)
    s.event(EV_TIME).reply().event(EV_TIME).reply()
    s.event(EV_CLOSE).event(EV_TIME).event(EV_TIME)  # reconnect
    s.connect(heur)
    if cfg & QD_HEUR_ON:
        # Regular runs: fail, then pass (HEURISTICS_CHANGE each time).
        s.event(EV_HEUR_REGULAR).event(EV_HEUR, 2).reply(R_NACK)
        s.event(EV_HEUR_REGULAR).event(EV_HEUR, 1).reply(R_ACK)
    for _ in range(6):                         # echo not answered
        s.event(EV_TIME)
    # qnetd goes away: refused connects until the connect timeout.
    s.event(EV_QNETD_DOWN_UP).event(EV_CLOSE)
    for _ in range(4):
        s.event(EV_TIME)
    s.event(EV_QNETD_DOWN_UP).event(EV_TIME).event(EV_TIME)
    s.connect(heur)
    return bytes(s.out)


def preinit_reply(s, tls=0):
    return message(1, seq(s), tlv(2, u8(tls)), tlv(3, u8(1)))


def init_reply(s, err=0, req=32768, rep=32768, algos=range(4)):
    return message(INIT_REPLY, tlv(6, u16(err)),
                   tlv(4, b"".join(u16(i) for i in range(18))),
                   tlv(5, b"".join(u16(i) for i in range(24))), seq(s),
                   tlv(7, u32(req)), tlv(8, u32(rep)),
                   tlv(10, b"".join(u16(i) for i in algos)))


def qdevice_raw_sessions():
    seeds = {}
    golden = os.path.join(HERE, "corpus")
    # The golden server messages, in order, as raw bytes.
    s = Server(QD_ALGO[FFSPLIT])
    for name in ("preinit_reply", "init_reply_short", "node_list_reply",
                 "vote_info", "heuristics_change_reply", "server_error"):
        with open(os.path.join(golden, name), "rb") as f:
            s.raw(f.read()[1:])
    seeds["golden"] = bytes(s.out)

    # Hand-made replies: right, then wrong in each way 3.0.3 checks.
    for name, msgs in (
            ("raw-connect", [preinit_reply(1), init_reply(2)]),
            ("raw-bad-seq", [preinit_reply(7)]),
            ("raw-tls-required", [preinit_reply(1, tls=2)]),
            ("raw-init-error", [preinit_reply(1), init_reply(2, err=17)]),
            ("raw-init-sizes", [preinit_reply(1), init_reply(2, req=100)]),
            ("raw-init-algos", [preinit_reply(1), init_reply(2, algos=[0])]),
            ("raw-unexpected", [message(10, seq(1))]),
            ("raw-unknown-type", [message(99, seq(1))]),
            ("raw-decode-error", [message(1, seq(1), b"\x00")]),
            ("raw-server-error", [message(5, seq(1), tlv(6, u16(11)))]),
            ("raw-echo-reply", [message(9, seq(5))]),
            ("raw-too-long", [struct.pack(">HI", 1, 1 << 20)])):
        s = Server(QD_ALGO[LMS] if "unknown" in name else QD_ALGO[FFSPLIT])
        for m in msgs:
            s.raw(m)
        s.event(EV_TIME).event(EV_TIME)
        seeds[name] = bytes(s.out)
    return seeds


def qdevice_seeds():
    names = {TEST: "test", FFSPLIT: "ffsplit", TWONODELMS: "2nodelms",
             LMS: "lms"}
    seeds = {}
    for algo, name in names.items():
        seeds[name] = qdevice_session(algo)
        seeds[name + "-heur-on"] = qdevice_session(algo, QD_HEUR_ON, heur=1)
        seeds[name + "-heur-sync-wfa"] = qdevice_session(
            algo, QD_HEUR_SYNC | QD_WFA | QD_QUORATE, heur=2)
    seeds["ffsplit-three-votes"] = qdevice_session(
        FFSPLIT, 0, QD2_THREE | QD2_VOTES_2 | QD2_TB_HIGH)
    seeds["lms-no-kap-poll-fails"] = qdevice_session(
        LMS, QD_POLL_FAILS, QD2_NO_KAP)
    seeds["ffsplit-small-recv"] = qdevice_session(FFSPLIT, QD_SMALL_RECV)
    s = Server(QD_ALGO[FFSPLIT])
    s.connect().event(EV_HEUR_ON).reply()
    seeds["ffsplit-heur-enabled"] = bytes(s.out)
    s = Server(QD_ALGO[LMS], 0)
    s.reply().reply(R_ACK | R_STALE)          # INIT error 20? no: 12+0
    s.reply(R_BAD).reply(R_WAIT | R_STALE)
    seeds["lms-bad-replies"] = bytes(s.out)
    seeds.update(qdevice_raw_sessions())
    return seeds


def write_seeds(out, seeds):
    os.makedirs(out, exist_ok=True)
    for name, data in sorted(seeds.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print("%d seeds in %s" % (len(seeds), out))


def check_encoder():
    """The encoder reproduces the golden messages of tests/fuzz/corpus."""
    golden = os.path.join(HERE, "corpus")
    cases = {
        "preinit": preinit(1),
        "init": init(2, 1, FFSPLIT),
        "echo": echo(1),
        "vote_info_reply": vote_info_reply(1),
        "node_list_quorum": quorum_list(6, [1], quorate=0),
    }
    for name, data in cases.items():
        with open(os.path.join(golden, name), "rb") as f:
            want = f.read()[1:]
        if want != data:
            sys.exit("make-seeds.py: encoder differs from golden %s" % name)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        HERE, "corpus-qnetd")
    out_qd = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        HERE, "corpus-qdevice")
    check_encoder()
    seeds = {}
    names = {TEST: "test", FFSPLIT: "ffsplit", TWONODELMS: "2nodelms",
             LMS: "lms"}
    for algo, name in names.items():
        seeds[name + "-2"] = cluster_session(algo, 2)
        seeds[name + "-2-split"] = cluster_session(
            algo, 2, split=[[1], [2]], timers=algo == LMS)
        seeds[name + "-3-leave"] = cluster_session(
            algo, 3, cfg=CFG_SHUTDOWN, leave=1, timers=algo == LMS)
        seeds[name + "-4-split-heur"] = cluster_session(
            algo, 4, cfg=CFG_KAP, split=[[1, 2], [3, 4]],
            heur={1: PASS, 2: PASS, 3: FAIL, 4: FAIL},
            timers=algo == LMS, tb=(2, 0))
    seeds["ffsplit-4-kap"] = cluster_session(
        FFSPLIT, 4, cfg=CFG_KAP, split=[[1, 3], [2, 4]], kap=1)
    seeds["ffsplit-3-nodpd-chunked"] = cluster_session(
        FFSPLIT, 3, cfg=CFG_NO_DPD | CFG_SHUTDOWN, split=[[1, 2], [3]],
        chunk=7)
    seeds["lms-3-tb-node"] = cluster_session(
        LMS, 3, split=[[1], [2], [3]], timers=True, tb=(3, 2))
    # Heartbeats down to 1 ms: the lms timer is heartbeat / 4 = 0 ms.
    seeds["lms-2-hb-tiny"] = cluster_session(
        LMS, 2, split=[[1], [2]], timers=True, cfg2=CFG2_HB_MIN, hb=3)
    seeds["ffsplit-2-dpd-coef"] = cluster_session(
        FFSPLIT, 2, split=[[1], [2]], timers=True, cfg2=CFG2_DPD_COEF,
        hb=20000)
    seeds.update(error_sessions())
    write_seeds(out, seeds)
    write_seeds(out_qd, qdevice_seeds())


if __name__ == "__main__":
    main()
