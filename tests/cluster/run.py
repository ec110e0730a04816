#!/usr/bin/env python3
"""Run the real-cluster scenarios (as root; no stdin or TTY needed).

    tests/cluster/run.py [-k SUBSTRING]... [--list]

Binaries: QNETD_FLAVOUR / QDEVICE_FLAVOUR / FLAVOUR = debian | ours (default debian),
"ours" from $BUILD_DIR/qnetd and $BUILD_DIR/qdevice or the *_BIN overrides (lab.py).
Scenarios named ...[qdevice=X,qnetd=Y] run every flavour pair and are skipped
when a binary of the pair is missing. KEEP=1 keeps each lab's run dir (logs).
Prints one line per test and ends with "N passed, N failed[, N skipped]".
"""

import argparse
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import lab  # noqa: E402
import scenarios  # noqa: E402


def run_one(name, fn):
    """Returns (status, seconds, detail)."""
    t0 = time.monotonic()
    try:
        fn()
        status, detail = "PASS", ""
    except lab.Skip as e:
        status, detail = "SKIP", str(e)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as e:
        tb = traceback.format_exc().rstrip().splitlines()
        status, detail = "FAIL", f"{type(e).__name__}: {e}\n" + "\n".join(tb[-12:])
    return status, time.monotonic() - t0, detail


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("-k", action="append", default=[], metavar="SUBSTRING",
                    help="run tests whose name contains SUBSTRING (repeatable)")
    ap.add_argument("--list", action="store_true", help="list test names and exit")
    args = ap.parse_args()

    tests = [(n, f) for n, f in scenarios.TESTS if not args.k or any(k in n for k in args.k)]
    if args.list:
        print("\n".join(n for n, _ in tests))
        return 0
    if os.geteuid() != 0:
        print("run.py needs root (namespaces, mounts, nftables)", file=sys.stderr)
        return 2
    lab.install_signal_handlers()
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    t_all = time.monotonic()
    try:
        for name, fn in tests:
            status, secs, detail = run_one(name, fn)
            counts[status] += 1
            print(f"{status} {name} {secs:.1f}s" + (f"  ({detail})" if status == "SKIP" else ""),
                  flush=True)
            if status == "FAIL":
                print("    " + detail.replace("\n", "\n    "), flush=True)
            while lab.FAILURE_REPORTS:
                report = lab.FAILURE_REPORTS.pop(0)
                if status == "FAIL":
                    print("    " + report.replace("\n", "\n    "), flush=True)
    except (KeyboardInterrupt, SystemExit) as e:
        print(f"INTERRUPTED ({type(e).__name__}); labs torn down", flush=True)
        counts["FAIL"] += 1
    left = lab.leftovers_of_pid(os.getpid())
    if left:        # every lab of this run must be gone: namespaces, dirs, mounts
        counts["FAIL"] += 1
        print(f"FAIL leftovers after the run: {left}", flush=True)
    print(f"total {time.monotonic() - t_all:.1f}s")
    summary = f"{counts['PASS']} passed, {counts['FAIL']} failed"
    if counts["SKIP"]:
        summary += f", {counts['SKIP']} skipped"
    print(summary, flush=True)
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
