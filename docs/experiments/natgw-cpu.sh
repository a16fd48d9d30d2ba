#!/bin/bash
# A natgw command for `NATGW_CMD=docs/experiments/natgw-cpu.sh natgw bench ...`: runs natgw from NATGW_TREE (default:
# this tree) and, for `natgw run`, records its threads' CPU into CPU_OUT (cpu-sample.sh); WRAP_OPTS become
# NATGW_JAVA_OPTS of natgw (e.g. -XX flags). cpu-window.py sums a storm's window by thread kind.
here=$(cd "$(dirname "$0")" && pwd)
tree=${NATGW_TREE:-$(cd "$here/../.." && pwd)}
[ -n "$WRAP_OPTS" ] && export NATGW_JAVA_OPTS="$WRAP_OPTS"
[ "$1" = run ] || exec "$tree/natgw" "$@"
out=${CPU_OUT:-/tmp/natgw-cpu.series}; : > "$out"
"$tree/natgw" "$@" &
pid=$!
"$here/cpu-sample.sh" $pid "$out" &
trap 'kill -TERM $pid' TERM INT
wait $pid; wait $pid
