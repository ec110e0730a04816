#!/bin/bash
# Fault scenarios against the real corosync-qnetd, driven by bench/qnet-load
# (simulated qdevice clients that reconnect like qdevice does: -C is its
# 8 s connect timer, -J its random reconnect delay):
#
#   kill9      qnetd is killed with SIGKILL and restarted while 1000 clients
#              are connected; a split of every cluster is decided while they
#              reconnect.  All get their votes back, and no cluster ever has
#              ACK in two partitions at once (qnet-load's double_ack).
#   storm      several thousand TLS clients connect at once, each giving up
#              and reconnecting when its 8 s connect timer expires, as
#              qdevice does (PROTOCOL.md §14.1, §14.3): all get their votes,
#              qnetd survives.
#   diskfull   qnetd's log goes to /dev/full (-d, every line fails): it
#              serves on.
#   listenaddr qnetd listens on an address in a network namespace; the
#              address is removed and comes back, then the namespace is
#              deleted under the running daemon.  It logs both events,
#              answers its local socket throughout, the clients get their
#              votes back, and it stops cleanly.
#
# Every check prints "ok" or "FAIL"; the script ends with "N passed, N
# failed" and exits non-zero when something failed.  It cleans up every
# process and namespace it started.  Root is needed for the namespace
# scenario (skipped with a note otherwise).
#
# Environment: BUILD_DIR (default: build next to this tree), KEEP=1 keeps
# the scratch directory (logs), SCENARIOS (default: all, space-separated).
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$top/build}
qnetd=$build/qnetd/corosync-qnetd
tool=$build/qnetd/corosync-qnetd-tool
load=$build/bench/qnet-load
scenarios=${SCENARIOS:-kill9 storm diskfull listenaddr}

work=$(mktemp -d /tmp/qnetd-faults.XXXXXX)
pids=()
netns=""
passed=0
failed=0

cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null
	done
	[ -n "$netns" ] && ip netns del "$netns" 2>/dev/null
	if [ "${KEEP:-0}" = 1 ] || [ "$failed" -ne 0 ]; then
		echo "scratch directory kept: $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() {
	echo "ok   $*"
	passed=$((passed + 1))
}

bad() {
	echo "FAIL $*"
	failed=$((failed + 1))
}

# check DESCRIPTION COMMAND...: the command's success is the check's.
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}

now() {
	date +%s.%N
}

# field FILE PHASE NAME: a value of qnet-load's RESULT line of PHASE (the
# last one of that phase).
field() {
	grep "^RESULT {\"phase\":\"$2\"" "$1" | tail -1 |
	    sed -n "s/.*\"$3\":\([^,}]*\).*/\1/p"
}

# sum_field FILE NAME: the sum over all RESULT lines.
sum_field() {
	grep '^RESULT' "$1" | sed -n "s/.*\"$2\":\([^,}]*\).*/\1/p" |
	    awk '{ s += $1 } END { print s + 0 }'
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# listening PORT [NETNS]: something listens on the TCP port.
listening() {
	local cmd=(ss -Hltn "sport = :$1")
	if [ -n "${2:-}" ]; then
		ip netns exec "$2" "${cmd[@]}" | grep -q .
	else
		"${cmd[@]}" | grep -q .
	fi
}

# wait_for SECONDS COMMAND...: poll until the command succeeds.
wait_for() {
	local deadline=$(( $(date +%s) + $1 ))
	shift
	until "$@"; do
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		sleep 0.05
	done
}

alive() {
	kill -0 "$1" 2>/dev/null
}

# start_qnetd DIR PORT [ARGS...]: qnetd in the foreground with debug
# messages, its log in DIR/log, its pid in $qpid.  Runs in $ns_exec's
# namespace when that is set.
start_qnetd() {
	local dir=$1 port=$2
	shift 2
	mkdir -p "$dir"
	${ns_exec:-} "$qnetd" -f -d -p "$port" \
	    -S "lock_file=$dir/qnetd.pid,local_socket_file=$dir/qnetd.sock,state_dir=$dir" \
	    "$@" >>"$dir/log" 2>&1 &
	qpid=$!
	pids+=("$qpid")
}

# stop_qnetd PID: SIGTERM, and it must exit 0.
stop_qnetd() {
	local rc
	kill -TERM "$1" 2>/dev/null
	wait "$1"
	rc=$?
	[ "$rc" -eq 0 ]
}

# no_crash LOG: nothing a sanitizer or a crash would print.
no_crash() {
	! grep -Eq 'AddressSanitizer|runtime error|LeakSanitizer|Segmentation|crit ' "$1"
}

# load_ok FILE PHASE: every client holds its expected vote at the end.
load_ok() {
	[ "$(field "$1" "$2" all_decided)" = true ] &&
	    [ "$(field "$1" "$2" missing)" = 0 ] &&
	    [ "$(field "$1" "$2" wrong)" = 0 ]
}

no_split_brain() {
	[ "$(sum_field "$1" double_ack)" = 0 ]
}

# ------------------------------------------------------------------------

scenario_kill9() {
	local dir=$work/kill9 port t_kill t_up back
	echo "--- kill9: SIGKILL and restart under 1000 clients, split during recovery"
	mkdir -p "$dir"
	port=$(free_port)
	start_qnetd "$dir" "$port" -s off -l 127.0.0.1
	wait_for 10 listening "$port" || { bad "kill9: qnetd starts"; return; }
	# connect; 12 s steady (the kill 10 s in); the split 2 s after it, while
	# clients reconnect; 12 s for everything to settle.
	"$load" -p "$port" -c 500 -n 2 -b 8000 -C 8000 -J 4500 -s 12 -t 60 \
	    -x connect,steady,storm,steady >"$dir/load.out" 2>"$dir/load.err" &
	local lpid=$!
	pids+=("$lpid")
	wait_for 60 grep -q '"phase":"connect"' "$dir/load.out" ||
	    { bad "kill9: clients connect"; return; }
	sleep 10
	kill -KILL "$qpid"
	wait "$qpid" 2>/dev/null
	t_kill=$(now)
	sleep 1
	start_qnetd "$dir" "$port" -s off -l 127.0.0.1
	wait_for 10 listening "$port" || { bad "kill9: qnetd restarts"; return; }
	t_up=$(now)
	wait "$lpid"
	check "kill9: all 1000 clients hold their expected vote at the end" \
	    load_ok "$dir/load.out" steady
	check "kill9: the split was never decided for both sides (double_ack 0)" \
	    no_split_brain "$dir/load.out"
	back=$(field "$dir/load.out" steady all_done_at_s)
	echo "     qnetd down $(awk "BEGIN { printf \"%.2f\", $t_up - $t_kill }") s;" \
	    "the split came 2 s after the kill; all votes back $back s after" \
	    "the split; reconnects $(sum_field "$dir/load.out" reconnects)," \
	    "connect timeouts $(sum_field "$dir/load.out" connect_timeouts)"
	check "kill9: restarted qnetd stops cleanly" stop_qnetd "$qpid"
	check "kill9: no crash in the log" no_crash "$dir/log"
}

make_tls() {
	local d=$1 db=$1/nssdb
	mkdir -p "$db"
	echo > "$d/pw"
	head -c 64 /dev/urandom > "$d/noise"
	local cu=(certutil -d "sql:$db" -f "$d/pw" -z "$d/noise")
	{
		certutil -N -d "sql:$db" -f "$d/pw" &&
		printf 'y\n\ny\n' | "${cu[@]}" -S -n "QNet CA" -s "CN=QNet CA" \
		    -x -t "CT,," -2 -v 12 -m 1 &&
		"${cu[@]}" -S -n "QNetd Cert" -s "CN=Qnetd Server" -c "QNet CA" \
		    -t "u,u,u" -v 12 -m 2 &&
		"${cu[@]}" -S -n bench -s "CN=*.qnet.bench" -c "QNet CA" \
		    -t "u,u,u" -v 12 -m 3 --extSAN "dns:*.qnet.bench" &&
		pk12util -d "sql:$db" -o "$d/client.p12" -n bench -k "$d/pw" -W "" &&
		openssl pkcs12 -in "$d/client.p12" -passin pass: -nokeys \
		    -clcerts -out "$d/client.crt" &&
		openssl pkcs12 -in "$d/client.p12" -passin pass: -nocerts -nodes \
		    -out "$d/client.key" &&
		certutil -L -d "sql:$db" -n "QNet CA" -a > "$d/ca.crt"
	} >"$d/certs.log" 2>&1
}

scenario_storm() {
	local dir=$work/storm port n=${STORM_CLUSTERS:-1500}
	echo "--- storm: $((n * 2)) TLS clients at once, 8 s connect timer"
	mkdir -p "$dir"
	if ! make_tls "$dir"; then
		bad "storm: certificates (certutil, pk12util, openssl)"
		return
	fi
	port=$(free_port)
	start_qnetd "$dir" "$port" -s on -c on -l 127.0.0.1 \
	    -S "nss_db_dir=$dir/nssdb"
	wait_for 10 listening "$port" || { bad "storm: qnetd starts"; return; }
	"$load" -p "$port" -c "$n" -n 2 -T "$dir" -C 8000 -J 4500 -t 150 \
	    -P "$qpid" -x connect >"$dir/load.out" 2>"$dir/load.err"
	check "storm: all $((n * 2)) clients registered with their votes" \
	    load_ok "$dir/load.out" connect
	check "storm: no split brain" no_split_brain "$dir/load.out"
	echo "     $(field "$dir/load.out" connect seconds) s until all held" \
	    "their votes; connect timeouts $(field "$dir/load.out" connect connect_timeouts)," \
	    "reconnects $(field "$dir/load.out" connect reconnects)," \
	    "qnetd CPU $(field "$dir/load.out" connect qnetd_cpu_s) s," \
	    "RSS $(field "$dir/load.out" connect qnetd_rss_kb) kB"
	check "storm: qnetd stops cleanly" stop_qnetd "$qpid"
	check "storm: no crash in the log" no_crash "$dir/log"
}

scenario_diskfull() {
	local dir=$work/diskfull port
	echo "--- diskfull: the log goes to /dev/full"
	mkdir -p "$dir"
	port=$(free_port)
	"$qnetd" -f -d -p "$port" -s off -l 127.0.0.1 \
	    -S "lock_file=$dir/qnetd.pid,local_socket_file=$dir/qnetd.sock,state_dir=$dir" \
	    >/dev/full 2>/dev/full &
	qpid=$!
	pids+=("$qpid")
	wait_for 10 listening "$port" || { bad "diskfull: qnetd starts"; return; }
	"$load" -p "$port" -c 100 -n 2 -s 3 -t 30 -P "$qpid" \
	    -x connect,storm,steady,reconnect >"$dir/load.out" 2>"$dir/load.err"
	check "diskfull: every phase decided for all 200 clients" \
	    load_ok "$dir/load.out" reconnect
	check "diskfull: the local socket answers" tool_ok "$dir/qnetd.sock"
	check "diskfull: qnetd stops cleanly" stop_qnetd "$qpid"
}

tool_ok() {
	${ns_exec:-} "$tool" -s -p "$1" >/dev/null
}

ns_tool() {
	ns_exec="ip netns exec $netns" tool_ok "$1"
}

scenario_listenaddr() {
	local dir=$work/listenaddr addr=10.250.0.1 lpid
	echo "--- listenaddr: the listen address disappears"
	if [ "$(id -u)" != 0 ] || ! ip netns add "qnetd-faults-$$" 2>/dev/null; then
		echo "note: no network namespaces here (root needed): skipped"
		return
	fi
	netns=qnetd-faults-$$
	mkdir -p "$dir"
	ip -n "$netns" link set lo up
	ip -n "$netns" addr add "$addr/32" dev lo
	ns_exec="ip netns exec $netns"
	start_qnetd "$dir" 5403 -s off -l "$addr"
	ns_exec=""
	wait_for 10 listening 5403 "$netns" || { bad "listenaddr: qnetd starts"; return; }
	ip netns exec "$netns" "$load" -H "$addr" -p 5403 -a 1 -c 100 -n 2 \
	    -C 8000 -J 4500 -s 20 -t 30 -x connect,steady \
	    >"$dir/load.out" 2>"$dir/load.err" &
	lpid=$!
	pids+=("$lpid")
	wait_for 30 grep -q '"phase":"connect"' "$dir/load.out" ||
	    { bad "listenaddr: clients connect"; return; }
	ip -n "$netns" addr del "$addr/32" dev lo
	sleep 3
	check "listenaddr: qnetd alive without its address" alive "$qpid"
	check "listenaddr: the removal is logged" \
	    grep -q "Listen address $addr was removed" "$dir/log"
	check "listenaddr: the local socket answers meanwhile" \
	    ns_tool "$dir/qnetd.sock"
	ip -n "$netns" addr add "$addr/32" dev lo
	check "listenaddr: its return is logged" \
	    wait_for 5 grep -q "Listen address $addr is back" "$dir/log"
	wait "$lpid"
	check "listenaddr: all 200 clients hold their votes at the end" \
	    load_ok "$dir/load.out" steady
	echo "     reconnects $(field "$dir/load.out" steady reconnects)," \
	    "all votes back $(field "$dir/load.out" steady all_done_at_s) s into" \
	    "the steady phase"
	# The namespace goes away under the daemon (it lives on while used).
	ip netns del "$netns"
	netns=""
	sleep 0.5
	check "listenaddr: qnetd alive after its namespace was deleted" \
	    alive "$qpid"
	check "listenaddr: qnetd stops cleanly" stop_qnetd "$qpid"
	check "listenaddr: no crash in the log" no_crash "$dir/log"
}

for t in "$qnetd" "$tool" "$load"; do
	[ -x "$t" ] || { echo "$t missing: build first"; echo "0 passed, 1 failed"; exit 1; }
done
for s in $scenarios; do
	"scenario_$s"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
