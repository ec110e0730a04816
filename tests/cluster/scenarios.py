"""Cluster scenarios: real corosync + qdevice + qnetd in namespaces (see lab.py).

Each scenario is registered with @scenario; run them with run.py. Assertions are
what an admin would look at: corosync-quorumtool -s, corosync-qdevice-tool -s -v
and corosync-qnetd-tool -l -v. Votes in 2-node ffsplit: 1 per node + 1 Qdevice.
"""

import functools
import json
import os
import re
import signal
import subprocess
import sys

from lab import (FAILURE_REPORTS, FLAVOURS, Lab, Skip, SplitBrainWatch, binaries, holds,
                 leftovers, leftovers_of_pid, missing_binaries, wait_until)

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = []          # (name, callable)
SELFTEST = os.environ.get("LAB_SELFTEST") == "1"


def scenario(fn=None, *, params=None, matrix=False, selftest=False):
    """Register fn; `params` {suffix: kwargs} makes variants, `matrix` runs every
    qdevice x qnetd flavour pair; `selftest` ones run only with LAB_SELFTEST=1."""
    def register(fn):
        if selftest and not SELFTEST:
            return fn
        variants = params or {"": {}}
        for suffix, kwargs in variants.items():
            name = fn.__name__ + (f"[{suffix}]" if suffix else "")
            if matrix:
                for qd in FLAVOURS:
                    for qn in FLAVOURS:
                        fl = dict(qdevice_flavour=qd, qnetd_flavour=qn)
                        TESTS.append((f"{name}[qdevice={qd},qnetd={qn}]",
                                      functools.partial(fn, **kwargs, **fl)))
            else:
                TESTS.append((name, functools.partial(fn, **kwargs)))
        return fn
    return register(fn) if fn else register


# ---------------------------------------------------------------------------
# admin-level checks

def last_vote(lab, nodeid):
    """The last ACK/NACK qnetd sent to a node (corosync-qnetd-tool -l, e.g. 'No change (ACK)')."""
    vote = lab.qnetd_list()["nodes"].get(nodeid, {}).get("Vote", "")
    m = re.search(r"\((ACK|NACK)\)$", vote) or re.fullmatch(r"(ACK|NACK)", vote)
    return m.group(1) if m else None


def expect_votes(lab, votes, timeout=30):
    """Wait until qnetd shows the given {nodeid: 'ACK'|'NACK'} as its last votes."""
    wait_until(lambda: all(last_vote(lab, i) == v for i, v in votes.items()), timeout,
               what=f"qnetd votes {votes}")


def expect_whole(lab, total_votes):
    """Every node in one membership, quorate, counting the Qdevice vote.
    Generous timeout: after a heal, knet links can take a while to come back on a busy host."""
    ids = [n.nodeid for n in lab.nodes]
    lab.expect_all(ids, members=ids, quorate=True, qdevice_vote=True, total_votes=total_votes,
                   timeout=60)


def expect_split(lab, winners, losers, winner_votes):
    """Winners (one partition) keep quorum with the Qdevice vote; every loser is inquorate."""
    wants = {i: dict(members=winners, quorate=True, qdevice_vote=True, total_votes=winner_votes)
             for i in winners}
    wants.update({i: dict(quorate=False, qdevice_vote=False) for i in losers})
    lab.expect_states(wants)


def qnetd_nodes(lab):
    return sorted(lab.qnetd_list()["nodes"])


def never_quorate(lab, ids, duration):
    holds(lambda: not any(lab.quorum(i).quorate for i in ids), duration,
          what=f"nodes {ids} inquorate")


# ---------------------------------------------------------------------------
# 1. ffsplit, 2 nodes, tie-breaker lowest (interop matrix)

@scenario(matrix=True)
def ffsplit_lowest_split_heal(**fl):
    with Lab(nodes=2, algorithm="ffsplit", tie_breaker="lowest", **fl) as lab:
        expect_whole(lab, total_votes=3)
        assert "Qdevice" in lab.quorum(1).flags
        assert qnetd_nodes(lab) == [1, 2]
        st = lab.qdevice_status(1)["net"]
        assert st["State"] == "Connected" and st["Algorithm"] == "Fifty-Fifty split", st

        lab.partition([1], [2])
        expect_split(lab, winners=[1], losers=[2], winner_votes=2)
        expect_votes(lab, {1: "ACK", 2: "NACK"})

        lab.heal()
        expect_whole(lab, total_votes=3)
        expect_votes(lab, {1: "ACK", 2: "ACK"})


# ---------------------------------------------------------------------------
# 2. other tie-breakers

@scenario
def ffsplit_highest_split_heal(**fl):
    with Lab(nodes=2, tie_breaker="highest", **fl) as lab:
        lab.partition([1], [2])
        expect_split(lab, winners=[2], losers=[1], winner_votes=2)
        lab.heal()
        expect_whole(lab, total_votes=3)


@scenario
def ffsplit_nodeid_tiebreaker_isolated(**fl):
    """TB node 2 wins a clean split; isolating node 2 entirely hands quorum to node 1."""
    with Lab(nodes=2, tie_breaker=2, **fl) as lab:
        assert lab.qdevice_status(1)["net"]["Tie-breaker"] == "Node with node ID 2"
        lab.partition([1], [2])
        expect_split(lab, winners=[2], losers=[1], winner_votes=2)
        lab.heal()
        expect_whole(lab, total_votes=3)

        lab.set_port(lab.node(2), up=False)
        # qnetd decides only after dropping node 2's dead connection (DPD, 1.5 x HB),
        # and node 1's ACK waits until node 2 can't be casting its ACK any more
        # (ack_grace_coefficient, 3.5 x HB).
        wants = {1: dict(members=[1], quorate=True, qdevice_vote=True, total_votes=2),
                 2: dict(quorate=False, qdevice_vote=False)}
        lab.expect_states(wants, timeout=90)
        wait_until(lambda: qnetd_nodes(lab) == [1], 30, what="qnetd dropped node 2")


# ---------------------------------------------------------------------------
# 3. qnetd failures (interop matrix)

@scenario(matrix=True)
def qnetd_killed_and_restarted(**fl):
    with Lab(nodes=2, **fl) as lab:
        lab.stop_qnetd(signal.SIGKILL)
        # The vote lapses (ffsplit casts NACK when disconnected) but 2 of 3 votes stay quorate.
        lab.expect_all([1, 2], members=[1, 2], quorate=True, qdevice_vote=False, total_votes=2)
        assert all(lab.qdevice_status(i)["net"]["State"] != "Connected" for i in (1, 2))

        lab.start_qnetd()
        wait_until(lambda: qnetd_nodes(lab) == [1, 2], 40, what="both qdevices back on qnetd")
        expect_whole(lab, total_votes=3)


@scenario(matrix=True)
def qnetd_unreachable_then_split(**fl):
    with Lab(nodes=2, **fl) as lab:
        lab.cut_qnetd()
        lab.expect_all([1, 2], members=[1, 2], quorate=True, qdevice_vote=False, total_votes=2,
                       timeout=40)
        lab.partition([1], [2])
        lab.expect_states({1: dict(members=[1], quorate=False, qdevice_vote=False),
                           2: dict(members=[2], quorate=False, qdevice_vote=False)})
        never_quorate(lab, [1, 2], duration=5)   # no split brain, neither side wins later


@scenario(params={f"{n}nodes,qdevice={qd}": dict(nodes=n, qdevice_flavour=qd)
                  for n in (2, 4) for qd in FLAVOURS})
def arbiter_restart_no_split_brain(nodes, qdevice_flavour, **fl):
    """D24: the partition holding the vote loses its path to the arbiter, the
    arbiter is killed and restarted at once, and the other nodes come back split
    from the holders and reach the new arbiter.  The holders keep casting the old
    ACK until their echoes go unanswered; the new arbiter must not hand out an
    ACK that overlaps it.  Quorum is sampled on every node throughout."""
    holders = [2] if nodes == 2 else [3, 4]
    others = [i for i in range(1, nodes + 1) if i not in holders]
    with Lab(nodes=nodes, algorithm="ffsplit", tie_breaker="lowest", kap="on",
             qnetd_flavour="ours", qdevice_flavour=qdevice_flavour) as lab:
        for i in others:
            lab.stop_node(i)
        lab.expect_all(holders, members=holders, quorate=True, qdevice_vote=True)
        lab.partition(others, holders)
        with SplitBrainWatch(lab) as watch:
            lab.cut_qnetd(nodes=holders)
            lab.stop_qnetd(signal.SIGKILL)
            lab.start_qnetd()
            for i in others:
                lab.start_corosync(i)
            lab.expect_all(others, members=others, stable=0)
            for i in others:
                lab.start_qdevice(i)
            # The new partition gets the vote once the old ACK can't count.
            lab.expect_all(others, members=others, quorate=True, qdevice_vote=True,
                           timeout=90)
            lab.expect_all(holders, quorate=False, qdevice_vote=False)
        assert watch.rounds > 20, watch.rounds
        log = lab.qnetd_log()
        assert "ACK held back" in log, log[-2000:]


# ---------------------------------------------------------------------------
# 4. four nodes: 2+2, 3+1, nodes stopped one by one

@scenario(params={"ffsplit": dict(algorithm="ffsplit", winner_votes=3),
                  "lms": dict(algorithm="lms", winner_votes=5)})
def four_nodes_split_2_2(algorithm, winner_votes, **fl):
    # ffsplit: 4 + 1 Qdevice vote (quorum 3); lms: 4 + 3 Qdevice votes (quorum 4).
    with Lab(nodes=4, algorithm=algorithm, **fl) as lab:
        lab.partition([1, 2], [3, 4])
        expect_split(lab, winners=[1, 2], losers=[3, 4], winner_votes=winner_votes)
        expect_votes(lab, {1: "ACK", 2: "ACK", 3: "NACK", 4: "NACK"})
        lab.heal()
        expect_whole(lab, total_votes=winner_votes + 2)


@scenario
def four_nodes_lms_split_3_1(**fl):
    with Lab(nodes=4, algorithm="lms", **fl) as lab:
        lab.partition([1], [2, 3, 4])
        # The bigger partition wins even though node 1 would win the tie-breaker.
        expect_split(lab, winners=[2, 3, 4], losers=[1], winner_votes=6)
        lab.heal()
        expect_whole(lab, total_votes=7)


@scenario
def four_nodes_lms_last_man_standing(**fl):
    with Lab(nodes=4, algorithm="lms", **fl) as lab:
        for leaving in (4, 3, 2):
            lab.stop_node(leaving)
            remaining = list(range(1, leaving))
            lab.expect_all(remaining, members=remaining, quorate=True, qdevice_vote=True,
                           total_votes=len(remaining) + 3)
        assert lab.quorum(1)["Quorum"].split()[0] == "4"


@scenario
def four_nodes_ffsplit_stop_one_by_one(**fl):
    with Lab(nodes=4, algorithm="ffsplit", **fl) as lab:
        lab.stop_node(4)        # 3 of 4 nodes: a majority, the vote stays
        lab.expect_all([1, 2, 3], members=[1, 2, 3], quorate=True, qdevice_vote=True,
                       total_votes=4)
        lab.stop_node(3)        # 2 of 4: a 50:50 partition, the tie-breaker (lowest) keeps it
        lab.expect_all([1, 2], members=[1, 2], quorate=True, qdevice_vote=True, total_votes=3)
        lab.stop_node(2)        # 1 of 4: less than half, no vote, no quorum
        lab.expect(1, members=[1], quorate=False, qdevice_vote=False, total_votes=1)
        expect_votes(lab, {1: "NACK"})


# ---------------------------------------------------------------------------
# 5. 2nodelms and the keep-active-partition tie-breaker

@scenario
def two_node_lms(**fl):
    with Lab(nodes=2, algorithm="2nodelms", **fl) as lab:
        expect_whole(lab, total_votes=3)
        assert lab.qdevice_status(1)["net"]["KAP Tie-breaker"] == "Algorithm hard-coded"
        lab.partition([1], [2])
        expect_split(lab, winners=[1], losers=[2], winner_votes=2)
        lab.heal()
        expect_whole(lab, total_votes=3)
        lab.stop_node(1)        # the last node standing keeps quorum with the vote
        lab.expect(2, members=[2], quorate=True, qdevice_vote=True, total_votes=2)


@scenario(params={"on": dict(kap="on"), "off": dict(kap="off")})
def kap_four_nodes_partial_heal(kap, **fl):
    """TB highest. {1,2} alone is the only 50:50 partition while 3 and 4 are cut
    from everyone, so it gets the vote. When 3-4 heal into {3,4} (1+2 stays cut off):
    KAP on keeps the vote with the active {1,2}; KAP off moves it to {3,4} (node 4)."""
    with Lab(nodes=4, tie_breaker="highest", kap=kap, **fl) as lab:
        suffix = " (KAP Tie-breaker)" if kap == "on" else ""
        assert lab.qnetd_list()["Algorithm"] == "Fifty-Fifty split" + suffix
        lab.partition([1, 2], [3], [4])
        expect_split(lab, winners=[1, 2], losers=[3, 4], winner_votes=3)

        lab.partition([1, 2], [3, 4])
        winners, losers = ([1, 2], [3, 4]) if kap == "on" else ([3, 4], [1, 2])
        wait_until(lambda: all(lab.qnetd_list()["nodes"][i].get("Membership node list")
                               == "3, 4" for i in (3, 4)), 30, what="qnetd sees {3,4}")
        expect_votes(lab, {i: "ACK" for i in winners} | {i: "NACK" for i in losers})
        expect_split(lab, winners=winners, losers=losers, winner_votes=3)


@scenario(params={"on": dict(kap="on"), "off": dict(kap="off")})
def kap_two_nodes_failback(kap, **fl):
    """Split {1}/{2}, TB lowest: 1 wins. Node 1's qdevice stops: the vote goes to 2.
    Node 1's qdevice comes back (still split): KAP on keeps 2; KAP off fails back to 1."""
    with Lab(nodes=2, tie_breaker="lowest", kap=kap, **fl) as lab:
        lab.partition([1], [2])
        expect_split(lab, winners=[1], losers=[2], winner_votes=2)
        lab.stop_qdevice(1)
        expect_split(lab, winners=[2], losers=[1], winner_votes=2)

        lab.start_qdevice(1)
        wait_until(lambda: qnetd_nodes(lab) == [1, 2], 30, what="node 1 back on qnetd")
        winner, loser = (2, 1) if kap == "on" else (1, 2)
        expect_votes(lab, {winner: "ACK", loser: "NACK"})
        expect_split(lab, winners=[winner], losers=[loser], winner_votes=2)


# ---------------------------------------------------------------------------
# 6. heuristics

@scenario(params={"on": dict(mode="on"), "sync": dict(mode="sync")})
def heuristics_fail_moves_vote(mode, **fl):
    """Node 1's check fails: {1,2} scores 2+1-1, {3,4} 2+2, so {3,4} wins although
    the tie-breaker (lowest) alone would pick {1,2}."""
    execs = {i: {"check": "/bin/true"} for i in (2, 3, 4)}
    execs[1] = {"check": "/bin/false", "other": "/bin/true"}
    with Lab(nodes=4, heuristics_mode=mode, heuristics_exec=execs, **fl) as lab:
        expect_whole(lab, total_votes=5)    # a whole cluster keeps the vote anyway
        wait_until(lambda: lab.qdevice_status(1)["net"]["Heuristics result"].startswith("Fail"),
                   30, what="n1 heuristics Fail")
        assert lab.qdevice_status(3)["net"]["Heuristics result"].startswith("Pass")
        assert lab.qnetd_list()["nodes"][1]["Heuristics"].startswith("Fail")

        lab.partition([1, 2], [3, 4])
        expect_split(lab, winners=[3, 4], losers=[1, 2], winner_votes=3)
        expect_votes(lab, {1: "NACK", 2: "NACK", 3: "ACK", 4: "ACK"})


# ---------------------------------------------------------------------------
# 7. TLS (interop matrix)

TLS_MODES = {
    "on": dict(tls="on", qnetd_tls="Supported (client certificate required)",
               active="Yes (client certificate sent)"),
    "off": dict(tls="off", qnetd_tls="Unsupported", active="No"),
    "required": dict(tls="required", qnetd_tls="Required (client certificate required)",
                     active="Yes (client certificate sent)"),
}


@scenario(params=TLS_MODES, matrix=True)
def tls_mode(tls, qnetd_tls, active, **fl):
    with Lab(nodes=2, tls=tls, **fl) as lab:
        expect_whole(lab, total_votes=3)
        status = lab.qnetd_status()
        assert status["TLS"] == qnetd_tls, status
        for i in (1, 2):
            assert lab.qdevice_status(i)["net"]["TLS active"] == active
        verified = "Yes (client certificate verified)" if tls != "off" else "No"
        assert all(c["TLS active"] == verified for c in lab.qnetd_list()["nodes"].values())


@scenario
def token_enrolled_tls_required_split(**fl):
    """Issue 14: both nodes get their certificates only with a token of
    corosync-qnetd-certutil -t over the qnetd port, run tls: required with them,
    and a split is decided with quorum sampled on every node throughout."""
    fl.setdefault("qnetd_flavour", "ours")
    fl.setdefault("qdevice_flavour", "ours")
    with Lab(nodes=2, tls="required", token_enrol=True, **fl) as lab:
        expect_whole(lab, total_votes=3)
        assert lab.qnetd_status()["TLS"] == "Required (client certificate required)"
        for i in (1, 2):
            assert lab.qdevice_status(i)["net"]["TLS active"] == "Yes (client certificate sent)"
        assert all(c["TLS active"] == "Yes (client certificate verified)"
                   for c in lab.qnetd_list()["nodes"].values())
        log = lab.qnetd_log()
        assert log.count("Enrolment: issued a certificate for cluster demo") == 2, log[-2000:]
        with SplitBrainWatch(lab) as watch:
            lab.partition([1], [2])
            expect_split(lab, winners=[1], losers=[2], winner_votes=2)
            expect_votes(lab, {1: "ACK", 2: "NACK"})
            lab.heal()
            expect_whole(lab, total_votes=3)
        assert watch.rounds > 5, watch.rounds


@scenario(matrix=True)
def tls_wrong_cluster_certificate(**fl):
    """Node certificates issued for cluster 'other': qnetd refuses the CN, no vote ever."""
    with Lab(nodes=2, tls="on", cert_cluster="other", wait_vote=False, **fl) as lab:
        wait_until(lambda: "certificate with valid CN" in lab.qnetd_log(), 30,
                   what="qnetd log: certificate without valid CN")
        holds(lambda: qnetd_nodes(lab) == [] and not any(
            lab.quorum(i).qdevice_votes or "V" in lab.quorum(i).qdevice for i in (1, 2)),
            duration=5, what="no client admitted, no Qdevice vote")
        lab.expect_all([1, 2], members=[1, 2], quorate=True, total_votes=2)


@scenario(matrix=True)
def tls_required_against_plain_qnetd(**fl):
    """qdevice tls: required, qnetd -s off: the qdevice refuses and exits."""
    with Lab(nodes=2, tls="required", qnetd_tls="off", wait_vote=False, **fl) as lab:
        for n in lab.nodes:
            d = n.daemons["qdevice"]
            wait_until(lambda: not d.alive(), 30, what=f"{n.name} qdevice exits")
            assert d.proc.returncode != 0, d.proc.returncode
            log = n.read("/var/log/corosync/qdevice.out")
            assert re.search(r"(?i)incompatible tls", log), log[-2000:]
        assert qnetd_nodes(lab) == []
        lab.expect_all([1, 2], members=[1, 2], quorate=True, qdevice_vote=False, total_votes=2)


# ---------------------------------------------------------------------------
# harness self-tests: teardown leaves nothing behind

def _leftovers_of(lab, pids):
    return leftovers(lab.prefix, lab.dir, pids)


def _daemon_pids(lab):
    return [(d.pid, d.started) for h in lab.hosts for d in h.daemons.values()]


@scenario
def teardown_after_failing_test(**fl):
    """A scenario that fails mid-way still tears everything down and reports logs."""
    lab = Lab(nodes=2, wait_vote=False, **fl)
    try:
        with lab:
            pids = _daemon_pids(lab)
            raise AssertionError("deliberate failure")
    except AssertionError as e:
        assert str(e) == "deliberate failure"
    assert _leftovers_of(lab, pids) == [], _leftovers_of(lab, pids)
    report = FAILURE_REPORTS.pop()
    assert "qnetd/qnetd.out" in report and "n1/corosync.log" in report, report[:500]


@scenario
def teardown_after_failing_start(**fl):
    """qnetd refuses its arguments: start() fails, the half-built lab is still removed."""
    lab = Lab(nodes=2, tls="off", qnetd_args=["-p", "0"], **fl)
    try:
        with lab:
            raise AssertionError("start() should have failed")
    except RuntimeError as e:
        assert "corosync-qnetd exited" in str(e), e
    assert lab.dir and _leftovers_of(lab, _daemon_pids(lab)) == []
    assert "port must be in range" in FAILURE_REPORTS.pop()


def _hold_lab_and_signal(sig):
    """Run `lab.py hold` in a child, signal it once the lab is up, check the leftovers."""
    missing = missing_binaries(binaries())
    if missing:
        raise Skip("missing binaries: " + ", ".join(missing))
    child = subprocess.Popen([sys.executable, os.path.join(HERE, "lab.py"), "hold"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True,
                             start_new_session=True)
    try:
        info = json.loads(child.stdout.readline())
        child.send_signal(sig)
        rc = child.wait(60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    pids = [tuple(p) for p in info["pids"]]
    assert rc != 0, rc
    assert leftovers(info["prefix"], info["dir"], pids) == []


@scenario(params={"SIGTERM": dict(sig=signal.SIGTERM), "SIGINT": dict(sig=signal.SIGINT)})
def teardown_on_signal(sig, **fl):
    _hold_lab_and_signal(sig)


@scenario
def runner_reports_failure_and_cleans_up(**fl):
    """run.py on a deliberately failing scenario: FAIL line, summary, exit 1, nothing left."""
    env = dict(os.environ, LAB_SELFTEST="1")
    child = subprocess.Popen([sys.executable, os.path.join(HERE, "run.py"), "-k", "selftest_fails"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, env=env)
    out = child.communicate(timeout=120)[0]
    lines = out.strip().splitlines()
    assert child.returncode == 1, out
    assert lines[-1] == "0 passed, 1 failed", lines[-1]
    assert any(l.startswith("FAIL") and "selftest_fails" in l for l in lines), out
    assert "corosync.log" in out        # log tails of the failed lab are shown
    assert leftovers_of_pid(child.pid) == [], leftovers_of_pid(child.pid)


@scenario(selftest=True)
def selftest_fails(**fl):
    with Lab(nodes=2, **fl) as lab:
        lab.partition([1], [2])
        lab.expect(2, members=[2], quorate=True, timeout=8)   # wrong on purpose: 1 wins
