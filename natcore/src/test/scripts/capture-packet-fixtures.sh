#!/usr/bin/env bash
# Captures the real packets behind natcore/src/test/resources/packets/*.hex (run as root, by hand;
# never part of the build). Three namespaces, checksum offload off so the kernel writes full
# checksums, tcpdump on the receiving interface:
#
#   ngwt-cap-a 10.201.1.2 --- 10.201.1.1 ngwt-cap-r 10.201.2.1 --- 10.201.2.2 ngwt-cap-b
#
# Every fixture's checksums are then checked by tshark and listed in capture-report.txt.
#
#   sudo natcore/src/test/scripts/capture-packet-fixtures.sh [OUT_DIR]
set -euo pipefail

OUT=${1:-$(cd "$(dirname "$0")/../resources/packets" && pwd)}
WORK=$(mktemp -d)
A=ngwt-cap-a R=ngwt-cap-r B=ngwt-cap-b
PIDS=()

cleanup()
{
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for ns in $A $R $B; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap "exit 130" INT TERM

for ns in $A $R $B; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip link add ngwt-cap-a0 netns $A type veth peer name ngwt-cap-r0 netns $R
ip link add ngwt-cap-r1 netns $R type veth peer name ngwt-cap-b0 netns $B
ip -n $A addr add 10.201.1.2/24 dev ngwt-cap-a0
ip -n $R addr add 10.201.1.1/24 dev ngwt-cap-r0
ip -n $R addr add 10.201.2.1/24 dev ngwt-cap-r1
ip -n $B addr add 10.201.2.2/24 dev ngwt-cap-b0
for pair in $A:ngwt-cap-a0 $R:ngwt-cap-r0 $R:ngwt-cap-r1 $B:ngwt-cap-b0; do
    ns=${pair%%:*} dev=${pair#*:}
    ip netns exec "$ns" ethtool -K "$dev" tx off >/dev/null; ip netns exec "$ns" ethtool -K "$dev" rx off gso off gro off >/dev/null 2>&1 || true
    ip -n "$ns" link set "$dev" up
done
ip -n $A route add default via 10.201.1.1
ip -n $B route add default via 10.201.2.1
ip netns exec $R sysctl -qw net.ipv4.ip_forward=1
# a route with a small MTU towards one address, so the router answers DF packets with "fragmentation needed"
ip -n $R route add 10.201.2.3/32 dev ngwt-cap-r1 mtu lock 1280
sleep 1

# b receives everything a sends; a receives everything b and r send back
ip netns exec $B tcpdump -U -n -i ngwt-cap-b0 -w "$WORK/b.pcap" 'ip and not arp' 2>/dev/null & PIDS+=($!)
ip netns exec $A tcpdump -U -n -i ngwt-cap-a0 -w "$WORK/a.pcap" 'ip and not arp' 2>/dev/null & PIDS+=($!)
sleep 1

ip netns exec $B nc -l -p 8080 >/dev/null & PIDS+=($!)
sleep 0.5
echo hello | ip netns exec $A nc -q 1 -p 40001 10.201.2.2 8080 || true     # TCP SYN, SYN/ACK, data
echo dns-query | ip netns exec $A nc -u -q 1 -p 40002 10.201.2.2 5353 || true # UDP to a closed port: port unreachable
ip netns exec $A ping -c 1 -p 6e61746777 -s 24 10.201.2.2 >/dev/null          # echo request and reply
ip netns exec $A ping -c 1 -t 1 -s 24 10.201.2.2 >/dev/null || true             # time exceeded about an echo
ip netns exec $A python3 - <<'EOF'                                             # time exceeded about TCP; frag needed about UDP
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 1)
s.setblocking(False)
s.bind(("10.201.1.2", 40003))
try:
    s.connect(("10.201.2.2", 8080))
except BlockingIOError:
    pass
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("10.201.1.2", 40004))
u.setsockopt(socket.IPPROTO_IP, 10, 2)  # IP_MTU_DISCOVER = IP_PMTUDISC_DO: DF set
u.sendto(b"x" * 1400, ("10.201.2.3", 9999))
import time; time.sleep(0.5)
EOF
sleep 1
for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
wait 2>/dev/null || true
PIDS=()

# one fixture: the Nth packet of a capture matching a filter, its IPv4 bytes in hex
fixture()
{
    local name=$1 pcap=$2 filter=$3 what=$4
    local file="$OUT/$name.hex"
    tcpdump -r "$WORK/$pcap" -c 1 -w "$WORK/$name.pcap" "$filter" 2>/dev/null
    {
        echo "# $what"
        echo "# Captured $(date -u +%Y-%m-%d) by natcore/src/test/scripts/capture-packet-fixtures.sh: Linux $(uname -r), veth between"
        echo "# namespaces with checksum offload off, tcpdump on the receiving side; IPv4 header onward, no link header."
        tcpdump -r "$WORK/$name.pcap" -n -vv 2>/dev/null | sed 's/^/# tcpdump -vv: /'
        tcpdump -r "$WORK/$name.pcap" -n -x 2>/dev/null | grep -E '^\s+0x' | sed -E 's/^\s+0x[0-9a-f]+:\s+//'
    } > "$file"
    echo "== $name" >> "$WORK/report.txt"
    tshark -r "$WORK/$name.pcap" -V -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE 2>/dev/null |
        grep -iE 'checksum status|checksum:.*(correct|incorrect|\[)' >> "$WORK/report.txt" || true
}

fixture tcp-syn b.pcap 'tcp[tcpflags] == tcp-syn' 'TCP SYN with options, 10.201.1.2:40001 > 10.201.2.2:8080 (nc)'
fixture tcp-synack a.pcap 'tcp[tcpflags] == tcp-syn|tcp-ack' 'TCP SYN/ACK with options, 10.201.2.2:8080 > 10.201.1.2:40001'
fixture tcp-data b.pcap 'tcp and src port 40001 and tcp[tcpflags] & tcp-push != 0' 'TCP PSH/ACK carrying "hello\n", 10.201.1.2:40001 > 10.201.2.2:8080'
fixture udp-datagram b.pcap 'udp and dst port 5353' 'UDP datagram "dns-query\n", 10.201.1.2:40002 > 10.201.2.2:5353 (nc -u)'
fixture icmp-port-unreachable a.pcap 'icmp and icmp[0] == 3 and icmp[1] == 3' 'ICMP port unreachable from 10.201.2.2 about the UDP datagram to its closed port 5353'
fixture icmp-echo-request b.pcap 'icmp and icmp[0] == 8' 'ICMP echo request, 24 bytes of pattern data, 10.201.1.2 > 10.201.2.2 (ping -p 6e61746777 -s 24)'
fixture icmp-echo-reply a.pcap 'icmp and icmp[0] == 0' 'ICMP echo reply, 10.201.2.2 > 10.201.1.2'
fixture icmp-time-exceeded-echo a.pcap 'icmp and icmp[0] == 11 and icmp[17] == 1' 'ICMP time exceeded from router 10.201.1.1 about an echo request with TTL 1 (ping -t 1)'
fixture icmp-time-exceeded-tcp a.pcap 'icmp and icmp[0] == 11 and icmp[17] == 6' 'ICMP time exceeded from router 10.201.1.1 about a TCP SYN with TTL 1 from 10.201.1.2:40003'
fixture icmp-frag-needed a.pcap 'icmp and icmp[0] == 3 and icmp[1] == 4' 'ICMP fragmentation needed (next-hop MTU 1280) from router 10.201.1.1 about a 1428-byte DF UDP datagram'
cp "$WORK/report.txt" "$OUT/capture-report.txt"
cat "$OUT/capture-report.txt"
