#!/bin/bash
# A lab of its own (prefix pq), natgw from TREE (built with worker-step-profile.patch) in its gateway namespace,
# the echo server, and ShortConnections from the client namespace: 2 s of settle, then 8 s measured at 1,000
# connections a second (MODE=open) or 16 in flight (MODE=closed). Prints what the patched workers wrote to
# /tmp/prof-PID.txt: per packet kind (read alone), the pipeline's time and the write's, and the SYNs' Policy.miss.
# usage: QUEUES=2 MODE=open docs/experiments/worker-step-lab.sh TREE [NATGW_JAVA_OPTS]
set -u
tree=$(cd "$1" && pwd); opts=${2:-}; mode=${MODE:-open}
trap '"$tree/natgw" lab down --prefix pq >/dev/null 2>&1' EXIT
"$tree/natgw" lab up --prefix pq --clients 4 >/dev/null
rm -f /tmp/prof-[0-9]*.txt
cp="$tree/gateway/target/natgw.jar:$tree/perf/target/natgw-perf.jar"
ip netns exec pq-gw env NATGW_JAVA_OPTS="$opts" "$tree/natgw" run --tun pq0 --inside 10.77.1.0/24 --snat 10.77.2.100 \
  --steer gi --queues "${QUEUES:-2}" --metrics-address off > /tmp/pq.log 2>&1 &
ip netns exec pq-server java -Xmx256m -cp "$cp" natgw.perf.load.EchoServer --bind 10.77.2.2 --tcp-port 7 > /tmp/pq-echo.log 2>&1 &
for _ in $(seq 100); do grep -q 'running on' /tmp/pq.log && grep -q ready /tmp/pq-echo.log && break; sleep 0.2; done
ip netns exec pq-client java -cp "$cp" natgw.perf.load.ShortConnections --server 10.77.2.2 --port 7 \
  --sources 10.77.1.2,10.77.1.3,10.77.1.4,10.77.1.5 --mode "$mode" --rate 1000 --threads 2 --settle-s 2 --duration-s 8 \
  --out "/tmp/pq-$mode-${TAG:-x}.json" | tail -1
sleep 2.5 # the workers' dump comes every 2 s
cat /tmp/prof-[0-9]*.txt
pkill -f 'natgw.gateway.cli.Main run --tun pq0'; pkill -f 'EchoServer --bind 10.77.2.2'
sleep 1.5
