#!/bin/sh
# Configure and build into a directory (default: build).  Extra arguments go
# to configure.  Reconfigures only when the build directory is new.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-build}
shift 2>/dev/null || true
cd "$top"
[ -x configure ] || ./autogen.sh >/dev/null
mkdir -p "$dir"
cd "$dir"
# The paths of a system install: /etc/corosync, /var/run, as 3.0.3 has them.
[ -f Makefile ] || ../configure -q --prefix=/usr --sysconfdir=/etc \
	--localstatedir=/var "$@"
make -s -j"$(nproc)"
