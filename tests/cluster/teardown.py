"""Teardown safety of the cluster lab: signals, exit, leftovers of earlier runs."""

import atexit
import os
import re
import shutil
import signal
import tempfile

from procs import mounts_under, pids_in_netns, sh, start_time

NAME_BASE = "cql"          # prefix of every namespace and temp dir of this harness
_ACTIVE = []            # labs not yet torn down, for signal/atexit teardown


def _try(errors, fn, *args):
    try:
        fn(*args)
    except Exception as e:
        errors.append(f"{getattr(fn, '__name__', fn)}{args}: {e}")


_deferring = [False]
_pending = []


class _signals_deferred:
    """Hold SIGINT/SIGTERM raised during teardown until it is complete."""

    def __enter__(self):
        _deferring[0] = True

    def __exit__(self, *exc):
        _deferring[0] = False
        if _pending:
            _raise_for(_pending.pop())


def _raise_for(signum):
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise SystemExit(128 + signum)


def _on_signal(signum, frame):
    if _deferring[0]:
        _pending.append(signum)
    else:
        _raise_for(signum)


def install_signal_handlers():
    """SIGINT/SIGTERM become exceptions so `with Lab()` blocks tear down."""
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)


@atexit.register
def _teardown_active():
    for lab in list(_ACTIVE):
        lab.teardown()


def _owner_alive(pid):
    return pid == os.getpid() or os.path.exists(f"/proc/{pid}")


def cleanup_leftovers():
    """Remove namespaces, mounts and dirs of earlier runs whose process is gone."""
    pattern = re.compile(rf"^{NAME_BASE}(\d+)x\d+-")
    netns = sh(["ip", "netns", "list"]).stdout.split()
    stale_ns = [n for n in netns if pattern.match(n) and
                not _owner_alive(int(pattern.match(n).group(1)))]
    tmp = tempfile.gettempdir()
    stale_dirs = [os.path.join(tmp, d) for d in os.listdir(tmp)
                  if pattern.match(d) and not _owner_alive(int(pattern.match(d).group(1)))]
    for n in stale_ns:
        for pid in pids_in_netns(f"/run/netns/{n}"):
            os.kill(pid, signal.SIGKILL)
    for d in stale_dirs:
        for point in mounts_under(d):
            sh(["umount", "-l", point], check=False)
    for n in sorted(stale_ns, key=lambda n: n.endswith("-br")):  # bridges last
        sh(["ip", "netns", "delete", n], check=False)
    for d in stale_dirs:
        shutil.rmtree(d, ignore_errors=True)
    return stale_ns + stale_dirs


def leftovers(prefix, run_dir, pids=()):
    """What a lab left behind: namespaces, mounts, its dir, live processes."""
    found = [f"netns {n}" for n in sh(["ip", "netns", "list"]).stdout.split()
             if n.startswith(prefix + "-")]
    found += [f"mount {m}" for m in mounts_under(run_dir)]
    if os.path.exists(run_dir):
        found.append(f"dir {run_dir}")
    found += [f"pid {p}" for p, t in pids if start_time(p) == t]
    return found


def leftovers_of_pid(pid):
    """Namespaces, temp dirs and mounts of any lab made by process pid."""
    prefix = f"{NAME_BASE}{pid}x"
    tmp = tempfile.gettempdir()
    dirs = [os.path.join(tmp, d) for d in os.listdir(tmp) if d.startswith(prefix)]
    with open("/proc/self/mounts") as f:
        mounts = [line.split()[1] for line in f if f"/{prefix}" in line.split()[1]]
    return [n for n in sh(["ip", "netns", "list"]).stdout.split() if n.startswith(prefix)] + \
        dirs + mounts
