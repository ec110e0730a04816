"""Cluster scenarios: real corosync + qdevice + qnetd in namespaces (see lab.py).

Each scenario is registered with @scenario (registry.py); run them with run.py.
Assertions are what an admin would look at: corosync-quorumtool -s,
corosync-qdevice-tool -s -v and corosync-qnetd-tool -l -v. Votes in 2-node ffsplit:
1 per node + 1 Qdevice.  The modules below register in this order, which is the
run order.
"""

from registry import TESTS, scenario  # noqa: F401

import sc_splits  # noqa: E402,F401
import sc_arbiter  # noqa: E402,F401
import sc_observe  # noqa: E402,F401
import sc_hosts  # noqa: E402,F401
import sc_nodes  # noqa: E402,F401
import sc_tls  # noqa: E402,F401
import sc_pcmk  # noqa: E402,F401
import sc_selftest  # noqa: E402,F401
