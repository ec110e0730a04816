"""Scenarios: 2-node ffsplit splits and heals, the other tie-breakers."""

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
