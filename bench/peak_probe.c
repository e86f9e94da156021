/*
 * Machine-limit probe for bench/peak.ts (compiled there with the system C compiler,
 * -O2 -march=native -ffp-contract=fast).  Prints one JSON line.
 *
 *   clock               effective core clock: a chain of dependent integer adds
 *                       (1 cycle latency each on x86) per second of thread CPU time, best of 5
 *   fma THREADS SECS    fp32 FMA throughput: 16 independent accumulators of 64-byte
 *                       vectors per thread (enough to cover FMA latency x pipes), GFLOP/s
 *                       counted as 2 per lane per FMA; per wall second (what the run got)
 *                       and per thread-CPU second (what a core does when it is not shared)
 *   triad THREADS MB    memory bandwidth: a[i] = b[i] + s*c[i] over 3 arrays of MB each
 *                       (well above the caches), bytes counted as 3 x 4 per element
 *                       (STREAM convention, write-allocate not counted), best of 5
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

/* CPU time of the calling thread: unlike wall time, not inflated when the core is shared. */
static double cpu_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

#define A1 "add $1, %0\n\t"
#define A10 A1 A1 A1 A1 A1 A1 A1 A1 A1 A1
#define A50 A10 A10 A10 A10 A10

static int clock_probe(void) {
#if defined(__x86_64__)
  double best = 0;
  for (int rep = 0; rep < 5; rep++) {
    unsigned long x = 0, iters = 4000000;
    double t0 = cpu_now();
    for (unsigned long i = 0; i < iters; i++) __asm__ volatile(A50 : "+r"(x));
    double ghz = (double)iters * 50 / (cpu_now() - t0) / 1e9;
    if (ghz > best) best = ghz;
    if (x == 42) printf(" ");
  }
  printf("{\"mode\":\"clock\",\"ghz\":%.4f}\n", best);
  return 0;
#else
  printf("{\"mode\":\"clock\",\"error\":\"x86-64 only\"}\n");
  return 0;
#endif
}

typedef float vf __attribute__((vector_size(64)));
#define LANES 16
#define ACC 16

struct fma_arg { double secs; double flops; double elapsed; double cpu; float sink; };

static void *fma_worker(void *p) {
  struct fma_arg *arg = p;
  vf acc[ACC];
  vf a, b;
  for (int l = 0; l < LANES; l++) { a[l] = 0.999999f; b[l] = 1e-7f; }
  for (int k = 0; k < ACC; k++) for (int l = 0; l < LANES; l++) acc[k][l] = (float)(k + l) * 1e-3f;
  unsigned long blocks = 0;
  double c0 = cpu_now(), t0 = now(), t;
  do {
    for (int r = 0; r < 10000; r++) {
#pragma GCC unroll 16
      for (int k = 0; k < ACC; k++) acc[k] = acc[k] * a + b;
    }
    blocks++;
    t = now();
  } while (t - t0 < arg->secs);
  arg->elapsed = t - t0;
  arg->cpu = cpu_now() - c0;
  arg->flops = (double)blocks * 10000 * ACC * LANES * 2;
  float s = 0;
  for (int k = 0; k < ACC; k++) for (int l = 0; l < LANES; l++) s += acc[k][l];
  arg->sink = s;
  return NULL;
}

static int fma_probe(int threads, double secs) {
  pthread_t tid[64];
  struct fma_arg args[64];
  if (threads < 1 || threads > 64) return 2;
  for (int i = 0; i < threads; i++) { args[i].secs = secs; pthread_create(&tid[i], NULL, fma_worker, &args[i]); }
  double flops = 0, elapsed = 0, sink = 0, per_cpu = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(tid[i], NULL);
    flops += args[i].flops;
    per_cpu += args[i].flops / args[i].cpu;
    if (args[i].elapsed > elapsed) elapsed = args[i].elapsed;
    sink += args[i].sink;
  }
  printf("{\"mode\":\"fma\",\"threads\":%d,\"gflops\":%.2f,\"gflops_per_cpu_second_sum\":%.2f,\"seconds\":%.3f,\"sink\":%g}\n",
         threads, flops / elapsed / 1e9, per_cpu / 1e9, elapsed, sink);
  return 0;
}

struct triad_arg { float *a, *b, *c; size_t n; };

static void *triad_worker(void *p) {
  struct triad_arg *t = p;
  const float s = 1.0001f;
  for (size_t i = 0; i < t->n; i++) t->a[i] = t->b[i] + s * t->c[i];
  return NULL;
}

static int triad_probe(int threads, double mb) {
  size_t n = (size_t)(mb * 1024 * 1024 / 4);
  float *a = aligned_alloc(64, n * 4), *b = aligned_alloc(64, n * 4), *c = aligned_alloc(64, n * 4);
  if (!a || !b || !c || threads < 1 || threads > 64) return 2;
  for (size_t i = 0; i < n; i++) { a[i] = 0; b[i] = 1; c[i] = 2; }
  pthread_t tid[64];
  struct triad_arg args[64];
  double best = 1e30;
  for (int rep = 0; rep < 5; rep++) {
    double t0 = now();
    for (int i = 0; i < threads; i++) {
      size_t lo = n * i / threads, hi = n * (i + 1) / threads;
      args[i] = (struct triad_arg){ a + lo, b + lo, c + lo, hi - lo };
      pthread_create(&tid[i], NULL, triad_worker, &args[i]);
    }
    for (int i = 0; i < threads; i++) pthread_join(tid[i], NULL);
    double dt = now() - t0;
    if (dt < best) best = dt;
  }
  printf("{\"mode\":\"triad\",\"threads\":%d,\"gbytes_per_s\":%.2f,\"array_mb\":%.0f,\"check\":%g}\n", threads, 3.0 * 4 * n / best / 1e9, mb, a[n / 2]);
  free(a); free(b); free(c);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "clock")) return clock_probe();
  if (argc >= 4 && !strcmp(argv[1], "fma")) return fma_probe(atoi(argv[2]), atof(argv[3]));
  if (argc >= 4 && !strcmp(argv[1], "triad")) return triad_probe(atoi(argv[2]), atof(argv[3]));
  fprintf(stderr, "usage: peak_probe clock | fma THREADS SECS | triad THREADS MB\n");
  return 2;
}
