/*
 * Helpers shared by the native baselines of the datapath benchmark (included by each C file
 * here; the benchmark compiles every file on its own, so all of them are static inline).
 * bench_eal_init starts DPDK's EAL the same way everywhere: one lcore, no hugepages, no PCI
 * and no shared runtime files, so concurrent benchmark runs on one machine do not collide.
 */
#ifndef DP_BENCH_COMMON_H
#define DP_BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Process CPU time in seconds: rates on a shared, loaded machine, as the WebAssembly side. */
static inline double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* murmur3's finaliser: ends the flow hash the WebAssembly core uses (README "Flow hash"). */
static inline uint32_t fmix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x85ebca6bU;
  x ^= x >> 13;
  x *= 0xc2b2ae35U;
  x ^= x >> 16;
  return x;
}

/* One word of the flow hash's multiply-xor chain (README "Flow hash"). */
static inline uint32_t flow_step(uint32_t h, uint32_t w) { return (h ^ w) * 0x9e3779b1U; }

/* FNV-1a over 32-bit values: the benchmark compares it with hashHops (bench/lpm-traffic.mjs). */
static inline uint32_t hash_hops(const uint32_t *hops, uint32_t n) {
  uint32_t h = 0x811c9dc5;
  for (uint32_t i = 0; i < n; i++) h = (h ^ hops[i]) * 0x01000193;
  return h;
}

/*
 * The start of every baseline's main: at least `min_args` arguments (else `usage` on stderr,
 * exit 2), then argv[1] opened and its header of `words` u32 read into `hdr` (else exit 1).
 * Returns the file, positioned after the header.
 */
static inline FILE *bench_open(int argc, char **argv, int min_args, const char *usage,
                               uint32_t *hdr, size_t words) {
  if (argc < min_args) {
    fprintf(stderr, "usage: %s\n", usage);
    exit(2);
  }
  FILE *f = fopen(argv[1], "rb");
  if (!f || fread(hdr, 4, words, f) != words) {
    fprintf(stderr, "cannot read %s\n", argv[1]);
    exit(1);
  }
  return f;
}

#ifdef BENCH_EAL
#include <rte_eal.h>

/* Starts EAL for `prog`; < 0 when it cannot (see bench_eal_failed). */
static inline int bench_eal_init(const char *prog) {
  char *eal[] = {(char *)prog, "--no-huge", "--no-pci", "-l",         "0",
                 "-m",         "1024",      "--log-level=3", "--no-shconf"};
  return rte_eal_init(9, eal);
}

/* Prints the JSON error line the benchmark reports (and retries on); main's return value. */
static inline int bench_eal_failed(void) {
  printf("{\"error\": \"rte_eal_init failed\"}\n");
  return 0;
}
#endif

#endif
