#!/bin/sh
# Install what is missing, build, and show our arbiter deciding a split of a
# real two-node corosync cluster (network namespaces on this machine).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
sh scripts/deps.sh
sh scripts/build.sh build
# Our arbiter; our qdevice too once it is built, else Debian's 3.0.3.
qdevice=debian
[ -x build/qdevice/corosync-qdevice ] && qdevice=ours
BUILD_DIR="$top/build" QNETD_FLAVOUR=ours QDEVICE_FLAVOUR=$qdevice \
	exec python3 tests/cluster/demo.py "$@"
