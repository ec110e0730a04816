#!/bin/sh
# Run the qnetd protocol tests (tests/proto/test_handshake, test_messages,
# test_algorithms, test_gate, test_liveness, test_tls, test_admin) against
# Debian's corosync-qnetd 3.0.3 instead of ours.  Tests of our deliberate
# differences (BEHAVIOUR.md §9 fixes) then expect the 3.0.3 behaviour
# (QNETD_IS_DEBIAN=1).
#
# Usage: tests/proto/run-against-debian.sh [test binary...]
#    or: make check-proto-debian (in the build tree)
# Default binaries: those seven in $BUILD_DIR/tests/proto, BUILD_DIR
# defaulting to the current directory when it holds them, else
# <source>/build (built there with make if missing).  Each runs to its end;
# the exit status is non-zero when any of them failed.
# CK_RUN_CASE=<tcase> / CK_VERBOSITY=verbose work as usual.
set -e
src=$(cd "$(dirname "$0")/../.." && pwd)
tests="handshake messages algorithms gate liveness tls admin"
if [ $# -eq 0 ]; then
	if [ -z "$BUILD_DIR" ]; then
		if [ -e tests/proto/test_handshake ] || [ -e Makefile ]; then
			BUILD_DIR=$(pwd)
		else
			BUILD_DIR=$src/build
		fi
	fi
	for t in $tests; do
		bin=$BUILD_DIR/tests/proto/test_$t
		[ -x "$bin" ] || make -C "$BUILD_DIR" "tests/proto/test_$t"
		set -- "$@" "$bin"
	done
fi
: "${QNETD_BIN:=/usr/bin/corosync-qnetd}"
: "${QNETD_TOOL_BIN:=/usr/bin/corosync-qnetd-tool}"
export QNETD_BIN QNETD_TOOL_BIN
export QNETD_IS_DEBIAN=1
failed=
for bin in "$@"; do
	echo "== $bin"
	"$bin" || failed="$failed $bin"
done
if [ -n "$failed" ]; then
	echo "failed against 3.0.3:$failed"
	exit 1
fi
