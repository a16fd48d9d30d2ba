// nulltun.c with the idle style NULLTUN_IDLE names (issue 13, docs/BENCHMARKS.md, session 13), run as bench --nulltun:
//   poll   (natgw's) a non-blocking fd, read until EAGAIN, then poll(2) on the fd and an eventfd
//   epoll  the same with epoll_wait(2) on both, registered once
//   nowait a blocking fd: a blocking read, then preadv2(RWF_NOWAIT) reads until EAGAIN
// Unset: nulltun.c's blocking read of one packet at a time.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>
static const char *name, *idle; static int vnet;
static void *loop(void *arg) {
  int fd = open("/dev/net/tun", O_RDWR);
  struct ifreq ifr; memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE | (vnet ? IFF_VNET_HDR : 0);
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) { perror("TUNSETIFF"); exit(1); }
  if (vnet) {
    int sz = 10; ioctl(fd, TUNSETVNETHDRSZ, &sz);
    if (ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | 0x20 /*USO4*/) < 0 &&
        ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) < 0) perror("TUNSETOFFLOAD");
  }
  static char bufs[8][65536 + 64]; char *b = bufs[(long)arg];
  int ev = eventfd(0, EFD_NONBLOCK), ep = -1, nonblocking = idle && strcmp(idle, "nowait") != 0;
  if (nonblocking) fcntl(fd, F_SETFL, O_NONBLOCK);
  struct pollfd p[2] = {{fd, POLLIN, 0}, {ev, POLLIN, 0}};
  struct epoll_event e1 = {EPOLLIN, {.fd = fd}}, e2 = {EPOLLIN, {.fd = ev}}, out[2];
  if (idle && !strcmp(idle, "epoll")) { ep = epoll_create1(0); epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e1); epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e2); }
  struct iovec iov = { b, 65536 + 64 }; int drained = 1;
  for (;;) {
    ssize_t n = nonblocking || drained ? read(fd, b, 65536 + 64) : preadv2(fd, &iov, 1, -1, RWF_NOWAIT);
    if (n < 0 && errno == EAGAIN) { if (ep >= 0) epoll_wait(ep, out, 2, 100); else if (nonblocking) poll(p, 2, 100); drained = 1; continue; }
    if (n <= 0) continue;
    drained = !idle; // nowait: after a packet, try the next without blocking
    write(fd, b, n);
  }
  return 0;
}
int main(int argc, char **argv) {
  int q = 1, c;
  idle = getenv("NULLTUN_IDLE");
  while ((c = getopt(argc, argv, "q:v")) != -1) { if (c == 'q') q = atoi(optarg); else if (c == 'v') vnet = 1; }
  name = argv[optind];
  pthread_t t[8];
  for (long i = 0; i < q; i++) pthread_create(&t[i], 0, loop, (void *)i);
  pthread_join(t[0], 0);
}
