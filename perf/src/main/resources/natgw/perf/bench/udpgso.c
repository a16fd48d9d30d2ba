// udpgso DST_IP PORT SECONDS THREADS SEGMENT [SRC_IP...]: UDP sender with Linux UDP GSO (UDP_SEGMENT, Linux 4.18):
// each send(2) hands the kernel one datagram of up to 64 KiB that is cut into SEGMENT-byte datagrams as late as
// the path allows, so a forwarder with USO (TUN_F_USO4) sees UDP super-packets. One socket per thread, bound to
// SRC_IP[i], connected; prints the segments each thread sent. Compiled at run time by natgw bench (CTools).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
// UDP_MAX_SEGMENTS: 64 on older kernels (128 on newer); a datagram must also fit the 16-bit IP length
#define MAX_SEGMENTS 64
#define MAX_DATAGRAM 65000
static struct sockaddr_in dst; static int secs, segment; static char **srcs; static int nsrc;
static void *run(void *arg) {
  long id = (long)arg; int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (nsrc) {
    struct sockaddr_in a = {0}; a.sin_family = AF_INET; inet_pton(AF_INET, srcs[id % nsrc], &a.sin_addr);
    if (bind(s, (void *)&a, sizeof a) < 0) { perror("bind"); exit(1); }
  }
  if (connect(s, (void *)&dst, sizeof dst) < 0) { perror("connect"); exit(1); }
  if (setsockopt(s, SOL_UDP, UDP_SEGMENT, &segment, sizeof segment) < 0) { perror("UDP_SEGMENT"); exit(2); }
  int segs = MAX_DATAGRAM / segment; if (segs > MAX_SEGMENTS) segs = MAX_SEGMENTS;
  size_t len = (size_t)segs * segment; char *buf = calloc(1, len);
  time_t end = time(0) + secs; long sent = 0;
  while (time(0) < end) {
    ssize_t r = send(s, buf, len, 0);
    if (r > 0) sent += (r + segment - 1) / segment;
    else if (errno != ENOBUFS && errno != EAGAIN && errno != ECONNREFUSED) { perror("send"); exit(3); }
  }
  printf("thread %ld sent %ld segments of %d bytes\n", id, sent, segment); return 0;
}
int main(int argc, char **argv) {
  if (argc < 6) { fprintf(stderr, "usage: udpgso DST_IP PORT SECONDS THREADS SEGMENT [SRC_IP...]\n"); return 1; }
  dst.sin_family = AF_INET; inet_pton(AF_INET, argv[1], &dst.sin_addr); dst.sin_port = htons(atoi(argv[2]));
  secs = atoi(argv[3]); int t = atoi(argv[4]); segment = atoi(argv[5]); srcs = argv + 6; nsrc = argc - 6;
  if (t < 1 || t > 64 || segment < 1 || segment > MAX_DATAGRAM) { fprintf(stderr, "udpgso: bad THREADS or SEGMENT\n"); return 1; }
  pthread_t th[64]; for (long i = 0; i < t; i++) pthread_create(&th[i], 0, run, (void *)i);
  for (int i = 0; i < t; i++) pthread_join(th[i], 0);
  return 0;
}
