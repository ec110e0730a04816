"""Harness self-tests: teardown leaves nothing behind."""

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
