/* Futex ping-pong between two processes over a shared memfd page: the C baselines of
 * bench/futex.bench.ts.
 *
 * Usage: futex_pingpong <rounds> <spin_ns> <delay_ns> <spin_min_ns> <spin_max_ns>
 *   spin_ns   0: wait in the kernel at once (the plain loop). Otherwise spin first, the way
 *             vmo's futexWait does (src/futex/futex.ts): `pause` and a load, the clock read
 *             every 32 steps, for an adaptive time that starts at spin_ns and stays within
 *             [spin_min_ns, spin_max_ns]; then one FUTEX_WAIT.
 *   delay_ns  the peer busy-waits this long after it sees the ping before it answers (0: at
 *             once), so that a wait whose spin is shorter ends in the kernel.
 * Prints one line: <ns per round trip> <CPU ns per round trip, both processes>
 *   <waits that reached the kernel per round trip>; with <rounds> alone, only the first (as
 *   bench/channel.bench.ts reads it). */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STEPS_PER_CLOCK 32

static double spin_ns, spin_min_ns, spin_max_ns;

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

/* vmo's adapt(): the next spin from how long this wait lasted. */
static void adapt(double waited_ns, int caught) {
  double next;
  if (caught) {
    next = waited_ns * 2 > spin_ns ? spin_ns * 2 : spin_ns;
  } else if (waited_ns <= spin_max_ns) {
    next = waited_ns * 1.25 > spin_ns ? waited_ns * 1.25 : spin_ns;
  } else {
    next = spin_ns / 2;
  }
  spin_ns = next < spin_min_ns ? spin_min_ns : next > spin_max_ns ? spin_max_ns : next;
}

/* vmo's spin: 1 when the word changed, crediting the catch with the time last read. */
static int spin(atomic_int *w, int v, double start) {
  double end = start + spin_ns, spun = 0;
  for (int i = STEPS_PER_CLOCK;; i--) {
    __builtin_ia32_pause();
    if (atomic_load(w) != v) {
      adapt(spun, 1);
      return 1;
    }
    if (i == 0) {
      double now = now_ns();
      if (now >= end) return 0;
      spun = now - start;
      i = STEPS_PER_CLOCK;
    }
  }
}

/* As vmo's ping-pong loop: while the word holds v, one futexWait (spin, then one FUTEX_WAIT). */
static long wait_while(atomic_int *w, int v) {
  long kernel = 0;
  while (atomic_load(w) == v) {
    if (spin_ns > 0) {
      double start = now_ns();
      if (spin(w, v, start)) break;
      kernel++;
      syscall(SYS_futex, w, FUTEX_WAIT, v, NULL, NULL, 0);
      adapt(now_ns() - start, 0);
    } else {
      kernel++;
      syscall(SYS_futex, w, FUTEX_WAIT, v, NULL, NULL, 0);
    }
  }
  return kernel;
}
static void wake(atomic_int *w) { syscall(SYS_futex, w, FUTEX_WAKE, 1, NULL, NULL, 0); }

static double cpu_ns(int who) {
  struct rusage u;
  getrusage(who, &u);
  return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e9 +
         (u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e3;
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 10000;
  spin_ns = argc > 2 ? atof(argv[2]) : 0;
  double delay_ns = argc > 3 ? atof(argv[3]) : 0;
  spin_min_ns = argc > 4 ? atof(argv[4]) : spin_ns;
  spin_max_ns = argc > 5 ? atof(argv[5]) : spin_ns;
  int fd = memfd_create("pingpong", MFD_CLOEXEC);
  if (fd < 0 || ftruncate(fd, 4096) != 0) return 1;
  atomic_int *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (w == MAP_FAILED) return 1;
  long *child_kernel = (long *)(w + 16);
  pid_t pid = fork();
  if (pid == 0) {
    long kernel = 0;
    for (int i = 0; i < rounds; i++) {
      kernel += wait_while(w, 2 * i);
      if (delay_ns > 0) {
        double until = now_ns() + delay_ns;
        while (now_ns() < until) {
        }
      }
      atomic_store(w, 2 * i + 2);
      wake(w);
    }
    *child_kernel = kernel;
    _exit(0);
  }
  long kernel = 0;
  double cpu0 = cpu_ns(RUSAGE_SELF);
  double a = now_ns();
  for (int i = 0; i < rounds; i++) {
    atomic_store(w, 2 * i + 1);
    wake(w);
    kernel += wait_while(w, 2 * i + 1);
  }
  double b = now_ns();
  double cpu = cpu_ns(RUSAGE_SELF) - cpu0;
  waitpid(pid, NULL, 0);
  cpu += cpu_ns(RUSAGE_CHILDREN);
  kernel += *child_kernel;
  if (argc <= 2) {
    printf("%.0f\n", (b - a) / rounds);
    return 0;
  }
  printf("%.0f %.0f %.3f\n", (b - a) / rounds, cpu / rounds, (double)kernel / rounds);
  return 0;
}
