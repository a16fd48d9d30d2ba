#!/bin/bash
# Per-thread CPU and run-queue wait over a window (/proc/PID/task/TID/schedstat and ctxt switches):
#   thread-cpu.sh SECONDS   (start it while a bench segment runs)
# Prints, per busy thread: run time, time runnable but waiting for a CPU, voluntary/involuntary switches.
snap() {
  for t in /proc/[0-9]*/task/[0-9]*; do
    c=$(cat "$t/comm" 2>/dev/null) || continue
    echo "$t $c $(cat "$t/schedstat" 2>/dev/null) $(grep -E '^(nonvoluntary|voluntary)_ctxt' "$t/status" 2>/dev/null | awk '{print $2}' | tr '\n' ' ')"
  done
}
a=$(mktemp); b=$(mktemp); trap 'rm -f "$a" "$b"' EXIT
snap > "$a"; sleep "${1:-8}"; snap > "$b"
python3 - "$a" "$b" <<'PY'
import sys
def load(f):
    d = {}
    for l in open(f):
        p = l.split()
        if len(p) >= 7:
            d[p[0]] = (p[1], int(p[2]), int(p[3]), int(p[5]), int(p[6]))
    return d
a, b = load(sys.argv[1]), load(sys.argv[2])
for k, v in b.items():
    if k in a:
        run, wait = (v[1] - a[k][1]) / 1e6, (v[2] - a[k][2]) / 1e6
        if run > 5:
            print(f"{v[0]:16} run {run:8.1f} ms  runq-wait {wait:8.1f} ms  vol {v[3] - a[k][3]:6}  invol {v[4] - a[k][4]:6}")
PY
