#!/bin/sh
# Build the Debian packages corosync-qnetd and corosync-qdevice
# (dpkg-buildpackage -us -uc -b) from a clean copy of this tree, and run
# lintian on them.  The .deb, .changes and .buildinfo files end up in OUTDIR
# (default: build-deb/).  Run scripts/deps.sh first for the build tools.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/build-deb}
mkdir -p "$out"
out=$(cd "$out" && pwd)

work=$(mktemp -d /tmp/qnet-debs.XXXXXX)
trap 'rm -rf "$work"' EXIT
# The files git knows (committed or not) and new ones it does not ignore:
# no build directories, no generated configure.  Outside git (a release
# tarball): the tree without build directories.
src="$work/corosync-qnet"
mkdir -p "$src"
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$top" && git ls-files -z --cached --others --exclude-standard |
		xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
		tar --null -T - -cf - | tar -xf - -C "$src")
else
	(cd "$top" && tar --exclude='./build*' --exclude=./autom4te.cache -cf - . |
		tar -xf - -C "$src")
fi

(cd "$src" && DEB_BUILD_OPTIONS="parallel=${JOBS:-2}" \
	dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1) || {
	tail -60 "$work/build.log"
	echo "build-debs: dpkg-buildpackage failed" >&2
	exit 1
}

for f in "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo; do
	cp "$f" "$out/"
done
changes=$(ls "$work"/*.changes)
echo "build-debs: built in $out:"
for f in "$work"/*.deb; do
	basename "$f"
done

# lintian: errors fail the build, warnings are shown.
if command -v lintian >/dev/null; then
	lintian --fail-on error --tag-display-limit 0 "$changes" || {
		echo "build-debs: lintian reports errors" >&2
		exit 1
	}
fi
