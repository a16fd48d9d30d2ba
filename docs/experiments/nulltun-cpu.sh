#!/bin/bash
# A ceiling for `natgw bench --nulltun docs/experiments/nulltun-cpu.sh`: runs the compiled nulltun (NULLTUN_BIN, e.g. the
# bin/nulltun a previous bench run compiled) with the bench's arguments and records its threads' CPU as natgw-cpu.sh does.
out=${CPU_OUT:-/tmp/nulltun-cpu.series}; : > "$out"
"${NULLTUN_BIN:?set NULLTUN_BIN to a compiled nulltun}" "$@" &
pid=$!
( sleep 0.5; while kill -0 $pid 2>/dev/null; do
    s="T $(date +%s.%N)"; for t in /proc/$pid/task/*; do s="$s
natgw-worker-$(basename $t)|$(cut -d' ' -f1 $t/schedstat 2>/dev/null)"; done; echo "$s" >> "$out"
    sleep 0.5; done ) &
trap 'kill -TERM $pid' TERM INT
wait $pid; wait $pid
