// udppace DST_IP PORT SECONDS RATE THREADS [SRC_IP...]: small-UDP packets (18-byte payloads, as udpflood) at RATE
// packets a second in all, for a throughput search at a given offered load: each thread sends its share on a 100 us
// tick (clock_nanosleep to an absolute time, so it does not spin on a CPU the forwarder needs), the packets due by
// then with sendmmsg. Behind (descheduled, or the socket refused with ENOBUFS), it sends what is due at once, up to
// one 64-packet call per try. One socket per thread, bound to SRC_IP[i], connected; prints the packets each thread
// sent and how long it took (longer than SECONDS when it could not keep the rate). Compiled at run time by natgw bench
// (CTools).
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
#define BATCH 64
#define TICK_NS 100000L
static struct sockaddr_in dst; static int secs, threads; static double rate; static char **srcs; static int nsrc;
static long ns_between(const struct timespec *a, const struct timespec *b) {
  return (b->tv_sec - a->tv_sec) * 1000000000L + (b->tv_nsec - a->tv_nsec);
}
static void *run(void *arg) {
  long id = (long)arg; int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (nsrc) {
    struct sockaddr_in a = {0}; a.sin_family = AF_INET; inet_pton(AF_INET, srcs[id % nsrc], &a.sin_addr);
    if (bind(s, (void *)&a, sizeof a) < 0) { perror("bind"); exit(1); }
  }
  if (connect(s, (void *)&dst, sizeof dst) < 0) { perror("connect"); exit(1); }
  char payload[18] = "0123456789abcdefg"; struct mmsghdr m[BATCH]; struct iovec v[BATCH];
  for (int i = 0; i < BATCH; i++) {
    v[i].iov_base = payload; v[i].iov_len = 18; memset(&m[i], 0, sizeof m[i]);
    m[i].msg_hdr.msg_iov = &v[i]; m[i].msg_hdr.msg_iovlen = 1;
  }
  const double per_ns = rate / threads / 1e9; const long total = (long)(rate / threads * secs);
  struct timespec start, tick, now; clock_gettime(CLOCK_MONOTONIC, &start); tick = start;
  long sent = 0;
  while (sent < total) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    long due = (long)(ns_between(&start, &now) * per_ns); if (due > total) due = total;
    while (sent < due) {
      int n = due - sent > BATCH ? BATCH : (int)(due - sent);
      int r = sendmmsg(s, m, n, 0);
      if (r > 0) sent += r;
      else if (errno != ENOBUFS && errno != EAGAIN && errno != ECONNREFUSED && errno != EINTR) { perror("sendmmsg"); exit(3); }
      else break; // the socket's queue is full: try again next tick
    }
    if (sent >= total) break;
    tick.tv_nsec += TICK_NS; if (tick.tv_nsec >= 1000000000L) { tick.tv_sec++; tick.tv_nsec -= 1000000000L; }
    if (ns_between(&tick, &now) > 0) tick = now; // late: the next tick from now, the debt is sent then
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &tick, 0);
  }
  clock_gettime(CLOCK_MONOTONIC, &now);
  printf("thread %ld sent %ld in %.3f s\n", id, sent, ns_between(&start, &now) / 1e9);
  return 0;
}
int main(int argc, char **argv) {
  if (argc < 6) { fprintf(stderr, "usage: udppace DST_IP PORT SECONDS RATE THREADS [SRC_IP...]\n"); return 1; }
  dst.sin_family = AF_INET; inet_pton(AF_INET, argv[1], &dst.sin_addr); dst.sin_port = htons(atoi(argv[2]));
  secs = atoi(argv[3]); rate = atof(argv[4]); threads = atoi(argv[5]); srcs = argv + 6; nsrc = argc - 6;
  if (secs < 1 || rate < 1 || threads < 1 || threads > 64) { fprintf(stderr, "udppace: bad SECONDS, RATE or THREADS\n"); return 1; }
  pthread_t th[64]; for (long i = 0; i < threads; i++) pthread_create(&th[i], 0, run, (void *)i);
  for (int i = 0; i < threads; i++) pthread_join(th[i], 0);
  return 0;
}
