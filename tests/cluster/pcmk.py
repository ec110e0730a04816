"""An arbiter cluster for the lab: corosync-qnetd as a Pacemaker resource.

PcmkLab is a Lab whose qnetd host is replaced by a small cluster of arbiter hosts
(a1, a2, ...), each running its own corosync (cluster "arb", two_node) and
Pacemaker.  The resource group "qnetd" holds an ocf:heartbeat:IPaddr2 floating
address (the lab's qnetd address, which the client cluster's quorum.device.net.host
names) and ocf:heartbeat:corosync-qnetd, the resource-agents agent unchanged,
running the qnetd binary of the lab's flavour.

Pacemaker on an arbiter host needs, beyond what every lab host has (its network
namespace, private /etc/corosync, /var/lib/corosync, /var/log/corosync, /run and
/dev/shm), its own /var/lib/pacemaker (the CIB) and /var/log/pacemaker, owned by
hacluster:haclient.  Its daemons' IPC (libqb) is in the abstract socket namespace,
which is per network namespace, so tools run on a host talk to that host's
Pacemaker.  No fencing: stonith-enabled=false, and a failed arbiter host is
"powered off" (its bridge port down and every process in it killed) so that
nothing of it lingers.

    with PcmkLab(nodes=2, kap="on") as lab:
        old = lab.qnetd                      # the arbiter host running the group
        lab.power_off(old)
        new = lab.wait_active(other_than=old)
"""

import os
import re
import signal
import time

from lab import (HOST_MOUNTS, QNETD_ADDR, SUBNET, Host, Lab, Skip, parse_quorum, pids_in_netns,
                 sh, wait_until)

ARBITER_CLUSTER = "arb"
PCMK_MOUNTS = dict(HOST_MOUNTS, **{"pcmk-lib": "/var/lib/pacemaker",
                                   "pcmk-log": "/var/log/pacemaker"})
PCMK_LOG = "/var/log/pacemaker/pacemaker.log"
QNETD_LOCK = "/run/corosync-qnetd/corosync-qnetd.pid"
QNETD_SOCK = "/run/corosync-qnetd/corosync-qnetd.sock"
AGENTS = ("/usr/lib/ocf/resource.d/heartbeat/corosync-qnetd",
          "/usr/lib/ocf/resource.d/heartbeat/IPaddr2")


def _nvpairs(prefix, attrs):
    return "".join(f'<nvpair id="{prefix}-{k}" name="{k}" value="{v}"/>' for k, v in attrs.items())


class PcmkHost(Host):
    """A lab host with what Pacemaker needs besides (PCMK_MOUNTS)."""

    def create(self):
        super().create()
        # What the pacemaker package installs, owned by its daemons' user.
        for sub in ("cib", "pengine", "blackbox", "cores"):
            os.makedirs(self.path(f"/var/lib/pacemaker/{sub}"), mode=0o750)
        for inside in ("/var/lib/pacemaker", "/var/log/pacemaker"):
            sh(["chown", "-R", "hacluster:haclient", self.path(inside)])
        os.chmod(self.path("/var/log/pacemaker"), 0o770)


class PcmkLab(Lab):
    """Lab whose arbiter is a Pacemaker resource on `arbiters` hosts (see module doc).
    self.qnetd is the arbiter host running the resource group (None while none does)."""

    def __init__(self, arbiters=2, monitor_interval=2, shared_state=True, **kw):
        super().__init__(**kw)
        self.n_arbiters, self.monitor_interval = arbiters, monitor_interval
        # The state directory the resource carries: one directory both arbiter
        # hosts see (as shared storage would be), else one private to each.
        self.shared_state = shared_state

    # -- hosts -----------------------------------------------------------------

    def _make_hosts(self):
        self.arbiters = [PcmkHost(self, f"a{i}", f"{SUBNET}.{20 + i}", i, mounts=PCMK_MOUNTS)
                         for i in range(1, self.n_arbiters + 1)]
        self.nodes = [Host(self, f"n{i}", f"{SUBNET}.{10 + i}", i) for i in range(1, self.n + 1)]
        self.hosts = self.arbiters + self.nodes
        self.qnetd = self.arbiters[0]       # where certificates are made (enrol)

    def log_tails(self, lines=25):
        out = [super().log_tails(lines)]
        for a in self.arbiters:
            tail = self.pcmk_log(a).splitlines()[-lines:]
            out.append(f"--- {a.name}{PCMK_LOG} (last {len(tail)} lines)")
            out.extend(tail)
        return "\n".join(out)

    # -- start -----------------------------------------------------------------

    def start(self):
        for agent in AGENTS + ("/usr/sbin/pacemakerd", "/usr/sbin/cibadmin"):
            if not os.path.exists(agent):
                raise Skip(f"{agent} is missing (scripts/deps.sh)")
        super().start()

    def start_arbiters(self):
        self.start_qnetd()

    def start_qnetd(self):
        """The arbiter cluster: corosync, Pacemaker, the resource group; returns the
        host that runs it."""
        t0 = time.monotonic()
        for a in self.arbiters:
            a.write("/etc/corosync/corosync.conf", self.arbiter_conf())
            a.spawn("corosync", ["corosync", "-f", "-c", "/etc/corosync/corosync.conf"])
        ids = [a.nodeid for a in self.arbiters]
        wait_until(lambda: all(self.arbiter_quorum(a).members == ids for a in self.arbiters),
                   30, what="arbiter cluster membership")
        self.timings["arbiter corosync"] = time.monotonic() - t0
        for a in self.arbiters:
            self._seed_cib(a)
            a.spawn("pacemakerd", ["env", f"PCMK_logfile={PCMK_LOG}", "PCMK_debug=no",
                                   "pacemakerd"])
        wait_until(lambda: self._online() == sorted(a.name for a in self.arbiters), 60,
                   what="Pacemaker online on every arbiter host")
        self.timings["arbiter pacemaker"] = time.monotonic() - t0
        self.configure()
        host = self.wait_active()
        self.timings["arbiter cluster"] = time.monotonic() - t0
        return host

    @staticmethod
    def _seed_cib(host):
        """An empty CIB but for a short dc-deadtime: the default makes a starting node
        wait 20 s for a DC before it holds an election."""
        cib = host.run(["cibadmin", "--empty"]).stdout.replace(
            "<crm_config/>",
            '<crm_config><cluster_property_set id="cib-bootstrap-options">'
            '<nvpair id="cib-bootstrap-options-dc-deadtime" name="dc-deadtime" value="2s"/>'
            "</cluster_property_set></crm_config>")
        path = host.path("/var/lib/pacemaker/cib/cib.xml")
        with open(path, "w") as f:
            f.write(cib)
        sh(["chown", "hacluster:haclient", path])

    def arbiter_conf(self):
        nodelist = "".join(
            f"\tnode {{\n\t\tring0_addr: {a.addr}\n\t\tnodeid: {a.nodeid}\n"
            f"\t\tname: {a.name}\n\t}}\n" for a in self.arbiters)
        two_node = "\ttwo_node: 1\n" if len(self.arbiters) == 2 else ""
        return (
            "totem {\n\tversion: 2\n"
            f"\tcluster_name: {ARBITER_CLUSTER}\n"
            "\ttransport: knet\n\tcrypto_cipher: none\n\tcrypto_hash: none\n"
            f"\ttoken: {self.token}\n}}\n"
            f"nodelist {{\n{nodelist}}}\n"
            f"quorum {{\n\tprovider: corosync_votequorum\n{two_node}}}\n"
            "system {\n\tstate_dir: /var/lib/corosync\n}\n"
            "logging {\n\tto_logfile: yes\n\tlogfile: /var/log/corosync/corosync.log\n"
            "\tto_syslog: no\n\tto_stderr: no\n\ttimestamp: hires\n}\n")

    def configure(self):
        """Cluster options and the group, the way an admin would with pcs/crmsh."""
        a = self.arbiters[0]
        for name, value in (("stonith-enabled", "false"),):
            a.run(["crm_attribute", "-t", "crm_config", "-n", name, "-v", value])
        a.run(["crm_attribute", "-t", "rsc_defaults", "-n", "resource-stickiness", "-v", "100"])
        if self.shared_state:
            state = f"state_dir={self.dir}/arbiter-state,state_dir_shared=on"
            os.makedirs(f"{self.dir}/arbiter-state")
        else:
            state = "state_dir=/var/lib/pacemaker/qnetd-state"
        qnetd_opts = f"-s {self.qnetd_tls} -S {state} " + " ".join(self.qnetd_args)
        ip = {"ip": QNETD_ADDR, "cidr_netmask": "24", "nic": "eth0"}
        qnetd = {"binary": self.bin["qnetd"], "qnetd_tool_binary": self.bin["qnetd_tool"],
                 "qnetd_opts": qnetd_opts.strip(), "ip": QNETD_ADDR,
                 "pid": QNETD_LOCK, "ipc_sock": QNETD_SOCK,
                 # The lab's binaries may sit where user coroqnetd can't reach them.
                 "user": "root", "group": "root"}
        iv = f"{self.monitor_interval}s"
        xml = (
            '<group id="qnetd">'
            '<primitive id="qnetd-ip" class="ocf" provider="heartbeat" type="IPaddr2">'
            f'<instance_attributes id="qnetd-ip-ia">{_nvpairs("qnetd-ip", ip)}'
            '</instance_attributes><operations>'
            f'<op id="qnetd-ip-mon" name="monitor" interval="{iv}" timeout="20s"/>'
            '</operations></primitive>'
            '<primitive id="qnetd-daemon" class="ocf" provider="heartbeat" type="corosync-qnetd">'
            f'<instance_attributes id="qnetd-daemon-ia">{_nvpairs("qnetd-daemon", qnetd)}'
            '</instance_attributes><operations>'
            f'<op id="qnetd-daemon-mon" name="monitor" interval="{iv}" timeout="20s"/>'
            '</operations></primitive></group>')
        a.run(["cibadmin", "-C", "-o", "resources", "-X", xml])

    # -- state -------------------------------------------------------------------

    def arbiter_quorum(self, host):
        return parse_quorum(host.run(["corosync-quorumtool", "-s"], check=False).stdout)

    def _online(self, via=None):
        """Arbiter hosts Pacemaker reports online (crm_mon on `via`, any live one by default)."""
        for a in [via] if via else self.live_arbiters():
            res = a.run(["crm_mon", "-1", "--output-as=xml"], check=False, timeout=20)
            if res.returncode == 0:
                return sorted(re.findall(r'<node name="([^"]+)" id="[^"]*" online="true"',
                                         res.stdout))
        return []

    def live_arbiters(self):
        return [a for a in self.arbiters if a.daemon("corosync")]

    def located(self):
        """Arbiter hosts on which Pacemaker says the qnetd daemon resource runs."""
        for a in self.live_arbiters():
            res = a.run(["crm_resource", "--locate", "-r", "qnetd-daemon"], check=False,
                        timeout=20)
            if res.returncode == 0:
                return sorted(h.name for h in self.arbiters
                              if f"running on: {h.name}" in res.stdout)
        return []

    def wait_active(self, other_than=None, timeout=60):
        """The one arbiter host running the group, its address up and qnetd answering;
        it becomes self.qnetd."""
        def active():
            where = self.located()
            if len(where) != 1:
                return None
            host = next(a for a in self.arbiters if a.name == where[0])
            if host is other_than:
                return None
            addr = host.run(["ip", "-o", "addr", "show", "dev", "eth0"], check=False).stdout
            if f" {QNETD_ADDR}/" not in addr:
                return None
            self.qnetd = host
            if self.qnetd_tool("-s", check=False).returncode != 0:
                return None
            return host
        self.qnetd = None
        return wait_until(active, timeout, interval=0.5, what="qnetd resource active")

    def failed_actions(self):
        """Pacemaker's failed resource actions (crm_mon's <failure> lines)."""
        for a in self.live_arbiters():
            res = a.run(["crm_mon", "-1", "--output-as=xml"], check=False, timeout=20)
            if res.returncode == 0:
                return re.findall(r"<failure [^>]*>", res.stdout)
        raise AssertionError("no arbiter host answers crm_mon")

    def restart_resource(self, rsc="qnetd-daemon"):
        """crm_resource --restart: the agent's stop, then its start, on the same host."""
        self.qnetd.run(["crm_resource", "--restart", "-r", rsc, "--timeout", "60s"],
                       timeout=90)

    def pcmk_log(self, host):
        return host.read(PCMK_LOG) if os.path.exists(host.path(PCMK_LOG)) else ""

    # -- faults ------------------------------------------------------------------

    def power_off(self, host):
        """As if the host lost power: off the network, then every process in it killed."""
        self.set_port(host, up=False)
        for pid in pids_in_netns(f"/run/netns/{host.netns}"):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for d in host.daemons.values():
            d.proc.wait(10)
        if self.qnetd is host:
            self.qnetd = None
