#!/bin/sh
# The decision core (libqnetd.a: clusters, node lists, decide, the ACK gate,
# votes, algo/) stands alone: no call cycle among its files, and none of
# them reaches libuv or the server's headers (ARCHITECTURE: the core sees
# members and a services table only).
set -eu
top=$(cd "${srcdir:-.}" && pwd)
core="nodelist.c cluster.c decide.c gate.c vote.c memory.c algo/algo.c
algo/test.c algo/ffsplit.c algo/ffsplit_stable.c algo/2nodelms.c algo/lms.c"

# shellcheck disable=SC2086
sh "$top/scripts/callcycles.sh" "$top/qnetd" $core

bad=0
for f in $core; do
	deps=$(${CC:-cc} -M -I"$top/include" -I"$top/common" -I"$top/qnetd" \
	    "$top/qnetd/$f" | tr ' ' '\n' | sed -n 's|.*/||p')
	for h in uv.h client.h qnetd.h conn.h server.h send.h handlers.h \
	    budget.h persist.h statefile.h json_object.h; do
		if printf '%s\n' "$deps" | grep -qx "$h"; then
			echo "core: qnetd/$f includes $h" >&2
			bad=1
		fi
	done
done
[ "$bad" = 0 ] && echo "core: no libuv or server header in the core"
exit "$bad"
