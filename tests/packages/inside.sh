#!/bin/bash
# Run by tests/packages/run.sh inside the throw-away copy of the host (an
# overlay root in private namespaces), as root.  $1 holds debs/ (ours),
# old/ (Debian's 3.0.3 .debs, may be empty) and tools/ (crmsh, pcs .debs,
# may be empty).  Debian's 3.0.3 corosync-qnetd and corosync-qdevice are
# installed here, with the NSS database their postinst made.
set -u
t=$1
export DEBIAN_FRONTEND=noninteractive
db=/etc/corosync/qnetd/nssdb
fails=0

ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}
# Installing is the one apt-get step an admin runs; an admin's changes to a
# configuration file are kept (as dpkg asks, answered "keep").
apt_install() {
	apt-get install -q -y --no-install-recommends \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
		"$@" >"$t/apt.log" 2>&1 || { tail -20 "$t/apt.log"; return 1; }
}
not() { ! "$@"; }
version_of() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null; }
status_of() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null; }
# Contents, owners and modes of the database: what must survive.
db_state() {
	(cd "$db" && stat -c '%n %a %U:%G' . && stat -c '%n %a %U:%G %s' ./* &&
		md5sum ./*) 2>&1
}
# pcs' certificate flow as pcsd runs it (pcs.lib.corosync.qdevice_net), with
# the arbiter and the node on this one host.
pcs_certificate_flow() {
	/usr/bin/python3 - <<'PY'
import logging
from pcs.lib.corosync import qdevice_net as q
from pcs.lib.external import CommandRunner


class Reporter:
    def report(self, item):
        return None

    def report_list(self, items):
        return None


run = CommandRunner(logging.getLogger("pcs"), Reporter(),
                    {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
with open("/etc/corosync/qnetd/nssdb/qnetd-cacert.crt", "rb") as f:
    ca = f.read()
q.client_setup(run, ca)
request = q.client_generate_certificate_request(run, "pcsdemo")
signed = q.qdevice_sign_certificate_request(run, request, "pcsdemo")
pk12 = q.client_cert_request_to_pk12(run, signed)
q.client_setup(run, ca)         # another node: a fresh database
q.client_import_certificate_and_key(run, pk12)
PY
}

# Start the installed corosync-qnetd the way its unit does (as coroqnetd, in
# a fresh runtime directory) and wait until it answers on its local socket.
qnetd_start() {
	rm -rf /run/corosync-qnetd
	mkdir -p /run/corosync-qnetd
	chown coroqnetd:coroqnetd /run/corosync-qnetd
	chmod 770 /run/corosync-qnetd
	runuser -u coroqnetd -- /usr/bin/corosync-qnetd >"$t/qnetd.log" 2>&1 ||
		{ cat "$t/qnetd.log"; return 1; }
	for _ in $(seq 50); do
		corosync-qnetd-tool -s >/dev/null 2>&1 && break
		sleep 0.2
	done
	qpid=$(cat /run/corosync-qnetd/corosync-qnetd.pid 2>/dev/null)
	[ -n "$qpid" ] || { echo "no pid file"; return 1; }
}
qnetd_stop() {
	[ -n "${qpid:-}" ] || return 0
	kill "$qpid" 2>/dev/null
	for _ in $(seq 50); do
		[ -d "/proc/$qpid" ] || break
		sleep 0.2
	done
	qpid=
}
# Ours runs, answers, and has the database open.
qnetd_runs_with_db() {
	local rc=0
	qnetd_start || return 1
	corosync-qnetd-tool -s | grep -q . || rc=1
	[ "$(readlink "/proc/$qpid/exe")" = /usr/bin/corosync-qnetd ] || rc=1
	# NSS keeps its SQLite files open once the database is opened
	find "/proc/$qpid/fd" -lname "$db/cert9.db" | grep -q . || { echo "cert9.db not open"; rc=1; }
	qnetd_stop
	return $rc
}
# For hosts without systemd: the SysV script starts, reports and stops it.
init_script_works() {
	local s=/etc/init.d/corosync-qnetd rc=0 pid
	rm -rf /run/corosync-qnetd
	"$s" start >/dev/null || { echo "  start failed"; rc=1; }
	pid=$(cat /run/corosync-qnetd/corosync-qnetd.pid 2>/dev/null)
	"$s" status >/dev/null || { echo "  status: not running"; rc=1; }
	# The pid file is taken before the local socket is listening
	for _ in $(seq 50); do
		corosync-qnetd-tool -s >/dev/null 2>&1 && break
		sleep 0.2
	done
	corosync-qnetd-tool -s >/dev/null || rc=1
	"$s" stop >/dev/null || { echo "  stop failed"; rc=1; }
	! "$s" status >/dev/null || { echo "  status: still running"; rc=1; }
	if [ -n "$pid" ] && [ -d "/proc/$pid" ]; then
		kill "$pid"
		rc=1
	fi
	return $rc
}
# Every path a 3.0.3 package shipped is there and belongs to our package.
same_paths() {
	local list=$1 pkg=$2 p missing=0
	dpkg -L "$pkg" > "$t/new.list"
	while read -r p; do
		[ "$p" = /. ] && continue
		if ! grep -qxF "$p" "$t/new.list" || ! [ -e "$p" ]; then
			echo "  $pkg: missing $p"
			missing=1
		fi
	done < "$list"
	return $missing
}
# What crmsh and pcs need of the arbiter host: crmsh asks dpkg whether the
# package is installed; pcs runs the tools at their packaged paths.
arbiter_checks_pass() {
	dpkg-query --status corosync-qnetd >/dev/null 2>&1 &&
		dpkg-query --status corosync-qnetd | grep -qx 'Status: install ok installed' &&
		[ -x /usr/bin/corosync-qnetd ] && [ -x /usr/bin/corosync-qnetd-certutil ] &&
		[ -x /usr/bin/corosync-qnetd-tool ] &&
		[ -f /lib/systemd/system/corosync-qnetd.service ]
}

new_q=$(ls "$t"/debs/corosync-qnetd_*.deb)
new_d=$(ls "$t"/debs/corosync-qdevice_*.deb)
ver=$(dpkg-deb -f "$new_q" Version)
upstream=${ver#*+qnet}
upstream=${upstream%-*}

echo "--- Debian's 3.0.3 in place"
old_ver=$(version_of corosync-qnetd)
if [ "$(status_of corosync-qnetd)" != "install ok installed" ] ||
	[ "$(status_of corosync-qdevice)" != "install ok installed" ] || ! [ -e "$db/cert9.db" ]; then
	fail "this host needs Debian's corosync-qnetd, corosync-qdevice and their NSS database"
	exit 1
fi
check "$ver sorts above Debian's $old_ver" dpkg --compare-versions "$ver" gt "$old_ver"
cp /var/lib/dpkg/info/corosync-qnetd.list "$t/3.0.3-qnetd.list"
cp /var/lib/dpkg/info/corosync-qdevice.list "$t/3.0.3-qdevice.list"
# An admin's setting, and the database 3.0.3 made
sed -i 's/^COROSYNC_QNETD_OPTIONS=.*/COROSYNC_QNETD_OPTIONS="-d"/' /etc/default/corosync-qnetd
db_state > "$t/db.before"

echo "--- upgrade: apt-get install ./corosync-qnetd_*.deb ./corosync-qdevice_*.deb"
check "apt-get install of our packages over 3.0.3" apt_install "$new_q" "$new_d"
check "corosync-qnetd $ver installed" [ "$(version_of corosync-qnetd)" = "$ver" ]
check "corosync-qdevice $ver installed" [ "$(version_of corosync-qdevice)" = "$ver" ]
check "every path of Debian's corosync-qnetd 3.0.3 is in ours" same_paths "$t/3.0.3-qnetd.list" corosync-qnetd
check "every path of Debian's corosync-qdevice 3.0.3 is in ours" same_paths "$t/3.0.3-qdevice.list" corosync-qdevice
check "the NSS database is unchanged (files, owners, modes, checksums)" \
	diff -u "$t/db.before" <(db_state)
check "the admin's /etc/default/corosync-qnetd is kept" \
	grep -qx 'COROSYNC_QNETD_OPTIONS="-d"' /etc/default/corosync-qnetd
check "/usr/bin/corosync-qnetd is ours ($upstream)" \
	sh -c "corosync-qnetd -v | grep -q \"'$upstream'\""
check "our corosync-qnetd runs as coroqnetd with 3.0.3's database" qnetd_runs_with_db
check "/etc/init.d/corosync-qnetd start, status, stop" init_script_works
check "crmsh's and pcs' arbiter checks (dpkg-query --status, packaged paths)" arbiter_checks_pass

echo "--- crmsh and pcs"
# The distribution's python, not one an image may have in /usr/local
crmsh_says_installed() {
	/usr/bin/python3 -c 'import sys; from crmsh import utils
sys.exit(0 if utils.package_is_installed("corosync-qnetd") else 1)'
}
tools=0
if ls "$t"/tools/*.deb >/dev/null 2>&1; then
	if apt_install -o Dir::Cache::archives="$t/tools" crmsh pcs; then
		ok "crmsh $(version_of crmsh) and pcs $(version_of pcs) installed beside our packages"
		tools=1
	else
		fail "crmsh and pcs did not install beside our packages"
	fi
else
	echo "SKIP: crmsh and pcs not available (not downloaded); only their checks as above"
fi
if [ "$tools" = 1 ]; then
	check "crmsh: utils.package_is_installed(\"corosync-qnetd\") (dpkg-query --status)" \
		crmsh_says_installed
	check "pcs: the qnetd certificate database counts as initialized" \
		/usr/bin/python3 -c 'import sys; from pcs.lib.corosync import qdevice_net
sys.exit(0 if qdevice_net.qdevice_initialized() else 1)'
	qnetd_start
	check "pcs qdevice status net --full (runs /usr/bin/corosync-qnetd-tool)" \
		sh -c 'pcs qdevice status net --full | grep -q "^QNetd address:"'
	qnetd_stop
	# pcs' certificate flow, its own library code end to end (what pcsd runs
	# on the arbiter and on each node), on a copy of the database put back
	# after, as the later checks compare it.
	cp -a "$db" "$t/db.saved"
	check "pcs: client setup, request, signing, pk12, import (our certutils)" \
		pcs_certificate_flow
	check "pcs: the node's Cluster Cert is for cluster pcsdemo" sh -c \
		"certutil -L -d sql:/etc/corosync/qdevice/net/nssdb -n 'Cluster Cert' | grep -q 'Subject: \"CN=pcsdemo\"'"
	rm -rf "$db" /etc/corosync/qdevice/net/nssdb
	cp -a "$t/db.saved" "$db"
fi

echo "--- back to Debian's 3.0.3 and up again"
if ls "$t"/old/corosync-qnetd_*.deb "$t"/old/corosync-qdevice_*.deb >/dev/null 2>&1; then
	check "apt-get install of Debian's 3.0.3 over ours" \
		apt_install --allow-downgrades "$t"/old/corosync-qnetd_*.deb "$t"/old/corosync-qdevice_*.deb
	check "corosync-qnetd is $old_ver again" [ "$(version_of corosync-qnetd)" = "$old_ver" ]
	check "the NSS database is unchanged" diff -u "$t/db.before" <(db_state)
	check "the admin's setting is kept" \
		grep -qx 'COROSYNC_QNETD_OPTIONS="-d"' /etc/default/corosync-qnetd
	check "ours over 3.0.3 again" apt_install "$new_q" "$new_d"
	check "the NSS database is unchanged" diff -u "$t/db.before" <(db_state)
else
	echo "SKIP: Debian's 3.0.3 .debs not available; no downgrade"
fi

echo "--- remove, then purge"
check "dpkg --remove corosync-qdevice corosync-qnetd" \
	sh -c "dpkg --remove corosync-qdevice corosync-qnetd >$t/rm.log 2>&1"
check "removed: configuration files remain" \
	[ "$(status_of corosync-qnetd)" = "deinstall ok config-files" ]
check "removed: no binaries left" sh -c '! ls /usr/bin/corosync-qnetd* /usr/sbin/corosync-qdevice* 2>/dev/null'
check "removed: the NSS database is kept" diff -u "$t/db.before" <(db_state)
check "dpkg --purge corosync-qdevice corosync-qnetd" \
	sh -c "dpkg --purge corosync-qdevice corosync-qnetd >$t/purge.log 2>&1"
check "purged: not known to dpkg any more" \
	sh -c '! dpkg-query --status corosync-qnetd >/dev/null 2>&1'
if [ "$tools" = 1 ]; then
	check "crmsh: corosync-qnetd no longer installed" not crmsh_says_installed
fi
check "purged: defaults, init scripts, units, database gone" sh -c \
	'! ls -d /etc/default/corosync-q* /etc/init.d/corosync-q* /lib/systemd/system/corosync-q* '"$db"' 2>/dev/null'

echo "--- first installation on a host without the user and the database"
userdel coroqnetd 2>/dev/null
groupdel coroqnetd 2>/dev/null
check "apt-get install ./corosync-qnetd_*.deb (fresh)" apt_install "$new_q"
check "user and group coroqnetd created (sysusers)" \
	sh -c 'getent passwd coroqnetd >/dev/null && getent group coroqnetd >/dev/null'
check "database created: CA and server certificate" \
	sh -c "certutil -L -d sql:$db -n 'QNet CA' >/dev/null && certutil -L -d sql:$db -n 'QNetd Cert' >/dev/null"
check "database readable by group coroqnetd only" \
	sh -c "[ \"\$(stat -c '%a %G' $db $db/cert9.db $db/key4.db | tr '\n' ' ')\" = '750 coroqnetd 640 coroqnetd 640 coroqnetd ' ]"
db_state > "$t/db.fresh"
check "our corosync-qnetd runs as coroqnetd with the new database" qnetd_runs_with_db
check "state directory /var/lib/corosync-qnetd: coroqnetd's, mode 750" \
	sh -c "[ \"\$(stat -c '%a %U' /var/lib/corosync-qnetd)\" = '750 coroqnetd' ]"
check "reinstall keeps the database" apt_install --reinstall "$new_q"
check "the database is unchanged" diff -u "$t/db.fresh" <(db_state)
check "purge" sh -c "dpkg --purge corosync-qnetd >$t/purge.log 2>&1"
check "purged: nothing of ours left" sh -c \
	'! ls -d /usr/bin/corosync-qnetd* /etc/default/corosync-qnetd /var/lib/corosync-qnetd '"$db"' 2>/dev/null'

echo "packages (inside): $fails failure(s)"
[ "$fails" = 0 ]
