"""One UDP datagram from a connected socket with the TTL and don't-fragment choice given, then what came back.

    udp_probe.py HOST PORT TTL PAYLOAD_BYTES DF(0|1) TIMEOUT_S

Prints 'reply TEXT' (the server answered), 'icmp type=T code=C info=I from=ADDR' (an ICMP error, read from the
socket's error queue as IP_RECVERR delivers it: info is the next-hop MTU of a fragmentation needed) or 'timeout';
then 'mtu N', the path MTU the kernel now holds for the destination (IP_MTU).
"""
import select
import socket
import struct
import sys
import time

IP_MTU_DISCOVER, IP_RECVERR, IP_MTU = 10, 11, 14  # linux/in.h
IP_PMTUDISC_DONT, IP_PMTUDISC_DO = 0, 2

host, port, ttl, size, df, timeout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), \
    sys.argv[5] == '1', float(sys.argv[6])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
s.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
s.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO if df else IP_PMTUDISC_DONT)
s.connect((host, port))
s.send(b'x' * size)
poller = select.poll()
poller.register(s, select.POLLIN | select.POLLERR)
deadline = time.monotonic() + timeout
outcome = 'timeout'
while outcome == 'timeout' and time.monotonic() < deadline:
    for _, events in poller.poll(max(1, int((deadline - time.monotonic()) * 1000))):
        if events & select.POLLERR:
            _, ancillary, _, _ = s.recvmsg(64, 512, socket.MSG_ERRQUEUE)
            for level, kind, data in ancillary:
                if level == socket.IPPROTO_IP and kind == IP_RECVERR:
                    # struct sock_extended_err, then the offender's sockaddr_in (SO_EE_OFFENDER)
                    _, _, icmp_type, icmp_code, _, info, _ = struct.unpack_from('=IBBBBII', data)
                    outcome = 'icmp type=%d code=%d info=%d from=%s' % (
                        icmp_type, icmp_code, info, socket.inet_ntoa(data[20:24]))
        elif events & select.POLLIN:
            outcome = 'reply ' + s.recv(2048).decode()
print(outcome)
print('mtu', s.getsockopt(socket.IPPROTO_IP, IP_MTU))
