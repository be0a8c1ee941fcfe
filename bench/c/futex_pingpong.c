/* Futex ping-pong between two processes over a shared memfd page: the C baseline of
 * bench/channel.bench.ts. Usage: futex_pingpong <rounds>; prints the mean round trip in ns. */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void wait_while(atomic_int *w, int v) {
  while (atomic_load(w) == v) syscall(SYS_futex, w, FUTEX_WAIT, v, NULL, NULL, 0);
}
static void wake(atomic_int *w) { syscall(SYS_futex, w, FUTEX_WAKE, 1, NULL, NULL, 0); }

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 10000;
  int fd = memfd_create("pingpong", MFD_CLOEXEC);
  if (fd < 0 || ftruncate(fd, 4096) != 0) return 1;
  atomic_int *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (w == MAP_FAILED) return 1;
  pid_t pid = fork();
  if (pid == 0) {
    for (int i = 0; i < rounds; i++) {
      wait_while(w, 2 * i);
      atomic_store(w, 2 * i + 2);
      wake(w);
    }
    _exit(0);
  }
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int i = 0; i < rounds; i++) {
    atomic_store(w, 2 * i + 1);
    wake(w);
    wait_while(w, 2 * i + 1);
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  waitpid(pid, NULL, 0);
  double ns = (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
  printf("%.0f\n", ns / rounds);
  return 0;
}
