#!/bin/bash
# paws-takeover-lab.sh natgw|kernel [CLIENTS] [SECONDS] [PORTS]: a lab of its own (prefix pt), SNAT to 10.77.2.100 with
# a port range of PORTS ports from 20000 (natgw with NATGW_ARGS added, or an nftables snat rule), a server that closes
# each connection first (so it holds the 4-tuple in TIME_WAIT) and CLIENTS client addresses connecting in a loop for
# SECONDS. A crowded pool makes the NAT take ended connections' tuples over; the server's PAWS check then refuses a SYN
# whose timestamp is older than the last it saw on that 4-tuple, and the connect waits for a SYN retransmission.
# Prints connects, those over 0.9 s, the server's TcpExtPAWSTimewait, and natgw's take-over counters
# (docs/BENCHMARKS.md, sessions 20-21). With SERVICE=1 the clients connect to a service VIP 10.77.3.10:80 whose one
# backend is that server, masqueraded to the same pool (natgw --service, or nftables dnat + snat). Run as root from a
# built tree, under the quiet lock.
set -u
what=$1; clients=${2:-8}; secs=${3:-10}; ports=${4:-32}
tree=$(cd "$(dirname "$0")/../.." && pwd); tmp=$(mktemp -d); range=20000-$((20000 + ports - 1))
cleanup() { pkill -f "run --tun pt0"; pkill -f "$tmp/server.py"; sleep 1; "$tree/natgw" lab down --prefix pt >/dev/null 2>&1; rm -rf "$tmp"; }
trap cleanup EXIT
cat > $tmp/server.py <<'P'
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('10.77.2.2', 8080)); s.listen(4096)
print('ready', flush=True)
while True:
    c, _ = s.accept()
    try:
        c.recv(100); c.sendall(b'x' * 10)
    finally:
        c.close()   # first: this side holds TIME_WAIT
P
cat > $tmp/client.py <<'P'
import socket, sys, time, threading
sources = ['10.77.1.%d' % i for i in range(2, 2 + int(sys.argv[1]))]
duration = float(sys.argv[2]); lock = threading.Lock(); lat = []; errors = [0]
target = (sys.argv[3], int(sys.argv[4])) if len(sys.argv) > 4 else ('10.77.2.2', 8080)
def run(src):
    end = time.time() + duration
    while time.time() < end:
        c = socket.socket(); c.bind((src, 0)); c.settimeout(5); t0 = time.time()
        try:
            c.connect(target); t = time.time() - t0
            c.sendall(b'q')
            while c.recv(100):
                pass
            with lock:
                lat.append(t)
        except OSError:
            with lock:
                errors[0] += 1
        finally:
            c.close()
threads = [threading.Thread(target=run, args=(s,)) for s in sources]
[t.start() for t in threads]; [t.join() for t in threads]
lat.sort()
print('connects', len(lat), 'over 0.9 s', sum(1 for t in lat if t > 0.9), 'errors', errors[0],
      'p50 ms %.2f' % (lat[len(lat) // 2] * 1000 if lat else float('nan')))
P
"$tree/natgw" lab up --prefix pt --clients $clients >/dev/null
if [ "$what" = natgw ]; then
  ip netns exec pt-gw "$tree/natgw" run --tun pt0 --inside 10.77.1.0/24 --snat 10.77.2.100 --steer gi --port-range $range \
    --metrics-address off ${SERVICE:+--service tcp:10.77.3.10:80=10.77.2.2:8080} ${NATGW_ARGS:-} > $tmp/gw.log 2>&1 &
  for _ in $(seq 100); do grep -q 'running on' $tmp/gw.log && break; sleep 0.2; done
else
  ip -n pt-gw addr add 10.77.2.100/24 dev go
  ip netns exec pt-gw nft -f - <<N
table ip ptnat {
  chain pre {
    type nat hook prerouting priority -100;
    ${SERVICE:+ip daddr 10.77.3.10 tcp dport 80 dnat to 10.77.2.2:8080}
  }
  chain post {
    type nat hook postrouting priority 100;
    oif go ip saddr 10.77.1.0/24 meta l4proto tcp snat to 10.77.2.100:$range
  }
}
N
fi
ip netns exec pt-server python3 $tmp/server.py > $tmp/server.log 2>&1 &
for _ in $(seq 50); do grep -q ready $tmp/server.log && break; sleep 0.1; done
ip netns exec pt-server nstat -n >/dev/null
ip netns exec pt-client python3 $tmp/client.py $clients $secs ${SERVICE:+10.77.3.10 80}
echo "server: $(ip netns exec pt-server nstat -a | grep -o 'TcpExtPAWSTimewait *[0-9]*' | tr -s ' ')"
if [ "$what" = natgw ]; then
  ip netns exec pt-gw "$tree/natgw" conntrack -S | grep -o 'taken_over=[0-9]*\|take_over_refused[a-z_]*=[0-9]*\|pool_exhausted=[0-9]*\|reopened=[0-9]*' | tr '\n' ' '; echo
fi
