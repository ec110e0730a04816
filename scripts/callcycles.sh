#!/bin/sh
# Print the calls between the C files of a directory (caller -> callee,
# one edge per pair of files) and fail if they form a cycle.
#   sh scripts/callcycles.sh qnetd        (or qdevice)
#   sh scripts/callcycles.sh qnetd decide.c vote.c ...   (only these files)
# cflow lists every function definition and reference; a reference from a
# file to a function it does not define itself is an edge to the file that
# defines it (not static).  Calls through function pointers (a services
# table, an algorithm's callbacks) are no edges: that is the point of them.
set -eu
dir=${1:?usage: callcycles.sh DIR [FILE...]}
shift
command -v cflow >/dev/null || { echo "callcycles: cflow is not installed" >&2; exit 2; }
cd "$dir"
if [ $# -gt 0 ]; then
	files=$*
else
	files=$(find . -name '*.c' | sed 's|^\./||' | LC_ALL=C sort)
fi
[ -n "$files" ] || { echo "callcycles: no C files in $dir" >&2; exit 2; }
edges=$(mktemp)
trap 'rm -f "$edges"' EXIT
# shellcheck disable=SC2086
cflow -x -i s --omit-arguments $files 2>/dev/null | awk '
# A definition "name * file:line decl"; static if "static" opens its line
# or the line before (the return type on its own line).
function is_static(file, line,   l, n, prev, cur) {
	n = 0; prev = ""; cur = ""
	while ((getline l < file) > 0) {
		n++
		if (n == line - 1) prev = l
		if (n == line) { cur = l; break }
	}
	close(file)
	return prev ~ /(^|[^a-z_])static([^a-z_]|$)/ ||
	    cur ~ /(^|[^a-z_])static([^a-z_]|$)/
}
$2 == "*" {
	split($3, a, ":")
	defined[$1 SUBSEP a[1]] = 1
	if (!is_static(a[1], a[2]))
		global[$1] = global[$1] " " a[1]
	next
}
NF == 2 {
	split($2, a, ":")
	refs[++nref] = $1 SUBSEP a[1]
}
END {
	for (i = 1; i <= nref; i++) {
		split(refs[i], r, SUBSEP)
		if ((r[1] SUBSEP r[2]) in defined || !(r[1] in global))
			continue
		n = split(global[r[1]], to, " ")
		for (j = 1; j <= n; j++)
			if (to[j] != r[2])
				print r[2], to[j]
	}
}' | LC_ALL=C sort -u > "$edges"
awk '{ print $1 " -> " $2 }' "$edges"
# tsort names the files of a cycle and fails on one.
if ! tsort "$edges" >/dev/null 2>"$edges.err"; then
	echo "callcycles: call cycle among the files of $dir:" >&2
	sed -e 's/^tsort: .*input contains a loop:$/cycle:/' \
	    -e 's/^tsort: /  /' "$edges.err" >&2
	rm -f "$edges.err"
	exit 1
fi
rm -f "$edges.err"
echo "callcycles: $dir: no call cycle ($(wc -l < "$edges") file-level edges)"
