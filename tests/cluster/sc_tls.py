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
import threading

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


def _wrong_cluster_refused(lab):
    """qnetd refuses the nodes' certificates for their CN: no client, no vote ever."""
    wait_until(lambda: "certificate with valid CN" in lab.qnetd_log(), 30,
               what="qnetd log: certificate without valid CN")
    holds(lambda: qnetd_nodes(lab) == [] and not any(
        lab.quorum(i).qdevice_votes or "V" in lab.quorum(i).qdevice for i in (1, 2)),
        duration=5, what="no client admitted, no Qdevice vote")
    lab.expect_all([1, 2], members=[1, 2], quorate=True, total_votes=2)


@scenario(matrix=True)
def tls_wrong_cluster_certificate(**fl):
    """Node certificates issued for cluster 'other': qnetd refuses the CN, no vote ever."""
    with Lab(nodes=2, tls="on", cert_cluster="other", wait_vote=False, **fl) as lab:
        _wrong_cluster_refused(lab)


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


def _reset_tls_and_wait(lab, before):
    """Reset each node's TCP connection to qnetd (ss -K on the node) and wait until both
    qdevices are back over TLS, from new addresses, with verified certificates."""
    for n in lab.nodes:
        n.run(["ss", "-K", "dst", lab.qnetd.addr, "dport", "=", "5403"], check=False)

    def reconnected():
        now = _qnetd_clients(lab)
        return sorted(now) == [1, 2] and all(
            now[i]["address"] != before[i]["address"] and now[i]["tls"]["active"]
            and now[i]["tls"]["client_certificate_verified"] for i in now)
    wait_until(reconnected, 60, what="both qdevices reconnected over TLS")


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
            _reset_tls_and_wait(lab, before)
            expect_whole(lab, total_votes=3)
        after = _qnetd_clients(lab)
        resumed = sorted(i for i, c in after.items() if c["tls"]["session_resumed"])
        print(f"    {fl['qdevice_flavour']} qdevice: {len(resumed)} of {len(after)} TLS "
              f"sessions resumed on reconnect", flush=True)
        if fl["qdevice_flavour"] == "ours":
            assert resumed == [1, 2], after


OPENSSL = ["-S", "tls_backend=openssl"]


@scenario(params={"qdevice=ours": dict(qdevice_flavour="ours"),
                  "qdevice=debian": dict(qdevice_flavour="debian")})
def tls_openssl_backend_split_and_reconnect(**fl):
    """Issue 15: our qnetd serves TLS through OpenSSL (-S tls_backend=openssl) with the
    database corosync-qnetd-certutil made.  Both qdevices (ours, or Debian's 3.0.3 NSS
    client) connect with verified client certificates; a split is decided; every TLS
    connection is reset and the qdevices come back with full handshakes.  Quorum is
    sampled on every node throughout."""
    with Lab(nodes=2, tls="on", qnetd_flavour="ours", qnetd_args=OPENSSL, **fl) as lab:
        expect_whole(lab, total_votes=3)
        assert "TLS connections are served by OpenSSL" in lab.qnetd_log(), \
            lab.qnetd_log()[-2000:]
        before = _qnetd_clients(lab)
        assert sorted(before) == [1, 2], before
        assert all(c["tls"]["active"] and c["tls"]["client_certificate_verified"]
                   for c in before.values()), before
        with SplitBrainWatch(lab) as watch:
            lab.partition([1], [2])
            expect_split(lab, winners=[1], losers=[2], winner_votes=2)
            lab.heal()
            expect_whole(lab, total_votes=3)
            _reset_tls_and_wait(lab, _qnetd_clients(lab))
            expect_whole(lab, total_votes=3)
        assert watch.rounds > 5, watch.rounds
        after = _qnetd_clients(lab)
        # No tickets from the OpenSSL back end (tls_ossl.c): full handshakes.
        assert not any(c["tls"]["session_resumed"] for c in after.values()), after


@scenario(params={"qdevice=ours": dict(qdevice_flavour="ours"),
                  "qdevice=debian": dict(qdevice_flavour="debian")})
def tls_openssl_backend_wrong_cluster_certificate(**fl):
    """The OpenSSL back end binds a connection to its certificate's cluster as NSS does:
    node certificates issued for cluster 'other' are refused at INIT, no vote ever."""
    with Lab(nodes=2, tls="on", cert_cluster="other", wait_vote=False, qnetd_flavour="ours",
             qnetd_args=OPENSSL, **fl) as lab:
        _wrong_cluster_refused(lab)


NODE_NSSDB = "/etc/corosync/qdevice/net/nssdb"


def _renew_node_cert(lab, nodeid):
    """A new key and certificate for the node under "Cluster Cert", as an admin renews one
    (lab.enrol()'s steps): a request on the node (-r), signed on the arbiter (-s), imported
    on the node (-M).  The old certificate stays in the database; the newest is sent."""
    node, q = lab.node(nodeid), lab.qnetd
    node_cu, qnetd_cu = lab.bin["qdevice_certutil"], lab.bin["qnetd_certutil"]
    crt = f"cluster-{lab.cert_cluster}.crt"
    node.run([node_cu, "-r", "-n", lab.cert_cluster])
    shutil.copyfile(node.path(f"{NODE_NSSDB}/qdevice-net-node.crq"),
                    q.path("/etc/corosync/qdevice-net-node.crq"))
    q.run([qnetd_cu, "-s", "-c", "/etc/corosync/qdevice-net-node.crq", "-n", lab.cert_cluster])
    shutil.copyfile(q.path(f"/etc/corosync/qnetd/nssdb/{crt}"), node.path(f"/etc/corosync/{crt}"))
    node.run([node_cu, "-M", "-c", f"/etc/corosync/{crt}"])
    listed = node.run(["certutil", "-L", "-d", f"sql:{NODE_NSSDB}"]).stdout
    return listed.count("Cluster Cert")


class _QuorateWatch:
    """corosync-quorumtool -s on one node, over and over, in a thread: every sample on
    which the node was not quorate is kept."""

    def __init__(self, lab, nodeid):
        self.lab, self.nodeid, self.rounds, self.lost = lab, nodeid, 0, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                q = self.lab.quorum(self.nodeid)
            except Exception as e:      # the tool failed: not known quorate
                self.lost.append(repr(e))
                continue
            if not q.quorate:
                self.lost.append(dict(q))
            self.rounds += 1

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(30)


def _cert_reconnect(lab, nodeid):
    """certificate_reconnect of corosync-qdevice-tool -s --json."""
    return json.loads(lab.qdevice_tool(nodeid, "-s", "--json").stdout)["net"][
        "certificate_reconnect"]


@scenario
def tls_client_cert_renewed_sighup(**fl):
    """Issue 14: node 1's client certificate is renewed and its qdevice gets SIGHUP.
    (a) Both nodes up, so the cluster is quorate without the Qdevice vote: node 1
    reconnects at once with a full handshake (a new connection on qnetd, no resumed
    session), a second SIGHUP finds the certificate unchanged.  (b) Node 2 stopped,
    node 1 quorate only with the Qdevice vote: the reconnect is deferred (the tool says
    so) and the old connection stays; node 2 comes back and node 1 reconnects.  Node 1
    is quorate in every sample throughout; no split brain."""
    fl.setdefault("qnetd_flavour", "ours")
    fl.setdefault("qdevice_flavour", "ours")
    with Lab(nodes=2, tls="on", **fl) as lab:
        expect_whole(lab, total_votes=3)
        node1, qdevice1 = lab.node(1), lab.node(1).daemons["qdevice"]

        def log():
            return node1.read("/var/log/corosync/qdevice.out")

        def reconnected(before):
            now = _qnetd_clients(lab).get(1)
            return (now is not None and now["address"] != before["address"]
                    and now["tls"]["client_certificate_verified"])

        with SplitBrainWatch(lab) as watch, _QuorateWatch(lab, 1) as quorate:
            # (a) quorate without the Qdevice vote: reconnect at once
            assert _cert_reconnect(lab, 1) == "none"
            before = _qnetd_clients(lab)[1]
            assert _renew_node_cert(lab, 1) == 2
            qdevice1.send(signal.SIGHUP)
            wait_until(lambda: reconnected(before), 60, what="node 1 reconnected to qnetd")
            after = _qnetd_clients(lab)[1]
            assert not after["tls"]["session_resumed"], after
            assert log().count("Reconnecting to qnetd with the renewed client certificate") == 1
            assert "reconnect deferred" not in log()
            expect_whole(lab, total_votes=3)
            assert _cert_reconnect(lab, 1) == "none"
            qdevice1.send(signal.SIGHUP)
            wait_until(lambda: "Client certificate unchanged: the connection stays" in log(),
                       30, what="second SIGHUP: certificate unchanged")
            assert _qnetd_clients(lab)[1]["address"] == after["address"]

            # (b) node 2 down: node 1's quorum hangs on the Qdevice vote
            lab.stop_node(2)
            lab.expect(1, members=[1], quorate=True, qdevice_vote=True, total_votes=2,
                       timeout=60)
            before = _qnetd_clients(lab)[1]
            assert _renew_node_cert(lab, 1) == 3
            qdevice1.send(signal.SIGHUP)
            wait_until(lambda: "reconnect deferred while this node's quorum depends on the "
                       "Qdevice vote" in log(), 30, what="reconnect deferred")
            holds(lambda: _cert_reconnect(lab, 1) == "deferred"
                  and _qnetd_clients(lab)[1]["address"] == before["address"],
                  duration=5, what="deferred, the old connection stays")
            lab.expect(1, members=[1], quorate=True, qdevice_vote=True, total_votes=2)

            lab.start_corosync(2)
            lab.wait_membership(timeout=60)
            wait_until(lambda: reconnected(before), 60,
                       what="node 1 reconnected once quorate without the vote")
            assert log().count("Reconnecting to qnetd with the renewed client certificate") == 2
            assert _cert_reconnect(lab, 1) == "none"
            lab.start_qdevice(2)
            expect_whole(lab, total_votes=3)
        assert watch.rounds > 5, watch.rounds
        assert quorate.rounds > 5 and not quorate.lost, (quorate.rounds, quorate.lost[:3])
