// nulltun.c with another idle style (issue 13, session 13, docs/BENCHMARKS.md): read until EAGAIN, then epoll_wait on the fd and an eventfd.
#define _GNU_SOURCE
#include <sys/epoll.h>
// nulltun: the ceiling of a TUN-based forwarder on this machine. Reads each packet from a
// (multi-queue) TUN device and writes it straight back, doing no NAT work, one thread per queue.
// Optional vnet header mode (-v) turns on TSO/USO/CSUM offloads so the kernel hands over GSO super-packets.
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <poll.h>
#include <errno.h>
#include <sys/eventfd.h>
static const char *name; static int vnet;
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
  fcntl(fd, F_SETFL, O_NONBLOCK); int ev = eventfd(0, EFD_NONBLOCK);
  int ep = epoll_create1(0); struct epoll_event e1 = {EPOLLIN, {.fd = fd}}, e2 = {EPOLLIN, {.fd = ev}}, out[2];
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e1); epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e2);
  for (;;) { ssize_t n = read(fd, b, 65536 + 64); if (n < 0 && errno == EAGAIN) { epoll_wait(ep, out, 2, 100); continue; } if (n <= 0) continue; write(fd, b, n); }
  return 0;
}
int main(int argc, char **argv) {
  int q = 1, c;
  while ((c = getopt(argc, argv, "q:v")) != -1) { if (c == 'q') q = atoi(optarg); else if (c == 'v') vnet = 1; }
  name = argv[optind];
  pthread_t t[8];
  for (long i = 0; i < q; i++) pthread_create(&t[i], 0, loop, (void *)i);
  pthread_join(t[0], 0);
}
