#!/bin/sh
# Install what is missing, build, and run every test: unit and protocol tests
# (normal and ASan+UBSan builds), make distcheck, the certutil tests and the
# real-cluster suite.  Needs root (network and mount namespaces).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

sh scripts/deps.sh
status=0
# The protocol tests that speak TLS to qnetd (the OpenSSL back end's run).
TLS_PROTO_TESTS="tests/proto/test_tls tests/proto/test_enroll tests/proto/test_renew \
tests/proto/test_handshake tests/proto/test_certs tests/proto/test_events tests/proto/test_faults"
step() {
	echo "=== $*"
}

step "build"
sh scripts/build.sh build

step "unit and protocol tests"
make -s -C build check || { cat build/tests/*/*.log 2>/dev/null | tail -100; status=1; }

step "protocol tests over TLS again with corosync-qnetd -S tls_backend=openssl"
QNETD_TEST_TLS_BACKEND=openssl make -s -C build check TESTS="$TLS_PROTO_TESTS" ||
	{ cat build/tests/proto/*.log 2>/dev/null | tail -100; status=1; }

step "unit and protocol tests under AddressSanitizer and UndefinedBehaviorSanitizer"
sh scripts/build.sh build-san --enable-sanitizers
make -s -C build-san check || { cat build-san/tests/*/*.log 2>/dev/null | tail -100; status=1; }

step "make distcheck"
make -s -C build distcheck >build/distcheck.log 2>&1 || { tail -50 build/distcheck.log; status=1; }

step "fuzzing (each target for ${FUZZ_SECONDS:-60} s)"
make -s -C build run-fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-60}" || status=1

step "corosync-qnetd under valgrind (no memory errors, nothing lost at shutdown)"
make -s -C build valgrind || status=1

step "man pages render without warnings"
for f in man/*.8; do
	w=$(man --warnings -l "$f" 2>&1 >/dev/null) || true
	[ -z "$w" ] || { echo "$f: $w"; status=1; }
done

step "certutil tests"
BUILD_DIR="$top/build" bash tests/certutil/test-certutil.sh || status=1

step "qnetd faults: kill -9 under load, TLS reconnect storm, log on a full disk, listen address removed"
BUILD_DIR="$top/build" bash tests/faults/run.sh || status=1

step "Pacemaker's resource agent ocf:heartbeat:corosync-qnetd runs our corosync-qnetd (ocf-tester)"
BUILD_DIR="$top/build" bash tests/ocf/run.sh || status=1

step "corosync-qdevice on a real corosync node, with our qnetd and Debian's"
BUILD_DIR="$top/build" bash tests/qdevice/test-real.sh || status=1

step "capacity smoke test (decisions only; timings are in BENCHMARKS.md)"
BUILD_DIR="$top/build" python3 bench/compare --smoke || status=1
BUILD_DIR="$top/build" python3 bench/compare --smoke --modes tls --only ours \
	--tls-backend openssl || status=1

step "Debian packages: build, lintian, install over Debian's 3.0.3 in a throw-away copy of this host"
bash tests/packages/run.sh || status=1

step "real-cluster suite (our daemons; the interop matrix pairs them with Debian's 3.0.3)"
BUILD_DIR="$top/build" QNETD_FLAVOUR=ours QDEVICE_FLAVOUR=ours \
	python3 tests/cluster/run.py || status=1

exit $status
