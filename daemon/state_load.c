/* state_load.c - becoming active: groups, claims, applied ids, meta, accounts, outbox. */
#include "renewald/state_load.h"

#include <stdlib.h>
#include <string.h>

#include "renewald/account_store.h"
#include "renewald/commit.h"
#include "renewald/daemon.h"
#include "renewald/log.h"
#include "renewald/outbox.h"
#include "renewald/redis_link.h"
#include "renewald/score.h"
#include "renewald/stream_reader.h"

#define SCAN_COUNT  "5000"
#define CLAIM_COUNT "1000"

enum step { STEP_GROUPS, STEP_CLAIM, STEP_APPLIED, STEP_META, STEP_STATE, STEP_OUTBOX, STEP_DONE };

/* The loader's progress; one per load, freed when it ends or is abandoned. */
struct load {
    enum step step;
    int stream;      /* STEP_GROUPS / STEP_CLAIM */
    char cursor[48]; /* XAUTOCLAIM start / HSCAN cursor */
    int groups_created;
    size_t accounts, slots_reset, bad_records, jobs;
};

static void next(struct renewald *d, struct load *ld);

static bool send(struct renewald *d, struct load *ld, int argc, const char **argv,
                 rw_link_reply_cb cb)
{
    size_t lens[16];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    struct rw_call *call = rw_call_new(d, ld, 0);
    if (rw_link_command(d->writer_link, cb, call, 0, argc, argv, lens))
        return true;
    rw_call_take(call, NULL, NULL, NULL);
    free(ld);
    return false;
}

/* Takes the call of a reply; NULL (and the load freed) when it is stale or failed. */
static struct renewald *take(void *arg, redisReply *reply, struct load **ld, bool allow_error)
{
    void *extra;
    struct renewald *d = rw_call_take(arg, reply, &extra, NULL);
    *ld = extra;
    if (!d) {
        free(*ld);
        return NULL;
    }
    if (reply->type == REDIS_REPLY_ERROR && !allow_error) {
        rw_error("loading state failed error=\"%.200s\"", reply->str);
        free(*ld);
        rw_daemon_reset(d, "state load failed");
        return NULL;
    }
    return d;
}

static void on_group(struct rw_link *link, redisReply *reply, void *arg)
{
    (void)link;
    struct load *ld;
    struct renewald *d = take(arg, reply, &ld, true);
    if (!d)
        return;
    if (reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "BUSYGROUP", 9) != 0) {
        rw_error("cannot create consumer group stream=%s error=\"%.200s\"",
                 d->cfg->streams[ld->stream], reply->str);
        free(ld);
        rw_daemon_reset(d, "group creation failed");
        return;
    }
    if (reply->type != REDIS_REPLY_ERROR)
        ld->groups_created++;
    ld->stream++;
    next(d, ld);
}

static void on_claim(struct rw_link *link, redisReply *reply, void *arg)
{
    (void)link;
    struct load *ld;
    struct renewald *d = take(arg, reply, &ld, false);
    if (!d)
        return;
    /* [next-start, [ids...], [deleted...]] */
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2 ||
        reply->element[0]->type != REDIS_REPLY_STRING || reply->element[0]->len >= 48) {
        rw_error("unexpected XAUTOCLAIM reply stream=%s", d->cfg->streams[ld->stream]);
        free(ld);
        rw_daemon_reset(d, "bad XAUTOCLAIM reply");
        return;
    }
    const redisReply *ids = reply->element[1];
    if (ids->type == REDIS_REPLY_ARRAY && ids->elements > 0)
        rw_info("claimed pending entries of other consumers stream=%s count=%zu",
                d->cfg->streams[ld->stream], ids->elements);
    memcpy(ld->cursor, reply->element[0]->str, reply->element[0]->len);
    ld->cursor[reply->element[0]->len] = '\0';
    if (strcmp(ld->cursor, "0-0") == 0) {
        ld->stream++;
        strcpy(ld->cursor, "0-0");
    }
    next(d, ld);
}

static bool is_pairs(const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements % 2 != 0)
        return false;
    for (size_t i = 0; i < r->elements; i++)
        if (r->element[i]->type != REDIS_REPLY_STRING)
            return false;
    return true;
}

static void on_applied(struct rw_link *link, redisReply *reply, void *arg)
{
    (void)link;
    struct load *ld;
    struct renewald *d = take(arg, reply, &ld, false);
    if (!d)
        return;
    if (!is_pairs(reply)) {
        free(ld);
        rw_daemon_reset(d, "bad applied-ids reply");
        return;
    }
    for (size_t i = 0; i < reply->elements; i += 2) {
        const redisReply *k = reply->element[i], *v = reply->element[i + 1];
        int s = rw_config_stream_index(d->cfg, k->str, k->len);
        if (s >= 0 && !rw_applied_restore(&d->applied, s, v->str, v->len))
            rw_warn("ignoring a malformed last-applied id stream=%s", d->cfg->streams[s]);
    }
    ld->step = STEP_META;
    next(d, ld);
}

static int64_t parse_i64(const redisReply *v, int64_t fallback)
{
    char buf[32];
    if (v->len == 0 || v->len >= sizeof buf)
        return fallback;
    memcpy(buf, v->str, v->len);
    buf[v->len] = '\0';
    char *end;
    long long x = strtoll(buf, &end, 10);
    return *end ? fallback : (int64_t)x;
}

static void on_meta(struct rw_link *link, redisReply *reply, void *arg)
{
    (void)link;
    struct load *ld;
    struct renewald *d = take(arg, reply, &ld, false);
    if (!d)
        return;
    if (!is_pairs(reply)) {
        free(ld);
        rw_daemon_reset(d, "bad meta reply");
        return;
    }
    d->commit_seq = 0;
    d->event_now_ms = RW_NO_TIME;
    d->next_sweep_ms = RW_NO_TIME;
    for (size_t i = 0; i < reply->elements; i += 2) {
        const redisReply *k = reply->element[i], *v = reply->element[i + 1];
        if (k->len == 3 && memcmp(k->str, "seq", 3) == 0)
            d->commit_seq = (uint64_t)parse_i64(v, 0);
        else if (k->len == 9 && memcmp(k->str, "event_now", 9) == 0)
            d->event_now_ms = parse_i64(v, RW_NO_TIME);
        else if (k->len == 10 && memcmp(k->str, "next_sweep", 10) == 0)
            d->next_sweep_ms = parse_i64(v, RW_NO_TIME);
    }
    if (reply->elements == 0 && ld->groups_created > 0)
        rw_warn("no saved state in redis: reading every stream from its start "
                "(first start, or redis lost its data)");
    rw_commit_settle(d->commit, d->commit_seq);
    rw_commit_reset(d->commit, d->commit_seq);
    ld->step = STEP_STATE;
    strcpy(ld->cursor, "0");
    next(d, ld);
}

/* Validates an HSCAN reply: [cursor, [field, value, ...]]. */
static const redisReply *scan_items(const redisReply *reply, struct load *ld)
{
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_STRING || reply->element[0]->len >= 48 ||
        !is_pairs(reply->element[1]))
        return NULL;
    memcpy(ld->cursor, reply->element[0]->str, reply->element[0]->len);
    ld->cursor[reply->element[0]->len] = '\0';
    return reply->element[1];
}

static void on_state(struct rw_link *link, redisReply *reply, void *arg)
{
    (void)link;
    struct load *ld;
    struct renewald *d = take(arg, reply, &ld, false);
    if (!d)
        return;
    const redisReply *items = scan_items(reply, ld);
    if (!items) {
        free(ld);
        rw_daemon_reset(d, "bad state scan reply");
        return;
    }
    uint32_t fp = rw_scorer_fingerprint(d->scorer);
    for (size_t i = 0; i < items->elements; i += 2) {
        const redisReply *k = items->element[i], *v = items->element[i + 1];
        bool reset = false;
        struct rw_account *a = NULL;
        if (k->len >= 1 && k->len <= RW_ACCOUNT_MAX)
            a = rw_account_decode(d->store, k->str, k->len, (const uint8_t *)v->str, v->len, fp,
                                  &reset);
        if (!a) {
            ld->bad_records++;
            continue;
        }
        if (reset) {
            rw_scorer_reset(d->scorer, a->agg);
            ld->slots_reset++;
        }
        ld->accounts++;
    }
    if (strcmp(ld->cursor, "0") == 0) {
        ld->step = STEP_OUTBOX;
        strcpy(ld->cursor, "0");
    }
    next(d, ld);
}

static void on_outbox(struct rw_link *link, redisReply *reply, void *arg)
{
    (void)link;
    struct load *ld;
    struct renewald *d = take(arg, reply, &ld, false);
    if (!d)
        return;
    const redisReply *items = scan_items(reply, ld);
    if (!items) {
        free(ld);
        rw_daemon_reset(d, "bad outbox scan reply");
        return;
    }
    for (size_t i = 0; i < items->elements; i += 2) {
        const redisReply *k = items->element[i], *v = items->element[i + 1];
        rw_outbox_add(d->outbox, k->str, k->len, v->str, v->len, 0);
        ld->jobs++;
    }
    if (strcmp(ld->cursor, "0") == 0)
        ld->step = STEP_DONE;
    next(d, ld);
}

static void finish(struct renewald *d, struct load *ld)
{
    if (ld->bad_records)
        rw_error("skipped unreadable account records count=%zu", ld->bad_records);
    if (ld->slots_reset)
        rw_warn("signal definitions changed since these accounts were saved: their aggregates "
                "start empty count=%zu",
                ld->slots_reset);
    rw_info("state loaded accounts=%zu pending_deliveries=%zu commit_seq=%llu", ld->accounts,
            ld->jobs, (unsigned long long)d->commit_seq);
    free(ld);
    d->now_ms = d->cfg->clock == RW_CLOCK_EVENT && d->event_now_ms != RW_NO_TIME ? d->event_now_ms
                                                                                 : rw_wall_ms();
    d->catching_up = false;
    rw_daemon_loaded(d);
}

static void next(struct renewald *d, struct load *ld)
{
    const struct rw_config *cfg = d->cfg;
    char *key;
    switch (ld->step) {
    case STEP_GROUPS:
        if (ld->stream < cfg->nstreams) {
            const char *argv[] = {"XGROUP",   "CREATE", cfg->streams[ld->stream],
                                  cfg->group, "0",      "MKSTREAM"};
            send(d, ld, 6, argv, on_group);
            return;
        }
        ld->step = STEP_CLAIM;
        ld->stream = 0;
        strcpy(ld->cursor, "0-0");
        next(d, ld);
        return;
    case STEP_CLAIM:
        if (ld->stream < cfg->nstreams) {
            /* Entries another consumer (a dead instance) read but never acknowledged. */
            const char *argv[] = {"XAUTOCLAIM", cfg->streams[ld->stream],
                                  cfg->group,   cfg->consumer,
                                  "0",          ld->cursor,
                                  "COUNT",      CLAIM_COUNT,
                                  "JUSTID"};
            send(d, ld, 9, argv, on_claim);
            return;
        }
        ld->step = STEP_APPLIED;
        next(d, ld);
        return;
    case STEP_APPLIED: {
        key = rw_config_key(cfg, "applied");
        const char *argv[] = {"HGETALL", key};
        send(d, ld, 2, argv, on_applied);
        free(key);
        return;
    }
    case STEP_META: {
        key = rw_config_key(cfg, "meta");
        const char *argv[] = {"HGETALL", key};
        send(d, ld, 2, argv, on_meta);
        free(key);
        return;
    }
    case STEP_STATE: {
        key = rw_config_key(cfg, "state");
        const char *argv[] = {"HSCAN", key, ld->cursor, "COUNT", SCAN_COUNT};
        send(d, ld, 5, argv, on_state);
        free(key);
        return;
    }
    case STEP_OUTBOX: {
        key = rw_config_key(cfg, "outbox");
        const char *argv[] = {"HSCAN", key, ld->cursor, "COUNT", SCAN_COUNT};
        send(d, ld, 5, argv, on_outbox);
        free(key);
        return;
    }
    case STEP_DONE:
        finish(d, ld);
        return;
    }
}

void rw_state_load_start(struct renewald *d)
{
    rw_store_free(d->store);
    d->store = rw_store_new(rw_scorer_nslots(d->scorer));
    rw_applied_clear(&d->applied);
    rw_outbox_reset(d->outbox);
    struct load *ld = rw_xcalloc(1, sizeof *ld);
    ld->step = STEP_GROUPS;
    next(d, ld);
}
