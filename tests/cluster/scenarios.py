"""Cluster scenarios: real corosync + qdevice + qnetd in namespaces (see lab.py).

Each scenario is registered with @scenario; run them with run.py. Assertions are
what an admin would look at: corosync-quorumtool -s, corosync-qdevice-tool -s -v
and corosync-qnetd-tool -l -v. Votes in 2-node ffsplit: 1 per node + 1 Qdevice.
"""

import functools
import json
import os
import re
import shutil
import signal
import shutil
import subprocess
import sys
import tempfile

from lab import (FAILURE_REPORTS, FLAVOURS, QNETD2_ADDR, QNETD_ADDR, SUBNET, Lab, Skip,
                 SplitBrainWatch, binaries, holds, leftovers, leftovers_of_pid,
                 missing_binaries, sh, wait_until)
from pcmk import PcmkLab

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


HOLD_REASON = "holding the tie for partition {2}, which held the vote before"


def node2_alone_with_vote(lab):
    """The issue-12 example's start: node 1 down, node 2 alone holds the vote; then
    the two are split, so that node 1 comes back in a partition of its own."""
    lab.stop_node(1)
    lab.expect(2, members=[2], quorate=True, qdevice_vote=True)
    lab.partition([1], [2])


def node1_comes_back_first(lab):
    """Node 1 starts split from node 2, whose path to the arbiter is cut: node 1
    reaches the arbiter first."""
    lab.start_corosync(1)
    lab.expect(1, members=[1], stable=0)
    lab.start_qdevice(1)
    wait_until(lambda: 1 in lab.qnetd_list()["nodes"], 30, what="node 1 at qnetd")


def expect_vote_on(lab, winner, loser):
    lab.expect(winner, members=[winner], quorate=True, qdevice_vote=True, timeout=60,
               stable=2.0)
    lab.expect(loser, quorate=False, qdevice_vote=False, stable=0)
    expect_votes(lab, {winner: "ACK", loser: "NACK"})


@scenario(params={f"kap={kap},qdevice={qd}": dict(kap=kap, qdevice_flavour=qd)
                  for kap in ("on", "off") for qd in FLAVOURS})
def arbiter_restart_keeps_vote(kap, qdevice_flavour, **fl):
    """Issue 12's example: 2 nodes, ffsplit, tie-breaker lowest.  Node 2 alone holds
    the vote; the arbiter restarts (SIGKILL: only what it saved counts); node 1
    comes back split from node 2 and reaches the new arbiter first.
    KAP on: the arbiter's saved memory makes it hold the 50:50 tie for node 2, so
    node 1 is told NACK (saying why) until node 2 is back, and the vote ends on
    node 2, as if there had been no restart.
    KAP off: ties go by the tie-breaker before a restart and after, so node 1 gets
    the vote (once node 2's old ACK can't count) and keeps it when node 2 is back;
    nothing is held."""
    with Lab(nodes=2, algorithm="ffsplit", tie_breaker="lowest", kap=kap,
             device_timeout=4000, qnetd_flavour="ours",
             qdevice_flavour=qdevice_flavour) as lab:
        node2_alone_with_vote(lab)
        with SplitBrainWatch(lab) as watch:
            lab.cut_qnetd(nodes=[2])
            lab.stop_qnetd(signal.SIGKILL)
            lab.start_qnetd()
            node1_comes_back_first(lab)
            if kap == "on":
                wait_until(lambda: HOLD_REASON + " the restart" in
                           lab.qnetd_tool("-l", "--json").stdout, 30,
                           what="node 1 told NACK, holding the tie for node 2")
                lab.expect(1, quorate=False, qdevice_vote=False, stable=0)
            lab.cut_qnetd(cut=False, nodes=[2])
            wait_until(lambda: 2 in lab.qnetd_list()["nodes"], 60, what="node 2 back")
            if kap == "on":
                expect_vote_on(lab, winner=2, loser=1)
            else:
                expect_vote_on(lab, winner=1, loser=2)
        assert watch.rounds > 10, watch.rounds
        log = lab.qnetd_log()
        assert "Decision memory of 1 cluster(s) loaded" in log, log[-2000:]
        assert (HOLD_REASON in log) == (kap == "on"), log[-3000:]


@scenario(params={f"qdevice={qd}": dict(qdevice_flavour=qd) for qd in FLAVOURS})
def arbiter_blip_keeps_vote(qdevice_flavour, **fl):
    """Every client of the cluster loses the arbiter for a few seconds (nftables
    drops at the arbiter), so the arbiter drops them all and, in 3.0.3, forgets
    which partition had the vote.  Node 2 alone held it; node 1 comes back split
    and reaches the arbiter first: the kept memory holds the tie for node 2, and
    the vote ends on node 2 (KAP on)."""
    with Lab(nodes=2, algorithm="ffsplit", tie_breaker="lowest", kap="on",
             device_timeout=4000, qnetd_flavour="ours",
             qdevice_flavour=qdevice_flavour) as lab:
        node2_alone_with_vote(lab)
        with SplitBrainWatch(lab) as watch:
            lab.cut_qnetd()
            # The arbiter's dead-peer detection drops node 2: the cluster has no client.
            wait_until(lambda: not lab.qnetd_list()["nodes"], 30, what="node 2 dropped")
            lab.start_corosync(1)
            lab.expect(1, members=[1], stable=0)
            lab.start_qdevice(1)
            lab.cut_qnetd(cut=False, nodes=[1])
            wait_until(lambda: HOLD_REASON + " its clients disconnected" in
                       lab.qnetd_tool("-l", "--json").stdout, 30,
                       what="node 1 told NACK, holding the tie for node 2")
            lab.expect(1, quorate=False, qdevice_vote=False, stable=0)
            lab.cut_qnetd(cut=False)
            wait_until(lambda: 2 in lab.qnetd_list()["nodes"], 60, what="node 2 back")
            expect_vote_on(lab, winner=2, loser=1)
        assert watch.rounds > 10, watch.rounds


# ---------------------------------------------------------------------------
# 3b. a real Prometheus scrapes both daemons' -S http_listen through a split

HTTP_QNETD, HTTP_QDEVICE, PROM = 9403, 9404, "127.0.0.1:9090"
PROM_QUERY = ("import sys, urllib.parse, urllib.request; print(urllib.request.urlopen("
              "'http://%s/api/v1/query?query=' + urllib.parse.quote(sys.argv[1]),"
              " timeout=5).read().decode())" % PROM)


def start_prometheus(lab):
    """Prometheus in the arbiter's namespace, scraping qnetd and every qdevice each second."""
    from lab import QNETD_ADDR
    prom_dir = os.path.join(lab.dir, "prometheus")
    os.makedirs(prom_dir)
    nodes = ", ".join(f"'{n.addr}:{HTTP_QDEVICE}'" for n in lab.nodes)
    with open(os.path.join(prom_dir, "prometheus.yml"), "w") as f:
        f.write("global: {scrape_interval: 1s, scrape_timeout: 900ms}\n"
                "scrape_configs:\n"
                f"  - {{job_name: qnetd, static_configs: [{{targets: ['{QNETD_ADDR}:{HTTP_QNETD}']}}]}}\n"
                f"  - {{job_name: qdevice, static_configs: [{{targets: [{nodes}]}}]}}\n")
    lab.qnetd.spawn("prometheus", [
        "prometheus", "--config.file=" + os.path.join(prom_dir, "prometheus.yml"),
        "--storage.tsdb.path=" + os.path.join(prom_dir, "data"),
        "--web.listen-address=" + PROM, "--log.level=warn"])


def prom_query(lab, expr):
    """{frozenset(labels): value} of an instant query; {} while Prometheus is not up."""
    res = lab.qnetd.run(["python3", "-c", PROM_QUERY, expr], check=False, timeout=15)
    if res.returncode != 0:
        return {}
    data = json.loads(res.stdout)["data"]["result"]
    return {frozenset(r["metric"].items()): float(r["value"][1]) for r in data}


def prom_value(lab, expr):
    """The single value of a query that sums to one series, None when there is none."""
    v = prom_query(lab, expr)
    return next(iter(v.values())) if len(v) == 1 else None


@scenario
def prometheus_scrapes_split(**fl):
    if not shutil.which("prometheus"):
        raise Skip("no prometheus (Debian package prometheus)")
    with Lab(nodes=2, algorithm="ffsplit", tie_breaker="lowest",
             qnetd_args=["-S", f"http_listen=0.0.0.0:{HTTP_QNETD}"],
             qdevice_args=["-S", f"http_listen=0.0.0.0:{HTTP_QDEVICE}"],
             qnetd_flavour="ours", qdevice_flavour="ours") as lab:
        start_prometheus(lab)
        # Every target up, and qnetd's clients as the tool counts them.
        wait_until(lambda: prom_value(lab, "sum(up)") == 3, 60, what="3 targets up")
        wait_until(lambda: prom_value(lab, "sum(qnetd_clients)") ==
                   int(lab.qnetd_status()["Connected clients"]), 30,
                   what="qnetd_clients == connected clients")
        wait_until(lambda: prom_value(lab, "sum(qdevice_vote{vote='ack'})") == 2, 30,
                   what="both qdevices cast ACK")
        # The tools print the same text, and promtool finds it clean.
        for text in (lab.qnetd_tool("--metrics").stdout,
                     lab.qdevice_tool(1, "--metrics").stdout):
            check = subprocess.run(["promtool", "check", "metrics"], input=text,
                                   capture_output=True, text=True, timeout=30)
            assert check.returncode == 0, check.stdout + check.stderr + text
        assert "qdevice_connected 1\n" in lab.qdevice_tool(1, "--metrics").stdout
        nack0 = prom_value(lab, "qnetd_votes_total{vote='nack'}")
        assert nack0 is not None, prom_query(lab, "qnetd_votes_total")

        with SplitBrainWatch(lab) as watch:
            lab.partition([1], [2])
            expect_split(lab, winners=[1], losers=[2], winner_votes=2)
            expect_votes(lab, {1: "ACK", 2: "NACK"})
            # The loser's NACK moved the counter; the cluster shows one of each.
            wait_until(lambda: (prom_value(lab, "qnetd_votes_total{vote='nack'}") or 0) > nack0,
                       30, what="qnetd_votes_total{vote='nack'} grew")
            wait_until(lambda: prom_value(
                lab, "qnetd_cluster_nodes{cluster='demo',state='nack'}") == 1, 30,
                what="one node with NACK in qnetd_cluster_nodes")
            n2 = f"{lab.node(2).addr}:{HTTP_QDEVICE}"
            wait_until(lambda: prom_value(
                lab, f"qdevice_vote{{vote='nack',instance='{n2}'}}") == 1, 30,
                what="node 2's qdevice casts NACK")
            assert prom_value(lab, "sum(qnetd_clients)") == \
                int(lab.qnetd_status()["Connected clients"])
            assert prom_value(lab, "sum(qdevice_connected)") == 2
            lab.heal()
            expect_whole(lab, total_votes=3)
        assert watch.rounds > 5, watch.rounds
        # readyz on the nodes: connected and casting a vote again.
        def ready(n):
            res = n.run(["python3", "-c", "import urllib.request; print(urllib.request.urlopen("
                         f"'http://127.0.0.1:{HTTP_QDEVICE}/readyz?verbose', timeout=5)"
                         ".read().decode())"], check=False)
            return res.returncode == 0 and "readyz check passed" in res.stdout
        wait_until(lambda: all(ready(n) for n in lab.nodes), 30, what="qdevices ready")


def current_host(lab, nodeid):
    """The arbiter a node's qdevice uses and why (corosync-qdevice-tool -s --json)."""
    status = json.loads(lab.qdevice_tool(nodeid, "-s", "--json").stdout)
    return status["net"]["current_host"]


def on_arbiter(lab, arbiter, index, reason):
    """Both qdevices connected to `arbiter` (its qnetd lists them), and say so: host
    `index` of their list, chosen for `reason`."""
    def check():
        if sorted(lab.qnetd_list(arbiter=arbiter)["nodes"]) != [1, 2]:
            return False
        return all(current_host(lab, i)["index"] == index and
                   current_host(lab, i)["reason"] == reason and
                   lab.qdevice_status(i)["net"]["State"] == "Connected" for i in (1, 2))
    wait_until(check, 60, what=f"both qdevices on arbiter {arbiter} ({reason})")


def never_on(lab, arbiter):
    """No qdevice of the lab's cluster is a client of `arbiter`."""
    assert lab.qnetd_list(arbiter=arbiter)["nodes"] == {}, lab.qnetd_list(arbiter=arbiter)


def agreement(lab, nodeid):
    """The host list's agreement a node's qdevice shows (--json)."""
    return current_host(lab, nodeid)["agreement"]


@scenario(params={"killed": dict(cut=False), "cut": dict(cut=True)})
def host_list_failover(cut, **fl):
    """quorum.device.net.host_2: arbiter A (host) is killed (the connection fails)
    or cut off (the heartbeat fails) for both nodes; they agree to move, and the
    whole cluster moves to B (host_2) and keeps quorum with its vote; a split is
    decided by B; A comes back and, once both held it reachable for
    host_return_hold, the cluster returns to it."""
    with Lab(nodes=2, arbiters=2, qnetd_flavour="ours", qdevice_flavour="ours",
             device_timeout=4000 if cut else None,
             net_options={"host_2": QNETD2_ADDR, "host_return_hold": 3000}) as lab:
        on_arbiter(lab, 0, 0, "first")
        assert agreement(lab, 1)["confirmed"] is True, agreement(lab, 1)
        with SplitBrainWatch(lab) as watch:
            if cut:
                lab.cut_qnetd()
            else:
                lab.stop_qnetd(signal.SIGKILL, arbiter=0)
            on_arbiter(lab, 1, 1, "all_lost_previous")
            assert [agreement(lab, i)["epoch"] for i in (1, 2)] == [1, 1]
            expect_whole(lab, total_votes=3)
            status = lab.qdevice_status(1)["net"]
            assert status["QNetd host"] == f"{QNETD2_ADDR}:5403", status

            lab.partition([1], [2])
            expect_split(lab, winners=[1], losers=[2], winner_votes=2)
            assert last_vote_on(lab, 1, 1) == "ACK" and last_vote_on(lab, 1, 2) == "NACK"
            lab.heal()
            expect_whole(lab, total_votes=3)

            if cut:
                lab.cut_qnetd(cut=False)
            else:
                lab.start_qnetd(arbiter=0)
            on_arbiter(lab, 0, 0, "returned_to_first")
            expect_whole(lab, total_votes=3)
        assert watch.rounds > 10, watch.rounds
        log = lab.node(1).read("/var/log/corosync/qdevice.out")
        assert "The cluster agreed on qnetd host " + QNETD2_ADDR in log, log[-2000:]
        assert "is reachable again" in log, log[-2000:]


@scenario
def host_list_asymmetric_cut_no_split_brain(**fl):
    """The split brain a host list could cause if nodes moved alone: node 1 is cut
    from A (host) only, node 2 still reaches A.  The nodes don't agree to move,
    node 1 stays with A (reconnecting); when the nodes then split 1:1, A alone
    decides and gives the vote to node 2, never both."""
    with Lab(nodes=2, arbiters=2, qnetd_flavour="ours", qdevice_flavour="ours",
             device_timeout=4000,
             net_options={"host_2": QNETD2_ADDR, "host_return_hold": 0}) as lab:
        on_arbiter(lab, 0, 0, "first")
        with SplitBrainWatch(lab) as watch:
            lab.cut_qnetd(nodes=[1])
            wait_until(lambda: lab.qdevice_status(1)["net"]["State"] != "Connected", 60,
                       what="node 1's qdevice losing A")
            lab.expect_all([1, 2], members=[1, 2], quorate=True, timeout=60)
            assert current_host(lab, 1)["index"] == 0, current_host(lab, 1)
            assert agreement(lab, 1)["epoch"] == 0, agreement(lab, 1)
            assert sorted(lab.qnetd_list(arbiter=0)["nodes"]) == [2]
            never_on(lab, 1)

            lab.partition([1], [2])
            expect_split(lab, winners=[2], losers=[1], winner_votes=2)
            assert last_vote_on(lab, 0, 2) == "ACK"
            assert current_host(lab, 1)["index"] == 0, current_host(lab, 1)
            never_on(lab, 1)
            lab.heal()
            lab.expect_all([1, 2], members=[1, 2], quorate=True, timeout=60)
            assert [current_host(lab, i)["index"] for i in (1, 2)] == [0, 0]
            never_on(lab, 1)
        assert watch.rounds > 5, watch.rounds
        log = lab.node(1).read("/var/log/corosync/qdevice.out")
        assert "The cluster agreed on" not in log, log[-2000:]


@scenario
def host_list_qdevice_restart_during_split(**fl):
    """The cluster moved to B (A killed); A comes back (host_return_hold 0: no
    return).  The nodes split and B gives node 1 the vote.  Node 2's qdevice
    restarts during the split: knowing nothing of the move, it must not connect to
    A (A would give node 2 the 50:50 tie: both nodes quorate); it waits until it
    meets node 1 again, adopts B from it and connects there."""
    with Lab(nodes=2, arbiters=2, qnetd_flavour="ours", qdevice_flavour="ours",
             net_options={"host_2": QNETD2_ADDR, "host_return_hold": 0}) as lab:
        on_arbiter(lab, 0, 0, "first")
        with SplitBrainWatch(lab) as watch:
            lab.stop_qnetd(signal.SIGKILL, arbiter=0)
            on_arbiter(lab, 1, 1, "all_lost_previous")
            expect_whole(lab, total_votes=3)
            lab.start_qnetd(arbiter=0)

            lab.partition([1], [2])
            expect_split(lab, winners=[1], losers=[2], winner_votes=2)
            lab.stop_qdevice(2)
            lab.start_qdevice(2)

            def waiting():
                tool = lab.qdevice_tool(2, "-s", "--json", check=False)
                if tool.returncode != 0:
                    return None
                a = json.loads(tool.stdout)["net"]["current_host"].get("agreement")
                return a if a and a["members"] == 1 else None
            a = wait_until(waiting, 30, what="node 2's qdevice in its own view")
            assert a["confirmed"] is False and a["epoch"] == 0, a
            never_quorate(lab, [2], 8)
            never_on(lab, 0)
            expect_split(lab, winners=[1], losers=[2], winner_votes=2)

            lab.heal()
            wait_until(lambda: sorted(lab.qnetd_list(arbiter=1)["nodes"]) == [1, 2], 60,
                       what="both qdevices on B")
            assert current_host(lab, 2)["index"] == 1, current_host(lab, 2)
            assert agreement(lab, 2)["epoch"] == 1, agreement(lab, 2)
            expect_whole(lab, total_votes=3)
            never_on(lab, 0)
        assert watch.rounds > 10, watch.rounds


@scenario
def host_list_needs_all_nodes(**fl):
    """A move needs every configured node: with node 2 stopped, A (host) killed
    leaves node 1 with A, without its vote and not moving alone, and the tool
    says why; node 2 comes back, both have lost A, the cluster moves to B."""
    with Lab(nodes=2, arbiters=2, qnetd_flavour="ours", qdevice_flavour="ours",
             net_options={"host_2": QNETD2_ADDR, "host_return_hold": 0}) as lab:
        on_arbiter(lab, 0, 0, "first")
        with SplitBrainWatch(lab) as watch:
            lab.stop_node(2)
            lab.expect(1, members=[1], quorate=True, qdevice_vote=True, timeout=60)
            lab.stop_qnetd(signal.SIGKILL, arbiter=0)
            lab.expect(1, members=[1], quorate=False, qdevice_vote=False, timeout=60)
            wait_until(lambda: agreement(lab, 1)["state"] == "waiting_for_all_nodes_view",
                       30, what="node 1 waiting for all nodes")
            host = current_host(lab, 1)
            assert host["index"] == 0, host
            assert "waiting for a view of all nodes to agree" in host["reason_text"], host
            never_on(lab, 1)

            lab.start_corosync(2)
            lab.wait_membership(timeout=60)
            lab.start_qdevice(2)
            on_arbiter(lab, 1, 1, "all_lost_previous")
            expect_whole(lab, total_votes=3)
        assert watch.rounds > 10, watch.rounds


def last_vote_on(lab, arbiter, nodeid):
    vote = lab.qnetd_list(arbiter=arbiter)["nodes"].get(nodeid, {}).get("Vote", "")
    m = re.search(r"\((ACK|NACK)\)$", vote) or re.fullmatch(r"(ACK|NACK)", vote)
    return m.group(1) if m else None


@scenario
def qnetd_two_listen_addresses(**fl):
    """qnetd -l A -l B -l C: the nodes know it as B only (host: B); cutting A
    changes nothing, and a split is decided through B.  C, unused, is removed
    from the host and added back: the log says so for C."""
    second, third = SUBNET + ".4", SUBNET + ".5"
    with Lab(nodes=2, qnetd_flavour="ours", qdevice_flavour="ours",
             qnetd_addrs=[second, third],
             qnetd_args=["-l", QNETD_ADDR, "-l", second, "-l", third],
             net_options={"host": second}) as lab:
        assert (f"QNetd listening on {QNETD_ADDR}:5403, {second}:5403 and {third}:5403"
                in lab.qnetd_log()), lab.qnetd_log()[-2000:]
        status = lab.qnetd_status()
        assert status["QNetd address"] == f"{QNETD_ADDR}:5403", status
        assert status["QNetd address 2"] == f"{second}:5403", status
        assert status["QNetd address 3"] == f"{third}:5403", status
        assert qnetd_nodes(lab) == [1, 2]
        ip = ["ip", "-n", lab.qnetd.netns, "addr"]
        sh(ip + ["del", third + "/24", "dev", "eth0"])
        wait_until(lambda: f"Listen address {third} was removed" in lab.qnetd_log(), 10,
                   what="the removal of the third address in the log")
        sh(ip + ["add", third + "/24", "dev", "eth0"])
        wait_until(lambda: f"Listen address {third} is back" in lab.qnetd_log(), 10,
                   what="the third address back in the log")
        assert f"Listen address {second} was removed" not in lab.qnetd_log()
        with SplitBrainWatch(lab) as watch:
            lab.cut_qnetd(addr=QNETD_ADDR)
            lab.partition([1], [2])
            expect_split(lab, winners=[1], losers=[2], winner_votes=2)
            lab.heal()
            expect_whole(lab, total_votes=3)
        assert watch.rounds > 5, watch.rounds


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


def qdevice_json(lab, nodeid):
    return json.loads(lab.qdevice_tool(nodeid, "-s", "--json").stdout)


@scenario(params={"2nodelms": dict(algorithm="2nodelms"), "lms": dict(algorithm="lms")})
def heuristics_change_moves_lms_vote(algorithm, **fl):
    """Upstream #14 (not 3.0.3): a 1/1 split is won by node 1 (tie-breaker lowest);
    then node 1's check starts failing.  A regular run, started at once with
    corosync-qdevice-tool --run-heuristics, reports Fail; qnetd decides again and
    the vote moves to node 2.  Each node's --json says why it has no vote.  Ours
    on both sides: 3.0.3's qnetd answers the change with "no change"."""
    execs = {i: {"check": "/bin/true"} for i in (1, 2)}
    with Lab(nodes=2, algorithm=algorithm, heuristics_mode="on", heuristics_exec=execs,
             qnetd_flavour="ours", qdevice_flavour="ours") as lab:
        expect_whole(lab, total_votes=3)
        with SplitBrainWatch(lab) as watch:
            lab.partition([1], [2])
            expect_split(lab, winners=[1], losers=[2], winner_votes=2)
            net = qdevice_json(lab, 2)["net"]
            assert (net["vote"], net["vote_reason_id"]) == ("nack", "qnetd"), net

            lab.node(1).run(["corosync-cmapctl", "-s", "quorum.device.heuristics.exec_check",
                             "str", "/bin/false"])
            out = lab.qdevice_tool(1, "--run-heuristics").stdout.strip()
            assert out in ("Heuristics run started", "Heuristics run already in progress"), out
            expect_split(lab, winners=[2], losers=[1], winner_votes=2)
            expect_votes(lab, {1: "NACK", 2: "ACK"})
        assert watch.rounds > 10, watch.rounds
        j = qdevice_json(lab, 1)
        assert (j["net"]["vote"], j["net"]["vote_reason_id"]) == \
            ("nack", "heuristics_failed"), j["net"]
        check = [e for e in j["heuristics_execs"] if e["name"] == "check"]
        assert check and (check[0]["result"], check[0]["exit_status"]) == ("fail", 1), j
        log = lab.node(1).read("/var/log/corosync/qdevice.out")
        assert "notice  Vote changed from ACK to NACK: NACK from qnetd" in log, log[-2000:]
        assert (qdevice_json(lab, 2)["net"]["vote"]) == "ack"


@scenario
def qnetd_events_of_a_split(**fl):
    """Events (not in 3.0.3): qnetd's event hook and corosync-qnetd-tool --follow
    see a 2-node ffsplit split in order: node 2 is told NACK, then only node 1
    holds the vote.  The hook lives outside the hosts' private directories, so
    it is there before qnetd starts."""
    tmp = tempfile.mkdtemp(prefix="qnet-hook-")
    try:
        hook, out = os.path.join(tmp, "hook.sh"), os.path.join(tmp, "events")
        with open(hook, "w") as f:
            f.write('#!/bin/sh\necho "$QNETD_SEQUENCE $QNETD_EVENT $QNETD_NODE_ID '
                    f'$QNETD_VOTE $QNETD_NODES" >> {out}\n')
        os.chmod(hook, 0o755)
        with Lab(nodes=2, qnetd_flavour="ours",
                 qnetd_args=["-S", f"event_hook={hook},event_hook_rate=1000"]) as lab:
            expect_whole(lab, total_votes=3)
            lab.qnetd.spawn("follow", [lab.bin["qnetd_tool"], "--follow"])
            wait_until(lambda: json.loads(lab.qnetd_tool("-s", "--json").stdout)
                       ["events"]["followers"] == 1, 10, what="--follow registered")
            with SplitBrainWatch(lab) as watch:
                lab.partition([1], [2])
                expect_split(lab, winners=[1], losers=[2], winner_votes=2)
            assert watch.rounds > 5, watch.rounds

            def hook_lines():
                with open(out) as f:
                    return [line.split() for line in f]
            split = [["vote_changed", "2", "nack"], ["quorate_partition_changed", "1"]]
            wait_until(lambda: all(w in [ln[1:] for ln in hook_lines()] for w in split),
                       20, what="hook saw the split")
            seen = [ln[1:] for ln in hook_lines()]
            seqs = [int(ln[0]) for ln in hook_lines()]
            assert seqs == sorted(seqs), seqs
            assert ["quorate_partition_changed", "1,2"] in seen, seen
            assert split[1] in seen[seen.index(split[0]):], seen
            assert seen.index(["quorate_partition_changed", "1,2"]) < seen.index(split[0]), seen

            lines = [json.loads(ln) for ln in
                     lab.qnetd.read("/var/log/corosync/follow.out").splitlines()]
            got = [(e["event"], e["node_id"], e["vote"], e["nodes"]) for e in lines]
            assert ("vote_changed", 2, "nack", "") in got, got
            nack = got.index(("vote_changed", 2, "nack", ""))
            assert ("quorate_partition_changed", None, "", "1") in got[nack:], got
            assert [e["sequence"] for e in lines] == sorted(e["sequence"] for e in lines)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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


def _qnetd_clients(lab):
    """{nodeid: client object of corosync-qnetd-tool -l --json} for this lab's cluster."""
    data = json.loads(lab.qnetd_tool("-l", "--json").stdout)
    return {c["node_id"]: c for cl in data["clusters"] if cl["name"] == lab.cluster
            for c in cl["clients"]}


@scenario(params={"qdevice=ours": dict(qdevice_flavour="ours"),
                  "qdevice=debian": dict(qdevice_flavour="debian")})
def tls_reconnect_resumes_session(**fl):
    """Each node's TLS connection to qnetd is reset (ss -K on the node); the qdevice reconnects
    to the same qnetd and resumes its TLS session from qnetd's ticket (issue 15): our qdevice
    must resume; Debian's 3.0.3 qdevice is reported as it behaves.  No split brain meanwhile."""
    with Lab(nodes=2, tls="on", qnetd_flavour="ours", **fl) as lab:
        expect_whole(lab, total_votes=3)
        before = _qnetd_clients(lab)
        assert sorted(before) == [1, 2], before
        assert not any(c["tls"]["session_resumed"] for c in before.values()), before
        with SplitBrainWatch(lab):
            for n in lab.nodes:
                n.run(["ss", "-K", "dst", lab.qnetd.addr, "dport", "=", "5403"], check=False)

            def reconnected():
                now = _qnetd_clients(lab)
                return sorted(now) == [1, 2] and all(
                    now[i]["address"] != before[i]["address"] and now[i]["tls"]["active"]
                    and now[i]["tls"]["client_certificate_verified"] for i in now)
            wait_until(reconnected, 60, what="both qdevices reconnected over TLS")
            expect_whole(lab, total_votes=3)
        after = _qnetd_clients(lab)
        resumed = sorted(i for i, c in after.items() if c["tls"]["session_resumed"])
        print(f"    {fl['qdevice_flavour']} qdevice: {len(resumed)} of {len(after)} TLS "
              f"sessions resumed on reconnect", flush=True)
        if fl["qdevice_flavour"] == "ours":
            assert resumed == [1, 2], after


# ---------------------------------------------------------------------------
# 8. the arbiter as a Pacemaker resource (pcmk.py)

@scenario
def pacemaker_arbiter_failover(**fl):
    """Issue 12's example across a Pacemaker failover.  corosync-qnetd runs under
    ocf:heartbeat:corosync-qnetd with an IPaddr2 floating address on a two-host
    arbiter cluster (corosync + Pacemaker).  Client cluster: 2 nodes, ffsplit, KAP
    on, tie-breaker lowest.  Node 1 is down and node 2 runs alone with the vote; the
    arbiter host running the resource loses power while node 2 is cut off from the
    arbiter; Pacemaker starts the address and qnetd on the other host; node 1 comes
    back split from node 2 and reaches the new arbiter first; then node 2 does.
    KAP was meant to keep the vote on node 2, and it stays there: the resource group
    carries the state directory (one directory both arbiter hosts see, as shared
    storage would be).  Quorum is sampled on every client node throughout."""
    with PcmkLab(nodes=2, algorithm="ffsplit", tie_breaker="lowest", kap="on",
                 **fl) as lab:
        first = lab.qnetd
        # The agent's stop and start on one host, through Pacemaker.  (Pacemaker
        # leaves more time between the two than ocf-tester, whose "already
        # running" failures tests/ocf/run.sh covers.)
        lab.restart_resource()
        assert lab.wait_active() is first
        expect_whole(lab, total_votes=3)
        holds(lambda: lab.failed_actions() == [], 3 * lab.monitor_interval,
              what="no failed resource action after the restart")
        lab.stop_node(1)
        lab.expect_all([2], members=[2], quorate=True, qdevice_vote=True)
        expect_votes(lab, {2: "ACK"})
        lab.partition([1], [2])
        with SplitBrainWatch(lab) as watch:
            lab.cut_qnetd(nodes=[2])
            lab.power_off(first)
            lab.start_corosync(1)
            lab.expect_all([1], members=[1], stable=0)
            lab.start_qdevice(1)
            second = lab.wait_active(other_than=first)
            assert second is not first and second.daemon("pacemakerd"), second.name
            wait_until(lambda: qnetd_nodes(lab) == [1], 40,
                       what="node 1 on the new arbiter, node 2 not yet")
            lab.cut_qnetd(False, nodes=[2])
            wait_until(lambda: qnetd_nodes(lab) == [1, 2], 40,
                       what="both nodes on the new arbiter")
            # The resource carries the state directory (state_dir_shared): the
            # new arbiter loads that node 2 had the vote and holds the tie for
            # it (DECISIONS THAT SURVIVE); without it the tie-breaker (lowest)
            # would give it to node 1.
            try:
                lab.expect_states({2: dict(members=[2], quorate=True, qdevice_vote=True),
                                   1: dict(members=[1], quorate=False, qdevice_vote=False)},
                                  timeout=60)
            except AssertionError as e:
                raise AssertionError(f"vote not kept on node 2 ({e}); quorate at once "
                                     f"meanwhile: {watch.violations or 'never'}") from None
            expect_votes(lab, {2: "ACK", 1: "NACK"})
        assert watch.rounds > 20, watch.rounds
        assert lab.located() == [second.name], lab.located()


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
