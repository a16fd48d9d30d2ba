#!/bin/bash
# open-loop-lab.sh natgw|nulltun OUT: closed-loop-lab.sh with the open loop (LMODE=open, RATE connections a second,
# default 1000); everything else as there (BT=SCRIPT, PERF, NATGW_ARGS). Session 22, docs/BENCHMARKS.md.
LMODE=${LMODE:-open} exec "$(dirname "$0")/closed-loop-lab.sh" "$@"
