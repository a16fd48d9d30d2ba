#!/bin/bash
# The pipeline without I/O against its ceiling on this machine, in one run: perf/native/pipeline_ceiling.c
# (the same fast path in C, one packet at a time, in look-ahead passes of plain loads, and with prefetch
# instructions), its line-for-line Java port natgw.perf.ceiling.LeanPipeline (the passes mode), and natgw's
# JMH PipelineBenchmark.processBatch, at the same table sizes, one thread.
#
#   perf/scripts/pipeline-ceiling.sh            (after mvn install: needs perf/target/benchmarks.jar)
#   env: CONNS (default 10000,1000000), SECONDS_C (per C run, default 5), FORKS (JMH, default 3), ROUNDS (2)
set -euo pipefail
cd "$(dirname "$0")/../.."
conns=${CONNS:-10000,1000000}
seconds=${SECONDS_C:-5}
forks=${FORKS:-3}
rounds=${ROUNDS:-2}
jar=perf/target/benchmarks.jar
[ -f "$jar" ] || { echo "pipeline-ceiling: $jar is missing: run mvn -B install -DskipTests first" >&2; exit 1; }
work=$(mktemp -d /tmp/pipeline-ceiling.XXXXXX)
trap 'rm -rf "$work"' EXIT
gcc -O2 -march=native -Wall -Werror -o "$work/pipeline_ceiling" perf/native/pipeline_ceiling.c
for _ in $(seq "$rounds"); do
    for n in ${conns//,/ }; do
        for mode in single passes prefetch; do
            "$work/pipeline_ceiling" "$n" "$mode" "$seconds" | tail -1 >> "$work/c.txt"
        done
        java -XX:+UseParallelGC -cp "$jar" natgw.perf.ceiling.LeanPipeline "$n" "$seconds" | tail -1 >> "$work/c.txt"
    done
    java -jar "$jar" 'PipelineBenchmark.processBatch$' -p connections="$conns" -f "$forks" -wi 3 -w 1s -i 3 -r 1s -t 1 \
        -rf json -rff "$work/jmh.json" > /dev/null
    python3 - "$work/jmh.json" >> "$work/java.txt" <<'PY'
import json, statistics, sys
for b in json.load(open(sys.argv[1])):
    for fork in b['primaryMetric']['rawData']:
        print(b['params']['connections'], f"{statistics.median(fork):.3f}")
PY
done
python3 - "$work/c.txt" "$work/java.txt" <<'PY'
import collections, re, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    m = re.match(r'pipeline_ceiling connections=(\d+) mode=(\S+) median=([\d.]+)', line)
    if m:
        runs[(int(m.group(1)), 'C ' + m.group(2))].append(float(m.group(3)))
        continue
    m = re.match(r'lean_java connections=(\d+) median=([\d.]+)', line)
    runs[(int(m.group(1)), 'Java lean passes')].append(float(m.group(2)))
for line in open(sys.argv[2]):
    n, mpps = line.split()
    runs[(int(n), 'natgw processBatch')].append(float(mpps))
print(f"{'connections':>11}  {'pipeline':<20} {'runs':>4} {'median Mpps':>11}  {'min':>6} {'max':>6}")
for (n, name), values in sorted(runs.items()):
    print(f"{n:>11}  {name:<20} {len(values):>4} {statistics.median(values):>11.2f}  {min(values):>6.2f} {max(values):>6.2f}")
PY
