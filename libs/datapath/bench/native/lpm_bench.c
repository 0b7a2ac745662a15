/*
 * Native IPv4 LPM baselines for the datapath benchmark: DPDK's rte_lpm (DIR-24-8 with a rule
 * array) and rte_fib (DIR-24-8 with an rte_rib tree behind it). Routes and the active
 * destinations come from a file the benchmark writes, so every implementation sees exactly
 * the same table and traffic; a hash of the looked-up next hops lets the benchmark check
 * that all of them agree.
 *   usage: lpm_bench ROUTES_FILE SECONDS RTE_LPM_ROUTES [ACL_FILE]
 * ACL_FILE (the format of acl_bench.c): when given, the native pipeline classifies every
 * packet with rte_acl after parsing, as the WebAssembly pipeline runs its ACL.
 * ROUTES_FILE: u32 nRoutes, u32 nDests, nRoutes x {u32 addr, u32 len, u32 nextHop},
 * nDests x u32 addr (little endian). rte_lpm gets only the first RTE_LPM_ROUTES routes
 * (0: all), because its rte_lpm_add scans every rule of the same length: ~1 M routes take
 * minutes. Prints one JSON object.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <rte_fib.h>
#include <rte_lpm.h>
#include <arpa/inet.h>
#define BENCH_EAL
#include "bench_common.h"
#include "bench_acl.h"

static struct rte_acl_ctx *acl_ctx;
static uint8_t *acl_deny; /* per rule: 1 deny */

static int load_acl(const char *path) {
  FILE *f = fopen(path, "rb");
  uint32_t hdr[2];
  if (!f || fread(hdr, 4, 2, f) != 2) return -1;
  uint32_t n = hdr[0];
  uint32_t *rules = malloc((size_t)n * 40);
  if (fread(rules, 40, n, f) != n) return -1;
  fclose(f);
  acl_ctx = acl_create("pipe_acl", n);
  acl_deny = calloc(n + 1, 1);
  for (uint32_t i = 0; i < n; i++) acl_deny[i + 1] = (uint8_t)rules[i * 10 + 9];
  int err = acl_load(acl_ctx, rules, n);
  free(rules);
  return err;
}

static uint32_t *routes, *dests;
static uint32_t n_routes, n_dests;

#define CHUNK 256
#define MISS 0x7fffffff

static void bench_rte_lpm(double seconds, uint32_t use_routes) {
  struct rte_lpm_config cfg = {.max_rules = use_routes + 16, .number_tbl8s = 1 << 17, .flags = 0};
  struct rte_lpm *lpm = rte_lpm_create("bench_lpm", 0, &cfg);
  if (!lpm) {
    printf("\"rte_lpm_error\": \"rte_lpm_create failed\"");
    return;
  }
  double t0 = cpu_now();
  for (uint32_t i = 0; i < use_routes; i++) {
    if (rte_lpm_add(lpm, routes[i * 3], (uint8_t)routes[i * 3 + 1], routes[i * 3 + 2]) != 0) {
      printf("\"rte_lpm_error\": \"rte_lpm_add failed at route %u\"", i);
      rte_lpm_free(lpm);
      return;
    }
  }
  double load = cpu_now() - t0;
  uint32_t *hops = malloc(sizeof(uint32_t) * n_dests);
  uint64_t n = 0;
  double start = cpu_now(), elapsed;
  do {
    for (uint32_t off = 0; off < n_dests; off += CHUNK) {
      uint32_t k = n_dests - off < CHUNK ? n_dests - off : CHUNK;
      rte_lpm_lookup_bulk(lpm, dests + off, hops + off, k);
    }
    n += n_dests;
    elapsed = cpu_now() - start;
  } while (elapsed < seconds);
  for (uint32_t i = 0; i < n_dests; i++)
    hops[i] = (hops[i] & RTE_LPM_LOOKUP_SUCCESS) ? (hops[i] & 0x00ffffff) : 0xffffffff;
  printf("\"rte_lpm_routes\": %u, \"rte_lpm_load_s\": %.3f, \"rte_lpm_mlookups\": %.3f, "
         "\"rte_lpm_hash\": %u",
         use_routes, load, n / elapsed / 1e6, hash_hops(hops, n_dests));
  free(hops);
  rte_lpm_free(lpm);
}

#define ROUTED_PORT 1
#define UNDERLAY_PORT 20

/* The routed pipeline in idiomatic C, as the WebAssembly one does it (README "Benchmark"):
 * parse (Ethernet, IPv4 with header checksum, UDP), LPM on rte_fib (it holds the whole table
 * in both modes), TTL decrement with incremental checksum, MAC rewrite, VXLAN/IPv4
 * encapsulation (flow-hash source port, header checksum) and port counters. Frames sit in
 * 384-byte slots like the WebAssembly pool (frameCapacity 128); each batch first restores
 * the TTL, checksum and frame start, as the WebAssembly benchmark host does. */
#define P_SLOT 384
#define P_DATA 192
#define P_BATCH 256
#define TUNNELS 4
static uint64_t rx_pkts[256], rx_bytes[256], tx_pkts[256], tx_bytes[256];

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void wr16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }

static double bench_pipeline(double seconds, struct rte_fib *fib) {
  uint32_t n = n_dests;
  uint8_t *pool = aligned_alloc(64, (size_t)n * P_SLOT);
  uint16_t *cksum = malloc(n * 2);
  uint32_t *off = malloc(n * 4), *len = malloc(n * 4);
  uint8_t nh_mac[1024][6], router_mac[6] = {2, 0, 0, 0, 0xfe, 1};
  for (int i = 0; i < 1024; i++) {
    uint8_t m[6] = {2, 0, 0, (uint8_t)((0x2000 + i) >> 16), (uint8_t)((0x2000 + i) >> 8), (uint8_t)(0x2000 + i)};
    memcpy(nh_mac[i], m, 6);
  }
  for (uint32_t i = 0; i < n; i++) {
    uint8_t *f = pool + (size_t)i * P_SLOT + P_DATA;
    memset(f, 0, 60);
    memcpy(f, router_mac, 6);
    uint8_t src[6] = {2, 0, 0, 0, 0x10, (uint8_t)(i & 0xff)};
    memcpy(f + 6, src, 6);
    f[12] = 8;
    uint8_t *ip = f + 14;
    uint8_t h[16] = {0x45, 0, 0, 46, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, (uint8_t)(i >> 8), (uint8_t)i};
    memcpy(ip, h, 16);
    uint32_t d = dests[i];
    ip[16] = d >> 24; ip[17] = d >> 16; ip[18] = d >> 8; ip[19] = d;
    uint32_t sum = 0;
    for (int k = 0; k < 20; k += 2) sum += rd16(ip + k);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
    wr16(ip + 10, ~sum & 0xffff);
    cksum[i] = ~sum & 0xffff;
    uint8_t *udp = ip + 20;
    wr16(udp, (uint16_t)(1024 + i)); wr16(udp + 2, 5000); wr16(udp + 4, 26);
  }
  uint32_t ips[P_BATCH];
  uint64_t hops[P_BATCH];
  struct acl_tuple tuples[P_BATCH];
  const uint8_t *tuple_ptrs[P_BATCH];
  uint32_t classes[P_BATCH];
  for (int k = 0; k < P_BATCH; k++) tuple_ptrs[k] = (const uint8_t *)&tuples[k];
  uint8_t ok[P_BATCH];
  uint64_t done = 0, forwarded = 0;
  double start = cpu_now(), elapsed;
  uint32_t b = 0;
  do {
    for (int rep = 0; rep < 16; rep++) {
      uint32_t base = (b * P_BATCH) % n;
      b++;
      for (int k = 0; k < P_BATCH; k++) {
        uint32_t i = base + k;
        uint8_t *slot = pool + (size_t)i * P_SLOT;
        off[i] = P_DATA;
        len[i] = 60;
        slot[P_DATA + 22] = 64;
        wr16(slot + P_DATA + 24, cksum[i]);
      }
      for (int k = 0; k < P_BATCH; k++) {
        uint32_t i = base + k;
        uint8_t *f = pool + (size_t)i * P_SLOT + off[i];
        rx_pkts[ROUTED_PORT]++;
        rx_bytes[ROUTED_PORT] += len[i];
        ok[k] = 0;
        if (len[i] < 34 || rd16(f + 12) != 0x0800) continue;
        uint8_t *ip = f + 14;
        uint32_t ihl = (ip[0] & 15) * 4;
        if ((ip[0] >> 4) != 4 || ihl < 20 || rd16(ip + 2) < ihl || 14 + rd16(ip + 2) > len[i]) continue;
        uint32_t sum = 0;
        for (uint32_t w = 0; w < ihl; w += 2) sum += rd16(ip + w);
        while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
        if (sum != 0xffff) continue;
        if (ip[9] == 17 && 14 + ihl + 8 > len[i]) continue;
        ips[k] = rd32(ip + 16);
        ok[k] = 1;
        if (acl_ctx) {
          /* rte_acl reads the fields in network order, as they sit in the packet. */
          tuples[k].proto = ip[9];
          memcpy(&tuples[k].src, ip + 12, 4);
          memcpy(&tuples[k].dst, ip + 16, 4);
          memcpy(&tuples[k].sport, ip + ihl, 2);
          memcpy(&tuples[k].dport, ip + ihl + 2, 2);
        }
      }
      if (acl_ctx) {
        rte_acl_classify(acl_ctx, tuple_ptrs, classes, P_BATCH, 1);
        for (int k = 0; k < P_BATCH; k++)
          if (ok[k] && acl_deny[classes[k]]) ok[k] = 0;
      }
      rte_fib_lookup_bulk(fib, ips, hops, P_BATCH);
      for (int k = 0; k < P_BATCH; k++) {
        if (!ok[k] || hops[k] == MISS) continue;
        uint32_t i = base + k;
        uint8_t *f = pool + (size_t)i * P_SLOT + off[i];
        uint8_t *ip = f + 14;
        if (ip[8] <= 1) continue;
        ip[8]--;
        uint32_t sum = (~rd16(ip + 10) & 0xffff) + 0xfeff;
        sum = (sum & 0xffff) + (sum >> 16);
        sum = (sum & 0xffff) + (sum >> 16);
        wr16(ip + 10, ~sum & 0xffff);
        uint32_t nh = (uint32_t)hops[k];
        memcpy(f, nh_mac[nh], 6);
        memcpy(f + 6, router_mac, 6);
        uint32_t t = nh % TUNNELS;
        uint8_t *udp = ip + (ip[0] & 15) * 4;
        uint32_t hash = 0x811c9dc5;
        hash = flow_step(hash, rd32(ip + 12));
        hash = flow_step(hash, rd32(ip + 16));
        hash = flow_step(hash, ip[9]);
        hash = fmix32(flow_step(hash, rd32(udp)));
        uint8_t *o = f - 50;
        static const uint8_t remote_mac[6] = {2, 0, 0, 0, 0xff, 2}, local_mac[6] = {2, 0, 0, 0, 0xff, 1};
        memcpy(o, remote_mac, 6);
        memcpy(o + 6, local_mac, 6);
        wr16(o + 12, 0x0800);
        uint8_t *oip = o + 14;
        uint16_t ulen = (uint16_t)(16 + len[i]);
        oip[0] = 0x45; oip[1] = 0; wr16(oip + 2, 20 + ulen); wr16(oip + 4, 0); wr16(oip + 6, 0x4000);
        oip[8] = 64; oip[9] = 17; wr16(oip + 10, 0);
        oip[12] = 192; oip[13] = 0; oip[14] = 2; oip[15] = 1;
        oip[16] = 192; oip[17] = 0; oip[18] = 2; oip[19] = (uint8_t)(10 + t);
        uint32_t s2 = 0;
        for (int w = 0; w < 20; w += 2) s2 += rd16(oip + w);
        while (s2 > 0xffff) s2 = (s2 & 0xffff) + (s2 >> 16);
        wr16(oip + 10, ~s2 & 0xffff);
        uint8_t *oudp = oip + 20;
        wr16(oudp, 49152 | (hash & 0x3fff)); wr16(oudp + 2, 4789); wr16(oudp + 4, ulen); wr16(oudp + 6, 0);
        oudp[8] = 8; oudp[9] = 0; oudp[10] = 0; oudp[11] = 0;
        uint32_t vni = 5000 + t;
        oudp[12] = vni >> 16; oudp[13] = vni >> 8; oudp[14] = vni; oudp[15] = 0;
        off[i] -= 50;
        len[i] += 50;
        tx_pkts[UNDERLAY_PORT]++;
        tx_bytes[UNDERLAY_PORT] += len[i];
        forwarded++;
      }
      done += P_BATCH;
    }
    elapsed = cpu_now() - start;
  } while (elapsed < seconds);
  if (forwarded != done) fprintf(stderr, "native pipeline: %llu of %llu forwarded\n",
                                 (unsigned long long)forwarded, (unsigned long long)done);
  free(pool); free(cksum); free(off); free(len);
  return done / elapsed / 1e6;
}

static void bench_rte_fib(double seconds) {
  struct rte_fib_conf cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.type = RTE_FIB_DIR24_8;
  cfg.default_nh = MISS; /* 4-byte next hops hold at most 2^31 - 1 */
  cfg.max_routes = (int)n_routes + 16;
  cfg.dir24_8.nh_sz = RTE_FIB_DIR24_8_4B;
  cfg.dir24_8.num_tbl8 = 1 << 17;
  struct rte_fib *fib = rte_fib_create("bench_fib", 0, &cfg);
  if (!fib) {
    printf("\"rte_fib_error\": \"rte_fib_create failed\"");
    return;
  }
  double t0 = cpu_now();
  for (uint32_t i = 0; i < n_routes; i++) {
    if (rte_fib_add(fib, routes[i * 3], (uint8_t)routes[i * 3 + 1], routes[i * 3 + 2]) != 0) {
      printf("\"rte_fib_error\": \"rte_fib_add failed at route %u\"", i);
      rte_fib_free(fib);
      return;
    }
  }
  double load = cpu_now() - t0;
  uint64_t *hops = malloc(sizeof(uint64_t) * n_dests);
  uint64_t n = 0;
  double start = cpu_now(), elapsed;
  do {
    for (uint32_t off = 0; off < n_dests; off += CHUNK) {
      uint32_t k = n_dests - off < CHUNK ? n_dests - off : CHUNK;
      rte_fib_lookup_bulk(fib, dests + off, hops + off, (int)k);
    }
    n += n_dests;
    elapsed = cpu_now() - start;
  } while (elapsed < seconds);
  uint32_t *h32 = malloc(sizeof(uint32_t) * n_dests);
  for (uint32_t i = 0; i < n_dests; i++) h32[i] = hops[i] == MISS ? 0xffffffff : (uint32_t)hops[i];
  printf("\"rte_fib_load_s\": %.3f, \"rte_fib_mlookups\": %.3f, \"rte_fib_hash\": %u", load,
         n / elapsed / 1e6, hash_hops(h32, n_dests));
  printf(", \"pipeline64_mpps\": %.3f, \"pipeline64_acl\": %s", bench_pipeline(seconds, fib),
         acl_ctx ? "true" : "false");
  free(h32);
  free(hops);
  rte_fib_free(fib);
}

int main(int argc, char **argv) {
  uint32_t hdr[2];
  FILE *f =
      bench_open(argc, argv, 4, "lpm_bench ROUTES_FILE SECONDS RTE_LPM_ROUTES", hdr, 2);
  n_routes = hdr[0];
  n_dests = hdr[1];
  routes = malloc((size_t)n_routes * 12);
  dests = malloc((size_t)n_dests * 4);
  if (fread(routes, 12, n_routes, f) != n_routes || fread(dests, 4, n_dests, f) != n_dests) {
    fprintf(stderr, "short file %s\n", argv[1]);
    return 1;
  }
  fclose(f);
  double seconds = atof(argv[2]);
  uint32_t lpm_routes = (uint32_t)strtoul(argv[3], NULL, 10);
  const char *acl_file = argc > 4 ? argv[4] : NULL;
  if (lpm_routes == 0 || lpm_routes > n_routes) lpm_routes = n_routes;
  if (bench_eal_init("lpm_bench") < 0) return bench_eal_failed();
  if (acl_file && load_acl(acl_file) != 0) {
    printf("{\"error\": \"cannot build the ACL from %s\"}\n", acl_file);
    return 0;
  }
  printf("{");
  bench_rte_fib(seconds);
  printf(", ");
  bench_rte_lpm(seconds, lpm_routes);
  printf("}\n");
  rte_eal_cleanup();
  return 0;
}
