"""Scenarios: several arbiters (the qdevice host list) and several -l."""

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
