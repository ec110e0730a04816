"""Scenarios: four nodes, 2nodelms and KAP, heuristics, events."""

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
from registry import (HERE, SELFTEST, TESTS, expect_split, expect_votes, expect_whole, last_vote,
                      never_quorate, qnetd_nodes, scenario)  # noqa: F401

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


@scenario(params={a: dict(algorithm=a) for a in ("ffsplit", "lms", "2nodelms")})
def heuristics_run_moves_vote_node_explains(algorithm, **fl):
    """A 1/1 split is won by node 1 (tie-breaker lowest); then node 1's check
    starts failing.  A regular run, started at once with corosync-qdevice-tool
    --run-heuristics (not in 3.0.3), reports Fail; qnetd decides again and the
    vote moves to node 2 (lms and 2nodelms: not in 3.0.3, whose qnetd answers
    "no change"; node 1's NACK is acknowledged before node 2's ACK goes out).
    Each node's --json says why it has no vote, and shows the check's last
    result."""
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


@scenario(params={a: dict(algorithm=a) for a in ("lms", "2nodelms")})
def heuristics_interval_moves_vote_debian_qdevice(algorithm, **fl):
    """Interop (not 3.0.3's qnetd): Debian's 3.0.3 qdevice with our qnetd.  A 1/1
    split goes to node 1 (tie-breaker lowest); node 1's check is changed to fail
    in cmap, its qdevice's next regular run (every 2 s) reports Fail, and our
    qnetd moves the vote to node 2 by VOTE_INFO, node 1's NACK acknowledged
    before node 2's ACK goes out.  Quorum sampled on both nodes throughout."""
    execs = {i: {"check": "/bin/true"} for i in (1, 2)}
    with Lab(nodes=2, algorithm=algorithm, heuristics_mode="on", heuristics_exec=execs,
             heuristics_interval=2000, qnetd_flavour="ours", qdevice_flavour="debian") as lab:
        expect_whole(lab, total_votes=3)
        with SplitBrainWatch(lab) as watch:
            lab.partition([1], [2])
            expect_split(lab, winners=[1], losers=[2], winner_votes=2)
            lab.node(1).run(["corosync-cmapctl", "-s", "quorum.device.heuristics.exec_check",
                             "str", "/bin/false"])
            wait_until(lambda: lab.qnetd_list()["nodes"][1]["Heuristics"].startswith("Fail"),
                       30, what="node 1's heuristics Fail at qnetd")
            expect_split(lab, winners=[2], losers=[1], winner_votes=2)
            expect_votes(lab, {1: "NACK", 2: "ACK"})
        assert watch.rounds > 10, watch.rounds
        log = lab.qnetd_log()
        assert "is applying its NACK" in log or "acknowledged its NACK" in log, log[-3000:]


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
