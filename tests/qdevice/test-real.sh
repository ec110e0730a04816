#!/bin/bash
#
# corosync-qdevice against real corosync: one corosync 3 node of a two-node
# cluster (the other node is absent) in private network, mount and pid
# namespaces, with our corosync-qnetd and with Debian's /usr/bin/corosync-qnetd,
# plain and TLS.  Checks what corosync-quorumtool says about the Qdevice vote,
# the status output (byte for byte against Debian's corosync-qdevice where it
# is installed), reconnects, runtime heuristics changes, shutdown and
# configuration errors.
#
# Usage (root): tests/qdevice/test-real.sh [-v] [scenario...]
#   BUILD_DIR=<build dir> (default: <repo>/build); KEEP=1 keeps the logs
# Ends with "N passed, N failed"; exit status 0 only without failures.
# Everything runs in namespaces that die with the script: nothing is left
# behind, also on failure or interruption.
#
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$REPO/build}
BUILD_DIR=$(cd "$BUILD_DIR" 2>/dev/null && pwd || echo "$BUILD_DIR")

if [ "${QDT_INNER:-}" != 1 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "test-real: must run as root (namespaces, corosync)" >&2
		echo "0 passed, 1 failed"
		exit 1
	fi
	for b in corosync corosync-quorumtool corosync-cmapctl unshare ip \
	    python3; do
		if ! command -v "$b" >/dev/null; then
			echo "test-real: $b not found" >&2
			echo "0 passed, 1 failed"
			exit 1
		fi
	done
	WORK=$(mktemp -d /tmp/qdevice-real.XXXXXX) || exit 1
	if [ -n "${KEEP:-}" ]; then
		echo "test-real: logs kept in $WORK/log" >&2
	else
		trap 'rm -rf "$WORK"' EXIT
	fi
	# The pid namespace ends every process started inside when the
	# script's inner half exits; --kill-child ends that half if we die.
	QDT_INNER=1 WORK=$WORK BUILD_DIR=$BUILD_DIR unshare --net --mount \
	    --pid --fork --kill-child --mount-proc "$0" "$@"
	exit $?
fi

# ---------------------------------------------------------------------------
# Inside the namespaces

VERBOSE=0
if [ "${1:-}" = -v ]; then
	VERBOSE=1
	shift
fi
ONLY="$*"

OUR_QDEVICE=$BUILD_DIR/qdevice/corosync-qdevice
OUR_QDTOOL=$BUILD_DIR/qdevice/corosync-qdevice-tool
OUR_QNETD=$BUILD_DIR/qnetd/corosync-qnetd
DEB_QDEVICE=/usr/sbin/corosync-qdevice
DEB_QDTOOL=/usr/sbin/corosync-qdevice-tool
DEB_QNETD=/usr/bin/corosync-qnetd

ADDR=10.77.1.1
QD_SOCK=/run/corosync-qdevice/corosync-qdevice.sock
# Our binaries may be built with another prefix: give them 3.0.3's paths.
OUR_QD_PATHS="lock_file=/run/corosync-qdevice/corosync-qdevice.pid"
OUR_QD_PATHS+=",local_socket_file=$QD_SOCK"
OUR_QD_PATHS+=",net_nss_db_dir=/etc/corosync/qdevice/net/nssdb"
OUR_QN_PATHS="lock_file=/run/corosync-qnetd/corosync-qnetd.pid"
OUR_QN_PATHS+=",local_socket_file=/run/corosync-qnetd/corosync-qnetd.sock"
OUR_QN_PATHS+=",nss_db_dir=/etc/corosync/qnetd/nssdb"
# The node's partner is absent throughout: our qnetd would hold every first
# ACK for its restart grace (3.5 heartbeats, 28 s; corosync-qnetd(8), SAFETY
# AFTER A RESTART), which tests/cluster covers.  Here qnetd is only the peer.
OUR_QN_PATHS+=",ack_grace_coefficient=0"
# Nor does it keep decisions between the scenarios (DECISIONS THAT SURVIVE).
OUR_QN_PATHS+=",state_dir="

PASSED=0
FAILED=0
COROSYNC_PID=
QNETD_PID=
QDEVICE_PID=
LOG=$WORK/log
mkdir -p "$LOG"

say() { echo "$@"; }
debug() { [ "$VERBOSE" = 1 ] && echo "    $*"; return 0; }

pass() {
	PASSED=$((PASSED + 1))
	say "ok   - $*"
}

fail() {
	FAILED=$((FAILED + 1))
	say "FAIL - $*"
}

# check "description" command...: passes when the command succeeds.
check() {
	local what=$1
	shift
	if "$@"; then
		pass "$what"
	else
		fail "$what"
	fi
}

# wait_for seconds command...: poll until the command succeeds.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	while ! "$@" 2>/dev/null; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.25
	done
	return 0
}

setup_host() {
	mkdir -p "$WORK/etc" "$WORK/lib" "$WORK/logdir"
	mount --make-rprivate /
	mount --bind "$WORK/etc" /etc/corosync
	mount --bind "$WORK/lib" /var/lib/corosync
	mount --bind "$WORK/logdir" /var/log/corosync
	mount -t tmpfs tmpfs /run
	# libqb names its rings by pid, and our pids start at 1 again.
	mount -t tmpfs tmpfs /dev/shm
	ip link set lo up
	ip link add v0 type veth peer name v1
	ip addr add $ADDR/24 dev v0
	ip link set v0 up
	ip link set v1 up
}

# write_conf algorithm tls [votes] [extra lines for device {}] [totem lines]
write_conf() {
	local algo=$1 tls=$2 votes=${3-1} extra=${4-} totem=${5-}
	{
		echo "totem {"
		echo " version: 2"
		echo " cluster_name: demo"
		echo " transport: knet"
		echo " crypto_cipher: none"
		echo " crypto_hash: none"
		echo " token: 1000"
		[ -n "$totem" ] && echo "$totem"
		echo "}"
		echo "nodelist {"
		echo " node {"
		echo "  ring0_addr: $ADDR"
		echo "  nodeid: 1"
		echo "  name: n1"
		echo " }"
		echo " node {"
		echo "  ring0_addr: 10.77.1.2"
		echo "  nodeid: 2"
		echo "  name: n2"
		echo " }"
		echo "}"
		echo "quorum {"
		echo " provider: corosync_votequorum"
		echo " device {"
		[ -n "$votes" ] && echo "  votes: $votes"
		echo "  model: net"
		echo "  net {"
		echo "   host: $ADDR"
		echo "   algorithm: $algo"
		echo "   tie_breaker: lowest"
		echo "   tls: $tls"
		echo "  }"
		[ -n "$extra" ] && echo "$extra"
		echo " }"
		echo "}"
		echo "system {"
		echo " state_dir: /var/lib/corosync"
		echo "}"
		echo "logging {"
		echo " to_logfile: yes"
		echo " logfile: /var/log/corosync/corosync.log"
		echo " to_syslog: no"
		echo "}"
	} > /etc/corosync/corosync.conf
}

quorumtool() {
	corosync-quorumtool -s 2>/dev/null
	return 0
}

corosync_up() {
	quorumtool | grep -q '^Quorum provider'
}

start_corosync() {
	corosync -f -c /etc/corosync/corosync.conf > "$LOG/corosync.$1" 2>&1 &
	COROSYNC_PID=$!
	wait_for 20 corosync_up
}

stop_pid() {
	local pid=$1
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null
	for _ in $(seq 1 40); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.25
	done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

stop_all() {
	stop_pid "$QDEVICE_PID"
	QDEVICE_PID=
	stop_pid "$QNETD_PID"
	QNETD_PID=
	stop_pid "$COROSYNC_PID"
	COROSYNC_PID=
	rm -rf /run/corosync-qdevice /run/corosync-qnetd
}

# start_qnetd ours|debian tls-mode name
start_qnetd() {
	local mode=$2
	if [ "$1" = ours ]; then
		"$OUR_QNETD" -f -s "$mode" -S "$OUR_QN_PATHS" \
		    > "$LOG/qnetd.$3" 2>&1 &
	else
		[ "$mode" = required ] && mode=req
		"$DEB_QNETD" -f -s "$mode" > "$LOG/qnetd.$3" 2>&1 &
	fi
	QNETD_PID=$!
	sleep 0.3
}

# start_qdevice ours|debian name [more -S settings]
start_qdevice() {
	if [ "$1" = ours ]; then
		"$OUR_QDEVICE" -f -d -S "$OUR_QD_PATHS${3:+,$3}" \
		    > "$LOG/qdevice.$2" 2>&1 &
	else
		"$DEB_QDEVICE" -f -d > "$LOG/qdevice.$2" 2>&1 &
	fi
	QDEVICE_PID=$!
}

qdtool() {
	"$OUR_QDTOOL" -p "$QD_SOCK" "$@"
}

status() {
	qdtool -s "$@" 2>/dev/null
}

# The local node's Qdevice flags in corosync-quorumtool -s: "A,V,NMW".
local_qdevice_flags() {
	quorumtool | awk '/\(local\)/ { if (NF >= 5) print $3 }'
}

has_vote() {
	quorumtool | grep -q '^Quorate: *Yes' &&
	    local_qdevice_flags | tr , '\n' | grep -qx V
}

lost_vote() {
	local f
	f=$(local_qdevice_flags)
	[ -n "$f" ] && ! echo "$f" | tr , '\n' | grep -qx V
}

# The device's row: "0 1 Qdevice", or "0 0 Qdevice (votes 1)" when dead.
registered() {
	quorumtool | grep -Eq ' Qdevice( \(votes [0-9]+\))?$'
}

unregistered() {
	quorumtool | grep -q '^Membership information' && ! registered
}

status_has() {
	status -v | grep -qF -- "$1"
}

connected() {
	status_has "$(printf 'State:\t\t\tConnected')"
}

qdevice_exited() {
	! kill -0 "$QDEVICE_PID" 2>/dev/null
}

dump_logs() {
	local name=$1
	[ "$VERBOSE" = 1 ] || return 0
	for f in "$LOG"/*."$name"; do
		[ -f "$f" ] || continue
		echo "    --- $f"
		tail -n 30 "$f" | sed 's/^/    /'
	done
}

# The JSON status, field by field: json_field PATH... prints each value.
json_field() {
	qdtool -s --json | python3 -c '
import json, sys
j = json.load(sys.stdin)
for p in sys.argv[1:]:
    v = j
    for k in p.split("."):
        v = v[int(k)] if isinstance(v, list) else v[k]
    print(v)
' "$@"
}

# A file of hook environments in $1 with every line given.
hook_saw() {
	local dir=$1 f l ok
	shift
	for f in "$dir"/ev.*; do
		[ -f "$f" ] || continue
		ok=1
		for l in "$@"; do
			grep -qxF -- "$l" "$f" || { ok=0; break; }
		done
		[ $ok = 1 ] && return 0
	done
	return 1
}

# --follow output $1 has lines matching $2, $3, ... in this order.
follow_saw() {
	local file=$1 n=0 pat
	shift
	for pat in "$@"; do
		n=$(tail -n +$((n + 1)) "$file" | grep -nF -m1 -- "$pat" |
		    cut -d: -f1 | awk -v base=$n '{ print base + $1 }')
		[ -n "$n" ] || return 1
	done
}

# A line of the qdevice log of scenario $1 containing $2.
qd_logged() {
	grep -qF -- "$2" "$LOG/qdevice.$1"
}

# JSON status: the fields a script relies on.
json_ok() {
	qdtool -s --json | python3 -c '
import json, sys
j = json.load(sys.stdin)
assert j["version"] == 1, j
assert j["model"] == "net"
assert j["node_id"] == 1
assert j["net"]["state"] == "connected", j["net"]["state"]
assert j["net"]["poll_cast_vote"] is True
assert j["net"]["algorithm"] == sys.argv[1], j["net"]["algorithm"]
assert [n["node_id"] for n in j["config_node_list"]] == [1, 2]
assert j["membership_node_list"] == [1]
assert j["quorate"] is True
' "$1"
}

selected() {
	[ -z "$ONLY" ] && return 0
	for s in $ONLY; do
		[ "$s" = "$1" ] && return 0
	done
	return 1
}

# ---------------------------------------------------------------------------
# Certificates for TLS, made by the 3.0.3 certutil scripts: CA and server
# certificate on the "qnetd host", cluster certificate for "demo".

make_certs() {
	[ -d /etc/corosync/qnetd/nssdb ] && return 0
	corosync-qnetd-certutil -i >"$LOG/certs" 2>&1 &&
	corosync-qdevice-net-certutil -i \
	    -c /etc/corosync/qnetd/nssdb/qnetd-cacert.crt >>"$LOG/certs" 2>&1 &&
	corosync-qdevice-net-certutil -r -n demo >>"$LOG/certs" 2>&1 &&
	corosync-qnetd-certutil -s -n demo \
	    -c /etc/corosync/qdevice/net/nssdb/qdevice-net-node.crq \
	    >>"$LOG/certs" 2>&1 &&
	corosync-qdevice-net-certutil -M \
	    -c /etc/corosync/qnetd/nssdb/cluster-demo.crt >>"$LOG/certs" 2>&1
}

# ---------------------------------------------------------------------------
# Scenarios

# The vote with each qnetd, algorithm and TLS mode; then a clean shutdown
# unregisters the device.
scenario_vote() {
	local qnetd=$1 algo=$2 tls=$3 name="vote-$1-$2-$3"
	local votes=1 qnetd_tls=off
	[ "$algo" = ffsplit ] || votes=
	[ "$tls" = off ] || qnetd_tls=on
	if [ "$tls" != off ] && ! make_certs; then
		fail "$name: certificates (see $LOG/certs)"
		return
	fi
	write_conf "$algo" "$tls" "$votes"
	if ! start_corosync "$name"; then
		fail "$name: corosync starts"
		stop_all
		return
	fi
	start_qnetd "$qnetd" "$qnetd_tls" "$name"
	start_qdevice ours "$name"
	if wait_for 25 has_vote; then
		pass "$name: corosync counts the Qdevice vote"
	else
		fail "$name: corosync counts the Qdevice vote"
		debug "$(quorumtool)"
		dump_logs "$name"
		stop_all
		return
	fi
	check "$name: status says Connected, casting" \
	    status_has "$(printf 'Poll timer running:\tYes (cast vote)')"
	if [ "$tls" != off ]; then
		check "$name: TLS with the client certificate" status_has \
		    "$(printf 'TLS active:\t\tYes (client certificate sent)')"
	else
		check "$name: no TLS" status_has "$(printf 'TLS active:\t\tNo')"
	fi
	check "$name: JSON status" json_ok "$algo"
	check "$name: JSON vote ack, from qnetd" [ "$(json_field net.vote \
	    net.vote_reason_id)" = "$(printf 'ack\nqnetd')" ]
	check "$name: logged: connected" qd_logged "$name" \
	    "notice  Connected to qnetd"
	check "$name: logged: vote change and reason" qd_logged "$name" \
	    " to ACK: ACK from qnetd ("
	qdtool -H >/dev/null 2>&1
	if wait_for 10 qdevice_exited && wait "$QDEVICE_PID"; then
		pass "$name: -H ends the daemon with status 0"
	else
		fail "$name: -H ends the daemon with status 0"
	fi
	QDEVICE_PID=
	check "$name: device unregistered after shutdown" \
	    wait_for 10 unregistered
	stop_all
}

# ffsplit: qnetd goes away -> NACK (vote lost), comes back -> vote again.
scenario_reconnect() {
	local qnetd=$1 name="reconnect-$1"

	local evdir="$LOG/events.$name" follow="$LOG/follow.$name" fpid

	write_conf ffsplit off 1
	start_corosync "$name" || { fail "$name: corosync"; stop_all; return; }
	start_qnetd "$qnetd" off "$name"
	# The event hook writes its environment to a file per event.
	mkdir -p "$evdir"
	printf '#!/bin/sh\nenv | grep "^QDEVICE_" | sort > "%s/ev.$QDEVICE_SEQUENCE"\n' \
	    "$evdir" > "$evdir/hook"
	chmod +x "$evdir/hook"
	start_qdevice ours "$name" "event_hook=$evdir/hook"
	if ! wait_for 25 has_vote; then
		fail "$name: first vote"
		dump_logs "$name"
		stop_all
		return
	fi
	qdtool --follow > "$follow" 2>&1 &
	fpid=$!
	sleep 0.5
	stop_pid "$QNETD_PID"
	QNETD_PID=
	# Echo every 8 s: the loss is seen within 16 s, NACK is immediate.
	check "$name: qnetd gone -> vote withdrawn (NACK)" wait_for 25 lost_vote
	check "$name: hook: vote_changed to nack, connection lost" wait_for 10 \
	    hook_saw "$evdir" "QDEVICE_EVENT=vote_changed" "QDEVICE_VOTE=nack" \
	    "QDEVICE_REASON=connection to qnetd lost: Server closed connection" \
	    "QDEVICE_CLUSTER=demo" "QDEVICE_NODE_ID=1"
	check "$name: JSON: events emitted and run" [ "$(json_field \
	    events.failures events.dropped)" = "$(printf '0\n0')" -a \
	    "$(json_field events.hook_runs)" -ge 3 ]
	check "$name: hook: disconnected" hook_saw "$evdir" \
	    "QDEVICE_EVENT=disconnected" \
	    "QDEVICE_REASON=Server closed connection"
	check "$name: --follow: disconnected, then the NACK" follow_saw \
	    "$follow" '"event":"disconnected"' \
	    '"event":"vote_changed","cluster":"demo","node_id":1,"vote":"nack"'
	check "$name: logged: connection lost" qd_logged "$name" \
	    "notice  Disconnected from qnetd $ADDR:5403: Server closed connection"
	check "$name: logged: NACK, connection lost" qd_logged "$name" \
	    "notice  Vote changed from ACK to NACK: connection to qnetd lost: Server closed connection"
	check "$name: JSON vote nack, connection lost" [ "$(json_field \
	    net.vote net.vote_reason_id)" = "$(printf 'nack\nconnection_lost')" ]
	check "$name: still polling without the vote" status_has \
	    "$(printf 'Poll timer running:\tYes\n')"
	check "$name: daemon keeps running" kill -0 "$QDEVICE_PID"
	start_qnetd "$qnetd" off "$name-2"
	# Next attempt after the connect timeout (8 s) plus the jitter.
	check "$name: qnetd back -> vote again" wait_for 30 has_vote
	check "$name: connected again" connected
	check "$name: --follow: connected again, then the ACK" follow_saw \
	    "$follow" '"event":"connected"' '"vote":"ack"'
	stop_all
	wait "$fpid" 2>/dev/null
}

# Heuristics: results shown, and a command changed at runtime through cmap
# is picked up by the regular runs (mode on, interval 1 s).
scenario_heuristics() {
	local qnetd=$1 name="heuristics-$1"
	local h="  heuristics {
   mode: on
   interval: 1000
   exec_ok: /bin/true
  }"

	write_conf ffsplit off 1 "$h"
	start_corosync "$name" || { fail "$name: corosync"; stop_all; return; }
	start_qnetd "$qnetd" off "$name"
	start_qdevice ours "$name"
	if ! wait_for 25 has_vote; then
		fail "$name: vote with heuristics on"
		dump_logs "$name"
		stop_all
		return
	fi
	check "$name: result Pass" status_has \
	    "$(printf 'Heuristics result:\tPass (regular: ')"
	check "$name: JSON exec ok passed, exit status 0" [ "$(json_field \
	    heuristics_execs.0.name heuristics_execs.0.result \
	    heuristics_execs.0.exit_status)" = "$(printf 'ok\npass\n0')" ]
	corosync-cmapctl -s quorum.device.heuristics.exec_ok str /bin/false \
	    >/dev/null
	check "$name: changed command -> Fail" wait_for 10 status_has \
	    "$(printf 'Heuristics result:\tFail (regular: Fail')"
	check "$name: still connected" connected
	check "$name: JSON exec ok failed, exit status 1" [ "$(json_field \
	    heuristics_execs.0.result heuristics_execs.0.exit_status)" = \
	    "$(printf 'fail\n1')" ]
	check "$name: logged: heuristics result change" qd_logged "$name" \
	    "Heuristics result changed from Pass to Fail"
	# Regular runs an hour apart: only --run-heuristics sees the fix.
	corosync-cmapctl -s quorum.device.heuristics.interval str 3600000 \
	    >/dev/null
	sleep 2
	corosync-cmapctl -s quorum.device.heuristics.exec_ok str /bin/true \
	    >/dev/null
	sleep 1
	check "$name: no run of its own within the hour" status_has \
	    "$(printf 'Heuristics result:\tFail (regular: Fail')"
	check "$name: --run-heuristics starts a run" [ "$(qdtool \
	    --run-heuristics)" = "Heuristics run started" ]
	check "$name: --run-heuristics -> Pass" wait_for 10 status_has \
	    "$(printf 'Heuristics result:\tPass (regular: Pass')"
	corosync-cmapctl -s quorum.device.heuristics.mode str off >/dev/null
	check "$name: mode off at runtime" wait_for 5 status_has \
	    "$(printf 'Heuristics:\t\tDisabled')"
	out=$(qdtool --run-heuristics 2>&1); rc=$?
	check "$name: --run-heuristics with mode off: exit 4" [ $rc = 4 -a \
	    "$out" = "Error: Heuristics are disabled" ]
	stop_all
}

# A configuration reload (corosync-cfgtool -R) that adds a node: the new
# node list goes to qnetd ("changed" config list), and with ffsplit one node
# of three no longer has the majority: the vote goes.
scenario_reload() {
	local qnetd=$1 name="reload-$1"

	write_conf ffsplit off 1
	start_corosync "$name" || { fail "$name: corosync"; stop_all; return; }
	start_qnetd "$qnetd" off "$name"
	start_qdevice ours "$name"
	if ! wait_for 25 has_vote; then
		fail "$name: first vote"
		dump_logs "$name"
		stop_all
		return
	fi
	sed -i 's/^nodelist {$/nodelist {\n node {\n  ring0_addr: 10.77.1.3\n  nodeid: 3\n  name: n3\n }/' \
	    /etc/corosync/corosync.conf
	corosync-cfgtool -R >/dev/null 2>&1
	check "$name: node list re-read" wait_for 10 status_has \
	    "$(printf '\tNode ID = 3')"
	check "$name: 1 of 3 nodes -> vote withdrawn" wait_for 15 lost_vote
	check "$name: still connected" connected
	check "$name: qnetd got the new list" wait_for 5 qnetd_has_nodes \
	    "$qnetd" "3, 1, 2"
	stop_all
}

# corosync-qnetd-tool -l shows the configured node list the server got.
qnetd_has_nodes() {
	local tool=corosync-qnetd-tool
	[ "$1" = ours ] && tool="$BUILD_DIR/qnetd/corosync-qnetd-tool -p \
	    /run/corosync-qnetd/corosync-qnetd.sock"
	$tool -l | grep -qF "$(printf 'Configured node list:\t%s' "$2")"
}

mask_times() {
	sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}/TIME/'
}

# Status output byte for byte against Debian's corosync-qdevice.
scenario_status_compare() {
	local name=status-compare
	local conf totem h

	if [ ! -x "$DEB_QDEVICE" ] || [ ! -x "$DEB_QDTOOL" ]; then
		say "skip - $name: Debian's corosync-qdevice is not installed"
		return
	fi
	for conf in plain tls lms-node-tb heuristics-sync disconnected; do
		totem=
		h=
		case $conf in
		plain)
			write_conf ffsplit off 1 ;;
		tls)
			make_certs || { fail "$name-$conf: certificates"; \
			    continue; }
			write_conf ffsplit on 1 ;;
		lms-node-tb)
			totem=" config_version: 3"
			write_conf lms off "" "" "$totem"
			sed -i 's/tie_breaker: lowest/tie_breaker: 2/' \
			    /etc/corosync/corosync.conf ;;
		heuristics-sync)
			h="  heuristics {
   mode: sync
   exec_a: /bin/true
  }"
			write_conf ffsplit off 1 "$h" ;;
		disconnected)
			write_conf 2nodelms off "" \
			    "  timeout: 20000" ;;
		esac
		start_corosync "$name-$conf" ||
		    { fail "$name-$conf: corosync"; stop_all; continue; }
		case $conf in
		tls) start_qnetd debian on "$name-$conf" ;;
		disconnected) ;;
		*) start_qnetd debian off "$name-$conf" ;;
		esac
		for flavour in debian ours; do
			start_qdevice $flavour "$name-$conf-$flavour"
			if [ $conf = disconnected ]; then
				# connect_timeout 16 s: still in the first
				# attempt, which failed at once.
				wait_for 10 status_has \
				    "$(printf 'State:\t\t\tConnect failed')"
			else
				wait_for 25 has_vote
				wait_for 10 status_has "$(printf \
				    'Poll timer running:\tYes (cast vote)')"
			fi
			status > "$LOG/status.$conf.$flavour"
			status -v | mask_times > "$LOG/status-v.$conf.$flavour"
			qdtool -H >/dev/null 2>&1
			wait_for 10 qdevice_exited
			wait "$QDEVICE_PID" 2>/dev/null
			QDEVICE_PID=
			wait_for 10 unregistered
		done
		if [ -s "$LOG/status.$conf.ours" ] &&
		    cmp -s "$LOG/status.$conf.debian" "$LOG/status.$conf.ours"
		then
			pass "$name: '$conf' status identical to 3.0.3's"
		else
			fail "$name: '$conf' status identical to 3.0.3's"
			diff "$LOG/status.$conf.debian" "$LOG/status.$conf.ours" |
			    sed 's/^/    /'
		fi
		if [ -s "$LOG/status-v.$conf.ours" ] &&
		    cmp -s "$LOG/status-v.$conf.debian" \
		    "$LOG/status-v.$conf.ours"; then
			pass "$name: '$conf' verbose status identical to 3.0.3's"
		else
			fail "$name: '$conf' verbose status identical to 3.0.3's"
			diff "$LOG/status-v.$conf.debian" \
			    "$LOG/status-v.$conf.ours" | sed 's/^/    /'
		fi
		stop_all
	done
}

# Bad configuration: refused at start, exit 1, message names key and value.
scenario_config_errors() {
	local name=config-errors out

	write_conf ffsplit off ""
	start_corosync "$name" || { fail "$name: corosync"; stop_all; return; }
	out=$("$OUR_QDEVICE" -f -S "$OUR_QD_PATHS" 2>&1)
	check "$name: ffsplit without votes: exit 1" [ $? = 1 ]
	check "$name: ffsplit without votes: message" grep -q \
	    "quorum.device.votes configuration key is set to 1" <<<"$out"
	# As 3.0.3: an error before the main loop leaves it registered.
	check "$name: device left registered (as 3.0.3)" registered
	corosync-cmapctl -s quorum.device.votes u32 1 >/dev/null
	corosync-cmapctl -s quorum.device.net.tie_breaker str lowestt >/dev/null
	out=$("$OUR_QDEVICE" -f -S "$OUR_QD_PATHS" 2>&1)
	check "$name: bad tie_breaker: exit 1" [ $? = 1 ]
	check "$name: bad tie_breaker: key, value and allowed values" grep -q \
	    "quorum.device.net.tie_breaker: invalid value 'lowestt' (allowed: lowest, highest" \
	    <<<"$out"
	corosync-cmapctl -s quorum.device.net.tie_breaker str lowest >/dev/null
	corosync-cmapctl -s quorum.device.heuristics.timeout str 500 >/dev/null
	out=$("$OUR_QDEVICE" -f -S "$OUR_QD_PATHS" 2>&1)
	check "$name: heuristics timeout below range: exit 1" [ $? = 1 ]
	check "$name: heuristics timeout: message" grep -q \
	    "quorum.device.heuristics.timeout: invalid value '500' (allowed: an integer 1000-120000)" \
	    <<<"$out"
	corosync-cmapctl -d quorum.device.heuristics.timeout >/dev/null
	out=$("$OUR_QDEVICE" -f -S "$OUR_QD_PATHS,max_cs_try_again=0" 2>&1)
	check "$name: bad -S value: exit 1" [ $? = 1 ]
	check "$name: bad -S value: message" grep -qx \
	    "corosync-qdevice: Invalid value '0' for option 'max_cs_try_again'" \
	    <<<"$out"
	# A second instance is refused by the lock file.
	start_qdevice ours "$name"
	wait_for 10 [ -S "$QD_SOCK" ]
	out=$("$OUR_QDEVICE" -f -S "$OUR_QD_PATHS" 2>&1)
	check "$name: second instance: exit 1" [ $? = 1 ]
	check "$name: second instance: message" grep -q \
	    "Another instance is running" <<<"$out"
	stop_all
}

# How the daemon ends: corosync going away or the heuristics worker dying
# end it with status 1 (systemd restarts it); without -f it detaches.
scenario_exits() {
	local name=exits worker pid rc

	write_conf ffsplit off 1
	start_corosync "$name" || { fail "$name: corosync"; stop_all; return; }
	start_qnetd ours off "$name"
	start_qdevice ours "$name"
	wait_for 25 has_vote
	worker=$(ps -o pid= --ppid "$QDEVICE_PID" | head -n 1 | tr -d ' ')
	check "$name: heuristics worker runs" [ -n "$worker" ]
	[ -n "$worker" ] && kill -9 "$worker"
	wait_for 10 qdevice_exited
	wait "$QDEVICE_PID"; rc=$?
	check "$name: worker killed -> exit 1" [ $rc = 1 ]
	# As 3.0.3: leaving the main loop unregisters the device.
	check "$name: worker killed -> device unregistered" unregistered
	QDEVICE_PID=

	start_qdevice ours "$name-2"
	wait_for 25 has_vote
	stop_pid "$COROSYNC_PID"
	COROSYNC_PID=
	wait_for 10 qdevice_exited
	wait "$QDEVICE_PID"; rc=$?
	check "$name: corosync gone -> exit 1" [ $rc = 1 ]
	QDEVICE_PID=
	stop_all

	start_corosync "$name-3" || { fail "$name: corosync"; stop_all; return; }
	start_qnetd ours off "$name-3"
	"$OUR_QDEVICE" -S "$OUR_QD_PATHS" > "$LOG/qdevice.$name-3" 2>&1
	check "$name: without -f the starting process exits 0" [ $? = 0 ]
	check "$name: daemon serves its socket" wait_for 10 [ -S "$QD_SOCK" ]
	check "$name: daemon gets the vote" wait_for 25 has_vote
	pid=$(cat /run/corosync-qdevice/corosync-qdevice.pid 2>/dev/null)
	check "$name: lock file holds the daemon's pid" kill -0 "${pid:-0}"
	qdtool -H >/dev/null 2>&1
	check "$name: daemon stops on -H" wait_for 10 \
	    eval "! kill -0 ${pid:-0} 2>/dev/null"
	check "$name: device unregistered" wait_for 10 unregistered
	stop_all
}

# The tool and the daemon's command line, without corosync.
scenario_cli() {
	local name=cli out rc
	out=$("$OUR_QDTOOL" 2>&1); rc=$?
	check "$name: tool without operation: usage, exit 1" \
	    [ $rc = 1 -a "$out" = "usage: corosync-qdevice-tool [-Hhsv] [-p qdevice_ipc_socket_path] [--json] [--run-heuristics] [--follow] [--metrics]" ]
	out=$("$OUR_QDTOOL" -s -p /run/nothing.sock 2>&1); rc=$?
	check "$name: tool without daemon: exit 3" [ $rc = 3 ]
	check "$name: tool without daemon: message" grep -q \
	    "Can't connect to QDevice socket (is QDevice running?): No such file or directory" \
	    <<<"$out"
	out=$("$OUR_QDEVICE" -h 2>&1); rc=$?
	check "$name: daemon -h: usage, exit 1" [ $rc = 1 -a "$out" = \
	    "usage: corosync-qdevice [-dfh] [-S option=value[,option2=value2,...]]" ]
	out=$("$OUR_QDEVICE" -S foo=1 2>&1); rc=$?
	check "$name: unknown -S name" [ $rc = 1 -a "$out" = \
	    "corosync-qdevice: Unknown option 'foo'" ]
	out=$("$OUR_QDEVICE" -S master_wins=maybe 2>&1); rc=$?
	check "$name: bad master_wins" [ $rc = 1 -a "$out" = \
	    "corosync-qdevice: Invalid value 'maybe' for option 'master_wins'" ]
	# Accepted (10 or more) and ignored, as the man page says.
	out=$("$OUR_QDEVICE" -S heuristics_ipc_max_send_buffers=9 2>&1); rc=$?
	check "$name: heuristics_ipc_max_send_buffers below 10" [ $rc = 1 -a \
	    "$out" = "corosync-qdevice: Invalid value '9' for option 'heuristics_ipc_max_send_buffers'" ]
	out=$("$OUR_QDEVICE" -f -S \
	    "$OUR_QD_PATHS,heuristics_ipc_max_send_buffers=10" 2>&1); rc=$?
	check "$name: heuristics_ipc_max_send_buffers=10 accepted" [ $rc = 1 ]
	check "$name: heuristics_ipc_max_send_buffers=10: on to cmap" grep -q \
	    "Failed to initialize the cmap API" <<<"$out"
	out=$("$OUR_QDEVICE" -f -S "$OUR_QD_PATHS" 2>&1); rc=$?
	check "$name: no corosync: exit 1" [ $rc = 1 ]
	check "$name: no corosync: message" grep -q \
	    "Failed to initialize the cmap API" <<<"$out"
}

# tls: on against a qnetd with TLS off: the connection goes on in plain text
# (as in 3.0.3), and a warning says so at the default log level (no -d).
scenario_tls_plain() {
	local qnetd=$1 name="tls-plain-$1"

	if ! make_certs; then
		fail "$name: certificates (see $LOG/certs)"
		return
	fi
	write_conf ffsplit on 1
	start_corosync "$name" || { fail "$name: corosync"; stop_all; return; }
	start_qnetd "$qnetd" off "$name"
	"$OUR_QDEVICE" -f -S "$OUR_QD_PATHS" > "$LOG/qdevice.$name" 2>&1 &
	QDEVICE_PID=$!
	if ! wait_for 25 has_vote; then
		fail "$name: vote over plain text"
		dump_logs "$name"
		stop_all
		return
	fi
	check "$name: no TLS" status_has "$(printf 'TLS active:\t\tNo')"
	check "$name: warning at the default level" grep -q \
	    "warning.*qnetd does not support TLS: this connection is in plain text" \
	    "$LOG/qdevice.$name"
	stop_all
}

# The cluster certificate renewed under a running qdevice (tls: required,
# qnetd requires it): SIGHUP says which certificate the next handshake
# sends and keeps the connection and the vote; after qnetd comes back the
# new certificate (the old one and its key deleted) gets the vote again.
scenario_tls_rotate() {
	local qnetd=$1 name="tls-rotate-$1" db=/etc/corosync/qdevice/net/nssdb

	if ! make_certs; then
		fail "$name: certificates (see $LOG/certs)"
		return
	fi
	write_conf ffsplit required 1
	start_corosync "$name" || { fail "$name: corosync"; stop_all; return; }
	start_qnetd "$qnetd" on "$name"
	start_qdevice ours "$name"
	if ! wait_for 25 has_vote; then
		fail "$name: first vote"
		dump_logs "$name"
		stop_all
		return
	fi
	if corosync-qdevice-net-certutil -r -n demo >>"$LOG/certs" 2>&1 &&
	    corosync-qnetd-certutil -s -n demo -c "$db/qdevice-net-node.crq" \
	    >>"$LOG/certs" 2>&1 &&
	    certutil -F -d "sql:$db" -n "Cluster Cert" -f "$db/pwdfile.txt" \
	    >>"$LOG/certs" 2>&1 &&
	    corosync-qdevice-net-certutil -M \
	    -c /etc/corosync/qnetd/nssdb/cluster-demo.crt >>"$LOG/certs" 2>&1
	then
		pass "$name: certificate renewed, the old one deleted with its key"
	else
		fail "$name: certificate renewed (see $LOG/certs)"
		stop_all
		return
	fi
	kill -HUP "$QDEVICE_PID"
	check "$name: SIGHUP names the certificate of the next connection" \
	    wait_for 5 grep -q "Client certificate 'Cluster Cert' (CN=demo, valid until .*) is used from the next connection" \
	    "$LOG/qdevice.$name"
	check "$name: still connected with the vote after SIGHUP" \
	    eval 'connected && has_vote'
	stop_pid "$QNETD_PID"
	QNETD_PID=
	check "$name: qnetd gone -> vote withdrawn" wait_for 25 lost_vote
	start_qnetd "$qnetd" on "$name-2"
	check "$name: qnetd back -> vote again with the new certificate" \
	    wait_for 40 has_vote
	check "$name: TLS with the client certificate" status_has \
	    "$(printf 'TLS active:\t\tYes (client certificate sent)')"
	stop_all
}

# ---------------------------------------------------------------------------

main() {
	local missing=0
	for b in "$OUR_QDEVICE" "$OUR_QDTOOL" "$OUR_QNETD"; do
		if [ ! -x "$b" ]; then
			say "FAIL - not built: $b"
			missing=1
		fi
	done
	if [ $missing = 1 ]; then
		echo "0 passed, 1 failed"
		exit 1
	fi
	setup_host

	selected cli && scenario_cli
	for q in ours debian; do
		if [ $q = debian ] && [ ! -x "$DEB_QNETD" ]; then
			say "skip - Debian's corosync-qnetd is not installed"
			continue
		fi
		selected vote && {
			scenario_vote $q ffsplit off
			scenario_vote $q ffsplit on
			scenario_vote $q lms off
			scenario_vote $q 2nodelms required
		}
		selected reconnect && scenario_reconnect $q
		selected heuristics && scenario_heuristics $q
		selected reload && scenario_reload $q
		selected tls-plain && scenario_tls_plain $q
		selected tls-rotate && scenario_tls_rotate $q
	done
	selected compare && scenario_status_compare
	selected errors && scenario_config_errors
	selected exits && scenario_exits

	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" = 0 ]
}

main
