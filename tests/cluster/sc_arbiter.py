"""Scenarios: the arbiter killed, unreachable, restarted or blipped; the vote it remembers."""

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
