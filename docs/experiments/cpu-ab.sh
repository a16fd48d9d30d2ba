#!/bin/bash
# cpu-ab.sh open|closed ROUNDS PREFIX: the lab of closed-loop-lab.sh (LMODE=MODE), alternating main natgw (connections
# steering; MAIN, default this tree), natgw --queue-steering cpu from CPU_TREE (default /tmp/cpu, built with
# cpu-steering-pinned-workers.patch; "nopin": NATGW_NOPIN=1) and nulltun -v; CFGS picks and orders them. Outputs
# /tmp/PREFIX<round>-<cfg>.*; percentiles by ConnectPercentiles.java. Session 23, docs/BENCHMARKS.md. Root.
set -u
mode=$1; rounds=$2; prefix=$3
for r in $(seq $rounds); do
  for cfg in ${CFGS:-main cpu nulltun}; do
    unset NATGW_NOPIN; case $cfg in
      main) tree=${MAIN:-$(cd "$(dirname "$0")/../.." && pwd)}; what=natgw; args="";;
      cpu) tree=${CPU_TREE:-/tmp/cpu}; what=natgw; args="--queue-steering cpu";;
      nopin) tree=${CPU_TREE:-/tmp/cpu}; what=natgw; args="--queue-steering cpu"; export NATGW_NOPIN=1;;
      nulltun) tree=${MAIN:-$(cd "$(dirname "$0")/../.." && pwd)}; what=nulltun; args="";;
    esac
    NATGW_ARGS="$args" LMODE=$mode PERF=0 flock /tmp/natgw-quiet $tree/docs/experiments/closed-loop-lab.sh $what /tmp/$prefix$r-$cfg > /tmp/$prefix$r-$cfg.out 2>&1
    echo "$r $cfg $(grep completed /tmp/$prefix$r-$cfg.out)"
  done
done
