/*
 * config_cluster.c - the [redis] checks that need the whole section: one
 * address unless cluster = true; with it, seed nodes by IP, database 0, and a
 * prefix and streams that share one hash tag (SPEC §9), so that every key of
 * the instance lives in one slot and every script stays within it.
 */
#include "config_impl.h"

#include <stdio.h>
#include <string.h>

#include "renewald/core/cluster_proto.h"
#include "renewald/core/parse.h"

static bool given_ok(const struct sect_state *st, const char *key, int *line)
{
    int i = conf_key_index(SEC_REDIS, key);
    if (!((st->set_mask >> i) & 1))
        return false;
    *line = st->key_line[i];
    return !((st->bad_mask >> i) & 1);
}

/* The hash tag of S as "{tag}" in OUT, or false when it has none. */
static bool tag_of(const char *s, char *out, size_t cap)
{
    size_t off, n;
    if (!rw_cluster_hash_tag(s, strlen(s), &off, &n))
        return false;
    snprintf(out, cap, "{%.*s}", (int)n, s + off);
    return true;
}

static void check_tags(struct loader *ld, const struct sect_state *st, int cluster_line)
{
    const struct rw_config *cfg = ld->cfg;
    int line = cluster_line;
    bool prefix_given = given_ok(st, "prefix", &line);
    if (!prefix_given && line != cluster_line)
        return; /* a bad prefix was reported already */
    char tag[300], stag[600];
    if (!tag_of(cfg->prefix, tag, sizeof tag)) {
        conf_error(ld, line,
                   "prefix '%s' has no hash tag: with cluster = true every key of an instance "
                   "must be in one slot; give the prefix and the streams one tag, e.g. "
                   "prefix = renewald:{p0}: and streams = events:{p0}:usage",
                   cfg->prefix);
        return;
    }
    int sline;
    if (!given_ok(st, "streams", &sline))
        return;
    for (int i = 0; i < cfg->nstreams; i++) {
        if (tag_of(cfg->streams[i], stag, sizeof stag) && strcmp(stag, tag) == 0)
            continue;
        conf_error(ld, sline,
                   "stream '%s' does not share the hash tag %s of prefix '%s': with "
                   "cluster = true every stream of an instance needs it (e.g. events:%s:usage)",
                   cfg->streams[i], tag, cfg->prefix, tag);
    }
}

void conf_check_redis(struct loader *ld)
{
    const struct sect_state *st = &ld->plain[SEC_REDIS];
    const struct rw_config *cfg = ld->cfg;
    int aline = st->line, cline = st->line, dline;
    (void)given_ok(st, "cluster", &cline); /* the line to name, when given */
    if (!given_ok(st, "address", &aline) && aline != st->line)
        return; /* reported already */
    char copy[1100], *items[RW_MAX_SEEDS];
    snprintf(copy, sizeof copy, "%s", cfg->redis_address);
    int n = rw_split_list(copy, items, RW_MAX_SEEDS);
    if (!cfg->redis_cluster) {
        if (n > 1)
            conf_error(ld, aline,
                       "address lists %d addresses: a list of seed nodes needs cluster = true", n);
        return;
    }
    for (int i = 0; i < n; i++) {
        if (strncmp(items[i], "unix:", 5) == 0) {
            conf_error(ld, aline,
                       "with cluster = true, address lists seed nodes as IP:PORT (cluster nodes "
                       "announce TCP addresses), not %s",
                       items[i]);
            break;
        }
    }
    if (given_ok(st, "db", &dline) && cfg->redis_db != 0)
        conf_error(ld, dline,
                   "Redis Cluster has only database 0: db must be 0 with cluster = true");
    check_tags(ld, st, cline);
}
