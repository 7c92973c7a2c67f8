/* cluster_proto.c - hash slots, cluster errors and slot maps, without any I/O. */
#include "renewald/core/cluster_proto.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

uint16_t rw_cluster_crc16(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)(p[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    return crc;
}

bool rw_cluster_hash_tag(const char *key, size_t len, size_t *off, size_t *n)
{
    const char *open = memchr(key, '{', len);
    if (!open)
        return false;
    size_t start = (size_t)(open - key) + 1;
    const char *close = memchr(key + start, '}', len - start);
    if (!close || close == key + start)
        return false; /* no '}', or "{}": the whole key is hashed */
    *off = start;
    *n = (size_t)(close - (key + start));
    return true;
}

int rw_cluster_key_slot(const char *key, size_t len)
{
    size_t off = 0, n = len;
    (void)rw_cluster_hash_tag(key, len, &off, &n);
    return rw_cluster_crc16(key + off, n) & (RW_CLUSTER_SLOTS - 1);
}

bool rw_cluster_format_addr(const char *ip, size_t len, long long port,
                            char out[RW_CLUSTER_ADDR_MAX])
{
    char host[INET6_ADDRSTRLEN];
    unsigned char bin[sizeof(struct in6_addr)];
    if (len == 0 || len >= sizeof host || port < 1 || port > 65535)
        return false;
    memcpy(host, ip, len);
    host[len] = '\0';
    if (inet_pton(AF_INET, host, bin) == 1)
        snprintf(out, RW_CLUSTER_ADDR_MAX, "%s:%lld", host, port);
    else if (inet_pton(AF_INET6, host, bin) == 1)
        snprintf(out, RW_CLUSTER_ADDR_MAX, "[%s]:%lld", host, port);
    else
        return false;
    return true;
}

/* ---- slot maps ---- */

static bool is_str(const struct rw_rnode *r, const char *s)
{
    size_t n = strlen(s);
    return r->type == RW_RT_STRING && r->len == n && memcmp(r->str, s, n) == 0;
}

/* IP (empty: SELF_HOST) and PORT into OUT; false when that is no usable address. */
static bool node_addr(const struct rw_rnode *ip, long long port, const char *self_host,
                      char out[RW_CLUSTER_ADDR_MAX])
{
    if (ip->len == 0)
        return self_host && rw_cluster_format_addr(self_host, strlen(self_host), port, out);
    return rw_cluster_format_addr(ip->str, ip->len, port, out);
}

static void remember(struct rw_cluster_view *v, const char *addr)
{
    for (int i = 0; i < v->nnodes; i++)
        if (strcmp(v->nodes[i], addr) == 0)
            return;
    if (v->nnodes < RW_CLUSTER_NODES_MAX)
        snprintf(v->nodes[v->nnodes++], RW_CLUSTER_ADDR_MAX, "%s", addr);
}

static bool slot_value(const struct rw_rnode *r, long long *out)
{
    if (r->type != RW_RT_INTEGER || r->integer < 0 || r->integer >= RW_CLUSTER_SLOTS)
        return false;
    *out = r->integer;
    return true;
}

/* CLUSTER SLOTS: [[start, end, [ip, port, id, ...] (master), replicas...], ...] */
bool rw_cluster_parse_slots(const struct rw_rnode *reply, int slot, const char *self_host,
                            struct rw_cluster_view *out)
{
    memset(out, 0, sizeof *out);
    if (reply->type != RW_RT_ARRAY)
        return false;
    for (size_t i = 0; i < reply->n; i++) {
        const struct rw_rnode *range = &reply->elem[i];
        long long start, end;
        if (range->type != RW_RT_ARRAY || range->n < 3 || !slot_value(&range->elem[0], &start) ||
            !slot_value(&range->elem[1], &end) || start > end)
            return false;
        for (size_t k = 2; k < range->n; k++) {
            const struct rw_rnode *node = &range->elem[k];
            if (node->type != RW_RT_ARRAY || node->n < 2 || node->elem[0].type != RW_RT_STRING ||
                node->elem[1].type != RW_RT_INTEGER)
                return false;
            char addr[RW_CLUSTER_ADDR_MAX];
            if (!node_addr(&node->elem[0], node->elem[1].integer, self_host, addr))
                continue;
            remember(out, addr);
            if (k == 2 && !out->covered && slot >= start && slot <= end) {
                out->covered = true;
                memcpy(out->master, addr, sizeof addr);
            }
        }
    }
    return true;
}

/* One CLUSTER SHARDS node: [key, value, ...]; false when malformed. */
static bool shard_node(const struct rw_rnode *node, const char *self_host, bool *usable,
                       char addr[RW_CLUSTER_ADDR_MAX], bool *master, bool *healthy)
{
    if (node->type != RW_RT_ARRAY || node->n % 2 != 0)
        return false;
    const struct rw_rnode *ip = NULL;
    long long port = 0;
    *master = false;
    *healthy = true;
    for (size_t i = 0; i < node->n; i += 2) {
        const struct rw_rnode *k = &node->elem[i], *v = &node->elem[i + 1];
        if (k->type != RW_RT_STRING)
            return false;
        if (is_str(k, "ip")) {
            if (v->type != RW_RT_STRING)
                return false;
            ip = v;
        } else if (is_str(k, "port")) {
            if (v->type != RW_RT_INTEGER)
                return false;
            port = v->integer;
        } else if (is_str(k, "role")) {
            if (v->type != RW_RT_STRING)
                return false;
            *master = is_str(v, "master");
        } else if (is_str(k, "health")) {
            if (v->type != RW_RT_STRING)
                return false;
            *healthy = is_str(v, "online");
        }
    }
    *usable = ip && node_addr(ip, port, self_host, addr);
    return true;
}

/* CLUSTER SHARDS: [[ "slots", [start, end, ...], "nodes", [node, ...], ... ], ...] */
bool rw_cluster_parse_shards(const struct rw_rnode *reply, int slot, const char *self_host,
                             struct rw_cluster_view *out)
{
    memset(out, 0, sizeof *out);
    if (reply->type != RW_RT_ARRAY)
        return false;
    for (size_t i = 0; i < reply->n; i++) {
        const struct rw_rnode *shard = &reply->elem[i], *slots = NULL, *nodes = NULL;
        if (shard->type != RW_RT_ARRAY || shard->n % 2 != 0)
            return false;
        for (size_t k = 0; k < shard->n; k += 2) {
            const struct rw_rnode *key = &shard->elem[k], *v = &shard->elem[k + 1];
            if (key->type != RW_RT_STRING)
                return false;
            if (is_str(key, "slots"))
                slots = v;
            else if (is_str(key, "nodes"))
                nodes = v;
        }
        if (!slots || !nodes || slots->type != RW_RT_ARRAY || slots->n % 2 != 0 ||
            nodes->type != RW_RT_ARRAY)
            return false;
        bool ours = false;
        for (size_t k = 0; k < slots->n; k += 2) {
            long long start, end;
            if (!slot_value(&slots->elem[k], &start) || !slot_value(&slots->elem[k + 1], &end) ||
                start > end)
                return false;
            ours = ours || (slot >= start && slot <= end);
        }
        for (size_t k = 0; k < nodes->n; k++) {
            char addr[RW_CLUSTER_ADDR_MAX];
            bool usable, master, healthy;
            if (!shard_node(&nodes->elem[k], self_host, &usable, addr, &master, &healthy))
                return false;
            if (!usable)
                continue;
            if (healthy)
                remember(out, addr);
            if (ours && master && healthy && !out->covered) {
                out->covered = true;
                memcpy(out->master, addr, sizeof addr);
            }
        }
    }
    return true;
}

/* ---- errors ---- */

/* ERR starts with the word W (followed by a space or the end). */
static bool word(const char *err, size_t len, const char *w)
{
    size_t n = strlen(w);
    return len >= n && memcmp(err, w, n) == 0 && (len == n || err[n] == ' ');
}

/* "SLOT HOST:PORT" after MOVED or ASK. */
static void parse_target(const char *p, size_t len, const char *self_host, struct rw_redirect *out)
{
    size_t i = 0;
    long long slot = 0;
    while (i < len && p[i] >= '0' && p[i] <= '9' && slot < RW_CLUSTER_SLOTS)
        slot = slot * 10 + (p[i++] - '0');
    if (i == 0 || i > 5 || slot >= RW_CLUSTER_SLOTS || i >= len || p[i] != ' ')
        return;
    out->slot = (int)slot;
    const char *ep = p + i + 1;
    size_t elen = len - i - 1;
    const char *colon = NULL;
    for (size_t k = elen; k > 0; k--) {
        if (ep[k - 1] == ':') {
            colon = ep + k - 1;
            break;
        }
    }
    if (!colon)
        return;
    size_t hlen = (size_t)(colon - ep), plen = elen - hlen - 1;
    long long port = 0;
    for (size_t k = 0; k < plen; k++) {
        if (colon[1 + k] < '0' || colon[1 + k] > '9' || port > 65535)
            return;
        port = port * 10 + (colon[1 + k] - '0');
    }
    if (plen == 0)
        return;
    if (hlen >= 2 && ep[0] == '[' && ep[hlen - 1] == ']') {
        ep++;
        hlen -= 2;
    }
    if (hlen == 0)
        out->addr_ok =
            self_host && rw_cluster_format_addr(self_host, strlen(self_host), port, out->addr);
    else
        out->addr_ok = rw_cluster_format_addr(ep, hlen, port, out->addr);
}

enum rw_cluster_error rw_cluster_parse_error(const char *err, size_t len, const char *self_host,
                                             struct rw_redirect *out)
{
    memset(out, 0, sizeof *out);
    out->slot = -1;
    if (word(err, len, "MOVED") || word(err, len, "ASK")) {
        bool moved = err[0] == 'M';
        size_t skip = moved ? 6 : 4;
        if (len > skip)
            parse_target(err + skip, len - skip, self_host, out);
        return moved ? RW_CERR_MOVED : RW_CERR_ASK;
    }
    if (word(err, len, "TRYAGAIN"))
        return RW_CERR_TRYAGAIN;
    if (word(err, len, "CLUSTERDOWN") || word(err, len, "MASTERDOWN"))
        return RW_CERR_DOWN;
    if (word(err, len, "READONLY") || word(err, len, "UNBLOCKED"))
        return RW_CERR_STALE;
    return RW_CERR_NONE;
}
