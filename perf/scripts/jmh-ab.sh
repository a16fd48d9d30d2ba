#!/bin/bash
# Compares two builds of the JMH benchmarks over many forks, interleaved A B B A per round, and prints
# each fork's median and, per benchmark and parameter, the median over forks.
#
#   perf/scripts/jmh-ab.sh BEFORE.jar AFTER.jar [OUT]
#   env: BENCH (regex, default 'PipelineBenchmark.processBatch$'), CONNS (default 10000,1000000),
#        FORKS per run (5), ROUNDS (2), THREADS (1),
#        JAVA_A, JAVA_B (the java of each side, default java), ARGS_A, ARGS_B (JVM options of each side,
#        given to -jvmArgsAppend, which replaces the benchmark's own @Fork options: repeat them)
#   The same jar on both sides compares JVMs or JVM options.
#
# Why forks: on the lab VM one fork's iterations agree within a few per cent, but forks of the same
# build differ by up to 1.5x (the JIT's code differs from fork to fork), so a comparison needs many forks
# of both builds, interleaved so that the machine's drifts fall on both.
set -euo pipefail
A=${1:?usage: jmh-ab.sh BEFORE.jar AFTER.jar [OUT]}
B=${2:?usage: jmh-ab.sh BEFORE.jar AFTER.jar [OUT]}
out=${3:-$(mktemp /tmp/jmh-ab.XXXXXX)}
bench=${BENCH:-'PipelineBenchmark.processBatch$'}
conns=${CONNS:-10000,1000000}
forks=${FORKS:-5}
rounds=${ROUNDS:-2}
threads=${THREADS:-1}
json=$(mktemp /tmp/jmh-ab-json.XXXXXX)
trap 'rm -f "$json"' EXIT
: > "$out"

run() { # side (A or B), jar, java, JVM options
    local options=()
    [ -n "$4" ] && options=(-jvmArgsAppend "$4")
    "$3" -jar "$2" "$bench" -p connections="$conns" -f "$forks" -wi 3 -w 1s -i 3 -r 1s -t "$threads" \
        "${options[@]}" -rf json -rff "$json" > /dev/null
    python3 - "$1" "$json" >> "$out" <<'PY'
import json, statistics, sys
jar, path = sys.argv[1:3]
for b in json.load(open(path)):
    for fork in b['primaryMetric']['rawData']:
        print(f"{jar} {b['benchmark'].rsplit('.', 1)[-1]} connections={b['params']['connections']} fork_median={statistics.median(fork):.3f}")
PY
}

a() { run A "$A" "${JAVA_A:-java}" "${ARGS_A:-}"; }
b() { run B "$B" "${JAVA_B:-java}" "${ARGS_B:-}"; }
for _ in $(seq "$rounds"); do a; b; b; a; done
echo "per-fork medians: $out"
echo "A: $A ${JAVA_A:-java} ${ARGS_A:-}"
echo "B: $B ${JAVA_B:-java} ${ARGS_B:-}"
python3 - "$out" A B <<'PY'
import collections, re, statistics, sys
path, a, b = sys.argv[1:4]
forks = collections.defaultdict(list)
for line in open(path):
    m = re.match(r'(\S+) (\S+) connections=(\d+) fork_median=([\d.]+)', line)
    forks[(m.group(2), int(m.group(3)), m.group(1))].append(float(m.group(4)))
for bench, conns in sorted({(k[0], k[1]) for k in forks}):
    before, after = forks[(bench, conns, a)], forks[(bench, conns, b)]
    mb, ma = statistics.median(before), statistics.median(after)
    print(f"{bench} connections={conns}: {len(before)} forks {mb:.2f} (min {min(before):.2f}, max {max(before):.2f}) "
          f"-> {len(after)} forks {ma:.2f} (min {min(after):.2f}, max {max(after):.2f}) ops/us: {ma / mb:.2f}x")
PY
