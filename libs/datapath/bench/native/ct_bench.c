/*
 * Native connection-tracking baseline for the datapath benchmark: DPDK's rte_hash (CRC hash,
 * 2 M entries like the WebAssembly table's 2 M slots) holding the same 1 M flows under a
 * canonical IPv4 5-tuple key (endpoints ordered, so both directions find the flow). Measures
 * the insert of the 1 M flows, bulk lookups (bursts of 64) of the packets' pre-extracted
 * tuples (canonicalised in the loop, both directions), and parse + canonicalise + lookup on
 * the 60-byte frames. Checks that every packet finds its own flow.
 *   usage: ct_bench FILE SECONDS
 * FILE: u32 nFlows, u32 nPackets; nFlows x {src, dst, sport << 16 | dport, proto} u32;
 * nPackets x u32 expected flow; nPackets x 60-byte frames.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#define BENCH_EAL
#include "bench_common.h"

struct ct_key {
  uint32_t a, b;
  uint16_t pa, pb;
  uint8_t proto;
  uint8_t pad[3];
};

static inline void canon(struct ct_key *k, uint32_t src, uint32_t dst, uint16_t sp, uint16_t dp,
                         uint8_t proto) {
  int swap = src > dst || (src == dst && sp > dp);
  k->a = swap ? dst : src;
  k->b = swap ? src : dst;
  k->pa = swap ? dp : sp;
  k->pb = swap ? sp : dp;
  k->proto = proto;
  k->pad[0] = k->pad[1] = k->pad[2] = 0;
}

/* The tuple of a 60-byte IPv4 TCP/UDP frame; 0 when it is not one. */
static inline int parse(const uint8_t *f, uint32_t *src, uint32_t *dst, uint16_t *sp,
                        uint16_t *dp, uint8_t *proto) {
  if (f[12] != 8 || f[13] != 0 || (f[14] >> 4) != 4) return 0;
  unsigned ihl = (f[14] & 15) * 4;
  if (ihl < 20 || 14 + ihl + 4 > 60) return 0;
  *proto = f[23];
  *src = (uint32_t)f[26] << 24 | f[27] << 16 | f[28] << 8 | f[29];
  *dst = (uint32_t)f[30] << 24 | f[31] << 16 | f[32] << 8 | f[33];
  const uint8_t *l4 = f + 14 + ihl;
  *sp = (uint16_t)(l4[0] << 8 | l4[1]);
  *dp = (uint16_t)(l4[2] << 8 | l4[3]);
  return 1;
}

#define BURST 64

int main(int argc, char **argv) {
  uint32_t hdr[2];
  FILE *f = bench_open(argc, argv, 3, "ct_bench FILE SECONDS", hdr, 2);
  uint32_t n_flows = hdr[0], n_pkts = hdr[1];
  uint32_t *flows = malloc((size_t)n_flows * 16), *expect = malloc((size_t)n_pkts * 4);
  uint8_t *frames = malloc((size_t)n_pkts * 60);
  if (fread(flows, 16, n_flows, f) != n_flows || fread(expect, 4, n_pkts, f) != n_pkts ||
      fread(frames, 60, n_pkts, f) != n_pkts) {
    fprintf(stderr, "short file\n");
    return 1;
  }
  fclose(f);
  double seconds = atof(argv[2]);
  if (bench_eal_init("ct_bench") < 0) return bench_eal_failed();
  struct rte_malloc_socket_stats before, after;
  rte_malloc_get_socket_stats(0, &before);
  struct rte_hash_parameters params = {.name = "ct", .entries = 2 * n_flows,
                                       .key_len = sizeof(struct ct_key),
                                       .hash_func = rte_hash_crc, .hash_func_init_val = 0,
                                       .socket_id = 0};
  struct rte_hash *h = rte_hash_create(&params);
  if (!h) {
    printf("{\"error\": \"rte_hash_create failed\"}\n");
    return 0;
  }
  rte_malloc_get_socket_stats(0, &after);
  double t0 = cpu_now();
  for (uint32_t i = 0; i < n_flows; i++) {
    const uint32_t *r = flows + i * 4;
    struct ct_key k;
    canon(&k, r[0], r[1], (uint16_t)(r[2] >> 16), (uint16_t)r[2], (uint8_t)r[3]);
    if (rte_hash_add_key_data(h, &k, (void *)(uintptr_t)(i + 1)) < 0) {
      printf("{\"error\": \"rte_hash_add_key_data failed at %u\"}\n", i);
      return 0;
    }
  }
  double insert_s = cpu_now() - t0;

  /* The packets' tuples, extracted once (as received: half of them in the reply direction). */
  struct raw { uint32_t src, dst; uint16_t sp, dp; uint8_t proto; } *raw = malloc(n_pkts * sizeof *raw);
  for (uint32_t i = 0; i < n_pkts; i++)
    if (!parse(frames + (size_t)i * 60, &raw[i].src, &raw[i].dst, &raw[i].sp, &raw[i].dp,
               &raw[i].proto)) {
      printf("{\"error\": \"frame %u does not parse\"}\n", i);
      return 0;
    }
  struct ct_key keys[BURST];
  const void *kp[BURST];
  void *data[BURST];
  for (int i = 0; i < BURST; i++) kp[i] = &keys[i];

  /* One checked pass: every packet finds its own flow. */
  uint32_t found = 0;
  for (uint32_t off = 0; off + BURST <= n_pkts; off += BURST) {
    uint64_t hits = 0;
    for (int i = 0; i < BURST; i++) {
      const struct raw *r = &raw[off + i];
      canon(&keys[i], r->src, r->dst, r->sp, r->dp, r->proto);
    }
    rte_hash_lookup_bulk_data(h, kp, BURST, &hits, data);
    for (int i = 0; i < BURST; i++)
      if ((hits >> i & 1) && (uintptr_t)data[i] == expect[off + i] + 1) found++;
  }

  uint64_t n = 0, sink = 0;
  double t = cpu_now(), start = t;
  do {
    for (uint32_t off = 0; off + BURST <= n_pkts; off += BURST) {
      uint64_t hits = 0;
      for (int i = 0; i < BURST; i++) {
        const struct raw *r = &raw[off + i];
        canon(&keys[i], r->src, r->dst, r->sp, r->dp, r->proto);
      }
      rte_hash_lookup_bulk_data(h, kp, BURST, &hits, data);
      sink += hits;
    }
    n += n_pkts - n_pkts % BURST;
  } while ((t = cpu_now()) - start < seconds);
  double lookup_mpps = n / (t - start) / 1e6;

  n = 0;
  t = start = cpu_now();
  do {
    for (uint32_t off = 0; off + BURST <= n_pkts; off += BURST) {
      uint64_t hits = 0;
      for (int i = 0; i < BURST; i++) {
        uint32_t s, d;
        uint16_t sp, dp;
        uint8_t proto;
        if (!parse(frames + (size_t)(off + i) * 60, &s, &d, &sp, &dp, &proto)) s = d = 0;
        canon(&keys[i], s, d, sp, dp, proto);
      }
      rte_hash_lookup_bulk_data(h, kp, BURST, &hits, data);
      sink += hits;
    }
    n += n_pkts - n_pkts % BURST;
  } while ((t = cpu_now()) - start < seconds);
  double parse_lookup_mpps = n / (t - start) / 1e6;
  printf("{\"found\": %u, \"insert_s\": %.4f, \"lookup_mpps\": %.3f, \"parse_lookup_mpps\": %.3f, "
         "\"table_mib\": %.2f, \"sink\": %llu}\n",
         found, insert_s, lookup_mpps, parse_lookup_mpps,
         (double)(after.heap_allocsz_bytes - before.heap_allocsz_bytes) / 1048576.0,
         (unsigned long long)sink);
  rte_hash_free(h);
  rte_eal_cleanup();
  return 0;
}
