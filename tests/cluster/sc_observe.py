"""Scenario: a real Prometheus scrapes both daemons through a split."""

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

# 3b. a real Prometheus scrapes both daemons' -S http_listen through a split

HTTP_QNETD, HTTP_QDEVICE, PROM = 9403, 9404, "127.0.0.1:9090"
PROM_QUERY = ("import sys, urllib.parse, urllib.request; print(urllib.request.urlopen("
              "'http://%s/api/v1/query?query=' + urllib.parse.quote(sys.argv[1]),"
              " timeout=5).read().decode())" % PROM)


def start_prometheus(lab):
    """Prometheus in the arbiter's namespace, scraping qnetd and every qdevice each second."""
    from lab import QNETD_ADDR
    prom_dir = os.path.join(lab.dir, "prometheus")
    os.makedirs(prom_dir)
    nodes = ", ".join(f"'{n.addr}:{HTTP_QDEVICE}'" for n in lab.nodes)
    with open(os.path.join(prom_dir, "prometheus.yml"), "w") as f:
        f.write("global: {scrape_interval: 1s, scrape_timeout: 900ms}\n"
                "scrape_configs:\n"
                f"  - {{job_name: qnetd, static_configs: [{{targets: ['{QNETD_ADDR}:{HTTP_QNETD}']}}]}}\n"
                f"  - {{job_name: qdevice, static_configs: [{{targets: [{nodes}]}}]}}\n")
    lab.qnetd.spawn("prometheus", [
        "prometheus", "--config.file=" + os.path.join(prom_dir, "prometheus.yml"),
        "--storage.tsdb.path=" + os.path.join(prom_dir, "data"),
        "--web.listen-address=" + PROM, "--log.level=warn"])


def prom_query(lab, expr):
    """{frozenset(labels): value} of an instant query; {} while Prometheus is not up."""
    res = lab.qnetd.run(["python3", "-c", PROM_QUERY, expr], check=False, timeout=15)
    if res.returncode != 0:
        return {}
    data = json.loads(res.stdout)["data"]["result"]
    return {frozenset(r["metric"].items()): float(r["value"][1]) for r in data}


def prom_value(lab, expr):
    """The single value of a query that sums to one series, None when there is none."""
    v = prom_query(lab, expr)
    return next(iter(v.values())) if len(v) == 1 else None


@scenario
def prometheus_scrapes_split(**fl):
    if not shutil.which("prometheus"):
        raise Skip("no prometheus (Debian package prometheus)")
    with Lab(nodes=2, algorithm="ffsplit", tie_breaker="lowest",
             qnetd_args=["-S", f"http_listen=0.0.0.0:{HTTP_QNETD}"],
             qdevice_args=["-S", f"http_listen=0.0.0.0:{HTTP_QDEVICE}"],
             qnetd_flavour="ours", qdevice_flavour="ours") as lab:
        start_prometheus(lab)
        # Every target up, and qnetd's clients as the tool counts them.
        wait_until(lambda: prom_value(lab, "sum(up)") == 3, 60, what="3 targets up")
        wait_until(lambda: prom_value(lab, "sum(qnetd_clients)") ==
                   int(lab.qnetd_status()["Connected clients"]), 30,
                   what="qnetd_clients == connected clients")
        wait_until(lambda: prom_value(lab, "sum(qdevice_vote{vote='ack'})") == 2, 30,
                   what="both qdevices cast ACK")
        # The tools print the same text, and promtool finds it clean.
        for text in (lab.qnetd_tool("--metrics").stdout,
                     lab.qdevice_tool(1, "--metrics").stdout):
            check = subprocess.run(["promtool", "check", "metrics"], input=text,
                                   capture_output=True, text=True, timeout=30)
            assert check.returncode == 0, check.stdout + check.stderr + text
        assert "qdevice_connected 1\n" in lab.qdevice_tool(1, "--metrics").stdout
        nack0 = prom_value(lab, "qnetd_votes_total{vote='nack'}")
        assert nack0 is not None, prom_query(lab, "qnetd_votes_total")

        with SplitBrainWatch(lab) as watch:
            lab.partition([1], [2])
            expect_split(lab, winners=[1], losers=[2], winner_votes=2)
            expect_votes(lab, {1: "ACK", 2: "NACK"})
            # The loser's NACK moved the counter; the cluster shows one of each.
            wait_until(lambda: (prom_value(lab, "qnetd_votes_total{vote='nack'}") or 0) > nack0,
                       30, what="qnetd_votes_total{vote='nack'} grew")
            wait_until(lambda: prom_value(
                lab, "qnetd_cluster_nodes{cluster='demo',state='nack'}") == 1, 30,
                what="one node with NACK in qnetd_cluster_nodes")
            n2 = f"{lab.node(2).addr}:{HTTP_QDEVICE}"
            wait_until(lambda: prom_value(
                lab, f"qdevice_vote{{vote='nack',instance='{n2}'}}") == 1, 30,
                what="node 2's qdevice casts NACK")
            assert prom_value(lab, "sum(qnetd_clients)") == \
                int(lab.qnetd_status()["Connected clients"])
            assert prom_value(lab, "sum(qdevice_connected)") == 2
            lab.heal()
            expect_whole(lab, total_votes=3)
        assert watch.rounds > 5, watch.rounds
        # readyz on the nodes: connected and casting a vote again.
        def ready(n):
            res = n.run(["python3", "-c", "import urllib.request; print(urllib.request.urlopen("
                         f"'http://127.0.0.1:{HTTP_QDEVICE}/readyz?verbose', timeout=5)"
                         ".read().decode())"], check=False)
            return res.returncode == 0 and "readyz check passed" in res.stdout
        wait_until(lambda: all(ready(n) for n in lab.nodes), 30, what="qdevices ready")
