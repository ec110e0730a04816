"""Scenarios: TLS modes, certificates, enrolment, session resumption."""

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
