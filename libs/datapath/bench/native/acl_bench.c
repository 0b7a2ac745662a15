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
#include <time.h>
#include <arpa/inet.h>
#include <rte_acl.h>
#include <rte_eal.h>

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Packet fields as rte_acl reads them: network byte order, proto first. */
struct tuple {
  uint8_t proto;
  uint8_t pad[3];
  uint32_t src;
  uint32_t dst;
  uint16_t sport;
  uint16_t dport;
};

enum { F_PROTO, F_SRC, F_DST, F_SPORT, F_DPORT, NUM_FIELDS };

static struct rte_acl_field_def defs[NUM_FIELDS] = {
    {.type = RTE_ACL_FIELD_TYPE_BITMASK, .size = 1, .field_index = F_PROTO, .input_index = 0,
     .offset = offsetof(struct tuple, proto)},
    {.type = RTE_ACL_FIELD_TYPE_MASK, .size = 4, .field_index = F_SRC, .input_index = 1,
     .offset = offsetof(struct tuple, src)},
    {.type = RTE_ACL_FIELD_TYPE_MASK, .size = 4, .field_index = F_DST, .input_index = 2,
     .offset = offsetof(struct tuple, dst)},
    {.type = RTE_ACL_FIELD_TYPE_RANGE, .size = 2, .field_index = F_SPORT, .input_index = 3,
     .offset = offsetof(struct tuple, sport)},
    {.type = RTE_ACL_FIELD_TYPE_RANGE, .size = 2, .field_index = F_DPORT, .input_index = 3,
     .offset = offsetof(struct tuple, dport)},
};

RTE_ACL_RULE_DEF(bench_rule, NUM_FIELDS);

#define BURST 64

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: acl_bench FILE SECONDS\n");
    return 2;
  }
  FILE *f = fopen(argv[1], "rb");
  uint32_t hdr[2];
  if (!f || fread(hdr, 4, 2, f) != 2) {
    fprintf(stderr, "cannot read %s\n", argv[1]);
    return 1;
  }
  uint32_t n_rules = hdr[0], n_tuples = hdr[1];
  uint32_t *rules = malloc((size_t)n_rules * 40), *raw = malloc((size_t)n_tuples * 20);
  if (fread(rules, 40, n_rules, f) != n_rules || fread(raw, 20, n_tuples, f) != n_tuples) {
    fprintf(stderr, "short file\n");
    return 1;
  }
  fclose(f);
  double seconds = atof(argv[2]);
  char *eal[] = {"acl_bench", "--no-huge", "--no-pci", "-l", "0", "-m", "1024", "--log-level=3",
                 "--no-shconf"};
  if (rte_eal_init(9, eal) < 0) {
    printf("{\"error\": \"rte_eal_init failed\"}\n");
    return 0;
  }
  struct rte_acl_param param = {.name = "bench_acl", .socket_id = 0,
                                .rule_size = RTE_ACL_RULE_SZ(NUM_FIELDS), .max_rule_num = n_rules};
  struct rte_acl_ctx *ctx = rte_acl_create(&param);
  double t0 = cpu_now();
  for (uint32_t i = 0; i < n_rules; i++) {
    const uint32_t *r = rules + i * 10;
    struct bench_rule rule;
    memset(&rule, 0, sizeof rule);
    rule.data.category_mask = 1;
    rule.data.priority = (int32_t)(n_rules - i); /* higher wins: earlier rules first */
    rule.data.userdata = i + 1;
    rule.field[F_PROTO].value.u8 = r[4] == 256 ? 0 : (uint8_t)r[4];
    rule.field[F_PROTO].mask_range.u8 = r[4] == 256 ? 0 : 0xff;
    rule.field[F_SRC].value.u32 = r[0];
    rule.field[F_SRC].mask_range.u32 = r[1];
    rule.field[F_DST].value.u32 = r[2];
    rule.field[F_DST].mask_range.u32 = r[3];
    rule.field[F_SPORT].value.u16 = (uint16_t)r[5];
    rule.field[F_SPORT].mask_range.u16 = (uint16_t)r[6];
    rule.field[F_DPORT].value.u16 = (uint16_t)r[7];
    rule.field[F_DPORT].mask_range.u16 = (uint16_t)r[8];
    if (rte_acl_add_rules(ctx, (struct rte_acl_rule *)&rule, 1) != 0) {
      printf("{\"error\": \"rte_acl_add_rules failed at rule %u\"}\n", i);
      return 0;
    }
  }
  struct rte_acl_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.num_categories = 1;
  cfg.num_fields = NUM_FIELDS;
  memcpy(cfg.defs, defs, sizeof defs);
  if (rte_acl_build(ctx, &cfg) != 0) {
    printf("{\"error\": \"rte_acl_build failed\"}\n");
    return 0;
  }
  double build = cpu_now() - t0;
  struct tuple *tuples = calloc(n_tuples, sizeof *tuples);
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
