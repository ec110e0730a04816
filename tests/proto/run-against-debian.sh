#!/bin/sh
# Run the protocol tests (tests/proto/test_qnetd) against Debian's
# corosync-qnetd 3.0.3 instead of ours.  Tests of our deliberate differences
# (BEHAVIOUR.md §9 fixes) then expect the 3.0.3 behaviour (QNETD_IS_DEBIAN=1).
#
# Usage: tests/proto/run-against-debian.sh [test binary]
#    or: make check-proto-debian (in the build tree)
# Default binary: $BUILD_DIR/tests/proto/test_qnetd, BUILD_DIR defaulting to
# the current directory when it holds the binary, else <source>/build
# (built there with "make tests/proto/test_qnetd" if missing).
# CK_RUN_CASE=<tcase> / CK_VERBOSITY=verbose work as usual.
set -e
src=$(cd "$(dirname "$0")/../.." && pwd)
bin=$1
if [ -z "$bin" ]; then
	if [ -z "$BUILD_DIR" ]; then
		if [ -e tests/proto/test_qnetd ] || [ -e Makefile ]; then
			BUILD_DIR=$(pwd)
		else
			BUILD_DIR=$src/build
		fi
	fi
	bin=$BUILD_DIR/tests/proto/test_qnetd
	[ -x "$bin" ] || make -C "$BUILD_DIR" tests/proto/test_qnetd
fi
: "${QNETD_BIN:=/usr/bin/corosync-qnetd}"
: "${QNETD_TOOL_BIN:=/usr/bin/corosync-qnetd-tool}"
export QNETD_BIN QNETD_TOOL_BIN
export QNETD_IS_DEBIAN=1
exec "$bin"
