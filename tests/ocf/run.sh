#!/bin/bash
# resource-agents' ocf:heartbeat:corosync-qnetd, unchanged, runs our
# corosync-qnetd: ocf-tester (start, monitor, stop, restart, start twice,
# stop twice) must pass, and after the last stop no process, lock file or
# local socket is left.  Debian's 3.0.3 is put through the same run for
# comparison; its result is printed, not asserted.
#
# Each run is in a private network namespace (nothing else's port 5403 is
# touched), as the agent's default user coroqnetd, with a throw-away NSS
# database passed through the agent's nss_db_dir.  Needs root.
# Environment: BUILD_DIR (default build/).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$top/build}
agent=/usr/lib/ocf/resource.d/heartbeat/corosync-qnetd
status=0

bad() {
	echo "FAIL: $*"
	status=1
}

for f in "$agent" /usr/sbin/ocf-tester "$build/qnetd/corosync-qnetd" \
    "$build/qnetd/corosync-qnetd-tool"; do
	[ -e "$f" ] || { echo "FAIL: $f is missing (scripts/deps.sh, build)"; exit 1; }
done
id coroqnetd >/dev/null 2>&1 || { echo "FAIL: no user coroqnetd"; exit 1; }

work=$(mktemp -d /tmp/qnet-ocf.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT

# The agent runs the daemon as coroqnetd: give it copies it can execute,
# wherever this checkout lives.
mkdir -p "$work/ours"
cp "$build/qnetd/corosync-qnetd" "$build/qnetd/corosync-qnetd-tool" "$work/ours/"
chmod 755 "$work/ours" "$work/ours"/*

# A CA and the server certificate, as corosync-qnetd-certutil -i makes them.
db=$work/nssdb
mkdir -p "$db"
echo > "$work/pw"
head -c 64 /dev/urandom > "$work/noise"
if ! {
	certutil -N -d "sql:$db" -f "$work/pw" &&
	printf 'y\n\ny\n' | certutil -d "sql:$db" -f "$work/pw" -z "$work/noise" \
	    -S -n "QNet CA" -s "CN=QNet CA" -x -t "CT,," -2 -v 12 -m 1 &&
	certutil -d "sql:$db" -f "$work/pw" -z "$work/noise" -S -n "QNetd Cert" \
	    -s "CN=Qnetd Server" -c "QNet CA" -t "u,u,u" -v 12 -m 2
} >"$work/certs.log" 2>&1; then
	cat "$work/certs.log"
	echo "FAIL: NSS database"
	exit 1
fi
chgrp -R coroqnetd "$db"
chmod 750 "$db"
chmod 640 "$db"/*

# run_tester NAME QNETD TOOL: ocf-tester's output in $work/NAME.out, and
# whatever the run left behind in $work/NAME.left.
run_tester() {
	local name=$1 qnetd=$2 tool=$3 run=$work/run-$1
	# shellcheck disable=SC2016
	unshare --net sh -c 'ip link set lo up && exec "$@"' sh \
	    ocf-tester -v -n "qnetd-$name" -o binary="$qnetd" \
	    -o qnetd_tool_binary="$tool" -o nss_db_dir="$db" \
	    -o pid="$run/qnetd.pid" -o ipc_sock="$run/qnetd.sock" \
	    "$agent" >"$work/$name.out" 2>&1 || true
	{
		[ ! -e "$run/qnetd.sock" ] || echo "local socket $run/qnetd.sock"
		[ ! -e "$run/qnetd.pid" ] || echo "lock file $run/qnetd.pid"
		local pid
		for pid in $(pgrep -f -- "$run/qnetd" || true); do
			echo "process $pid: $(tr '\0' ' ' < "/proc/$pid/cmdline")"
			kill "$pid" 2>/dev/null || true
		done
	} > "$work/$name.left"
}

summary() {
	grep -E '^\* rc=|passed all tests|failed [0-9]+ tests' "$work/$1.out" |
	    sed 's/^/    /'
}

echo "--- ocf:heartbeat:corosync-qnetd with our corosync-qnetd"
run_tester ours "$work/ours/corosync-qnetd" "$work/ours/corosync-qnetd-tool"
summary ours
if ! grep -q 'passed all tests' "$work/ours.out"; then
	sed 's/^/    | /' "$work/ours.out"
	bad "ocf-tester fails on our corosync-qnetd"
fi
if [ -s "$work/ours.left" ]; then
	sed 's/^/    left behind: /' "$work/ours.left"
	bad "the agent's last stop left our corosync-qnetd's traces behind"
fi

if [ -x /usr/bin/corosync-qnetd ] && [ -x /usr/bin/corosync-qnetd-tool ]; then
	echo "--- for comparison (not asserted): Debian's $(dpkg-query -W \
	    -f='${Version}' corosync-qnetd 2>/dev/null || echo '?')"
	run_tester debian /usr/bin/corosync-qnetd /usr/bin/corosync-qnetd-tool
	summary debian
	sed 's/^/    left behind: /' "$work/debian.left"
fi

[ "$status" = 0 ] && echo "ocf: ok"
exit "$status"
