// nulltun.c with a TUNSETSTEERINGEBPF program that picks the queue of the CPU the packet is on
// (bpf_get_smp_processor_id): no automatic flow steering. An issue 13 experiment, run as bench --nulltun.
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
#include <linux/bpf.h>
#include <sys/syscall.h>
static int steer_prog(int mode) {
  /* mode 1: queue = cpu; mode 2: queue = skb->hash (symmetric? no) */
  struct bpf_insn cpu[] = {
    { .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_get_smp_processor_id },
    { .code = BPF_JMP | BPF_EXIT },
  };
  union bpf_attr a; memset(&a, 0, sizeof a);
  a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER; a.insns = (unsigned long)cpu; a.insn_cnt = 2;
  a.license = (unsigned long)"GPL";
  static char log[4096]; a.log_buf = (unsigned long)log; a.log_size = sizeof log; a.log_level = 1;
  int fd = syscall(__NR_bpf, BPF_PROG_LOAD, &a, sizeof a);
  if (fd < 0) { perror("BPF_PROG_LOAD"); fprintf(stderr, "%s\n", log); exit(1); }
  return fd;
}

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
  { int p = steer_prog(1); if (ioctl(fd, TUNSETSTEERINGEBPF, &p) < 0) { perror("TUNSETSTEERINGEBPF"); exit(1);} }
  static char bufs[8][65536 + 64]; char *b = bufs[(long)arg];
  for (;;) { ssize_t n = read(fd, b, 65536 + 64); if (n <= 0) continue; write(fd, b, n); }
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
