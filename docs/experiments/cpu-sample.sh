#!/bin/bash
# cpu-sample.sh PID OUT [PREFIX]: while PID runs, appends every 0.5 s a snapshot of each of its threads' CPU time
# (schedstat, ns) to OUT: a "T <epoch s>" line, then "<name>|<ns>" per thread; PREFIX (if given) replaces the names
# with PREFIX<tid>. cpu-window.py sums a storm's window of such a series by thread kind.
pid=$1; out=$2; prefix=$3
sleep 0.5
while kill -0 "$pid" 2>/dev/null; do
  s="T $(date +%s.%N)"
  for t in /proc/$pid/task/*; do
    name=${prefix:+$prefix$(basename "$t")}; name=${name:-$(cat "$t/comm" 2>/dev/null)}
    s="$s
$name|$(cut -d' ' -f1 "$t/schedstat" 2>/dev/null)"
  done
  echo "$s" >> "$out"
  sleep 0.5
done
