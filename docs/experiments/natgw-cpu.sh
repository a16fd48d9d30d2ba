#!/bin/bash
# A natgw command for `NATGW_CMD=docs/experiments/natgw-cpu.sh natgw bench ...`: runs natgw from NATGW_TREE (default:
# this tree) and, for `natgw run`, appends every 0.5 s each thread's CPU time (schedstat, ns) to CPU_OUT.
# WRAP_OPTS become NATGW_JAVA_OPTS of natgw (e.g. -XX flags). cpu-window.py sums a storm's window by thread kind.
tree=${NATGW_TREE:-$(cd "$(dirname "$0")/../.." && pwd)}
[ -n "$WRAP_OPTS" ] && export NATGW_JAVA_OPTS="$WRAP_OPTS"
[ "$1" = run ] || exec "$tree/natgw" "$@"
out=${CPU_OUT:-/tmp/natgw-cpu.series}; : > "$out"
"$tree/natgw" "$@" &
pid=$!
( sleep 0.5; while kill -0 $pid 2>/dev/null; do
    s="T $(date +%s.%N)"; for t in /proc/$pid/task/*; do s="$s
$(cat $t/comm 2>/dev/null)|$(cut -d' ' -f1 $t/schedstat 2>/dev/null)"; done; echo "$s" >> "$out"
    sleep 0.5; done ) &
trap 'kill -TERM $pid' TERM INT
wait $pid; wait $pid
