#!/bin/bash
# ab-storm-cpu.sh OUT PAIRS BASE_TREE [NEW_TREE]: alternating connect storms (natgw-reserve, 1,000 rounds) with natgw
# from BASE_TREE and NEW_TREE (default: this tree), each built; prints each run's p50, p99 and CPU by thread kind.
here=$(cd "$(dirname "$0")" && pwd); out=$1; pairs=$2; base=$3; new=${4:-$(cd "$here/../.." && pwd)}
mkdir -p "$out"; cd "$new"
for p in $(seq "$pairs"); do for v in A B; do
  if [ $v = A ]; then tree=$base; else tree=$new; fi
  NATGW_TREE=$tree CPU_OUT=$out/cpu.$v$p NATGW_CMD=$here/natgw-cpu.sh ./natgw bench connect-storm --impl natgw-reserve \
    --rounds 1000 --blocks 1 --out "$out/$v$p" > "$out/$v$p.log" 2>&1
  echo "$v$p $(grep -E '^natgw-reserve ' "$out/$v$p.log" | awk '{print "p50", $3, $4, "p99", $5, $6}') $(python3 "$here/cpu-window.py" "$out/cpu.$v$p")"
done; done
