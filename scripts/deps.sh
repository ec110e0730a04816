#!/bin/sh
# Install everything the project needs from Debian's packages.
# Idempotent: when every package is present it returns in well under a second.
set -eu

PKGS="build-essential autoconf automake libtool pkg-config
libnss3-dev libnss3-tools libnspr4-dev libuv1-dev libqb-dev libssl-dev check libsystemd-dev libmicrohttpd-dev libjson-c-dev
corosync libvotequorum-dev libcmap-dev libcpg-dev libcorosync-common-dev libquorum-dev
corosync-qnetd corosync-qdevice
pacemaker pacemaker-cli-utils resource-agents
iproute2 nftables util-linux procps psmisc man-db
clang libclang-rt-14-dev valgrind linux-perf
shellcheck openssl python3 cflow prometheus
debhelper dpkg-dev fakeroot lintian"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing"
# Debian's corosync, corosync-qnetd, corosync-qdevice and pacemaker would
# start their daemons from postinst; tests start their own, so forbid that.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' > "$policy"
	chmod 755 "$policy"
	made_policy=1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
[ "$made_policy" = 1 ] && rm -f "$policy"
# Nothing of Debian's should be left running.
pkill -x corosync-qnetd 2>/dev/null || true
pkill -x corosync-qdevice 2>/dev/null || true
pkill -x corosync 2>/dev/null || true
pkill -x pacemakerd 2>/dev/null || true
exit 0
