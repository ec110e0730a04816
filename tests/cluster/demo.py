#!/usr/bin/env python3
"""Demo: a 2-node corosync cluster with a qnetd tie-breaker, split and healed.

    tests/cluster/demo.py          (as root; QNETD_FLAVOUR / QDEVICE_FLAVOUR pick binaries)

Prints the real output of corosync-quorumtool, corosync-qdevice-tool and
corosync-qnetd-tool at each step, then tears everything down.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lab import Lab, install_signal_handlers, parse_qnetd_list  # noqa: E402


def say(text):
    print(f"\n=== {text}", flush=True)


def show(title, output):
    print(f"--- {title}\n{output.rstrip()}", flush=True)


def quorumtool(lab, nodeid):
    return lab.node(nodeid).run(["corosync-quorumtool", "-s"], check=False).stdout


def summary(lab, nodeid):
    q = lab.quorum(nodeid)
    return (f"n{nodeid}: members {q.members}, quorate {q['Quorate']}, total votes "
            f"{q.total_votes}, Qdevice flags {','.join(q.qdevice) or '-'}")


def explain(lab, cluster):
    """Why one side kept quorum, from what qnetd reports (ffsplit with 1 vote per node)."""
    nodes = cluster["nodes"]
    acked = [i for i, c in nodes.items() if c["Vote"].endswith("(ACK)") or c["Vote"] == "ACK"]
    seen = "; ".join(f"n{i}: {c['Membership node list']}" for i, c in sorted(nodes.items()))
    print(f"\nWhy: each node now reports a membership of only itself to qnetd ({seen}).")
    print(f"Each half holds exactly half of the {len(lab.nodes)} configured nodes, so qnetd's "
          f"'{cluster['Algorithm']}'\nalgorithm decides by its tie-breaker "
          f"('{cluster['Tie-breaker']}'): it sent ACK to node(s) {acked} and NACK to the rest.")
    print("('No change (ACK)' = qnetd's last reply carried no new vote; the vote in brackets "
          "is the last ACK/NACK it sent.)")
    for i in sorted(nodes):
        q = lab.quorum(i)
        print(f"n{i}: vote '{nodes[i]['Vote']}' -> {q.total_votes} of {q['Expected votes']} "
              f"expected votes, quorum {q['Quorum'].split()[0]}: quorate {q['Quorate']}")


def main():
    install_signal_handlers()
    t0 = time.monotonic()
    say("Bringing up 2 corosync nodes (n1=10.77.0.11, n2=10.77.0.12) and a qnetd host "
        "(10.77.0.2), each in its own namespaces; algorithm ffsplit, tie-breaker lowest, TLS on")
    with Lab(nodes=2, algorithm="ffsplit", tie_breaker="lowest", tls="on") as lab:
        print(f"up in {lab.timings['up']:.1f}s (certificates {lab.timings['certs']:.1f}s)")

        say("Whole cluster: each node has 1 vote and the Qdevice adds 1 (3 in total, quorum 2)")
        show("n1: corosync-quorumtool -s", quorumtool(lab, 1))
        show("n1: corosync-qdevice-tool -s", lab.qdevice_tool(1, "-s").stdout)
        show("qnetd: corosync-qnetd-tool -l", lab.qnetd_tool("-l").stdout)

        say("Splitting the network between n1 and n2 (nftables drop in the bridge); "
            "both can still reach qnetd")
        t = time.monotonic()
        lab.partition([1], [2])
        lab.expect_states({1: dict(members=[1], quorate=True, qdevice_vote=True),
                           2: dict(members=[2], quorate=False, qdevice_vote=False)})
        print(f"split decided in {time.monotonic() - t:.1f}s")
        show("n1: corosync-quorumtool -s", quorumtool(lab, 1))
        show("n2: corosync-quorumtool -s", quorumtool(lab, 2))
        listing = lab.qnetd_tool("-l").stdout
        show("qnetd: corosync-qnetd-tool -l", listing)
        explain(lab, parse_qnetd_list(listing)[lab.cluster])

        say("Healing the network")
        t = time.monotonic()
        lab.heal()
        lab.wait_all_quorate()
        print(f"healed in {time.monotonic() - t:.1f}s")
        print(summary(lab, 1))
        print(summary(lab, 2))
        show("qnetd: corosync-qnetd-tool -l", lab.qnetd_tool("-l").stdout)

        say("Tearing down (daemons, mounts, namespaces, run dir)")
    print(f"torn down in {lab.timings['teardown']:.1f}s; whole demo {time.monotonic() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
