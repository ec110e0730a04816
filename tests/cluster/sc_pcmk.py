"""Scenario: the arbiter as a Pacemaker resource (pcmk.py)."""

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
