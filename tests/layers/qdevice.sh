#!/bin/sh
# No call cycle among qdevice's files: start.c -> the net model (net.c ->
# net_msg.c -> net_out.c -> net_link.c) -> the adapters (cmap, votequorum,
# heur; cs.c below them); the adapters report through struct qd_events.
set -eu
top=$(cd "${srcdir:-.}" && pwd)
exec sh "$top/scripts/callcycles.sh" "$top/qdevice"
