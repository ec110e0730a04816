#!/bin/bash
# Debian packages: build corosync-qnetd and corosync-qdevice
# (scripts/build-debs.sh, lintian errors fail it), then test them in a
# throw-away copy of this host: a private mount, network and PID namespace
# whose root is an overlay over / (writes go to a tmpfs), entered with chroot.
# The host has Debian's 3.0.3 packages and an NSS database installed; inside,
# ours are installed over them (tests/packages/inside.sh).  The host's
# packages, database and network are never touched; this script checks that.
#
# Needs root.  Environment: DEB_DIR to test already built packages;
# PKG_TOOLS=0 to skip installing crmsh and pcs in the copy (their arbiter
# checks are then done as they do them, with dpkg-query and file tests).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/qnet-pkgtest.XXXXXX)
trap 'rm -rf "$work"' EXIT

host_state() {
	dpkg-query -W -f='${Package} ${Version} ${Status}\n' corosync-qnetd corosync-qdevice 2>&1
	(cd /etc/corosync/qnetd/nssdb 2>/dev/null && ls -ln && md5sum ./*) || echo "no host nssdb"
}
host_state > "$work/host-before"

# 1. The packages
if [ -n "${DEB_DIR:-}" ]; then
	debs=$DEB_DIR
else
	debs=$work/debs
	sh "$top/scripts/build-debs.sh" "$debs"
fi

# 2. Debian's 3.0.3 packages, to go back to after the upgrade
old=$work/old
mkdir -p "$old"
for p in corosync-qnetd corosync-qdevice; do
	f=$(ls /var/cache/apt/archives/${p}_3.0.3-*_*.deb 2>/dev/null | head -n 1 || true)
	if [ -n "$f" ]; then
		cp "$f" "$old/"
	else
		(cd "$old" && timeout 120 apt-get download -q "$p=3.0.3-1" >/dev/null 2>&1) || true
	fi
done

# 3. crmsh and pcs, fetched on the host into a private cache (nothing is
#    installed here), installed in the copy from that cache
tools=$work/tools
mkdir -p "$tools/partial"
if [ "${PKG_TOOLS:-1}" != 0 ]; then
	if ! timeout 300 apt-get install -q -y --download-only --no-install-recommends \
		-o Dir::Cache::archives="$tools" -o APT::Sandbox::User=root crmsh pcs >"$work/tools.log" 2>&1; then
		echo "packages: crmsh/pcs could not be downloaded (tail of the log below);" \
			"their real checks are skipped"
		tail -5 "$work/tools.log"
		rm -f "$tools"/*.deb
	fi
fi

# 4. The copy of this host
root=$work/root
mkdir -p "$root"
status=0
unshare --mount --net --pid --fork bash -eu -c '
	work=$1; top=$2; debs=$3
	root=$work/root
	mount --make-rprivate /
	mount -t tmpfs -o mode=755 tmpfs "$work/root"
	mkdir "$root/upper" "$root/work" "$root/merged"
	mount -t overlay overlay \
		-o lowerdir=/,upperdir="$root/upper",workdir="$root/work" "$root/merged"
	m=$root/merged
	mount -t proc proc "$m/proc"
	mount --rbind /dev "$m/dev"
	mount -t tmpfs -o mode=755 tmpfs "$m/run"
	mount -t tmpfs -o mode=1777 tmpfs "$m/tmp"
	ip link set lo up
	mkdir -p "$m/tmp/t"
	cp "$top/tests/packages/inside.sh" "$m/tmp/t/"
	cp -r "$debs" "$m/tmp/t/debs"
	cp -r "$work/old" "$work/tools" "$m/tmp/t/"
	# No daemon is started by a maintainer script here.
	printf "#!/bin/sh\nexit 101\n" > "$m/usr/sbin/policy-rc.d"
	chmod 755 "$m/usr/sbin/policy-rc.d"
	chroot "$m" /bin/bash /tmp/t/inside.sh /tmp/t
' sh "$work" "$top" "$debs" || status=1

# 5. The host is as it was
host_state > "$work/host-after"
if ! diff -u "$work/host-before" "$work/host-after"; then
	echo "FAIL: the host's packages or NSS database changed"
	status=1
else
	echo "ok: host unchanged: $(head -n 1 "$work/host-after")"
fi
[ "$status" = 0 ] && echo "packages: all checks passed" || echo "packages: FAILED"
exit $status
