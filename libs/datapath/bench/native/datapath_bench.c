/*
 * Native baseline for the datapath benchmark: the same parse and L2 work in idiomatic C
 * (-O3 -march=native), and the MAC table on DPDK's rte_hash when built with HAVE_DPDK.
 * Traffic is generated here with the spec in the README; prints one JSON object.
 *   usage: datapath_bench SECONDS
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef HAVE_DPDK
#define BENCH_EAL
#include <rte_hash.h>
#include <rte_jhash.h>
#endif
#include "bench_common.h"

#define BATCH 256
#define POOL 4096
#define FLOWS 1024
#define MACS 4096
#define PORTS 16

/* Buffers are laid out like the WebAssembly pool and DPDK mbufs: one 2304-byte slot per
 * packet (guard + 128 headroom + 2048 data + guard), so both touch memory the same way. */
#define SLOT_SIZE 2304
#define SLOT_DATA 192
static uint8_t *slots;

struct pkt {
  uint8_t *data;
  uint16_t len;
  uint16_t in_port;
  uint16_t out_port;
  uint8_t drop;
  uint16_t l3, l4, ethertype, sport, dport;
  uint8_t proto;
  uint32_t flow_hash;
};

static uint64_t port_rx_packets[256], port_rx_bytes[256];

static inline uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

static uint32_t rng = 12345;
static uint32_t next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 17;
  rng ^= rng << 5;
  return rng;
}

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static int ipv4_csum_ok(const uint8_t *p, unsigned len) {
  uint32_t sum = 0;
  for (unsigned i = 0; i < len; i += 2) sum += rd16(p + i);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum == 0xffff;
}

/* Parses Ethernet/VLAN/IPv4/IPv6/TCP/UDP/ICMP headers; returns 0 or a drop code. */
static int parse_headers(struct pkt *k) {
  const uint8_t *f = k->data;
  unsigned end = k->len, p = 14, vlans = 0;
  if (end < 14) return 1;
  uint16_t type = rd16(f + 12);
  while (type == 0x8100 || type == 0x88a8) {
    if (vlans++ == 2) return 2;
    if (end - p < 4) return 3;
    type = rd16(f + p + 2);
    p += 4;
  }
  k->ethertype = type;
  if (type == 0x0800) {
    if (end - p < 20 || f[p] >> 4 != 4) return 4;
    unsigned ihl = (f[p] & 15) * 4, total = rd16(f + p + 2);
    if (ihl < 20 || total < ihl || total > end - p) return 5;
    if (!ipv4_csum_ok(f + p, ihl)) return 6;
    k->l3 = p;
    k->proto = f[p + 9];
    if (rd16(f + p + 6) & 0x1fff) return 0;
    end = p + total;
    p += ihl;
  } else if (type == 0x86dd) {
    if (end - p < 40 || f[p] >> 4 != 6) return 7;
    unsigned plen = rd16(f + p + 4);
    if (plen > end - p - 40) return 8;
    k->l3 = p;
    k->proto = f[p + 6];
    end = p + 40 + plen;
    p += 40;
  } else {
    return 0;
  }
  if (k->proto == 6 || k->proto == 17) {
    if (end - p < (k->proto == 6 ? 20u : 8u)) return 9;
    k->l4 = p;
    k->sport = rd16(f + p);
    k->dport = rd16(f + p + 2);
  } else if (k->proto == 1 || k->proto == 58) {
    if (end - p < 8) return 10;
    k->l4 = p;
  }
  return 0;
}

/* Parse stage as the datapath runs it: rx counters, headers, flow hash. */
static int parse(struct pkt *k) {
  port_rx_packets[k->in_port]++;
  port_rx_bytes[k->in_port] += k->len;
  int drop = parse_headers(k);
  if (drop || k->ethertype != 0x0800) return drop;
  const uint8_t *ip = k->data + k->l3;
  uint32_t h = 0x811c9dc5U;
  h = flow_step(h, rd32(ip + 12));
  h = flow_step(h, rd32(ip + 16));
  h = flow_step(h, k->proto);
  k->flow_hash = fmix32(flow_step(h, (uint32_t)k->sport << 16 | k->dport));
  return 0;
}

/* Open-addressing MAC table (linear probing, power-of-two size). */
struct mac_entry {
  uint64_t key; /* bridge << 48 | mac; 0 = empty */
  uint16_t port;
  uint32_t seen;
};
#define TABLE_SIZE 16384
static struct mac_entry table[TABLE_SIZE];

static inline uint64_t mix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  return k;
}

static struct mac_entry *mac_find(uint64_t key, int insert) {
  for (uint64_t i = mix64(key) & (TABLE_SIZE - 1);; i = (i + 1) & (TABLE_SIZE - 1)) {
    if (table[i].key == key) return &table[i];
    if (table[i].key == 0) {
      if (!insert) return NULL;
      table[i].key = key;
      return &table[i];
    }
  }
}

static inline uint64_t mac_key(uint16_t bridge, const uint8_t *m) {
  uint64_t k = (uint64_t)bridge << 48;
  for (int i = 0; i < 6; i++) k |= (uint64_t)m[i] << (8 * (5 - i));
  return k;
}

static void build_udp64(struct pkt *k, const uint8_t *dst, const uint8_t *src, uint32_t flow) {
  uint8_t *f = k->data;
  memset(f, 0, 64);
  memcpy(f, dst, 6);
  memcpy(f + 6, src, 6);
  f[12] = 0x08;
  uint8_t *ip = f + 14;
  ip[0] = 0x45;
  ip[3] = 46; /* 60-byte frame: 14 + 20 + 8 + 18 payload */
  ip[8] = 64;
  ip[9] = 17;
  ip[12] = 10; ip[13] = 0; ip[14] = flow >> 8; ip[15] = flow & 0xff;
  ip[16] = 10; ip[17] = 1; ip[18] = 0; ip[19] = 1;
  uint32_t sum = 0;
  for (int i = 0; i < 20; i += 2) sum += rd16(ip + i);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  ip[10] = (~sum >> 8) & 0xff;
  ip[11] = ~sum & 0xff;
  uint8_t *udp = ip + 20;
  udp[0] = (1024 + flow) >> 8; udp[1] = (1024 + flow) & 0xff;
  udp[2] = 0x13; udp[3] = 0x88;
  udp[5] = 26;
  k->len = 60;
}

static uint8_t macs[MACS][6];
static uint16_t mac_port[MACS];
static struct pkt pool[POOL];

static void gen_l2_traffic(void) {
  slots = aligned_alloc(64, (size_t)POOL * SLOT_SIZE);
  for (int i = 0; i < POOL; i++) pool[i].data = slots + (size_t)i * SLOT_SIZE + SLOT_DATA;
  for (int i = 0; i < MACS; i++) {
    uint8_t m[6] = {0x02, 0, 0, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
    memcpy(macs[i], m, 6);
    mac_port[i] = i % PORTS;
  }
  for (int i = 0; i < POOL; i++) {
    int s = next_rand() % MACS, d = next_rand() % MACS;
    if (mac_port[d] == mac_port[s]) d = (d + 1) % MACS;
    build_udp64(&pool[i], macs[d], macs[s], next_rand() % FLOWS);
    pool[i].in_port = mac_port[s];
  }
}

static double bench_parse(double seconds) {
  uint64_t n = 0, drops = 0;
  double t0 = cpu_now(), t;
  do {
    for (int b = 0; b < POOL; b++) drops += parse(&pool[b]) != 0;
    n += POOL;
  } while ((t = cpu_now()) - t0 < seconds);
  if (drops) fprintf(stderr, "unexpected parse drops: %llu\n", (unsigned long long)drops);
  return n / (t - t0) / 1e6;
}

static double bench_l2(double seconds) {
  uint64_t n = 0, fwd = 0;
  uint32_t tick = 0;
  memset(table, 0, sizeof table);
  for (int i = 0; i < MACS; i++) mac_find(mac_key(1, macs[i]), 1)->port = mac_port[i];
  double t0 = cpu_now(), t;
  do {
    for (int b = 0; b < POOL; b++) {
      struct pkt *k = &pool[b];
      if (parse(k)) continue;
      struct mac_entry *s = mac_find(mac_key(1, k->data + 6), 1);
      if (s->port != k->in_port) s->port = k->in_port;
      s->seen = tick;
      struct mac_entry *d = (k->data[0] & 1) ? NULL : mac_find(mac_key(1, k->data), 0);
      if (d && d->port != k->in_port) {
        k->out_port = d->port;
        fwd++;
      }
    }
    n += POOL;
    tick++;
  } while ((t = cpu_now()) - t0 < seconds);
  if (fwd != n) fprintf(stderr, "unexpected l2 misses: %llu of %llu\n", (unsigned long long)(n - fwd), (unsigned long long)n);
  return n / (t - t0) / 1e6;
}

#define TUNNEL_PORT 100

/* VXLAN/IPv4 encapsulation into the headroom in front of the frame (50 bytes). */
static void vxlan_encap(struct pkt *k) {
  static const uint8_t local_mac[6] = {2, 0, 0, 0, 0xff, 1}, remote_mac[6] = {2, 0, 0, 0, 0xff, 2};
  uint8_t *o = k->data - 50;
  unsigned udp_len = 16 + k->len;
  memcpy(o, remote_mac, 6);
  memcpy(o + 6, local_mac, 6);
  o[12] = 0x08;
  o[13] = 0;
  uint8_t *ip = o + 14;
  const uint8_t hdr[20] = {0x45, 0, (uint8_t)((20 + udp_len) >> 8), (uint8_t)(20 + udp_len), 0, 0, 0x40, 0, 64, 17, 0, 0,
                           192, 0, 2, 1, 192, 0, 2, 2};
  memcpy(ip, hdr, 20);
  uint32_t sum = 0;
  for (int i = 0; i < 20; i += 2) sum += rd16(ip + i);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  ip[10] = (uint8_t)(~sum >> 8);
  ip[11] = (uint8_t)~sum;
  uint8_t *udp = ip + 20;
  uint16_t sport = 49152 | (k->flow_hash & 0x3fff);
  udp[0] = sport >> 8; udp[1] = (uint8_t)sport;
  udp[2] = 0x12; udp[3] = 0xb5;
  udp[4] = (uint8_t)(udp_len >> 8); udp[5] = (uint8_t)udp_len;
  udp[6] = udp[7] = 0;
  const uint8_t vx[8] = {0x08, 0, 0, 0, 0, 0x13, 0x88, 0};
  memcpy(udp + 8, vx, 8);
}

/* Parse + L2 as bench_l2, with every odd MAC behind a VXLAN tunnel port. */
static double bench_vxlan_encap(double seconds) {
  uint64_t n = 0, enc = 0;
  memset(table, 0, sizeof table);
  for (int i = 0; i < MACS; i++) mac_find(mac_key(1, macs[i]), 1)->port = i % 2 ? TUNNEL_PORT : mac_port[i];
  double t0 = cpu_now(), t;
  do {
    for (int b = 0; b < POOL; b++) {
      struct pkt *k = &pool[b];
      if (parse(k)) continue;
      struct mac_entry *s = mac_find(mac_key(1, k->data + 6), 1);
      if (s->port != k->in_port && s->port != TUNNEL_PORT) s->port = k->in_port;
      struct mac_entry *d = (k->data[0] & 1) ? NULL : mac_find(mac_key(1, k->data), 0);
      if (d && d->port != k->in_port) {
        k->out_port = d->port;
        if (d->port == TUNNEL_PORT) {
          vxlan_encap(k);
          enc++;
        }
      }
    }
    n += POOL;
  } while ((t = cpu_now()) - t0 < seconds);
  if (enc == 0) fprintf(stderr, "no frame was encapsulated\n");
  return n / (t - t0) / 1e6;
}

#ifdef HAVE_DPDK
static double bench_l2_rte_hash(double seconds) {
  struct rte_hash_parameters params = {
      .name = "mac_table", .entries = 16384, .key_len = sizeof(uint64_t),
      .hash_func = rte_jhash, .hash_func_init_val = 0, .socket_id = 0,
  };
  struct rte_hash *h = rte_hash_create(&params);
  if (!h) return -1;
  for (int i = 0; i < MACS; i++) {
    uint64_t key = mac_key(1, macs[i]);
    rte_hash_add_key_data(h, &key, (void *)(uintptr_t)(mac_port[i] + 1));
  }
  enum { BURST = 32 };
  uint64_t keys[BURST], skeys[BURST];
  const void *kp[BURST], *skp[BURST];
  void *data[BURST], *sdata[BURST];
  for (int i = 0; i < BURST; i++) {
    kp[i] = &keys[i];
    skp[i] = &skeys[i];
  }
  uint64_t n = 0, fwd = 0;
  double t0 = cpu_now(), t;
  do {
    for (int b = 0; b < POOL; b += BURST) {
      for (int i = 0; i < BURST; i++) {
        struct pkt *k = &pool[b + i];
        parse(k);
        skeys[i] = mac_key(1, k->data + 6);
        keys[i] = mac_key(1, k->data);
      }
      uint64_t shits = 0, hits = 0;
      rte_hash_lookup_bulk_data(h, skp, BURST, &shits, sdata);
      rte_hash_lookup_bulk_data(h, kp, BURST, &hits, data);
      for (int i = 0; i < BURST; i++) {
        struct pkt *k = &pool[b + i];
        if (!(shits >> i & 1) || (uintptr_t)sdata[i] - 1 != k->in_port)
          rte_hash_add_key_data(h, &skeys[i], (void *)(uintptr_t)(k->in_port + 1));
        if ((hits >> i & 1) && (uintptr_t)data[i] - 1 != k->in_port) {
          k->out_port = (uint16_t)((uintptr_t)data[i] - 1);
          fwd++;
        }
      }
    }
    n += POOL;
  } while ((t = cpu_now()) - t0 < seconds);
  rte_hash_free(h);
  if (fwd != n) fprintf(stderr, "unexpected rte_hash misses: %llu\n", (unsigned long long)(n - fwd));
  return n / (t - t0) / 1e6;
}
#endif

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 1.0;
#ifdef HAVE_DPDK
  int dpdk_ok = bench_eal_init("datapath_bench") >= 0;
#endif
  gen_l2_traffic();
  double parse_mpps = bench_parse(seconds);
  double l2_mpps = bench_l2(seconds);
  double encap_mpps = bench_vxlan_encap(seconds);
  printf("{\"parse64_mpps\": %.3f, \"l2_64_mpps\": %.3f, \"vxlan_encap64_mpps\": %.3f", parse_mpps, l2_mpps, encap_mpps);
#ifdef HAVE_DPDK
  if (dpdk_ok) printf(", \"l2_64_rte_hash_mpps\": %.3f", bench_l2_rte_hash(seconds));
  else printf(", \"l2_64_rte_hash_mpps\": null");
  rte_eal_cleanup();
#endif
  printf("}\n");
  return 0;
}
