#!/bin/bash
# A ceiling for `natgw bench --nulltun docs/experiments/nulltun-cpu.sh`: runs the compiled nulltun (NULLTUN_BIN, e.g. the
# bin/nulltun a previous bench run compiled) with the bench's arguments and records its threads' CPU into CPU_OUT
# (cpu-sample.sh), each named as a worker so that cpu-window.py sums them as natgw's.
here=$(cd "$(dirname "$0")" && pwd)
out=${CPU_OUT:-/tmp/nulltun-cpu.series}; : > "$out"
"${NULLTUN_BIN:?set NULLTUN_BIN to a compiled nulltun}" "$@" &
pid=$!
"$here/cpu-sample.sh" $pid "$out" natgw-worker- &
trap 'kill -TERM $pid' TERM INT
wait $pid; wait $pid
