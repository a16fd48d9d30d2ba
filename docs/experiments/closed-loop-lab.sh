#!/bin/bash
# closed-loop-lab.sh natgw|nulltun OUT: a lab of its own (prefix pc), natgw (NATGW_ARGS added to its run command,
# NATGW_JAVA_OPTS to its JVM) or nulltun -v -q 2 (NULLTUN: a compiled ../shared/tools/nulltun.c, default /tmp/nulltun)
# in the gateway namespace, the closed loop (16 in flight, 4 sources; LMODE=open: the open loop at RATE, 1000, a
# second) for 2 s of settle and 10 s. From 3 s into the measurement, for 5 s: BT=SCRIPT runs bpftrace SCRIPT into
# OUT.bt; else with PERF=1 (the default) perf record -a -g into OUT.perf; else (PERF=0) it samples every 200 ms the
# TUN threads' and the load's PELT utilisation (se.avg.util_avg) into OUT.util. Prints the rate, the machine CPU per
# connection, the gateway's context switches per connection and the CPU of each of its worker threads over those
# 5 s (docs/BENCHMARKS.md, sessions 19 and 22); OUT.json is the load's result. Root, a built tree, the quiet lock.
set -u
what=$1; out=$2; tree=$(cd "$(dirname "$0")/../.." && pwd); nulltun=${NULLTUN:-/tmp/nulltun}
cleanup() { pkill -f "run --tun pc0"; pkill -f "$nulltun -v -q 2 pc0"; pkill -f "EchoServer --bind 10.77.2.2"; sleep 1; "$tree/natgw" lab down --prefix pc >/dev/null 2>&1; }
trap cleanup EXIT
"$tree/natgw" lab up --prefix pc --clients 4 >/dev/null
cp="$tree/gateway/target/natgw.jar:$tree/perf/target/natgw-perf.jar"
if [ "$what" = natgw ]; then
  ip netns exec pc-gw env NATGW_JAVA_OPTS="-XX:+UnlockDiagnosticVMOptions -XX:+DumpPerfMapAtExit ${NATGW_JAVA_OPTS:-}" "$tree/natgw" run --tun pc0 --inside 10.77.1.0/24 --snat 10.77.2.100 --steer gi --queues 2 --metrics-address off ${NATGW_ARGS:-} > $out.gw.log 2>&1 &
  for _ in $(seq 100); do grep -q 'running on' $out.gw.log && break; sleep 0.2; done
else
  ip netns exec pc-gw $nulltun -v -q 2 pc0 > $out.gw.log 2>&1 &
  for _ in $(seq 100); do ip -n pc-gw link show pc0 >/dev/null 2>&1 && break; sleep 0.1; done
  ip -n pc-gw -batch - <<B
link set pc0 up
route add default dev pc0 table 77
rule add pref 1077 iif gi lookup 77
rule add pref 1078 iif go lookup 77
B
  ip netns exec pc-gw sh -c 'echo 0 > /proc/sys/net/ipv4/conf/all/rp_filter; echo 0 > /proc/sys/net/ipv4/conf/pc0/rp_filter'
  ip -n pc-server route add 10.77.1.0/24 via 10.77.2.1
fi
ip netns exec pc-server java -Xmx256m -cp "$cp" natgw.perf.load.EchoServer --bind 10.77.2.2 --tcp-port 7 > $out.echo.log 2>&1 &
for _ in $(seq 100); do grep -q ready $out.echo.log && break; sleep 0.2; done
ip netns exec pc-client java -cp "$cp" natgw.perf.load.ShortConnections --server 10.77.2.2 --port 7 \
  --sources 10.77.1.2,10.77.1.3,10.77.1.4,10.77.1.5 --mode ${LMODE:-closed} --rate ${RATE:-1000} --threads 2 --concurrency 16 --settle-s 2 --duration-s 10 \
  --out $out.json > $out.load.log 2>&1 &
loader=$!
for _ in $(seq 300); do grep -q '^measuring' $out.load.log && break; sleep 0.1; done
sleep 5   # 1 s loopback warm-up happened before 'measuring'; then 2 s settle; 3 s into the measurement
if [ "$what" = natgw ]; then gpid=$(pgrep -f "run --tun pc0" | head -1); else gpid=$(pgrep -f "$nulltun -v -q 2 pc0" | head -1); fi
cs() { cat /proc/$gpid/task/*/status | awk '/^voluntary_ctxt_switches/{v+=$2} /^nonvoluntary_ctxt_switches/{n+=$2} END{print v, n}'; }
# each thread's CPU (utime + stime, clock ticks) by name, to see how the work splits over natgw's workers
threads() { for t in /proc/$gpid/task/*; do echo "$(tr ' ' _ < $t/comm) $(cut -d' ' -f14,15 $t/stat | tr ' ' +)"; done; }
threads > $out.threads0
c0=$(cs); t0=$(date +%s.%N)
if [ -n "${BT:-}" ]; then bpftrace $BT > $out.bt 2>&1; elif [ "${PERF:-1}" = 1 ]; then perf record -a -g -F 999 -o $out.perf -- sleep 5 2>/dev/null; else
  for i in $(seq 25); do for t in /proc/$gpid/task/*; do n=$(cat $t/comm); case "$n" in natgw-worker*|nulltun) echo "$n $(awk '/se.avg.util_avg/{print $3}' $t/sched)";; esac; done; sleep 0.2; done > $out.util
  for p in $(pgrep -f EchoServer) $(pgrep -f ShortConnections); do for t in /proc/$p/task/*; do n=$(cat $t/comm); case "$n" in short*|java) echo "$n $(awk '/se.avg.util_avg/{print $3}' $t/sched)";; esac; done; done >> $out.util
fi
c1=$(cs); t1=$(date +%s.%N); echo "$c0 $c1 $t0 $t1" > $out.cs
threads > $out.threads1
wait $loader
python3 -c "import json;d=json.load(open('$out.json'));v0,n0,v1,n1,t0,t1=map(float,open('$out.cs').read().split()); r=d['values']['conn_per_s']; print('$what', 'completed', d['counts']['completed'], 'conn/s', round(r), 'machine us/conn', round(d['values']['machine_cpu_us_per_conn'],1), 'gw voluntary switches/conn %.2f involuntary %.2f'%((v1-v0)/(r*(t1-t0)), (n1-n0)/(r*(t1-t0))))"
python3 - "$out" <<'P'
import sys
def load(path):
    d = {}
    for line in open(path):
        name, ticks = line.split()
        d[name] = d.get(name, 0) + sum(int(t) for t in ticks.split('+'))
    return d
a, b = load(sys.argv[1] + '.threads0'), load(sys.argv[1] + '.threads1')
busy = {n: (b[n] - a.get(n, 0)) * 10 for n in b if n.startswith('natgw-worker') or n == 'nulltun'}
print('worker CPU ms over 5 s:', ' '.join('%s %d' % (n, busy[n]) for n in sorted(busy)))
P
