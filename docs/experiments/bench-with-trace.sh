#!/bin/bash
# One short-connections block per row, with bpftrace SCRIPT run DELAY s into each row's block; its output in
# OUT/ROW.trace. From the repository root, as root:
#   BT=docs/experiments/connect-steps.bt MODE=open DUR=9 docs/experiments/bench-with-trace.sh OUT
# BT_ARGS: arguments for the script ($1 ...). PERF=S instead of BT: a system-wide perf record of S seconds,
# OUT/ROW.perf (perf report -i OUT/ROW.perf --sort comm).
set -eu
out=${1:?OUT directory}; mkdir -p "$out"
flock /tmp/natgw-quiet ./natgw bench short-connections --impl ${IMPL:-natgw-reserve} --nulltun ../shared/tools/nulltun.c \
  --duration "${DUR:-7}" --blocks 1 --mode "${MODE:-closed}" --out "$out/bench" 2>&1 | while IFS= read -r l; do
  echo "$(date +%T) $l"
  case "$l" in
    *"| block 1/1") row=$(echo "$l" | awk -F'|' '{gsub(/ /,"",$2); print $2}')
       if [ -n "${PERF:-}" ]; then
         ( sleep "${DELAY:-3.5}"; perf record -a -g -F 1999 -o "$out/$row.perf" -- sleep "$PERF" > "$out/$row.trace" 2>&1 ) &
       else
         ( sleep "${DELAY:-3.5}"; bpftrace "${BT:?BT: a bpftrace script}" ${BT_ARGS:-} > "$out/$row.trace" 2>&1 ) &
       fi ;;
  esac
done
wait
