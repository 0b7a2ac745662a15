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
 * usage: lpm6_bench FILE SECONDS TBL8S
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_eal.h>
#include <rte_lpm6.h>

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint32_t hash_hops(const int32_t *hops, uint32_t n) {
  uint32_t h = 0x811c9dc5;
  for (uint32_t i = 0; i < n; i++) h = (h ^ (uint32_t)hops[i]) * 0x01000193;
  return h;
}

#define CHUNK 256

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: lpm6_bench FILE SECONDS TBL8S\n");
    return 2;
  }
  FILE *f = fopen(argv[1], "rb");
  uint32_t hdr[2];
  if (!f || fread(hdr, 4, 2, f) != 2) {
    fprintf(stderr, "cannot read %s\n", argv[1]);
    return 1;
  }
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
  char *eal[] = {"lpm6_bench", "--no-huge", "--no-pci", "-l", "0", "-m", "1024", "--log-level=3",
                 "--no-shconf"};
  if (rte_eal_init(9, eal) < 0) {
    printf("{\"error\": \"rte_eal_init failed\"}\n");
    return 0;
  }
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
         "\"rte_lpm6_hash\": %u}\n",
         n_routes, load, n / elapsed / 1e6, hash_hops(hops, n_dests));
  free(hops);
  rte_lpm6_free(lpm);
  rte_eal_cleanup();
  return 0;
}
