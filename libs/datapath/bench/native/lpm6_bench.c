/*
 * IPv6 LPM baseline for the datapath benchmark (bench/lpm6-bench.mjs): DPDK's rte_lpm6 with
 * the same 100 k routes and 64 k active destinations as the WebAssembly table. Loads the
 * routes with rte_lpm6_add (CPU time), then looks the destinations up in bursts of 256 with
 * rte_lpm6_lookup_bulk_func for the given number of CPU seconds, and prints one JSON line
 * with the rate and a hash of the next hops (misses as 0xffffffff) so that the benchmark can
 * check that both tables agree.
 *
 * File: u32 routes, u32 dests; routes of 24 bytes (16-byte address, u8 length, 3 bytes pad,
 * u32 next hop); dests of 16 bytes.
 *
 * Then the routed IPv6 forwarding case in idiomatic C: the same 62-byte UDP/IPv6 frames as
 * the WebAssembly case (one per destination), per burst of 256: restore the hop limit (as the
 * WebAssembly host does), parse (Ethernet type, IPv6 version and payload length), look the
 * burst up with rte_lpm6_lookup_bulk_func, check and decrement the hop limit, rewrite the
 * MACs from the next hop, count tx packets/bytes per port. Prints its rate and a hash of the
 * egress ports (0xffffffff for drops) next to the lookup figures.
 *
 * usage: lpm6_bench FILE SECONDS TBL8S
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BENCH_EAL
#include "bench_common.h"
#include <rte_lpm6.h>

#define CHUNK 256
#define SLOT 128
#define FRAME_LEN 62
#define NEXT_HOPS 1024

struct next_hop {
  uint8_t dst[6], src[6];
  uint16_t port;
};

static void mac_of(uint8_t *m, uint32_t i) {
  m[0] = 2;
  m[1] = 0;
  m[2] = 0;
  m[3] = (i >> 16) & 0xff;
  m[4] = (i >> 8) & 0xff;
  m[5] = i & 0xff;
}

/* Frames and next hops laid out exactly as bench/lpm6-bench.mjs builds them. */
static void forward_case(struct rte_lpm6 *lpm, uint8_t (*dests)[16], uint32_t n, double seconds) {
  uint8_t *pool = calloc((size_t)n, SLOT);
  for (uint32_t i = 0; i < n; i++) {
    uint8_t *f = pool + (size_t)i * SLOT;
    mac_of(f, 0xfe06);
    mac_of(f + 6, 0x1000 + (i & 0xff));
    f[12] = 0x86;
    f[13] = 0xdd;
    const uint8_t ip[8] = {0x60, 0, 0, 0, 0, 8, 17, 64};
    memcpy(f + 14, ip, 8);
    const uint8_t src[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                             (i >> 8) & 0xff, i & 0xff};
    memcpy(f + 22, src, 16);
    memcpy(f + 38, dests[i], 16);
    const uint8_t udp[8] = {(1024 + i) >> 8, (1024 + i) & 0xff, 0x13, 0x88, 0, 8, 0, 0};
    memcpy(f + 54, udp, 8);
  }
  struct next_hop nhs[NEXT_HOPS];
  for (uint32_t i = 0; i < NEXT_HOPS; i++) {
    mac_of(nhs[i].dst, 0x2000 + i);
    mac_of(nhs[i].src, 0xfe06);
    nhs[i].port = 2 + i % 16;
  }
  uint64_t tx_pkts[256] = {0}, tx_bytes[256] = {0}, drops = 0;
  int32_t *outs = malloc(sizeof(int32_t) * n);
  uint8_t ips[CHUNK][16];
  int32_t hops[CHUNK];
  uint32_t idx[CHUNK];
  uint64_t done = 0;
  double start = cpu_now(), elapsed;
  do {
    for (uint32_t off = 0; off < n; off += CHUNK) {
      uint32_t k = n - off < CHUNK ? n - off : CHUNK, m = 0;
      for (uint32_t j = 0; j < k; j++) {
        uint8_t *f = pool + (size_t)(off + j) * SLOT;
        f[21] = 64;
        outs[off + j] = -1;
        uint16_t plen = (uint16_t)(f[18] << 8 | f[19]);
        if (f[12] != 0x86 || f[13] != 0xdd || (f[14] >> 4) != 6 || plen > FRAME_LEN - 54) {
          drops++;
          continue;
        }
        memcpy(ips[m], f + 38, 16);
        idx[m++] = off + j;
      }
      rte_lpm6_lookup_bulk_func(lpm, ips, hops, m);
      for (uint32_t j = 0; j < m; j++) {
        uint8_t *f = pool + (size_t)idx[j] * SLOT;
        if (hops[j] < 0 || f[21] <= 1) {
          drops++;
          continue;
        }
        const struct next_hop *nh = &nhs[hops[j] % NEXT_HOPS];
        f[21]--;
        memcpy(f, nh->dst, 6);
        memcpy(f + 6, nh->src, 6);
        tx_pkts[nh->port]++;
        tx_bytes[nh->port] += FRAME_LEN;
        outs[idx[j]] = nh->port;
      }
    }
    done += n;
    elapsed = cpu_now() - start;
  } while (elapsed < seconds);
  /* The counters are the work a datapath must do; keep the compiler from dropping them. */
  uint64_t sent = drops;
  for (int p = 0; p < 256; p++) sent += tx_pkts[p] + tx_bytes[p];
  if (sent == 0) fprintf(stderr, "nothing forwarded\n");
  printf(", \"forward62_mpps\": %.3f, \"forward62_ports_hash\": %u",
         done / elapsed / 1e6, hash_hops((const uint32_t *)outs, n));
  free(outs);
  free(pool);
}

int main(int argc, char **argv) {
  uint32_t hdr[2];
  FILE *f = bench_open(argc, argv, 4, "lpm6_bench FILE SECONDS TBL8S", hdr, 2);
  uint32_t n_routes = hdr[0], n_dests = hdr[1];
  uint8_t *routes = malloc((size_t)n_routes * 24);
  uint8_t(*dests)[16] = malloc((size_t)n_dests * 16);
  if (fread(routes, 24, n_routes, f) != n_routes || fread(dests, 16, n_dests, f) != n_dests) {
    fprintf(stderr, "short file %s\n", argv[1]);
    return 1;
  }
  fclose(f);
  double seconds = atof(argv[2]);
  uint32_t tbl8s = (uint32_t)strtoul(argv[3], NULL, 10);
  if (bench_eal_init("lpm6_bench") < 0) return bench_eal_failed();
  struct rte_lpm6_config cfg = {.max_rules = n_routes + 16, .number_tbl8s = tbl8s, .flags = 0};
  struct rte_lpm6 *lpm = rte_lpm6_create("bench_lpm6", 0, &cfg);
  if (!lpm) {
    printf("{\"error\": \"rte_lpm6_create failed (%u tbl8s)\"}\n", tbl8s);
    rte_eal_cleanup();
    return 0;
  }
  double t0 = cpu_now();
  for (uint32_t i = 0; i < n_routes; i++) {
    const uint8_t *r = routes + (size_t)i * 24;
    uint32_t nh;
    memcpy(&nh, r + 20, 4);
    if (rte_lpm6_add(lpm, r, r[16], nh) != 0) {
      printf("{\"error\": \"rte_lpm6_add failed at route %u\"}\n", i);
      rte_lpm6_free(lpm);
      rte_eal_cleanup();
      return 0;
    }
  }
  double load = cpu_now() - t0;
  int32_t *hops = malloc(sizeof(int32_t) * n_dests);
  uint64_t n = 0;
  double start = cpu_now(), elapsed;
  do {
    for (uint32_t off = 0; off < n_dests; off += CHUNK) {
      uint32_t k = n_dests - off < CHUNK ? n_dests - off : CHUNK;
      rte_lpm6_lookup_bulk_func(lpm, dests + off, hops + off, k);
    }
    n += n_dests;
    elapsed = cpu_now() - start;
  } while (elapsed < seconds);
  printf("{\"rte_lpm6_routes\": %u, \"rte_lpm6_load_s\": %.3f, \"rte_lpm6_mlookups\": %.3f, "
         "\"rte_lpm6_hash\": %u",
         n_routes, load, n / elapsed / 1e6, hash_hops((const uint32_t *)hops, n_dests));
  forward_case(lpm, dests, n_dests, seconds);
  printf("}\n");
  free(hops);
  rte_lpm6_free(lpm);
  rte_eal_cleanup();
  return 0;
}
