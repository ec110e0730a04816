"""Small process helpers of the cluster lab: commands, pids, mounts, polling."""

import os
import subprocess
import time


def sh(argv, check=True, timeout=60, input=None):
    """Run a command, capture text output; raise with the output on failure."""
    res = subprocess.run(argv, stdin=subprocess.DEVNULL if input is None else None,
                         input=input, capture_output=True, text=True, timeout=timeout)
    if check and res.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} -> {res.returncode}\n{res.stdout}{res.stderr}")
    return res


def start_time(pid):
    """Kernel start time of a pid (field 22 of /proc/PID/stat), None if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def pids_in_netns(nsfile):
    """Pids of all processes whose network namespace is the one bound at nsfile."""
    try:
        st = os.stat(nsfile)
    except OSError:
        return []
    found = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                s = os.stat(f"/proc/{d}/ns/net")
            except OSError:
                continue
            if (s.st_dev, s.st_ino) == (st.st_dev, st.st_ino):
                found.append(int(d))
    return found


def mounts_under(path):
    """Mount points at or below path (deepest first), from /proc/self/mounts."""
    path = os.path.realpath(path)
    with open("/proc/self/mounts") as f:
        points = [line.split()[1].replace("\\040", " ") for line in f]
    return sorted({p for p in points if p == path or p.startswith(path + "/")},
                  key=len, reverse=True)


def wait_until(predicate, timeout, interval=0.2, what="condition", stable=0.0):
    """Poll predicate until it returns a truthy value (held for `stable` seconds).

    Returns that value; raises AssertionError naming `what` and the last value seen.
    """
    deadline = time.monotonic() + timeout
    since = None
    last = None
    while True:
        try:
            last = predicate()
        except Exception as e:           # tools fail transiently while daemons start
            last = e
            value = False
        else:
            value = last
        now = time.monotonic()
        if value:
            since = since or now
            if now - since >= stable:
                return value
        else:
            since = None
        if now >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")
        time.sleep(interval)


def holds(predicate, duration, interval=0.3, what="condition"):
    """Assert predicate stays true during the whole duration (for 'never happens' checks)."""
    deadline = time.monotonic() + duration
    while True:
        value = predicate()
        if not value:
            raise AssertionError(f"{what} stopped holding: {value!r}")
        if time.monotonic() >= deadline:
            return value
        time.sleep(interval)
