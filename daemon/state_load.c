/* state_load.c - becoming active: groups, claims, applied ids, meta, accounts, outbox, history. */
#include "renewald/state_load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renewald/core/timeutil.h"
#include "renewald/heap_trim.h"
#include "renewald/log.h"

#define SCAN_COUNT  "5000"
#define CLAIM_COUNT "1000"
#define GET_WINDOW  8                 /* chunk and log GETs in flight */
#define RESERVE_MAX ((size_t)1 << 21) /* accounts room is made for before the chunks come */

enum step {
    STEP_GROUPS,
    STEP_CLAIM,
    STEP_APPLIED,
    STEP_META,
    STEP_STATE,
    STEP_CHUNKS,
    STEP_LOGS,
    STEP_OUTBOX,
    STEP_HISTORY,
    STEP_DONE
};

struct rw_loader {
    struct rw_cmd_sink sink;
    struct rw_loader_hooks hooks;
    void *arg;
    const struct rw_config *cfg;
    const struct rw_scorer *sc;
    struct rw_load_result *res;
    bool running;
    uint64_t gen;
    enum step step;
    int stream;  /* STEP_GROUPS / STEP_CLAIM */
    int32_t day; /* STEP_HISTORY: the day being read */
    int32_t last_day;
    char cursor[48]; /* XAUTOCLAIM start / HSCAN cursor */
    /* STEP_CHUNKS / STEP_LOGS: the next to ask for, the next to answer. */
    uint64_t ask, answer, last;
    uint64_t *stamps; /* per chunk: the sequence number it is true at */
    uint32_t nstamps;
};

struct call {
    struct rw_loader *ld;
    uint64_t gen;
};

static void next(struct rw_loader *ld);

struct rw_loader *rw_loader_new(struct rw_cmd_sink sink, const struct rw_loader_hooks *hooks,
                                void *arg)
{
    struct rw_loader *ld = rw_xcalloc(1, sizeof(*ld));
    ld->sink = sink;
    ld->hooks = *hooks;
    ld->arg = arg;
    return ld;
}

void rw_loader_free(struct rw_loader *ld)
{
    if (ld)
        free(ld->stamps);
    free(ld);
}

void rw_loader_stop(struct rw_loader *ld)
{
    ld->running = false;
    ld->gen++;
}

bool rw_loader_running(const struct rw_loader *ld)
{
    return ld->running;
}

static void finish(struct rw_loader *ld, bool ok, const char *why, const char *redis_error)
{
    ld->running = false;
    ld->gen++;
    free(ld->stamps);
    ld->stamps = NULL;
    ld->nstamps = 0;
    if (ok)
        ld->res->accounts = rw_store_count(ld->res->store);
    else
        rw_log_state_free(&ld->res->log);
    /* Every record went through short-lived buffers: hand the freed pages back
     * (~6 MB at a million accounts) instead of keeping them for nothing. */
    rw_heap_trim();
    if (ok)
        rw_store_trim(ld->res->store);
    ld->hooks.done(ld->arg, ok, why, redis_error);
}

static void send(struct rw_loader *ld, int argc, const char **argv, rw_link_reply_cb cb)
{
    size_t lens[16];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    struct call *c = rw_xmalloc(sizeof(*c));
    c->ld = ld;
    c->gen = ld->gen;
    if (!rw_cmd_send(&ld->sink, cb, c, 0, argc, argv, lens)) {
        free(c);
        finish(ld, false, "redis connection down", NULL);
    }
}

/* The loader of a reply, or NULL when it is stale, lost or an error (then the load ended). */
static struct rw_loader *take(void *arg, const redisReply *reply, bool allow_error,
                              const char *what)
{
    struct call *c = arg;
    struct rw_loader *ld = c->ld;
    bool current = c->gen == ld->gen && ld->running;
    free(c);
    if (!current)
        return NULL;
    if (!reply) {
        finish(ld, false, "redis connection lost while loading", NULL);
        return NULL;
    }
    if (reply->type == REDIS_REPLY_ERROR && !allow_error) {
        finish(ld, false, what, reply->str);
        return NULL;
    }
    return ld;
}

static void on_group_created(struct rw_link *link, redisReply *reply, void *arg)
{
    (void)link;
    struct rw_loader *ld = take(arg, reply, true, "cannot create consumer group");
    if (!ld)
        return;
    if (reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "BUSYGROUP", 9) != 0) {
        finish(ld, false, "cannot create consumer group", reply->str);
        return;
    }
    if (reply->type != REDIS_REPLY_ERROR)
        ld->res->groups_created++;
    ld->stream++;
    next(ld);
}

static void create_group(struct rw_loader *ld, bool mkstream)
{
    const struct rw_config *cfg = ld->cfg;
    const char *argv[] = {"XGROUP",   "CREATE", cfg->streams[ld->stream],
                          cfg->group, "0",      "MKSTREAM"};
    send(ld, mkstream ? 6 : 5, argv, on_group_created);
}

/* XINFO GROUPS: create the group only when it is missing (a write an
 * out-of-memory Redis would refuse). */
static void on_groups(struct rw_link *link, redisReply *reply, void *arg)
{
    (void)link;
    struct rw_loader *ld = take(arg, reply, true, "cannot read consumer groups");
    if (!ld)
        return;
    if (reply->type == REDIS_REPLY_ERROR) {
        if (strstr(reply->str, "no such key")) {
            create_group(ld, true);
            return;
        }
        finish(ld, false, "cannot read consumer groups", reply->str);
        return;
    }
    if (reply->type != REDIS_REPLY_ARRAY) {
        finish(ld, false, "unexpected XINFO GROUPS reply", NULL);
        return;
    }
    const char *group = ld->cfg->group;
    for (size_t i = 0; i < reply->elements; i++) {
        const redisReply *g = reply->element[i];
        for (size_t j = 0; g->type == REDIS_REPLY_ARRAY && j + 1 < g->elements; j += 2) {
            const redisReply *k = g->element[j], *v = g->element[j + 1];
            if (k->type == REDIS_REPLY_STRING && k->len == 4 && memcmp(k->str, "name", 4) == 0 &&
                v->type == REDIS_REPLY_STRING && v->len == strlen(group) &&
                memcmp(v->str, group, v->len) == 0) {
                ld->stream++;
                next(ld);
                return;
            }
        }
    }
    create_group(ld, false);
}

static void on_claim(struct rw_link *link, redisReply *reply, void *arg)
{
    (void)link;
    struct rw_loader *ld = take(arg, reply, false, "cannot claim pending entries");
    if (!ld)
        return;
    /* [next-start, [ids...], [deleted...]] */
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2 ||
        reply->element[0]->type != REDIS_REPLY_STRING || reply->element[0]->len >= 48) {
        finish(ld, false, "unexpected XAUTOCLAIM reply", NULL);
        return;
    }
    const redisReply *ids = reply->element[1];
    if (ids->type == REDIS_REPLY_ARRAY && ids->elements > 0)
        rw_info("claimed pending entries of other consumers stream=%s count=%zu",
                ld->cfg->streams[ld->stream], ids->elements);
    memcpy(ld->cursor, reply->element[0]->str, reply->element[0]->len);
    ld->cursor[reply->element[0]->len] = '\0';
    if (strcmp(ld->cursor, "0-0") == 0)
        ld->stream++;
    next(ld);
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
    struct rw_loader *ld = take(arg, reply, false, "cannot read the last applied ids");
    if (!ld)
        return;
    if (!is_pairs(reply)) {
        finish(ld, false, "unexpected reply for the last applied ids", NULL);
        return;
    }
    for (size_t i = 0; i < reply->elements; i += 2) {
        const redisReply *k = reply->element[i], *v = reply->element[i + 1];
        int s = rw_config_stream_index(ld->cfg, k->str, k->len);
        if (s >= 0 && !rw_applied_restore(&ld->res->applied, s, v->str, v->len))
            rw_warn("ignoring a malformed last-applied id stream=%s", ld->cfg->streams[s]);
    }
    ld->step = STEP_META;
    next(ld);
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

static bool key_is(const redisReply *k, const char *name)
{
    return k->len == strlen(name) && memcmp(k->str, name, k->len) == 0;
}

static void on_meta(struct rw_link *link, redisReply *reply, void *arg)
{
    (void)link;
    struct rw_loader *ld = take(arg, reply, false, "cannot read meta");
    if (!ld)
        return;
    if (!is_pairs(reply)) {
        finish(ld, false, "unexpected reply for meta", NULL);
        return;
    }
    struct rw_load_result *res = ld->res;
    struct rw_engine_clock *c = &res->clock;
    res->commit_seq = 0;
    res->catch_up_ms = RW_NO_TIME;
    c->now_ms = c->last_sweep_ms = c->sweep_ms = c->target_ms = RW_NO_TIME;
    c->history_day = RW_NO_DAY;
    c->sweep_full = c->sweep_alerting = false;
    for (size_t i = 0; i < reply->elements; i += 2) {
        const redisReply *k = reply->element[i], *v = reply->element[i + 1];
        if (key_is(k, "seq"))
            res->commit_seq = (uint64_t)parse_i64(v, 0);
        else if (key_is(k, "now"))
            c->now_ms = parse_i64(v, RW_NO_TIME);
        else if (key_is(k, "last_sweep"))
            c->last_sweep_ms = parse_i64(v, RW_NO_TIME);
        else if (key_is(k, "history_day"))
            c->history_day = (int32_t)parse_i64(v, RW_NO_DAY);
        else if (key_is(k, "sweep"))
            c->sweep_ms = parse_i64(v, RW_NO_TIME);
        else if (key_is(k, "sweep_target"))
            c->target_ms = parse_i64(v, RW_NO_TIME);
        else if (key_is(k, "sweep_alerting"))
            c->sweep_alerting = parse_i64(v, 0) != 0;
        else if (key_is(k, "log_from"))
            res->log.log_from = (uint64_t)parse_i64(v, 0);
        else if (key_is(k, "chunks"))
            res->log.nchunks = (uint32_t)parse_i64(v, 0);
        else if (key_is(k, "catch_up"))
            res->catch_up_ms = parse_i64(v, RW_NO_TIME);
    }
    if (res->log.nchunks > RW_ORDINAL_MAX / RW_CHUNK_ACCOUNTS + 1) {
        finish(ld, false, "meta: implausible chunk count", NULL);
        return;
    }
    if (res->log.log_from == 0)
        res->log.log_from = res->commit_seq + 1; /* an earlier version: no log */
    c->sweep_full = c->sweep_ms != RW_NO_TIME;
    res->empty = reply->elements == 0;
    ld->step = STEP_STATE;
    strcpy(ld->cursor, "0");
    next(ld);
}

/* Validates an HSCAN reply: [cursor, [field, value, ...]]. */
static const redisReply *scan_items(const redisReply *reply, struct rw_loader *ld)
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
    struct rw_loader *ld = take(arg, reply, false, "cannot read account state");
    if (!ld)
        return;
    const redisReply *items = scan_items(reply, ld);
    if (!items) {
        finish(ld, false, "unexpected reply scanning account state", NULL);
        return;
    }
    struct rw_load_result *res = ld->res;
    for (size_t i = 0; i < items->elements; i += 2) {
        const redisReply *k = items->element[i], *v = items->element[i + 1];
        int reset = 0;
        struct rw_account *a = NULL;
        if (k->len >= 1 && k->len <= RW_ACCOUNT_MAX)
            a = rw_account_decode(res->store, ld->sc, k->str, k->len, (const uint8_t *)v->str,
                                  v->len, &reset);
        if (!a) {
            res->bad_records++;
            continue;
        }
        if (reset)
            res->signals_reset++;
        res->log.legacy = true; /* rewritten as chunks by the first compaction */
        rw_log_state_mark(&res->log, a->ordinal);
    }
    if (strcmp(ld->cursor, "0") == 0) {
        ld->step = STEP_CHUNKS;
        ld->ask = ld->answer = 0;
        ld->last = res->log.nchunks; /* exclusive */
        ld->nstamps = res->log.nchunks;
        ld->stamps = rw_xcalloc(ld->nstamps + 1, sizeof(*ld->stamps));
        /* The chunks hold at most this many accounts: no rehash while they load
         * (up to RESERVE_MAX: a damaged count must not claim gigabytes at once). */
        size_t want = (size_t)res->log.nchunks * RW_CHUNK_ACCOUNTS;
        rw_store_reserve(res->store, want < RESERVE_MAX ? want : RESERVE_MAX);
    }
    next(ld);
}

/* Decodes one record of a blob into the store; false when it is unreadable. */
static bool restore(struct rw_loader *ld, const struct rw_blob_entry *e)
{
    struct rw_load_result *res = ld->res;
    int reset = 0;
    struct rw_account *a = NULL;
    if (e->id_len <= RW_ACCOUNT_MAX)
        a = rw_account_decode(res->store, ld->sc, e->id, e->id_len, e->rec, e->rec_len, &reset);
    if (!a) {
        res->bad_records++;
        return false;
    }
    if (reset)
        res->signals_reset++;
    return true;
}

static void on_chunk(struct rw_link *link, redisReply *reply, void *arg)
{
    (void)link;
    struct rw_loader *ld = take(arg, reply, false, "cannot read account chunks");
    if (!ld)
        return;
    uint64_t k = ld->answer++;
    if (reply->type == REDIS_REPLY_STRING) {
        struct rw_blob_reader r;
        struct rw_blob_entry e;
        if (!rw_blob_open(&r, reply->str, reply->len) || r.kind != RW_BLOB_CHUNK || r.chunk != k) {
            finish(ld, false, "unreadable account chunk", NULL);
            return;
        }
        ld->stamps[k] = r.seq;
        int rc;
        while ((rc = rw_blob_next(&r, &e)) == 1)
            if (e.ordinal / RW_CHUNK_ACCOUNTS == k)
                (void)restore(ld, &e);
            else
                ld->res->bad_records++;
        if (rc < 0) {
            finish(ld, false, "truncated account chunk", NULL);
            return;
        }
    } else if (reply->type != REDIS_REPLY_NIL) {
        finish(ld, false, "unexpected reply for an account chunk", NULL);
        return;
    }
    if (ld->answer == ld->last) {
        struct rw_load_result *res = ld->res;
        ld->step = STEP_LOGS;
        ld->ask = ld->answer = res->log.log_from;
        ld->last = res->commit_seq + 1;
    }
    next(ld);
}

static void on_log(struct rw_link *link, redisReply *reply, void *arg)
{
    (void)link;
    struct rw_loader *ld = take(arg, reply, false, "cannot read the account log");
    if (!ld)
        return;
    uint64_t seq = ld->answer++;
    struct rw_load_result *res = ld->res;
    if (reply->type == REDIS_REPLY_STRING) {
        struct rw_blob_reader r;
        struct rw_blob_entry e;
        if (!rw_blob_open(&r, reply->str, reply->len) || r.kind != RW_BLOB_LOG || r.seq != seq) {
            finish(ld, false, "unreadable account log entry", NULL);
            return;
        }
        res->log_entries++;
        int rc;
        while ((rc = rw_blob_next(&r, &e)) == 1) {
            uint64_t chunk = e.ordinal / RW_CHUNK_ACCOUNTS;
            if (chunk < ld->nstamps && ld->stamps[chunk] >= seq)
                continue; /* the chunk is newer */
            if (restore(ld, &e)) {
                res->log.log_records++;
                rw_log_state_mark(&res->log, e.ordinal);
            }
        }
        if (rc < 0) {
            finish(ld, false, "truncated account log entry", NULL);
            return;
        }
    } else if (reply->type != REDIS_REPLY_NIL) {
        finish(ld, false, "unexpected reply for an account log entry", NULL);
        return;
    }
    if (ld->answer == ld->last) {
        ld->step = STEP_OUTBOX;
        strcpy(ld->cursor, "0");
    }
    next(ld);
}

/* Keeps GET_WINDOW GETs of NAME:<n> in flight over [ask, last). */
static void get_window(struct rw_loader *ld, const char *name, rw_link_reply_cb cb)
{
    if (ld->answer == ld->last) { /* nothing to read */
        if (ld->step == STEP_CHUNKS) {
            ld->step = STEP_LOGS;
            ld->ask = ld->answer = ld->res->log.log_from;
            ld->last = ld->res->commit_seq + 1;
        } else {
            ld->step = STEP_OUTBOX;
            strcpy(ld->cursor, "0");
        }
        next(ld);
        return;
    }
    uint64_t gen = ld->gen;
    while (ld->ask < ld->last && ld->ask < ld->answer + GET_WINDOW && ld->gen == gen) {
        char *key = rw_xasprintf("%s%s:%llu", ld->cfg->prefix, name, (unsigned long long)ld->ask);
        ld->ask++;
        const char *argv[] = {"GET", key};
        send(ld, 2, argv, cb);
        free(key);
    }
}

static void on_outbox(struct rw_link *link, redisReply *reply, void *arg)
{
    (void)link;
    struct rw_loader *ld = take(arg, reply, false, "cannot read the outbox");
    if (!ld)
        return;
    const redisReply *items = scan_items(reply, ld);
    if (!items) {
        finish(ld, false, "unexpected reply scanning the outbox", NULL);
        return;
    }
    for (size_t i = 0; i < items->elements; i += 2) {
        const redisReply *k = items->element[i], *v = items->element[i + 1];
        ld->hooks.job(ld->arg, k->str, k->len, v->str, v->len);
        ld->res->jobs++;
    }
    if (strcmp(ld->cursor, "0") == 0) {
        ld->step = STEP_HISTORY;
        int64_t now = ld->res->clock.now_ms;
        ld->last_day = now == RW_NO_TIME ? RW_NO_DAY : rw_day_of_ms(now);
        ld->day = ld->last_day == RW_NO_DAY ? RW_NO_DAY : ld->last_day - (RW_HISTORY_RING - 1);
    }
    next(ld);
}

static void on_history(struct rw_link *link, redisReply *reply, void *arg)
{
    (void)link;
    struct rw_loader *ld = take(arg, reply, false, "cannot read daily history");
    if (!ld)
        return;
    if (reply->type == REDIS_REPLY_STRING) {
        ld->hooks.history(ld->arg, ld->day, (const unsigned char *)reply->str, reply->len);
        ld->res->history_days++;
    } else if (reply->type != REDIS_REPLY_NIL) {
        finish(ld, false, "unexpected reply for daily history", NULL);
        return;
    }
    ld->day++;
    next(ld);
}

static void next(struct rw_loader *ld)
{
    const struct rw_config *cfg = ld->cfg;
    char *key;
    switch (ld->step) {
    case STEP_GROUPS:
        if (ld->stream < cfg->nstreams) {
            const char *argv[] = {"XINFO", "GROUPS", cfg->streams[ld->stream]};
            send(ld, 3, argv, on_groups);
            return;
        }
        ld->step = STEP_CLAIM;
        ld->stream = 0;
        strcpy(ld->cursor, "0-0");
        next(ld);
        return;
    case STEP_CLAIM:
        if (ld->stream < cfg->nstreams) {
            /* Entries another consumer (a dead instance) read but never acknowledged. */
            const char *argv[] = {"XAUTOCLAIM", cfg->streams[ld->stream],
                                  cfg->group,   cfg->consumer,
                                  "0",          ld->cursor,
                                  "COUNT",      CLAIM_COUNT,
                                  "JUSTID"};
            send(ld, 9, argv, on_claim);
            return;
        }
        ld->step = STEP_APPLIED;
        next(ld);
        return;
    case STEP_APPLIED:
    case STEP_META:
        key = rw_config_key(cfg, ld->step == STEP_APPLIED ? "applied" : "meta");
        {
            const char *argv[] = {"HGETALL", key};
            send(ld, 2, argv, ld->step == STEP_APPLIED ? on_applied : on_meta);
        }
        free(key);
        return;
    case STEP_STATE:
    case STEP_OUTBOX:
        key = rw_config_key(cfg, ld->step == STEP_STATE ? "state" : "outbox");
        {
            const char *argv[] = {"HSCAN", key, ld->cursor, "COUNT", SCAN_COUNT};
            send(ld, 5, argv, ld->step == STEP_STATE ? on_state : on_outbox);
        }
        free(key);
        return;
    case STEP_CHUNKS:
        get_window(ld, "chunk", on_chunk);
        return;
    case STEP_LOGS:
        get_window(ld, "log", on_log);
        return;
    case STEP_HISTORY:
        if (ld->day != RW_NO_DAY && ld->day <= ld->last_day && cfg->history_ms > 0) {
            char date[RW_DATE_MAX];
            rw_format_date(ld->day, date);
            key = rw_xasprintf("%shistory:%s", cfg->prefix, date);
            const char *argv[] = {"GET", key};
            send(ld, 2, argv, on_history);
            free(key);
            return;
        }
        ld->step = STEP_DONE;
        next(ld);
        return;
    case STEP_DONE:
        finish(ld, true, NULL, NULL);
        return;
    }
}

void rw_loader_start(struct rw_loader *ld, const struct rw_config *cfg, const struct rw_scorer *sc,
                     struct rw_load_result *res)
{
    rw_loader_stop(ld);
    struct rw_store *store = res->store;
    rw_log_state_free(&res->log);
    memset(res, 0, sizeof(*res));
    res->store = store;
    rw_applied_clear(&res->applied);
    ld->cfg = cfg;
    ld->sc = sc;
    ld->res = res;
    ld->running = true;
    ld->step = STEP_GROUPS;
    ld->stream = 0;
    next(ld);
}
