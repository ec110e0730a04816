#!/bin/sh
# The real corosync-qnetd under valgrind: clients from bench/qnet-load
# (plain TCP and TLS), status queries, then shutdown by corosync-qnetd-tool
# -H or by SIGTERM, with and without clients still connected.  A case
# passes when the daemon exits 0 and valgrind reports no error and no
# definitely or indirectly lost memory (the daemon frees everything at
# shutdown), and the load saw every decision it expected.
#
# usage: tests/valgrind/run.sh [build_dir]      (default: build)
# Ends with "N passed, N failed"; exit 1 when a case failed, 77 when
# valgrind is missing.  TLS cases need certutil, pk12util and openssl; they
# are skipped (and said so) without them.  KEEP=1 keeps the logs.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build}
case $build in /*) ;; *) build=$(pwd)/$build ;; esac
QNETD=$build/qnetd/corosync-qnetd
TOOL=$build/qnetd/corosync-qnetd-tool
LOAD=$build/bench/qnet-load
# Under valgrind everything is ~30x slower: generous waits.
WAIT_S=${WAIT_S:-120}

if ! command -v valgrind >/dev/null 2>&1; then
	echo "valgrind not found: skipped"
	exit 77
fi
for b in "$QNETD" "$TOOL" "$LOAD"; do
	if [ ! -x "$b" ]; then
		echo "$b not built (sh scripts/build.sh build)"
		exit 1
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/qnetd-valgrind.XXXXXX")
# Private copies: a rebuild meanwhile must not pull them away.
mkdir "$tmp/bin"
cp "$QNETD" "$TOOL" "$LOAD" "$tmp/bin/" || exit 1
QNETD=$tmp/bin/corosync-qnetd
TOOL=$tmp/bin/corosync-qnetd-tool
LOAD=$tmp/bin/qnet-load
qnetd_pid=
load_pid=
cleanup() {
	[ -n "$load_pid" ] && kill "$load_pid" 2>/dev/null
	[ -n "$qnetd_pid" ] && kill -KILL "$qnetd_pid" 2>/dev/null
	if [ "${KEEP:-0}" = 1 ]; then
		echo "logs kept in $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

passed=0
failed=0
skipped=0

free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# A qnetd NSS database with a server certificate, and for qnet-load a
# client certificate for *.qnet.bench (the cluster names) in PEM.
make_tls() {
	d=$1
	db=$d/nssdb
	mkdir -p "$db" || return 1
	printf '\n' >"$d/pw"
	head -c 64 /dev/urandom >"$d/noise"
	{
		certutil -N -d "sql:$db" -f "$d/pw" &&
		printf 'y\n\ny\n' | certutil -d "sql:$db" -f "$d/pw" \
		    -z "$d/noise" -S -n "QNet CA" -s "CN=QNet CA" -x \
		    -t "CT,," -2 -v 12 -m 1 &&
		certutil -d "sql:$db" -f "$d/pw" -z "$d/noise" -S \
		    -n "QNetd Cert" -s "CN=Qnetd Server" -c "QNet CA" \
		    -t "u,u,u" -v 12 -m 2 &&
		certutil -d "sql:$db" -f "$d/pw" -z "$d/noise" -S -n bench \
		    -s "CN=*.qnet.bench" -c "QNet CA" -t "u,u,u" -v 12 -m 3 \
		    --extSAN "dns:*.qnet.bench" &&
		pk12util -d "sql:$db" -o "$d/client.p12" -n bench -k "$d/pw" \
		    -W "" &&
		openssl pkcs12 -in "$d/client.p12" -passin pass: -nokeys \
		    -clcerts -out "$d/client.crt" &&
		openssl pkcs12 -in "$d/client.p12" -passin pass: -nocerts \
		    -nodes -out "$d/client.key" &&
		certutil -L -d "sql:$db" -n "QNet CA" -a >"$d/ca.crt"
	} >"$d/make.log" 2>&1
}

# start_qnetd dir port args...: the daemon under valgrind, in the
# foreground, with its lock file and local socket in dir.
start_qnetd() {
	dir=$1
	port=$2
	shift 2
	valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect \
	    --error-exitcode=1 --log-file="$dir/valgrind.log" \
	    "$QNETD" -f -d -l 127.0.0.1 -p "$port" \
	    -S "lock_file=$dir/qnetd.pid,local_socket_file=$dir/qnetd.sock,state_dir=$dir" \
	    "$@" >"$dir/qnetd.log" 2>&1 &
	qnetd_pid=$!
	i=0
	while [ ! -S "$dir/qnetd.sock" ]; do
		if ! kill -0 "$qnetd_pid" 2>/dev/null || [ $i -ge $((WAIT_S * 10)) ]; then
			echo "  qnetd did not start"
			return 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
	# The socket comes before the listening socket (start-up order).
	sleep 1
}

# wait_exit pid: its exit status, or 124 after WAIT_S (then killed).
wait_exit() {
	i=0
	while kill -0 "$1" 2>/dev/null; do
		if [ $i -ge $((WAIT_S * 10)) ]; then
			kill -KILL "$1" 2>/dev/null
			wait "$1" 2>/dev/null
			return 124
		fi
		sleep 0.1
		i=$((i + 1))
	done
	wait "$1"
}

# Every phase decided everything, without wrong votes or errors.
load_ok() {
	grep -q '^RESULT' "$1" &&
	! grep '^RESULT' "$1" | grep -v '"all_decided":true' | grep -q . &&
	! grep '^RESULT' "$1" | grep -Ev '"wrong":0,"missing":0,' | grep -q . &&
	! grep '^RESULT' "$1" | grep -v '"errors":0,' | grep -q .
}

# run_case name tls(0/1) stop(tool/term) clients_left(0/1) [replay]
run_case() {
	name=$1
	tls=$2
	stop=$3
	left=$4
	replay=${5:-}
	dir=$tmp/$name
	mkdir -p "$dir"
	port=$(free_port)
	ok=1
	echo "== $name"

	if [ "$tls" = 1 ]; then
		set -- -s on -c on -S "nss_db_dir=$tmp/tls/nssdb"
		load_tls="-T $tmp/tls"
		phases=connect,steady,storm,tls-storm
	else
		set -- -s off
		load_tls=
		phases=connect,steady,storm,reconnect
	fi
	start_qnetd "$dir" "$port" "$@" || ok=0

	if [ $ok = 1 ] && [ -n "$replay" ]; then
		# The fuzzer's sessions, bad messages and all, over TCP.
		if ! python3 "$top/tests/valgrind/replay.py" "$port" \
		    "$top"/tests/fuzz/corpus-qnetd/* \
		    "$top"/tests/fuzz/regress/fuzz_qnetd/* >"$dir/replay.log" 2>&1
		then
			echo "  replay failed: $(tail -1 "$dir/replay.log")"
			ok=0
		fi
	elif [ $ok = 1 ] && [ "$left" = 1 ]; then
		# Clients stay connected through the shutdown.
		# shellcheck disable=SC2086
		"$LOAD" -p "$port" -c 10 -n 3 -s 600 -t "$WAIT_S" \
		    -x connect,steady -N left $load_tls \
		    >"$dir/load.log" 2>&1 &
		load_pid=$!
		i=0
		until grep -qs '"phase":"connect"' "$dir/load.log"; do
			if [ $i -ge $((WAIT_S * 10)) ]; then
				echo "  clients did not connect"
				ok=0
				break
			fi
			sleep 0.1
			i=$((i + 1))
		done
		[ $ok = 1 ] && ! load_ok "$dir/load.log" && {
			echo "  load: decisions missing or wrong"; ok=0; }
	elif [ $ok = 1 ]; then
		# shellcheck disable=SC2086
		if ! "$LOAD" -p "$port" -c 20 -n 2 -s 2 -t "$WAIT_S" -g 4 \
		    -x "$phases" $load_tls >"$dir/load.log" 2>&1 ||
		    ! load_ok "$dir/load.log"; then
			echo "  load: decisions missing or wrong"
			ok=0
		fi
	fi
	if [ $ok = 1 ]; then
		for q in -s "-s -v" -l "-l -v" "-l -c left0.qnet.bench" "-s --json" \
		    "-l --json"; do
			# shellcheck disable=SC2086
			"$TOOL" -p "$dir/qnetd.sock" $q >>"$dir/tool.log" 2>&1 || {
				echo "  corosync-qnetd-tool $q failed"; ok=0; }
		done
	fi

	if [ -n "$qnetd_pid" ]; then
		if [ "$stop" = tool ]; then
			"$TOOL" -p "$dir/qnetd.sock" -H >>"$dir/tool.log" 2>&1 || {
				echo "  corosync-qnetd-tool -H failed"; ok=0; }
		else
			kill -TERM "$qnetd_pid"
		fi
		wait_exit "$qnetd_pid"
		rc=$?
		qnetd_pid=
		if [ $rc != 0 ]; then
			echo "  qnetd exit status $rc"
			ok=0
		fi
	fi
	if [ -n "$load_pid" ]; then
		kill "$load_pid" 2>/dev/null
		wait "$load_pid" 2>/dev/null
		load_pid=
	fi
	# What the case is about did happen.
	if [ "$tls" = 1 ] && [ -z "$replay" ] &&
	    ! grep -q 'TLS on)' "$dir/qnetd.log"; then
		echo "  no client joined over TLS"
		ok=0
	fi
	if [ "$left" = 1 ] &&
	    ! grep -q 'disconnected: server going down' "$dir/qnetd.log"; then
		echo "  no client was connected at the shutdown"
		ok=0
	fi
	if ! grep -q 'ERROR SUMMARY: 0 errors' "$dir/valgrind.log" 2>/dev/null; then
		echo "  valgrind reports errors:"
		sed -n '/ERROR SUMMARY/p;/definitely lost:/p;/indirectly lost:/p' \
		    "$dir/valgrind.log" 2>/dev/null | sed 's/^/  /'
		ok=0
	fi
	if [ $ok = 1 ]; then
		summary=$(sed -n 's/^==[0-9]*== *\([a-z]* lost\|still reachable\): \([0-9,]*\) bytes.*/\1 \2,/p' \
		    "$dir/valgrind.log" | tr '\n' ' ' | sed 's/, *$//')
		echo "  ok: $(grep -c ' joined cluster ' "$dir/qnetd.log") INITs;" \
		    "bytes $summary"
		passed=$((passed + 1))
	else
		echo "  FAILED (logs in $dir)"
		sed -n '/ERROR SUMMARY/,$p;/blocks are definitely/,/^==[0-9]*== $/p' \
		    "$dir/valgrind.log" 2>/dev/null | head -60 | sed 's/^/  /'
		KEEP=1
		failed=$((failed + 1))
	fi
}

run_case plain-tool-H 0 tool 0
run_case plain-sigterm-clients-connected 0 term 1
run_case plain-fuzz-sessions 0 tool 0 replay
if command -v certutil >/dev/null 2>&1 &&
    command -v pk12util >/dev/null 2>&1 &&
    command -v openssl >/dev/null 2>&1 && make_tls "$tmp/tls"; then
	run_case tls-tool-H 1 tool 0
	run_case tls-sigterm-clients-connected 1 term 1
	run_case tls-tool-H-clients-connected 1 tool 1
	run_case tls-fuzz-sessions 1 term 0 replay
else
	echo "== TLS cases skipped (certutil, pk12util or openssl missing," \
	    "or the certificates could not be made)"
	skipped=4
fi

echo "$passed passed, $failed failed${skipped:+, $skipped skipped}" |
    sed 's/, 0 skipped$//'
[ $failed = 0 ]
