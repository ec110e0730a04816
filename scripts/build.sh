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
[ -f Makefile ] || ../configure -q "$@"
make -s -j"$(nproc)"
