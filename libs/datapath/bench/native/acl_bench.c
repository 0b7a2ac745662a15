/*
 * Native ACL baseline for the datapath benchmark: DPDK's rte_acl on the same rule set and the
 * same packet 5-tuples as the WebAssembly ACL (both from a file the benchmark writes). Prints
 * build time, classification rate and a hash of the per-rule hit counts of one pass over the
 * tuples, which must equal the WebAssembly one.
 *   usage: acl_bench FILE SECONDS
 * FILE: u32 nRules, u32 nTuples; nRules x 10 u32 {src, srcLen, dst, dstLen, proto (256: any),
 * sportLo, sportHi, dportLo, dportHi, deny}; nTuples x 5 u32 {src, dst, proto, sport, dport}.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#define BENCH_EAL
#include "bench_common.h"
#include "bench_acl.h"

#define BURST 64

int main(int argc, char **argv) {
  uint32_t hdr[2];
  FILE *f = bench_open(argc, argv, 3, "acl_bench FILE SECONDS", hdr, 2);
  uint32_t n_rules = hdr[0], n_tuples = hdr[1];
  uint32_t *rules = malloc((size_t)n_rules * 40), *raw = malloc((size_t)n_tuples * 20);
  if (fread(rules, 40, n_rules, f) != n_rules || fread(raw, 20, n_tuples, f) != n_tuples) {
    fprintf(stderr, "short file\n");
    return 1;
  }
  fclose(f);
  double seconds = atof(argv[2]);
  if (bench_eal_init("acl_bench") < 0) return bench_eal_failed();
  struct rte_acl_ctx *ctx = acl_create("bench_acl", n_rules);
  double t0 = cpu_now();
  int failed = acl_load(ctx, rules, n_rules);
  if (failed > 0) {
    printf("{\"error\": \"rte_acl_add_rules failed at rule %u\"}\n", (unsigned)failed - 1);
    return 0;
  }
  if (failed < 0) {
    printf("{\"error\": \"rte_acl_build failed\"}\n");
    return 0;
  }
  double build = cpu_now() - t0;
  struct acl_tuple *tuples = calloc(n_tuples, sizeof *tuples);
  const uint8_t **data = malloc(sizeof(uint8_t *) * n_tuples);
  for (uint32_t i = 0; i < n_tuples; i++) {
    const uint32_t *t = raw + i * 5;
    tuples[i].src = htonl(t[0]);
    tuples[i].dst = htonl(t[1]);
    tuples[i].proto = (uint8_t)t[2];
    tuples[i].sport = htons((uint16_t)t[3]);
    tuples[i].dport = htons((uint16_t)t[4]);
    data[i] = (const uint8_t *)&tuples[i];
  }
  uint32_t *results = malloc(sizeof(uint32_t) * n_tuples);
  for (uint32_t off = 0; off < n_tuples; off += BURST)
    rte_acl_classify(ctx, data + off, results + off, n_tuples - off < BURST ? n_tuples - off : BURST, 1);
  uint64_t *hits = calloc(n_rules + 1, sizeof(uint64_t));
  for (uint32_t i = 0; i < n_tuples; i++) hits[results[i] == 0 ? n_rules : results[i] - 1]++;
  uint32_t h = 0x811c9dc5;
  for (uint32_t i = 0; i <= n_rules; i++) h = (h ^ (uint32_t)hits[i]) * 0x01000193;
  uint64_t n = 0;
  double start = cpu_now(), elapsed;
  do {
    for (uint32_t off = 0; off < n_tuples; off += BURST)
      rte_acl_classify(ctx, data + off, results + off, n_tuples - off < BURST ? n_tuples - off : BURST, 1);
    n += n_tuples;
    elapsed = cpu_now() - start;
  } while (elapsed < seconds);
  printf("{\"rules\": %u, \"build_s\": %.3f, \"mclass\": %.3f, \"hits_hash\": %u}\n", n_rules, build,
         n / elapsed / 1e6, h);
  rte_acl_free(ctx);
  rte_eal_cleanup();
  return 0;
}
