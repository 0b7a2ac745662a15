/*
 * Native per-flow policer baseline for the datapath benchmark: idiomatic C doing what the
 * WebAssembly parse + policer stages do for UDP/IPv4 traffic on a flow-policed port — parse
 * Ethernet/IPv4 (version, IHL, length, header checksum) and the ports, key the flow, find or
 * insert it in a 4-way bucketized table with exact keys and LRU eviction, and charge its token
 * bucket in milli-bytes (the README's arithmetic). Prints, as JSON, the conform/exceed/evicted
 * counts of two checking passes (which must equal the WebAssembly ones) and the rate.
 *   usage: gw_bench FILE SECONDS
 * FILE: u32 nFrames, u32 frameLen, u32 rate, u32 burst, u32 maxFlows, u32 batch, then the
 * frames (nFrames x frameLen bytes). Batch b (0-based) runs at time b + 1 ms.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench_common.h"

struct key {
  uint32_t src, dst;
  uint16_t sport, dport;
  uint8_t proto;
};

struct flow {
  struct key k;
  uint8_t used;
  uint32_t hash, last, stamp;
  uint64_t tokens;
};

static struct flow *table;
static uint32_t mask, clk, rate, burst;
static uint64_t conform, exceed, evicted, malformed;

static inline uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static inline void police(const uint8_t *f, uint32_t len, uint32_t now) {
  if (len < 34 || be16(f + 12) != 0x0800) { malformed++; return; }
  const uint8_t *ip = f + 14;
  uint32_t ihl = (ip[0] & 15) * 4;
  if (ip[0] >> 4 != 4 || ihl < 20 || be16(ip + 2) > len - 14) { malformed++; return; }
  uint32_t sum = 0;
  for (uint32_t i = 0; i < ihl; i += 2) sum += be16(ip + i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  if (sum != 0xffff) { malformed++; return; }
  struct key k = {be32(ip + 12), be32(ip + 16), 0, 0, ip[9]};
  if ((ip[9] == 17 || ip[9] == 6) && (be16(ip + 6) & 0x1fff) == 0) {
    k.sport = be16(ip + ihl);
    k.dport = be16(ip + ihl + 2);
  }
  uint32_t h = 0x811c9dc5u;
  h = fmix32(h ^ k.src);
  h = fmix32(h ^ k.dst);
  h = fmix32(h ^ k.proto);
  h = fmix32(h ^ ((uint32_t)k.sport << 16 | k.dport));
  struct flow *b = table + (size_t)(h & mask) * 4, *e = NULL;
  clk++;
  for (int w = 0; w < 4; w++)
    if (b[w].used && b[w].hash == h && b[w].k.src == k.src && b[w].k.dst == k.dst &&
        b[w].k.sport == k.sport && b[w].k.dport == k.dport && b[w].k.proto == k.proto) {
      e = &b[w];
      break;
    }
  uint64_t cap = (uint64_t)burst * 1000, tokens;
  if (!e) {
    uint32_t oldest = 0;
    for (int w = 0; w < 4; w++) {
      if (!b[w].used) { e = &b[w]; break; }
      uint32_t age = clk - b[w].stamp;
      if (!e || age > oldest) { e = &b[w]; oldest = age; }
    }
    if (e->used) evicted++;
    e->used = 1;
    e->k = k;
    e->hash = h;
    tokens = cap;
  } else {
    uint32_t elapsed = now - e->last;
    if (elapsed > 100000) elapsed = 100000;
    tokens = e->tokens + (uint64_t)rate * elapsed;
    if (tokens > cap) tokens = cap;
  }
  e->last = now;
  e->stamp = clk;
  if (tokens >= (uint64_t)len * 1000) {
    e->tokens = tokens - (uint64_t)len * 1000;
    conform++;
  } else {
    e->tokens = tokens;
    exceed++;
  }
}

int main(int argc, char **argv) {
  uint32_t hdr[6];
  FILE *f = bench_open(argc, argv, 3, "gw_bench FILE SECONDS", hdr, 6);
  uint32_t n = hdr[0], len = hdr[1], maxFlows = hdr[4], batch = hdr[5];
  rate = hdr[2];
  burst = hdr[3];
  uint8_t *frames = malloc((size_t)n * len);
  if (!frames || fread(frames, len, n, f) != n) return 1;
  fclose(f);
  mask = maxFlows / 4 - 1;
  table = calloc(maxFlows, sizeof(struct flow));
  uint32_t batches = n / batch, now = 0;
  for (uint32_t pass = 0; pass < 2; pass++)
    for (uint32_t b = 0; b < batches; b++) {
      now++;
      for (uint32_t i = 0; i < batch; i++) police(frames + (size_t)(b * batch + i) * len, len, now);
    }
  uint64_t c0 = conform, x0 = exceed, e0 = evicted;
  double seconds = atof(argv[2]), t0 = cpu_now(), t;
  uint64_t done = 0;
  do {
    for (int r = 0; r < 16; r++) {
      uint32_t b = (uint32_t)(done / batch) % batches;
      now++;
      for (uint32_t i = 0; i < batch; i++) police(frames + (size_t)(b * batch + i) * len, len, now);
      done += batch;
    }
    t = cpu_now() - t0;
  } while (t < seconds);
  printf("{\"conform\":%llu,\"exceed\":%llu,\"evicted\":%llu,\"malformed\":%llu,\"mpps\":%.3f}\n",
         (unsigned long long)c0, (unsigned long long)x0, (unsigned long long)e0,
         (unsigned long long)malformed, done / t / 1e6);
  return 0;
}
