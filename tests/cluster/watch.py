"""SplitBrainWatch: two partitions must never be quorate at once (see lab.py)."""

import itertools
import threading
import time


class SplitBrainWatch:
    """Sample corosync-quorumtool -s on every node, over and over, in a thread;
    fail (on leaving the with block) if two nodes with disjoint memberships were
    ever quorate in the same sampling round: two partitions quorate at once.

        with SplitBrainWatch(lab) as watch:
            ...faults...
        watch.rounds   # how many rounds were taken
    """

    def __init__(self, lab):
        self.lab, self.rounds, self.violations = lab, 0, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self):
        quorate = {}
        for n in self.lab.nodes:
            try:
                q = self.lab.quorum(n.nodeid)
            except Exception:       # node down, tool failed: not quorate
                continue
            if q.quorate and q.members:
                quorate[n.nodeid] = set(q.members)
        for (a, ma), (b, mb) in itertools.combinations(quorate.items(), 2):
            if not ma & mb:
                self.violations.append(
                    f"t={time.monotonic() - self._t0:.1f}s node {a} quorate with "
                    f"members {sorted(ma)} and node {b} with {sorted(mb)}")

    def _run(self):
        while not self._stop.is_set():
            self._sample()
            self.rounds += 1

    def __enter__(self):
        self._t0 = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        self._stop.set()
        self._thread.join(30)
        if exc_type is None and self.violations:
            raise AssertionError("split brain: " + "; ".join(self.violations[:5]))
        return False
