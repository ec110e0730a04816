#!/usr/bin/env python3
"""Real-cluster lab: corosync nodes and one qnetd host, each in private namespaces.

Every host gets a network namespace (veth into a bridge that lives in a namespace
of its own) and a persistent mount namespace in which private directories are
bind-mounted over /etc/corosync, /var/lib/corosync, /var/log/corosync and /run,
so daemons, tools and certutil scripts all run with their default paths.
Nothing is created in the root network namespace and no route leads out.

Usage:
    with Lab(nodes=2, algorithm="ffsplit") as lab:
        lab.partition([1], [2])
        lab.expect(1, members=[1], quorate=True)

Binaries are chosen per side by flavour ("debian" or "ours"), see BINARIES.
"""

import itertools
import os
import shutil
import signal
import subprocess
import tempfile
import time

# Parts of the harness in their own modules; their names are re-exported here, so
# scenarios and scripts keep importing everything from lab.
from parsers import (Quorum, parse_colon_block, parse_qdevice_status,  # noqa: F401
                     parse_qnetd_list, parse_quorum)
from procs import holds, mounts_under, pids_in_netns, sh, start_time, wait_until  # noqa: F401
from teardown import (NAME_BASE, _ACTIVE, _signals_deferred, _try,  # noqa: F401
                      cleanup_leftovers, install_signal_handlers, leftovers, leftovers_of_pid)
from watch import SplitBrainWatch  # noqa: F401

# role: (Debian's path, path under $BUILD_DIR for "ours")
BINARIES = {
    "qnetd": ("/usr/bin/corosync-qnetd", "qnetd/corosync-qnetd"),
    "qnetd_tool": ("/usr/bin/corosync-qnetd-tool", "qnetd/corosync-qnetd-tool"),
    "qnetd_certutil": ("/usr/bin/corosync-qnetd-certutil", "qnetd/corosync-qnetd-certutil"),
    "qdevice": ("/usr/sbin/corosync-qdevice", "qdevice/corosync-qdevice"),
    "qdevice_tool": ("/usr/sbin/corosync-qdevice-tool", "qdevice/corosync-qdevice-tool"),
    "qdevice_certutil": ("/usr/sbin/corosync-qdevice-net-certutil",
                         "qdevice/corosync-qdevice-net-certutil"),
}
QNETD_ROLES = ("qnetd", "qnetd_tool", "qnetd_certutil")
QDEVICE_ROLES = ("qdevice", "qdevice_tool", "qdevice_certutil")
FLAVOURS = ("debian", "ours")

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SUBNET = "10.77.0"
QNETD_ADDR = SUBNET + ".2"
QNETD2_ADDR = SUBNET + ".3"             # the second arbiter (arbiters=2)
HOST_MOUNTS = {"etc": "/etc/corosync", "lib": "/var/lib/corosync",
               "log": "/var/log/corosync", "run": "/run"}
CLUSTER = "demo"


class Skip(Exception):
    """The scenario cannot run here (e.g. a binary of the flavour is missing)."""


# ---------------------------------------------------------------------------
# flavours

def flavour_paths(flavour, roles, env=os.environ):
    """Paths of `roles` for a flavour; $<ROLE>_BIN overrides the "ours" build."""
    if flavour not in FLAVOURS:
        raise ValueError(f"unknown flavour {flavour!r}, expected one of {FLAVOURS}")
    if flavour == "debian":
        return {r: BINARIES[r][0] for r in roles}
    build = env.get("BUILD_DIR", os.path.join(REPO, "build"))
    return {r: env.get(r.upper() + "_BIN") or os.path.join(build, BINARIES[r][1])
            for r in roles}


def default_flavour(side, env=os.environ):
    """Flavour of one side (qnetd/qdevice) from $QNETD_FLAVOUR / $QDEVICE_FLAVOUR / $FLAVOUR."""
    return env.get(side.upper() + "_FLAVOUR") or env.get("FLAVOUR") or "debian"


def binaries(qnetd=None, qdevice=None, env=os.environ):
    paths = flavour_paths(qnetd or default_flavour("qnetd", env), QNETD_ROLES, env)
    paths.update(flavour_paths(qdevice or default_flavour("qdevice", env), QDEVICE_ROLES, env))
    return paths


def missing_binaries(paths):
    return sorted(p for p in paths.values() if not os.access(p, os.X_OK))


# ---------------------------------------------------------------------------
# processes

class Daemon:
    """A foreground daemon started under setsid; only its own recorded pid is signalled."""

    def __init__(self, host, name, argv):
        self.host, self.name, self.argv = host, name, argv
        self.log = os.path.join(host.root, "log", name + ".out")
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(host.enter(argv), stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.STDOUT,
                                         cwd="/", start_new_session=True)
        self.pid = self.proc.pid
        self.started = start_time(self.pid)

    def alive(self):
        return self.proc.poll() is None

    def send(self, sig):
        # The pid cannot be reused while unreaped, but check the start time anyway.
        if self.alive() and start_time(self.pid) == self.started:
            os.kill(self.pid, sig)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Signal, wait, then SIGKILL; returns the exit status."""
        self.send(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.send(signal.SIGKILL)
            return self.proc.wait(10)


class Host:
    """One simulated machine: a network namespace plus a persistent mount namespace."""

    def __init__(self, lab, name, addr, nodeid=None, mounts=HOST_MOUNTS):
        self.lab, self.name, self.addr, self.nodeid = lab, name, addr, nodeid
        self.mounts = mounts                       # {subdir of root: path it is mounted on}
        self.netns = f"{lab.prefix}-{name}"
        self.port = "p-" + name                    # its veth end inside the bridge namespace
        self.root = os.path.join(lab.dir, "hosts", name)
        self.mntns = os.path.join(lab.dir, "ns", name)
        self.daemons = {}

    def enter(self, argv):
        return ["nsenter", f"--net=/run/netns/{self.netns}", f"--mount={self.mntns}", "--"] + argv

    def run(self, argv, check=True, timeout=60):
        return sh(self.enter(argv), check=check, timeout=timeout)

    def path(self, inside):
        """Path in the root namespace of a file the host sees at `inside`."""
        for sub, target in sorted(self.mounts.items(), key=lambda kv: -len(kv[1])):
            if inside == target or inside.startswith(target + "/"):
                return os.path.join(self.root, sub, os.path.relpath(inside, target))
        raise ValueError(f"{inside} is not in a private directory of {self.name}")

    def write(self, inside, text):
        with open(self.path(inside), "w") as f:
            f.write(text)

    def read(self, inside):
        with open(self.path(inside), errors="replace") as f:
            return f.read()

    def create(self):
        """Network namespace + veth into the bridge; mount namespace with private dirs."""
        br = self.lab.bridge_ns
        sh(["ip", "netns", "add", self.netns])
        # Both veth ends are created inside namespaces: nothing touches the root namespace.
        sh(["ip", "-n", br, "link", "add", self.port, "type", "veth",
            "peer", "name", "eth0", "netns", self.netns])
        sh(["ip", "-n", br, "link", "set", self.port, "master", "br0", "up"])
        sh(["ip", "-n", self.netns, "addr", "add", self.addr + "/24", "dev", "eth0"])
        sh(["ip", "-n", self.netns, "link", "set", "eth0", "up"])
        sh(["ip", "-n", self.netns, "link", "set", "lo", "up"])
        for sub in self.mounts:
            os.makedirs(os.path.join(self.root, sub), exist_ok=True)
        open(self.mntns, "w").close()
        sh(["unshare", f"--mount={self.mntns}", "--propagation", "private", "true"])
        # The copied /run/netns binds would pin other namespaces: drop them first.
        sh(["nsenter", f"--mount={self.mntns}", "umount", "-R", "-l", "/run/netns"], check=False)
        for sub, target in self.mounts.items():
            sh(["nsenter", f"--mount={self.mntns}", "mount", "--bind",
                os.path.join(self.root, sub), target])
        # libqb's rings and blackbox live in /dev/shm; a private tmpfs vanishes with
        # the namespace, so even a SIGKILLed corosync leaves nothing in the shared one.
        sh(["nsenter", f"--mount={self.mntns}", "mount", "-t", "tmpfs", "-o", "mode=1777",
            "lab-shm", "/dev/shm"])

    def spawn(self, name, argv):
        d = Daemon(self, name, argv)
        self.daemons[name] = d
        return d

    def daemon(self, name):
        d = self.daemons.get(name)
        return d if d and d.alive() else None


# ---------------------------------------------------------------------------
# the lab

_COUNTER = itertools.count(1)
FAILURE_REPORTS = []    # log tails of labs whose block raised; drained by the runner


class Lab:
    """N corosync nodes + one qnetd host. See module doc; parameters:

    nodes            number of corosync nodes (node ids 1..N, addresses .11, .12, ...)
    algorithm        ffsplit | lms | 2nodelms
    tie_breaker      lowest | highest | <node id>
    tls              on | off | required (qdevice side; qnetd gets -s on/off/req)
    qnetd_tls        override of the qnetd -s value (default derived from tls)
    kap              keep_active_partition_tie_breaker on | off | None (not set)
    heuristics_mode  off | on | sync;  heuristics_exec {nodeid: {name: command}}
    heuristics_interval  quorum.device.heuristics.interval in ms (None: the default)
    token            totem.token in ms
    device_votes     quorum.device.votes (default: 1 for ffsplit, else unset)
    device_timeout   quorum.device.timeout in ms (None: corosync's default)
    qnetd_args       extra corosync-qnetd arguments
    qdevice_args     extra corosync-qdevice arguments (every node)
    qnetd_addrs      more addresses of the qnetd host (for repeated -l)
    arbiters         1, or 2: a second qnetd host "qnetd2" (QNETD2_ADDR, same NSS
                     database), started too; lab.arbiter(1) is it
    net_options      more (or overriding) quorum.device.net keys, e.g. {"host_2": ...}
    cert_cluster     cluster name written into the node certificate (default: cluster)
    wait_vote        start() waits until every node is quorate with the qdevice vote
    token_enrol      nodes get their certificates with a token over the qnetd port
                     (corosync-qdevice-net-certutil -e; our flavours only), not by copying files
    qnetd_flavour / qdevice_flavour   "debian" | "ours" (default from the environment)
    """

    def __init__(self, nodes=2, algorithm="ffsplit", tie_breaker="lowest", tls="on",
                 qnetd_tls=None, kap=None, heuristics_mode=None, heuristics_exec=None,
                 token=1000, device_votes=None, device_timeout=None, qnetd_args=(),
                 qdevice_args=(),
                 cluster=CLUSTER, cert_cluster=None, qnetd_flavour=None, qdevice_flavour=None,
                 wait_vote=True, qnetd_addrs=(), arbiters=1, net_options=None,
                 token_enrol=False, heuristics_interval=None):
        self.n = nodes
        self.token_enrol = token_enrol
        self.algorithm, self.tie_breaker, self.tls = algorithm, str(tie_breaker), tls
        self.qnetd_tls = qnetd_tls or {"on": "on", "off": "off", "required": "req"}[tls]
        self.kap, self.token, self.device_timeout = kap, token, device_timeout
        self.heuristics_mode = heuristics_mode
        self.heuristics_exec = heuristics_exec or {}
        self.heuristics_interval = heuristics_interval
        self.device_votes = device_votes if device_votes is not None else \
            (1 if algorithm == "ffsplit" else None)
        self.qnetd_args = list(qnetd_args)
        self.qdevice_args = list(qdevice_args)
        self.qnetd_addrs, self.n_arbiters = list(qnetd_addrs), arbiters
        self.net_options = dict(net_options or {})
        self.cluster, self.cert_cluster = cluster, cert_cluster or cluster
        self.bin = binaries(qnetd_flavour, qdevice_flavour)
        self.wait_vote = wait_vote
        self.prefix = f"{NAME_BASE}{os.getpid()}x{next(_COUNTER)}"
        self.bridge_ns = f"{self.prefix}-br"
        self.dir = None
        self.hosts = []
        self._blocked = set()
        self.timings = {}

    # -- lifecycle ---------------------------------------------------------

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self._report()
            self.teardown()
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self._report()
        self.teardown()
        return False

    def start(self):
        """Namespaces, certificates, qnetd, corosync on every node, then the qdevices."""
        missing = missing_binaries(self.bin)
        if missing:
            raise Skip("missing binaries: " + ", ".join(missing))
        t0 = time.monotonic()
        cleanup_leftovers()
        self.dir = tempfile.mkdtemp(prefix=self.prefix + "-")
        _ACTIVE.append(self)
        self._create_network()
        if self.token_enrol:
            self.enrol_with_token()
        else:
            if self.tls != "off" or self.qnetd_tls != "off":
                self.enrol()
            self.write_configs()
            self.start_arbiters()
        for node in self.nodes:
            self.start_corosync(node.nodeid)
        self.wait_membership()
        for node in self.nodes:
            self.start_qdevice(node.nodeid)
        if self.wait_vote:
            self.wait_all_quorate()
        self.timings["up"] = time.monotonic() - t0

    def _create_network(self):
        sh(["ip", "netns", "add", self.bridge_ns])
        sh(["ip", "-n", self.bridge_ns, "link", "add", "br0", "type", "bridge"])
        sh(["ip", "-n", self.bridge_ns, "link", "set", "br0", "up"])
        self._nft(
            "table bridge lab {\n"
            "  chain cut { type filter hook forward priority 0; policy accept; }\n"
            "}\n")
        ns_dir = os.path.join(self.dir, "ns")
        os.makedirs(ns_dir)
        # Namespace files may only be bind-mounted below a private mount.
        sh(["mount", "--bind", ns_dir, ns_dir])
        sh(["mount", "--make-private", ns_dir])
        self._make_hosts()
        for h in self.hosts:
            h.create()
        for a in self.qnetd_addrs:
            sh(["ip", "-n", self.qnetd.netns, "addr", "add", a + "/24", "dev", "eth0"])

    def _make_hosts(self):
        """self.qnetd, self.nodes and self.hosts (all of them); a subclass may add more."""
        self.qnetd = Host(self, "qnetd", QNETD_ADDR)
        self.arbiters = [self.qnetd] + [Host(self, "qnetd2", QNETD2_ADDR)][:self.n_arbiters - 1]
        self.nodes = [Host(self, f"n{i}", f"{SUBNET}.{10 + i}", i) for i in range(1, self.n + 1)]
        self.hosts = self.arbiters + self.nodes

    def teardown(self):
        """Stop every process, remove mounts, namespaces and the run dir. Never raises."""
        if self not in _ACTIVE:
            return
        t0 = time.monotonic()
        with _signals_deferred():
            errors = []
            self._kill_all_daemons()
            for h in self.hosts:   # anything else still inside our namespaces is ours too
                for pid in pids_in_netns(f"/run/netns/{h.netns}"):
                    _try(errors, os.kill, pid, signal.SIGKILL)
            for point in mounts_under(self.dir):
                _try(errors, sh, ["umount", point])
            for ns in [h.netns for h in self.hosts] + [self.bridge_ns]:
                if os.path.exists(f"/run/netns/{ns}"):    # start() may have failed early
                    _try(errors, sh, ["ip", "netns", "delete", ns])
            if os.environ.get("KEEP") == "1":
                # Renamed so that cleanup_leftovers() of later runs leaves it alone.
                kept = os.path.join(os.path.dirname(self.dir), "kept-" + os.path.basename(self.dir))
                _try(errors, os.rename, self.dir, kept)
                print(f"KEEP=1: run dir kept at {kept}", flush=True)
            else:
                _try(errors, shutil.rmtree, self.dir)
            _ACTIVE.remove(self)
            self.timings["teardown"] = time.monotonic() - t0
            if errors:
                print("teardown problems:\n  " + "\n  ".join(errors), flush=True)

    def _kill_all_daemons(self):
        """SIGKILL: teardown does not test shutdown paths, and everything a daemon could
        leave (sockets, locks, /dev/shm rings) dies with the host's namespaces and dir."""
        running = [d for h in self.hosts for d in h.daemons.values() if d.alive()]
        for d in running:
            d.send(signal.SIGKILL)
        for d in running:
            d.proc.wait(10)

    def _report(self):
        if self.dir and os.path.isdir(self.dir):
            FAILURE_REPORTS.append(self.log_tails())

    def log_tails(self, lines=25):
        out = [f"--- logs of {self.prefix} ({self.dir})"]
        for h in self.hosts:
            logdir = os.path.join(h.root, "log")
            for name in sorted(os.listdir(logdir)):
                with open(os.path.join(logdir, name), errors="replace") as f:
                    tail = f.readlines()[-lines:]
                out.append(f"--- {h.name}/{name} (last {len(tail)} lines)")
                out.extend(line.rstrip("\n") for line in tail)
        return "\n".join(out)

    # -- hosts ---------------------------------------------------------------

    def node(self, nodeid):
        return self.nodes[nodeid - 1]

    def _hosts(self, ids):
        return [self.node(i) for i in ids]

    # -- configuration -----------------------------------------------------

    def corosync_conf(self, node):
        nodelist = "".join(
            f"\tnode {{\n\t\tring0_addr: {n.addr}\n\t\tnodeid: {n.nodeid}\n"
            f"\t\tname: {n.name}\n\t}}\n"
            for n in self.nodes)
        device = ""
        if self.device_votes is not None:
            device += f"\t\tvotes: {self.device_votes}\n"
        if self.device_timeout is not None:
            device += f"\t\ttimeout: {self.device_timeout}\n"
        keys = {"host": QNETD_ADDR, "algorithm": self.algorithm,
                "tie_breaker": self.tie_breaker, "tls": self.tls, **self.net_options}
        net = "".join(f"\t\t\t{k}: {v}\n" for k, v in keys.items())
        if self.kap is not None:
            net += f"\t\t\tkeep_active_partition_tie_breaker: {self.kap}\n"
        heur = ""
        if self.heuristics_mode is not None:
            heur = f"\t\theuristics {{\n\t\t\tmode: {self.heuristics_mode}\n"
            if self.heuristics_interval is not None:
                heur += f"\t\t\tinterval: {self.heuristics_interval}\n"
            for name, cmd in self.heuristics_exec.get(node.nodeid, {}).items():
                heur += f"\t\t\texec_{name}: {cmd}\n"
            heur += "\t\t}\n"
        return (
            "totem {\n\tversion: 2\n"
            f"\tcluster_name: {self.cluster}\n"
            "\ttransport: knet\n\tcrypto_cipher: none\n\tcrypto_hash: none\n"
            f"\ttoken: {self.token}\n}}\n"
            f"nodelist {{\n{nodelist}}}\n"
            "quorum {\n\tprovider: corosync_votequorum\n"
            f"\tdevice {{\n\t\tmodel: net\n{device}\t\tnet {{\n{net}\t\t}}\n{heur}\t}}\n}}\n"
            "system {\n\tstate_dir: /var/lib/corosync\n}\n"
            "logging {\n\tto_logfile: yes\n\tlogfile: /var/log/corosync/corosync.log\n"
            "\tto_syslog: no\n\tto_stderr: no\n\ttimestamp: hires\n}\n")

    def write_configs(self):
        for n in self.nodes:
            n.write("/etc/corosync/corosync.conf", self.corosync_conf(n))

    def enrol(self):
        """Certificates the way an admin makes them (CLUSTER-TESTING.md pitfall 7)."""
        t0 = time.monotonic()
        q, first, others = self.qnetd, self.nodes[0], self.nodes[1:]
        qnetd_cu, node_cu = self.bin["qnetd_certutil"], self.bin["qdevice_certutil"]
        nssdb_q, nssdb_n = "/etc/corosync/qnetd/nssdb", "/etc/corosync/qdevice/net/nssdb"
        q.run([qnetd_cu, "-i"])
        self._copy(q, f"{nssdb_q}/qnetd-cacert.crt", self.nodes, "/etc/corosync/qnetd-cacert.crt")
        first.run([node_cu, "-i", "-c", "/etc/corosync/qnetd-cacert.crt"])
        first.run([node_cu, "-r", "-n", self.cert_cluster])
        self._copy(first, f"{nssdb_n}/qdevice-net-node.crq", [q],
                   "/etc/corosync/qdevice-net-node.crq")
        q.run([qnetd_cu, "-s", "-c", "/etc/corosync/qdevice-net-node.crq", "-n", self.cert_cluster])
        crt = f"cluster-{self.cert_cluster}.crt"
        self._copy(q, f"{nssdb_q}/{crt}", [first], f"/etc/corosync/{crt}")
        first.run([node_cu, "-M", "-c", f"/etc/corosync/{crt}"])
        for a in self.arbiters[1:]:     # the same CA and server certificate
            shutil.copytree(q.path("/etc/corosync/qnetd"), a.path("/etc/corosync/qnetd"))
        self._copy(first, f"{nssdb_n}/qdevice-net-node.p12", others,
                   "/etc/corosync/qdevice-net-node.p12")
        for n in others:
            n.run([node_cu, "-i", "-c", "/etc/corosync/qnetd-cacert.crt"])
            n.run([node_cu, "-m", "-c", "/etc/corosync/qdevice-net-node.p12"])
        self.timings["certs"] = time.monotonic() - t0

    def enrol_with_token(self):
        """The arbiter's database, qnetd running, one token; every node enrols itself
        over the qnetd port (no file copied between hosts)."""
        t0 = time.monotonic()
        q = self.qnetd
        helper = os.path.join(os.environ.get("BUILD_DIR", os.path.join(REPO, "build")),
                              "qdevice/corosync-qdevice-net-enroll")
        if not os.access(helper, os.X_OK):
            raise Skip(f"token enrolment needs {helper}")
        q.run([self.bin["qnetd_certutil"], "-i"])
        # The token uses go to a private directory of the qnetd host.
        self.qnetd_args += ["-S", "enroll_state_dir=/var/lib/corosync/qnetd-enroll"]
        self.write_configs()
        self.start_qnetd()
        token = q.run([self.bin["qnetd_certutil"], "-t", "-n", self.cert_cluster,
                       "-u", str(self.n)]).stdout.strip()
        for n in self.nodes:
            n.run(["env", f"QDEVICE_NET_ENROLL={helper}", self.bin["qdevice_certutil"], "-e",
                   token, "-H", q.addr, "-n", self.cert_cluster])
        self.timings["certs"] = time.monotonic() - t0

    @staticmethod
    def _copy(src, src_path, dests, dest_path):
        """What an admin does with scp between hosts."""
        for d in dests:
            shutil.copyfile(src.path(src_path), d.path(dest_path))

    # -- daemons -------------------------------------------------------------

    def start_arbiters(self):
        """Every arbiter host's qnetd (a subclass may start them another way)."""
        for a in range(self.n_arbiters):
            self.start_qnetd(arbiter=a)

    def start_qnetd(self, arbiter=0):
        argv = [self.bin["qnetd"], "-f", "-d", "-s", self.qnetd_tls] + self.qnetd_args
        host = self.arbiters[arbiter]
        if self.bin["qnetd"] != BINARIES["qnetd"][0]:     # ours
            # Its own state directory, kept across restarts of the lab's qnetd.
            argv += ["-S", f"state_dir={host.root}/state"]
            os.makedirs(f"{host.root}/state", exist_ok=True)
        d = host.spawn("qnetd", argv)
        wait_until(lambda: self.qnetd_tool("-s", check=False, arbiter=arbiter).returncode == 0
                   or not d.alive(), 10, what="qnetd IPC socket")
        if not d.alive():
            raise RuntimeError(f"corosync-qnetd exited with {d.proc.returncode}")
        return d

    def _arbiter(self, arbiter):
        """Arbiter host number `arbiter`; None is the one serving (self.qnetd), which a
        subclass may move between hosts."""
        return self.qnetd if arbiter is None else self.arbiters[arbiter]

    def stop_qnetd(self, sig=signal.SIGTERM, arbiter=None):
        return self._arbiter(arbiter).daemons["qnetd"].stop(sig)

    def start_corosync(self, nodeid):
        return self.node(nodeid).spawn(
            "corosync", ["corosync", "-f", "-c", "/etc/corosync/corosync.conf"])

    def start_qdevice(self, nodeid):
        return self.node(nodeid).spawn("qdevice", [self.bin["qdevice"], "-f", "-d"] +
                                       self.qdevice_args)

    def stop_qdevice(self, nodeid, sig=signal.SIGTERM):
        return self.node(nodeid).daemons["qdevice"].stop(sig)

    def stop_node(self, nodeid):
        """Orderly shutdown as an admin does it: the qdevice first, then corosync."""
        node = self.node(nodeid)
        for name in ("qdevice", "corosync"):
            if node.daemon(name):
                node.daemons[name].stop()

    def wait_membership(self, timeout=30):
        """Every node sees all nodes (qdevices need this before start: pitfall 6)."""
        ids = [n.nodeid for n in self.nodes]
        self.expect_all(ids, members=ids, timeout=timeout, stable=0)

    def wait_all_quorate(self, timeout=30):
        self.expect_all([n.nodeid for n in self.nodes], quorate=True, qdevice_vote=True,
                        timeout=timeout)

    # -- network faults --------------------------------------------------------

    def partition(self, *groups):
        """Drop traffic between node groups (qnetd stays reachable); replaces earlier cuts."""
        where = {i: g for g, ids in enumerate(groups) for i in ids}
        missing = {n.nodeid for n in self.nodes} - set(where)
        if missing:
            raise ValueError(f"nodes {sorted(missing)} are in no group")
        arbiter_addrs = {a.addr for a in self.arbiters} | set(self.qnetd_addrs)
        self._blocked = {p for p in self._blocked if p & arbiter_addrs}
        for a, b in itertools.combinations(self.nodes, 2):
            if where[a.nodeid] != where[b.nodeid]:
                self._blocked.add(frozenset((a.addr, b.addr)))
        self._apply_rules()

    def heal(self):
        self.partition([n.nodeid for n in self.nodes])

    def cut_qnetd(self, cut=True, nodes=None, addr=QNETD_ADDR):
        """Drop traffic between qnetd (its address addr) and the given nodes (all by default)."""
        for n in self._hosts(nodes) if nodes else self.nodes:
            pair = frozenset((n.addr, addr))
            if cut:
                self._blocked.add(pair)
            else:
                self._blocked.discard(pair)
        self._apply_rules()

    def _apply_rules(self):
        """Replace the drop rules atomically in one nft transaction."""
        script = ["flush chain bridge lab cut"]
        for a, b in sorted(tuple(sorted(p)) for p in self._blocked):
            script.append(f"add rule bridge lab cut ip saddr {a} ip daddr {b} drop")
            script.append(f"add rule bridge lab cut ip saddr {b} ip daddr {a} drop")
        self._nft("\n".join(script) + "\n")

    def _nft(self, script):
        sh(["nsenter", f"--net=/run/netns/{self.bridge_ns}", "nft", "-f", "-"], input=script)

    def set_port(self, host, up):
        """Bridge port of a host up/down: down isolates it completely."""
        h = host if isinstance(host, Host) else self.node(host)
        sh(["ip", "-n", self.bridge_ns, "link", "set", h.port, "up" if up else "down"])

    # -- state -----------------------------------------------------------------

    def quorum(self, nodeid):
        # Exit status 2 means "not quorate": judge by the output (pitfall 2).
        res = self.node(nodeid).run(["corosync-quorumtool", "-s"], check=False)
        return parse_quorum(res.stdout)

    def qdevice_tool(self, nodeid, *args, check=True):
        return self.node(nodeid).run([self.bin["qdevice_tool"]] + list(args), check=check)

    def qdevice_status(self, nodeid):
        return parse_qdevice_status(self.qdevice_tool(nodeid, "-s", "-v").stdout)

    def qnetd_tool(self, *args, check=True, arbiter=None):
        return self._arbiter(arbiter).run([self.bin["qnetd_tool"]] + list(args), check=check)

    def qnetd_status(self):
        """corosync-qnetd-tool -s -v as {field: value}."""
        return parse_colon_block(self.qnetd_tool("-s", "-v").stdout)

    def qnetd_list(self, arbiter=None):
        """Clients qnetd knows of this lab's cluster: {nodeid: {field: value}}."""
        clusters = parse_qnetd_list(self.qnetd_tool("-l", "-v", arbiter=arbiter).stdout)
        return clusters.get(self.cluster, {"nodes": {}})

    def qnetd_log(self, arbiter=None):
        return self._arbiter(arbiter).read("/var/log/corosync/qnetd.out")

    def quorum_matches(self, nodeid, members=None, quorate=None, qdevice_vote=None,
                       total_votes=None):
        """The node's quorum state if it matches every given expectation, else None."""
        q = self.quorum(nodeid)
        if not q.get("Quorate"):
            return None
        if members is not None and q.members != sorted(members):
            return None
        if quorate is not None and q.quorate != quorate:
            return None
        if qdevice_vote is not None and ("V" in q.qdevice) != qdevice_vote:
            return None
        if total_votes is not None and q.total_votes != total_votes:
            return None
        return q

    def expect_states(self, wants, timeout=45, stable=1.0):
        """Wait until corosync-quorumtool -s shows wants[nodeid] on every listed node,
        all at once and settled for `stable` seconds (pitfall 5); returns the states."""
        def matches():
            states = {i: self.quorum_matches(i, **w) for i, w in wants.items()}
            return states if all(states.values()) else None
        return wait_until(matches, timeout, what=f"quorum states {wants}", stable=stable)

    def expect(self, nodeid, timeout=45, stable=1.0, **want):
        return self.expect_states({nodeid: want}, timeout, stable)[nodeid]

    def expect_all(self, ids, timeout=45, stable=1.0, **want):
        return self.expect_states({i: want for i in ids}, timeout, stable)


def _hold():
    """`lab.py hold`: bring up a 2-node lab, print its identity, wait for a signal."""
    import json
    install_signal_handlers()
    try:
        with Lab(nodes=2, wait_vote=False) as lab:
            pids = [(d.pid, d.started) for h in lab.hosts for d in h.daemons.values()]
            print(json.dumps({"prefix": lab.prefix, "dir": lab.dir, "pids": pids}), flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        raise SystemExit(130)


if __name__ == "__main__":
    import sys
    if sys.argv[1:] != ["hold"]:
        raise SystemExit("usage: lab.py hold")
    _hold()
