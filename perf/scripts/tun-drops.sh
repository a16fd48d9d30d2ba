#!/usr/bin/env bash
# Why does natgw drop packets at its TUN? One connect storm (incident 1's, as `natgw bench connect-storm` runs it)
# through natgw reserve on a lab of its own (prefix ngwt), while tun-drops-sampler.py records every 5 ms the TUN's
# tx_packets/tx_dropped and, per natgw thread (workers, reaper, JIT compilers, GC, VM thread), its state and the time
# it ran and waited for a CPU (/proc/PID/task/TID/schedstat). natgw also writes a GC/safepoint log and, with
# JIT_LOG=1, HotSpot's compilation log (deoptimizations: uncommon_trap); NATGW_NICE=N runs natgw at that nice
# level. Everything it creates is removed.
#
#   perf/scripts/tun-drops.sh OUTDIR [ROUNDS [TXQUEUELEN [natgw run flags...]]]
#   python3 perf/scripts/tun-drops-analyze.py OUTDIR/samples.txt
#
# Needs root and the built jars, gateway/target/natgw.jar and perf/target/natgw-perf.jar (mvn -o package -DskipTests).
set -u
out=${1:?usage: tun-drops.sh OUTDIR [ROUNDS [TXQUEUELEN [natgw run flags...]]]}
rounds=${2:-200}
txq=${3:-0}
shift $(( $# < 3 ? $# : 3 ))
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
cd "$root"
jar=gateway/target/natgw.jar
# the load generators are perf's: on the class path after natgw.jar, as ./natgw runs them
perf_cp=$jar:perf/target/natgw-perf.jar
java=(java -XX:+UseParallelGC -Dagrona.disable.bounds.checks=true --add-opens java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens java.base/java.nio=ALL-UNNAMED)
jit=()
if [ "${JIT_LOG:-0}" = 1 ]; then
  jit=(-XX:+UnlockDiagnosticVMOptions -XX:+LogCompilation "-XX:LogFile=$out/compilation.xml")
fi
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  ./natgw lab down --prefix ngwt >/dev/null
}
trap cleanup EXIT
./natgw lab up --prefix ngwt --clients 40 >/dev/null || exit 1
ip netns exec ngwt-server "${java[@]}" -Xmx256m -cp $perf_cp natgw.perf.load.EchoServer --bind 10.77.2.2 \
  --tcp-port 7000 > "$out/echo.log" 2>&1 &
pids+=($!)
ip netns exec ngwt-gw nice -n "${NATGW_NICE:-0}" "${java[@]}" "-Xlog:gc*,safepoint:file=$out/gc.log:uptime,tid" "${jit[@]}" \
  -Dnatgw.home="$root" -jar $jar run --tun ngw0 --inside 10.77.1.0/24 --snat 10.77.2.100 --steer gi \
  --port-strategy reserve "$@" > "$out/natgw.log" 2>&1 &
natgw=$!
pids+=($natgw)
for _ in $(seq 1 120); do grep -q "natgw: running" "$out/natgw.log" && break; sleep 0.5; done
grep -q "natgw: running" "$out/natgw.log" || { echo "natgw did not start:"; cat "$out/natgw.log"; exit 1; }
if [ "$txq" != 0 ]; then ip -n ngwt-gw link set ngw0 txqueuelen "$txq"; fi
ip netns exec ngwt-gw python3 "$here/tun-drops-sampler.py" "$natgw" ngw0 5 "$out/samples.txt" &
pids+=($!)
ip netns exec ngwt-client "${java[@]}" -Xmx512m -cp $perf_cp natgw.perf.load.ConnectStorm --server 10.77.2.2 \
  --port 7000 --sources "$(seq -s, -f "10.77.1.%g" 2 41)" --base-port 20000 --port-span 12000 --rounds "$rounds" \
  --interval-ms 20 --threads 2 --timeout-ms 8000 --out "$out/storm.json" > "$out/storm.log" 2>&1
ip -n ngwt-gw -s link show ngw0 > "$out/link-after.txt"
ip netns exec ngwt-gw ./natgw conntrack -S > "$out/conntrack-S.txt" 2>&1
echo "load average $(cut -d' ' -f1-3 /proc/loadavg), txqueuelen $(ip -n ngwt-gw -o link show ngw0 | grep -o 'qlen [0-9]*')"
tail -1 "$out/storm.log"
echo "TUN tx dropped: $(grep -A1 'TX:' "$out/link-after.txt" | tail -1 | awk '{print $4}')"
