"""The scenario registry (@scenario, TESTS) and the checks an admin makes that every
scenario module shares.  The scenarios themselves are in sc_*.py; scenarios.py lists
them in their run order."""

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
