#!/bin/bash
# steering-ab.sh open|closed ROUNDS PREFIX: the lab of open-loop-lab.sh (open) or closed-loop-lab.sh (closed),
# alternating natgw --queue-steering ports, natgw --queue-steering connections and nulltun -v, ROUNDS times; outputs
# /tmp/PREFIX<round>-<what>-<mode>.*; then `java -cp perf/target/natgw-perf.jar docs/experiments/ConnectPercentiles.java
# /tmp/PREFIX*.json` for each run's connect p50/p90/p99. Session 22, docs/BENCHMARKS.md. Root, from a built tree.
set -u
loop=$1; rounds=$2; prefix=$3
tree=$(cd "$(dirname "$0")/../.." && pwd)
script=$tree/docs/experiments/closed-loop-lab.sh
[ "$loop" = open ] && script=$tree/docs/experiments/open-loop-lab.sh
for r in $(seq "$rounds"); do
  for cfg in "natgw ports" "natgw connections" "nulltun x"; do
    set -- $cfg
    [ "$1" = natgw ] && export NATGW_ARGS="--queue-steering $2"
    PERF=0 flock /tmp/natgw-quiet "$script" "$1" "/tmp/$prefix$r-$1-$2" > "/tmp/$prefix$r-$1-$2.out" 2>&1
    grep completed "/tmp/$prefix$r-$1-$2.out"
  done
done
