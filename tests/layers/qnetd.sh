#!/bin/sh
# No call cycle among all of qnetd's files: calls go server -> handlers ->
# decide -> algorithm, replies and votes leave through the services table.
set -eu
top=$(cd "${srcdir:-.}" && pwd)
exec sh "$top/scripts/callcycles.sh" "$top/qnetd"
