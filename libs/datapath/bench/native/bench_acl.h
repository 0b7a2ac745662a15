/*
 * rte_acl over the IPv4 5-tuple, shared by acl_bench.c (classification alone) and lpm_bench.c
 * (the routed pipeline's ACL): the tuple layout, the field definitions and loading the rules
 * of the file format the benchmark writes (bench/l3-bench.mjs writeAclFile).
 */
#ifndef DP_BENCH_ACL_H
#define DP_BENCH_ACL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <rte_acl.h>

/* Packet fields as rte_acl reads them: network byte order, proto first. */
struct acl_tuple {
  uint8_t proto;
  uint8_t pad[3];
  uint32_t src;
  uint32_t dst;
  uint16_t sport;
  uint16_t dport;
};

enum { F_PROTO, F_SRC, F_DST, F_SPORT, F_DPORT, NUM_FIELDS };

static struct rte_acl_field_def acl_defs[NUM_FIELDS] = {
    {.type = RTE_ACL_FIELD_TYPE_BITMASK, .size = 1, .field_index = F_PROTO, .input_index = 0,
     .offset = offsetof(struct acl_tuple, proto)},
    {.type = RTE_ACL_FIELD_TYPE_MASK, .size = 4, .field_index = F_SRC, .input_index = 1,
     .offset = offsetof(struct acl_tuple, src)},
    {.type = RTE_ACL_FIELD_TYPE_MASK, .size = 4, .field_index = F_DST, .input_index = 2,
     .offset = offsetof(struct acl_tuple, dst)},
    {.type = RTE_ACL_FIELD_TYPE_RANGE, .size = 2, .field_index = F_SPORT, .input_index = 3,
     .offset = offsetof(struct acl_tuple, sport)},
    {.type = RTE_ACL_FIELD_TYPE_RANGE, .size = 2, .field_index = F_DPORT, .input_index = 3,
     .offset = offsetof(struct acl_tuple, dport)},
};

RTE_ACL_RULE_DEF(acl_rule, NUM_FIELDS);

/* An empty context for `n` rules. */
static inline struct rte_acl_ctx *acl_create(const char *name, uint32_t n) {
  struct rte_acl_param param = {.name = name, .socket_id = 0,
                                .rule_size = RTE_ACL_RULE_SZ(NUM_FIELDS), .max_rule_num = n};
  return rte_acl_create(&param);
}

/*
 * Adds `n` rules (10 u32 each: src, srcLen, dst, dstLen, proto (256: any), sportLo, sportHi,
 * dportLo, dportHi, deny) with first-match priority and userdata i + 1, then builds the
 * context. Returns 0; i + 1 when rule i could not be added; -1 when the build failed.
 */
static inline int acl_load(struct rte_acl_ctx *ctx, const uint32_t *rules, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    const uint32_t *r = rules + i * 10;
    struct acl_rule rule;
    memset(&rule, 0, sizeof rule);
    rule.data.category_mask = 1;
    rule.data.priority = (int32_t)(n - i); /* higher wins: earlier rules first */
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
    if (rte_acl_add_rules(ctx, (struct rte_acl_rule *)&rule, 1) != 0) return (int)i + 1;
  }
  struct rte_acl_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.num_categories = 1;
  cfg.num_fields = NUM_FIELDS;
  memcpy(cfg.defs, acl_defs, sizeof acl_defs);
  return rte_acl_build(ctx, &cfg) != 0 ? -1 : 0;
}

#endif
