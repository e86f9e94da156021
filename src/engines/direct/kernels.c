/*
 * The direct engine's kernels: a plain U-Net's operators (3×3 and 1×1 convolution, 2×2 max
 * pooling, 2×2 stride-2 transposed convolution, ReLU, sigmoid) on float32 tensors in a padded
 * channel-planar layout, run as one program per call (`tu_run`), so a whole model costs one
 * foreign call; `tu_run_split` runs it on two threads, each layer's rows halved between them
 * (native builds; for a run that has the machine to itself); `tu_run_pooled` on one of the
 * library's run threads (native builds; a run handed off the event loop).
 *
 * Why by hand: onnxruntime's CPU kernels (NCHWc, im2col + GEMM) and XNNPACK vectorise over
 * output channels in blocks of 8-16; a 4-channel layer then does 4× the work (TinyUnet's
 * full-resolution layers: 57 % of its time). These kernels vectorise over the row instead
 * (a vector of VL pixels, 1-16 output channels and 1-2 rows a step), so every lane is useful
 * at any channel count. GCC's vector extensions keep them portable. The kernels (the part
 * under TU_BODY) are compiled once per vector width, each with step shapes that fit its
 * registers: on x86-64 three times in one library (AVX-512: VL 16, AVX2: 8, SSE2: 4; `tu_run`
 * picks by the CPU's features at the first run — one width for all, VL 16, took 122 ms on
 * AVX2 instead of 5); once elsewhere with VL 4 (NEON; WebAssembly SIMD128 built by clang into
 * `kernels.wasm`, see `wasm_kernels.ts`).
 *
 * Layout of a tensor [C][H][W]: C planes of (H + 2) rows × WP floats; element (c, y, x) at
 * c*(H+2)*WP + (y+1)*WP + (x+1); row 0, row H+1, column 0 and columns W+1.. are zero, so a
 * 3×3 window with padding 1 reads without bounds checks. WP ≥ roundup(W, 32) + 2. Channels
 * of one tensor are contiguous planes, so a Concat on channels is two tensors placed one
 * after the other (no copy). The program and its buffers are planned in `program.ts`.
 */
#ifndef TU_BODY
#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__wasm__) || defined(TU_NO_THREADS)
#define TU_THREADS 0
#else
#define TU_THREADS 1
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#endif

enum {
  OP_PACK = 1,
  OP_UNPACK = 2,
  OP_CONV3 = 3,
  OP_CONV1 = 4,
  OP_MAXPOOL2 = 5,
  OP_CONVT2 = 6,
  OP_RELU = 7,
  OP_SIGMOID = 8,
};

/* one instruction: 12 int32 fields */
enum { F_OP, F_IN, F_OUT, F_CIN, F_COUT, F_H, F_W, F_WPIN, F_WPOUT, F_WEIGHTS, F_BIAS, F_RELU, FIELDS };

#define LD(p) (*(const vf*)(p))
#define ST(p, v) (*(vf*)(p) = (v))
/* acc + a·s (the compiler fuses it where the target has FMA; WebAssembly SIMD128 has none:
   relaxed SIMD's madd measured no faster in V8 and rounds differently between runtimes) */
#define MAC(acc, a, s) ((acc) + (a) * (s))
#define TU_ARGS                                                                           \
  const int32_t *prog, int32_t count, float *work, const float *weights, const float *input, \
      float *output

/*
 * Rows [*ya, *yb) of an instruction's `rows` that part `part` of `parts` (1, or 2 for a split
 * run) computes: an even first half (a 3×3 step of 2 rows then recomputes none), the rest,
 * at least 2 rows, to part 1; a tensor too small for that stays whole with part 0.
 */
static void tu_rows(int rows, int part, int parts, int* ya, int* yb) {
  const int half = (rows + 2) / 4 * 2;
  if (parts == 1 || half < 2 || rows - half < 2) {
    *ya = 0;
    *yb = part == 0 ? rows : 0;
    return;
  }
  *ya = part == 0 ? 0 : half;
  *yb = part == 0 ? half : rows;
}

#if TU_THREADS
/* One run's arguments (TU_ARGS), as a split run and a run thread's job keep them. */
struct tu_call {
  const int32_t* prog;
  int32_t count;
  float* work;
  const float* weights;
  const float* input;
  float* output;
};
#define TU_CALL_ARGS(c) (c).prog, (c).count, (c).work, (c).weights, (c).input, (c).output

/*
 * A split run (tu_run_split): the calling thread and one helper thread (started at the first
 * split run, then asleep between runs) each run every instruction on their rows, meeting at a
 * barrier after each. One split run at a time; `busy` says one is going.
 */
static struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int has_job;
  atomic_int started;
  int32_t (*part)(TU_ARGS, int part, int parts, int* sense);
  struct tu_call call;
  atomic_int busy, arrived, phase, done;
} tu_split = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

/* Waits a little (the count of waits so far), then gives the core away: the other part may
   not be running yet, or share this core. */
static int tu_relax(int spins) {
  if (spins >= 2000) {
    sched_yield();
    return spins;
  }
#if defined(__x86_64__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ volatile("yield");
#endif
  return spins + 1;
}

/* The two parts' barrier between instructions (sense-reversing; `sense` is the caller's). */
static void tu_barrier(int* sense) {
  *sense ^= 1;
  if (atomic_fetch_add(&tu_split.arrived, 1) == 1) {
    atomic_store(&tu_split.arrived, 0);
    atomic_store(&tu_split.phase, *sense);
  } else {
    for (int spins = 0; atomic_load(&tu_split.phase) != *sense;) spins = tu_relax(spins);
  }
}
#else
static void tu_barrier(int* sense) { (void)sense; }
#endif

/* The kernels below (TU_BODY), once per vector width: VL floats a vector, names through NS. */
#define TU_BODY
#if defined(__x86_64__) && !defined(TU_NO_CLONES)
/* x86-64: AVX-512 (16 floats), AVX2 (8), SSE2 (4), picked at load by the CPU's features; each
   width is compiled for exactly the features tu_level checks (a CPU that lacks one that was
   compiled in would stop the process on an illegal instruction) */
#define TU_PRAGMA(x) _Pragma(#x)
#if defined(__clang__)
#define TU_TARGET_BEGIN(arch) \
  TU_PRAGMA(clang attribute push(__attribute__((target(arch))), apply_to = function))
#define TU_TARGET_END _Pragma("clang attribute pop")
#else
#define TU_TARGET_BEGIN(arch) _Pragma("GCC push_options") TU_PRAGMA(GCC target(arch))
#define TU_TARGET_END _Pragma("GCC pop_options")
#endif
TU_TARGET_BEGIN("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")
#define VL 16
#define NS(name) name##_v4
#include "kernels.c"
#undef VL
#undef NS
TU_TARGET_END
TU_TARGET_BEGIN("avx2,fma")
#define VL 8
#define NS(name) name##_v3
#include "kernels.c"
#undef VL
#undef NS
TU_TARGET_END
#define VL 4
#define NS(name) name##_v1
#include "kernels.c"
#undef VL
#undef NS

static int32_t level;

/** Reads the CPU's features once, when the library is loaded (no race between runs). */
__attribute__((constructor)) static void tu_detect(void) {
  __builtin_cpu_init();
  level = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                  __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
                  __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
              ? 4
          : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 3
                                                                             : 1;
}

/** The widest kernels this CPU runs: 4 (AVX-512), 3 (AVX2), 1 (SSE2); 0 for a one-width build. */
int32_t tu_level(void) { return level; }

/**
 * Runs the program with the widest kernels this CPU has; tu_run_v4, tu_run_v3 and tu_run_v1
 * run it at one width (tests and measurements; not above tu_level).
 */
int32_t tu_run(TU_ARGS) {
  if (level == 4) return tu_run_v4(prog, count, work, weights, input, output);
  if (level == 3) return tu_run_v3(prog, count, work, weights, input, output);
  return tu_run_v1(prog, count, work, weights, input, output);
}

/* The widest parts runner this CPU runs (split runs). */
#define TU_PART (level == 4 ? tu_part_v4 : level == 3 ? tu_part_v3 : tu_part_v1)
#define TU_CLONES 1
#else
/* one width: WebAssembly SIMD128 and NEON (4 floats), or a plain build (TU_NO_CLONES) */
#define VL 4
#define NS(name) name
#include "kernels.c"
int32_t tu_level(void) { return 0; }
#define TU_PART tu_part
#define TU_CLONES 0
#endif

#if TU_THREADS
/* Starts a detached thread with a small stack (the kernels keep a few vectors on theirs);
   whether it started. */
static int tu_start_thread(void* (*main)(void*), void* arg) {
  pthread_attr_t attr;
  pthread_t thread;
  if (pthread_attr_init(&attr) != 0) return 0;
  pthread_attr_setstacksize(&attr, 256 * 1024);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  const int started = pthread_create(&thread, &attr, main, arg) == 0;
  pthread_attr_destroy(&attr);
  return started;
}

static void* tu_helper(void* unused) {
  (void)unused;
  for (;;) {
    pthread_mutex_lock(&tu_split.mu);
    while (!tu_split.has_job) pthread_cond_wait(&tu_split.cv, &tu_split.mu);
    tu_split.has_job = 0;
    pthread_mutex_unlock(&tu_split.mu);
    int sense = atomic_load(&tu_split.phase);
    tu_split.part(TU_CALL_ARGS(tu_split.call), 1, 2, &sense);
    atomic_store(&tu_split.done, 1);
  }
  return 0;
}

/* split runs on two threads, and those that found another going (one thread) */
static atomic_int tu_split_two, tu_split_alone;

/* A split run with `part` (one width's parts runner): see tu_run_split. */
static int32_t tu_split_with(int32_t (*part)(TU_ARGS, int part, int parts, int* sense), TU_ARGS) {
  int sense = 0, idle = 0;
  if (!atomic_compare_exchange_strong(&tu_split.busy, &idle, 1)) {
    atomic_fetch_add(&tu_split_alone, 1);
    return part(prog, count, work, weights, input, output, 0, 1, &sense);
  }
  if (!atomic_load(&tu_split.started)) {
    if (!tu_start_thread(tu_helper, 0)) {
      atomic_store(&tu_split.busy, 0);
      atomic_fetch_add(&tu_split_alone, 1);
      return part(prog, count, work, weights, input, output, 0, 1, &sense);
    }
    atomic_store(&tu_split.started, 1);
  }
  atomic_fetch_add(&tu_split_two, 1);
  tu_split.part = part;
  tu_split.call = (struct tu_call){prog, count, work, weights, input, output};
  atomic_store(&tu_split.done, 0);
  sense = atomic_load(&tu_split.phase);
  pthread_mutex_lock(&tu_split.mu);
  tu_split.has_job = 1;
  pthread_cond_signal(&tu_split.cv);
  pthread_mutex_unlock(&tu_split.mu);
  const int32_t status = part(prog, count, work, weights, input, output, 0, 2, &sense);
  for (int spins = 0; !atomic_load(&tu_split.done);) spins = tu_relax(spins);
  atomic_store(&tu_split.busy, 0);
  return status;
}

/**
 * Runs the program as tu_run does, on two threads: this one and the helper, each instruction's
 * rows halved between them (for a run that has both cores to itself). Runs on this thread
 * alone while another split run is going, or when no helper thread can be started.
 */
int32_t tu_run_split(TU_ARGS) {
  return tu_split_with(TU_PART, prog, count, work, weights, input, output);
}

#if TU_CLONES
/**
 * tu_run_split held to one width (4 AVX-512, 3 AVX2, 1 SSE2; tests and measurements); -1 for
 * a width this CPU does not run.
 */
int32_t tu_run_split_at(TU_ARGS, int32_t at) {
  if (at > level || (at != 4 && at != 3 && at != 1)) return -1;
  return tu_split_with(at == 4 ? tu_part_v4 : at == 3 ? tu_part_v3 : tu_part_v1, prog, count, work,
                       weights, input, output);
}
#endif

/*
 * Run threads (tu_run_pooled): the library's own threads for runs handed off the event loop.
 * The caller (a thread of Deno's blocking pool) hands its run to an idle one, the one that
 * last ran the same workspace first, and sleeps until it is done. A woken thread tends to run
 * on its last core, where the workspace still is in cache. Deno's pool hands consecutive calls
 * to different threads (11 in a probe) on alternating cores: measured, a 256² ISIC run took
 * 2.7 ms that way back to back against 2.2 ms on a run thread, and two at once 3.1-3.4 ms a
 * pair against 2.3.
 */
#define TU_RUN_THREADS 16
enum { RT_IDLE, RT_CLAIMED, RT_JOB, RT_BUSY };

struct tu_job {
  struct tu_call call;
  int32_t split, status, done;
};

static struct tu_run_thread {
  pthread_mutex_t mu;
  pthread_cond_t job_cv, done_cv;
  atomic_int state;
  struct tu_job* job;
  _Atomic(const float*) last_work;
} tu_rt[TU_RUN_THREADS];
static atomic_int tu_rt_count;
/* a run thread could not be started: no more are tried */
static atomic_int tu_rt_failed;
static pthread_mutex_t tu_rt_start = PTHREAD_MUTEX_INITIALIZER;
/* runs on a run thread, on the calling thread (none free), on the workspace's last thread */
static atomic_int tu_rt_on_thread, tu_rt_on_caller, tu_rt_same;

static void* tu_run_thread_main(void* arg) {
  struct tu_run_thread* t = arg;
  for (;;) {
    pthread_mutex_lock(&t->mu);
    while (atomic_load(&t->state) != RT_JOB) pthread_cond_wait(&t->job_cv, &t->mu);
    atomic_store(&t->state, RT_BUSY);
    struct tu_job* job = t->job;
    pthread_mutex_unlock(&t->mu);
    job->status =
        job->split ? tu_run_split(TU_CALL_ARGS(job->call)) : tu_run(TU_CALL_ARGS(job->call));
    atomic_store(&t->last_work, job->call.work);
    pthread_mutex_lock(&t->mu);
    atomic_store(&t->state, RT_IDLE);
    job->done = 1; /* the job is the caller's: not touched after this */
    pthread_cond_broadcast(&t->done_cv);
    pthread_mutex_unlock(&t->mu);
  }
  return 0;
}

/* An idle run thread, claimed: the one that last ran `work` first (`same_first`), else any. */
static struct tu_run_thread* tu_claim_idle(const float* work, int same_first) {
  const int n = atomic_load(&tu_rt_count);
  for (int pass = same_first ? 0 : 1; pass < 2; pass++) {
    for (int i = 0; i < n; i++) {
      struct tu_run_thread* t = &tu_rt[i];
      if (pass == 0 && atomic_load(&t->last_work) != work) continue;
      int idle = RT_IDLE;
      if (atomic_compare_exchange_strong(&t->state, &idle, RT_CLAIMED)) {
        if (pass == 0) atomic_fetch_add(&tu_rt_same, 1);
        return t;
      }
    }
  }
  return 0;
}

/* Claims a run thread for `work`: an idle one, else a new one; none while all TU_RUN_THREADS
   are busy (or one could not be started). */
static struct tu_run_thread* tu_claim(const float* work) {
  struct tu_run_thread* t = tu_claim_idle(work, 1);
  if (t || atomic_load(&tu_rt_failed)) return t;
  pthread_mutex_lock(&tu_rt_start);
  const int i = atomic_load(&tu_rt_count);
  if (i < TU_RUN_THREADS) {
    struct tu_run_thread* made = &tu_rt[i];
    pthread_mutex_init(&made->mu, 0);
    pthread_cond_init(&made->job_cv, 0);
    pthread_cond_init(&made->done_cv, 0);
    atomic_store(&made->state, RT_CLAIMED);
    if (tu_start_thread(tu_run_thread_main, made)) {
      atomic_store(&tu_rt_count, i + 1);
      t = made;
    } else {
      atomic_store(&tu_rt_failed, 1);
    }
  }
  pthread_mutex_unlock(&tu_rt_start);
  /* all busy a moment ago: one may have finished since */
  return t ? t : tu_claim_idle(work, 0);
}

/**
 * Runs the program as tu_run does (split: as tu_run_split does) on one of the library's run
 * threads; on this thread when all are busy or none can be started.
 */
int32_t tu_run_pooled(TU_ARGS, int32_t split) {
  struct tu_job job = {{prog, count, work, weights, input, output}, split, 0, 0};
  struct tu_run_thread* t = tu_claim(work);
  atomic_fetch_add(t ? &tu_rt_on_thread : &tu_rt_on_caller, 1);
  if (!t) {
    return split ? tu_run_split(prog, count, work, weights, input, output)
                 : tu_run(prog, count, work, weights, input, output);
  }
  pthread_mutex_lock(&t->mu);
  t->job = &job;
  atomic_store(&t->state, RT_JOB);
  pthread_cond_signal(&t->job_cv);
  while (!job.done) pthread_cond_wait(&t->done_cv, &t->mu);
  pthread_mutex_unlock(&t->mu);
  return job.status;
}

/**
 * What the library's threads did (tests and measurements): out[0] run threads started (at most
 * TU_RUN_THREADS), out[1] runs on them, out[2] runs on the calling thread (none free), out[3]
 * runs on the thread that last ran their workspace, out[4] split helpers started (0 or 1),
 * out[5] split runs on two threads, out[6] split runs on one (another was going, or no helper
 * could be started); returns 7.
 */
int32_t tu_run_counts(int32_t* out) {
  out[0] = atomic_load(&tu_rt_count);
  out[1] = atomic_load(&tu_rt_on_thread);
  out[2] = atomic_load(&tu_rt_on_caller);
  out[3] = atomic_load(&tu_rt_same);
  out[4] = atomic_load(&tu_split.started);
  out[5] = atomic_load(&tu_split_two);
  out[6] = atomic_load(&tu_split_alone);
  return 7;
}
#endif

/** The library's interface version; `kernels.ts` refuses a library that answers otherwise. */
int32_t tu_version(void) { return 2; }

#else /* TU_BODY */

typedef float NS(vf) __attribute__((vector_size(VL * 4), aligned(4)));
typedef int32_t NS(vi) __attribute__((vector_size(VL * 4), aligned(4)));
#define vf NS(vf)
#define vi NS(vi)

/*
 * Zeroes the padding of rows [ya, yb) of a tensor: column 0 and columns w+1.. of each plane,
 * with row 0 above the first row and row h+1 below the last.
 */
static void NS(pad_zero)(float* t, int c, int h, int w, int wp, int ya, int yb) {
  if (ya >= yb) return;
  for (int ch = 0; ch < c; ch++) {
    float* p = t + (size_t)ch * (h + 2) * wp;
    if (ya == 0) memset(p, 0, sizeof(float) * wp);
    if (yb == h) memset(p + (size_t)(h + 1) * wp, 0, sizeof(float) * wp);
    for (int y = ya + 1; y <= yb; y++) {
      float* r = p + (size_t)y * wp;
      r[0] = 0;
      memset(r + w + 1, 0, sizeof(float) * (wp - w - 1));
    }
  }
}

/*
 * 3×3 convolution, padding 1, stride 1: RY output rows × XV vectors of VL pixels × CB output
 * channels a step (RY·XV·CB accumulators). Rows outermost: every block of output channels
 * reads the same few input rows while they are in cache (a wide layer's input does not fit). Weights [coutPadded][cin][3][3], coutPadded a
 * multiple of 16 (zeros past cout); only the real channels are stored. Columns past w are
 * computed and then zeroed by pad_zero. Output rows [ya, ye); a range whose length is not a
 * multiple of RY recomputes its last rows (ye − ya ≥ RY).
 */
#define CONV3(NAME, XV, CB, RY)                                                                  \
  static void NAME(const float* in, int cin, int h, int w, int wpi, const float* wt,  \
                              const float* bias, int cout, float* out, int wpo, int relu,        \
                              int ya, int ye) {                                                  \
    const size_t pi = (size_t)(h + 2) * wpi, po = (size_t)(h + 2) * wpo;                         \
    for (int y0 = ya; y0 < ye; y0 += RY) {                                                       \
      const int yb = y0 + RY > ye ? ye - RY : y0;                                                \
      for (int c0 = 0; c0 < cout; c0 += CB) {                                                    \
        const int cn = cout - c0 < CB ? cout - c0 : CB;                                          \
        for (int x0 = 0; x0 < w; x0 += VL * XV) {                                                \
          vf acc[RY][CB][XV];                                                                   \
          for (int r = 0; r < RY; r++)                                                           \
            for (int c = 0; c < CB; c++)                                                         \
              for (int k = 0; k < XV; k++) acc[r][c][k] = (vf){} + bias[c0 + c];                \
          for (int ci = 0; ci < cin; ci++) {                                                     \
            const float* base = in + ci * pi + (size_t)yb * wpi + x0;                            \
            const float* wc = wt + ((size_t)c0 * cin + ci) * 9;                                  \
            for (int ir = 0; ir < RY + 2; ir++) {                                                \
              for (int dx = 0; dx < 3; dx++) {                                                   \
                vf a[XV];                                                                       \
                for (int k = 0; k < XV; k++) a[k] = LD(base + (size_t)ir * wpi + dx + VL * k);   \
                for (int r = 0; r < RY; r++) {                                                   \
                  const int dy = ir - r;                                                         \
                  if (dy < 0 || dy > 2) continue;                                                \
                  for (int c = 0; c < CB; c++) {                                                 \
                    const float s = wc[(size_t)c * cin * 9 + dy * 3 + dx];                       \
                    for (int k = 0; k < XV; k++) acc[r][c][k] = MAC(acc[r][c][k], a[k], s);                       \
                  }                                                                              \
                }                                                                                \
              }                                                                                  \
            }                                                                                    \
          }                                                                                      \
          for (int r = 0; r < RY; r++)                                                           \
            for (int c = 0; c < cn; c++) {                                                       \
              float* o = out + (c0 + c) * po + (size_t)(yb + r + 1) * wpo + x0 + 1;              \
              for (int k = 0; k < XV; k++) {                                                     \
                vf v = acc[r][c][k];                                                            \
                if (relu) v = (vf)((vi)v & (v > (vf){}));                                    \
                ST(o + VL * k, v);                                                               \
              }                                                                                  \
            }                                                                                    \
        }                                                                                        \
      }                                                                                          \
    }                                                                                            \
  }
#if VL == 16
CONV3(NS(conv3_x2c4r2), 2, 4, 2)
CONV3(NS(conv3_x2c8r1), 2, 8, 1)
CONV3(NS(conv3_x1c16r1), 1, 16, 1)

/* AVX-512: the step shape by layer (measured per layer shape, 2026-12-02). */
static void NS(conv3)(const float* in, int cin, int h, int w, int wpi, const float* wt,
                  const float* bias, int cout, float* out, int wpo, int relu, int ya, int yb) {
  if (w > 16 && cout <= 4 && yb - ya >= 2)
    NS(conv3_x2c4r2)(in, cin, h, w, wpi, wt, bias, cout, out, wpo, relu, ya, yb);
  else if (w > 16)
    NS(conv3_x2c8r1)(in, cin, h, w, wpi, wt, bias, cout, out, wpo, relu, ya, yb);
  else
    NS(conv3_x1c16r1)(in, cin, h, w, wpi, wt, bias, cout, out, wpo, relu, ya, yb);
#elif VL == 8
/* AVX2 (16 registers): one shape, the fastest of six for the ISIC student (5.1 ms at 256²
   against 4 × 2: 6.8, 2 × 4 × 2 rows: 6.1, 1 × 8: 6.0; AVX-512's shapes here: 122 ms, spilled) */
CONV3(NS(conv3_x2c4r1), 2, 4, 1)
static void NS(conv3)(const float* in, int cin, int h, int w, int wpi, const float* wt,
                  const float* bias, int cout, float* out, int wpo, int relu, int ya, int yb) {
  NS(conv3_x2c4r1)(in, cin, h, w, wpi, wt, bias, cout, out, wpo, relu, ya, yb);
#else
/* 4 floats (WebAssembly SIMD128, SSE2, NEON): one shape for every layer (4 vectors × 4
   channels was the fastest of ten for every layer of the ISIC student in Deno's V8; SSE2
   alike within noise, 2026-12-02) */
CONV3(NS(conv3_x4c4r1), 4, 4, 1)
static void NS(conv3)(const float* in, int cin, int h, int w, int wpi, const float* wt,
                  const float* bias, int cout, float* out, int wpo, int relu, int ya, int yb) {
  NS(conv3_x4c4r1)(in, cin, h, w, wpi, wt, bias, cout, out, wpo, relu, ya, yb);
#endif
  NS(pad_zero)(out, cout, h, w, wpo, ya, yb);
}

/* 1×1 convolution: weights [cout][cin]. */
static void NS(conv1)(const float* in, int cin, int h, int w, int wpi, const float* wt,
                             const float* bias, int cout, float* out, int wpo, int relu, int ya,
                             int yb) {
  const size_t pi = (size_t)(h + 2) * wpi, po = (size_t)(h + 2) * wpo;
  for (int co = 0; co < cout; co++)
    for (int y = ya + 1; y <= yb; y++) {
      float* o = out + co * po + (size_t)y * wpo + 1;
      for (int x = 0; x < w; x++) o[x] = bias[co];
      for (int ci = 0; ci < cin; ci++) {
        const float s = wt[(size_t)co * cin + ci];
        const float* a = in + ci * pi + (size_t)y * wpi + 1;
        for (int x = 0; x < w; x++) o[x] += s * a[x];
      }
      if (relu)
        for (int x = 0; x < w; x++) o[x] = o[x] > 0 ? o[x] : 0;
    }
  NS(pad_zero)(out, cout, h, w, wpo, ya, yb);
}

/* 2×2 max pooling, stride 2, floor: input h × w, output h/2 × w/2 (its rows [ya, yb)). */
static void NS(maxpool2)(const float* in, int c, int h, int w, int wpi, float* out, int wpo,
                         int ya, int yb) {
  const int ho = h / 2, wo = w / 2;
  const size_t pi = (size_t)(h + 2) * wpi, po = (size_t)(ho + 2) * wpo;
  for (int ch = 0; ch < c; ch++)
    for (int y = ya; y < yb; y++) {
      const float* a = in + ch * pi + (size_t)(2 * y + 1) * wpi + 1;
      const float* b = a + wpi;
      float* o = out + ch * po + (size_t)(y + 1) * wpo + 1;
      for (int x = 0; x < wo; x++) {
        const float m0 = a[2 * x] > a[2 * x + 1] ? a[2 * x] : a[2 * x + 1];
        const float m1 = b[2 * x] > b[2 * x + 1] ? b[2 * x] : b[2 * x + 1];
        o[x] = m0 > m1 ? m0 : m1;
      }
    }
  NS(pad_zero)(out, c, ho, wo, wpo, ya, yb);
}

/*
 * 2×2 transposed convolution, stride 2, no padding: input h × w, output 2h × 2w. Weights
 * repacked [coutPadded][2 (row)][2 (column)][cin], coutPadded a multiple of 4. Each step
 * takes VL input pixels to 4 output channels × the 4 kernel taps (16 accumulators); a tap
 * row's even and odd columns are interleaved on the way out. Input rows [ya, yb) (output rows
 * [2ya, 2yb)).
 */
static void NS(convt2)(const float* in, int cin, int h, int w, int wpi, const float* wt,
                              const float* bias, int cout, float* out, int wpo, int relu, int ya,
                              int yb) {
  const size_t pi = (size_t)(h + 2) * wpi, po = (size_t)(2 * h + 2) * wpo;
  for (int c0 = 0; c0 < cout; c0 += 4) {
    const int cn = cout - c0 < 4 ? cout - c0 : 4;
    for (int y = ya; y < yb; y++) {
      for (int x0 = 0; x0 < w; x0 += VL) {
        vf acc[4][4];
        for (int c = 0; c < 4; c++)
          for (int t = 0; t < 4; t++) acc[c][t] = (vf){} + bias[c0 + c];
        const float* a0 = in + (size_t)(y + 1) * wpi + 1 + x0;
        for (int ci = 0; ci < cin; ci++) {
          const vf a = LD(a0 + ci * pi);
          for (int c = 0; c < 4; c++)
            for (int t = 0; t < 4; t++) acc[c][t] = MAC(acc[c][t], a, wt[((size_t)(c0 + c) * 4 + t) * cin + ci]);
        }
        for (int c = 0; c < cn; c++)
          for (int i = 0; i < 2; i++) {
            vf e = acc[c][2 * i], d = acc[c][2 * i + 1];
            if (relu) {
              e = (vf)((vi)e & (e > (vf){}));
              d = (vf)((vi)d & (d > (vf){}));
            }
            float* o = out + (c0 + c) * po + (size_t)(2 * y + i + 1) * wpo + 1 + 2 * x0;
#if VL == 16
            ST(o, __builtin_shufflevector(e, d, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23));
            ST(o + 16,
               __builtin_shufflevector(e, d, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31));
#elif VL == 8
            ST(o, __builtin_shufflevector(e, d, 0, 8, 1, 9, 2, 10, 3, 11));
            ST(o + 8, __builtin_shufflevector(e, d, 4, 12, 5, 13, 6, 14, 7, 15));
#else
            ST(o, __builtin_shufflevector(e, d, 0, 4, 1, 5));
            ST(o + 4, __builtin_shufflevector(e, d, 2, 6, 3, 7));
#endif
          }
      }
    }
  }
  NS(pad_zero)(out, cout, 2 * h, 2 * w, wpo, 2 * ya, 2 * yb);
}

/* Element-wise ReLU or sigmoid over rows [ya, yb) of a tensor (padding re-zeroed). */
static void NS(pointwise)(const float* in, int c, int h, int w, int wpi, float* out, int wpo, int op,
                          int ya, int yb) {
  const size_t pi = (size_t)(h + 2) * wpi, po = (size_t)(h + 2) * wpo;
  for (int ch = 0; ch < c; ch++)
    for (int y = ya + 1; y <= yb; y++) {
      const float* a = in + ch * pi + (size_t)y * wpi + 1;
      float* o = out + ch * po + (size_t)y * wpo + 1;
      if (op == OP_RELU)
        for (int x = 0; x < w; x++) o[x] = a[x] > 0 ? a[x] : 0;
      else
        for (int x = 0; x < w; x++) o[x] = 1.0f / (1.0f + expf(-a[x]));
    }
  NS(pad_zero)(out, c, h, w, wpo, ya, yb);
}

/* Rows [ya, yb) of a plain [c][h][w] tensor into the padded layout, or back. */
static void NS(pack)(const float* src, int c, int h, int w, float* out, int wpo, int ya, int yb) {
  for (int ch = 0; ch < c; ch++)
    for (int y = ya; y < yb; y++)
      memcpy(out + (size_t)ch * (h + 2) * wpo + (size_t)(y + 1) * wpo + 1,
             src + ((size_t)ch * h + y) * w, sizeof(float) * w);
  NS(pad_zero)(out, c, h, w, wpo, ya, yb);
}
static void NS(unpack)(const float* in, int c, int h, int w, int wpi, float* dst, int ya, int yb) {
  for (int ch = 0; ch < c; ch++)
    for (int y = ya; y < yb; y++)
      memcpy(dst + ((size_t)ch * h + y) * w,
             in + (size_t)ch * (h + 2) * wpi + (size_t)(y + 1) * wpi + 1, sizeof(float) * w);
}

/**
 * Runs `count` instructions of FIELDS int32 each, each on its rows for part `part` of `parts`
 * (tu_rows), meeting the other part at a barrier after each when `parts` is 2. Tensor
 * offsets index `work`; PACK reads `input`, UNPACK writes `output` (plain layout); weight and
 * bias offsets index `weights`. Returns 0, or 1 + the index of an instruction with an unknown
 * operator (where every part stops).
 */
static int32_t NS(tu_part)(TU_ARGS, int part, int parts, int* sense) {
  for (int32_t i = 0; i < count; i++) {
    const int32_t* f = prog + (size_t)i * FIELDS;
    float* in = work + f[F_IN];
    float* out = work + f[F_OUT];
    const float* wt = weights + f[F_WEIGHTS];
    const float* b = weights + f[F_BIAS];
    int ya, yb;
    tu_rows(f[F_OP] == OP_MAXPOOL2 ? f[F_H] / 2 : f[F_H], part, parts, &ya, &yb);
    switch (f[F_OP]) {
      case OP_PACK:
        NS(pack)(input + f[F_IN], f[F_CIN], f[F_H], f[F_W], out, f[F_WPOUT], ya, yb);
        break;
      case OP_UNPACK:
        NS(unpack)(in, f[F_CIN], f[F_H], f[F_W], f[F_WPIN], output + f[F_OUT], ya, yb);
        break;
      case OP_CONV3:
        NS(conv3)(in, f[F_CIN], f[F_H], f[F_W], f[F_WPIN], wt, b, f[F_COUT], out, f[F_WPOUT], f[F_RELU], ya, yb);
        break;
      case OP_CONV1:
        NS(conv1)(in, f[F_CIN], f[F_H], f[F_W], f[F_WPIN], wt, b, f[F_COUT], out, f[F_WPOUT], f[F_RELU], ya, yb);
        break;
      case OP_MAXPOOL2:
        NS(maxpool2)(in, f[F_CIN], f[F_H], f[F_W], f[F_WPIN], out, f[F_WPOUT], ya, yb);
        break;
      case OP_CONVT2:
        NS(convt2)(in, f[F_CIN], f[F_H], f[F_W], f[F_WPIN], wt, b, f[F_COUT], out, f[F_WPOUT], f[F_RELU], ya, yb);
        break;
      case OP_RELU:
      case OP_SIGMOID:
        NS(pointwise)(in, f[F_CIN], f[F_H], f[F_W], f[F_WPIN], out, f[F_WPOUT], f[F_OP], ya, yb);
        break;
      default: return i + 1;
    }
    if (parts > 1) tu_barrier(sense);
  }
  return 0;
}

/* Runs the program on the calling thread (tu_part with one part). */
int32_t NS(tu_run)(TU_ARGS) {
  int sense = 0;
  return NS(tu_part)(prog, count, work, weights, input, output, 0, 1, &sense);
}

#undef vf
#undef vi
#endif /* TU_BODY */
