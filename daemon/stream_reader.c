/* stream_reader.c - XREADGROUP into the merge: pending entries first, then new ones. */
#include "renewald/stream_reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renewald/log.h"

struct rw_reader {
    struct rw_cmd_sink sink;
    const struct rw_config *cfg;
    struct rw_merge *merge;
    struct rw_reader_hooks hooks;
    void *arg;
    bool running;
    bool busy;                    /* a read is in flight */
    uint64_t gen;                 /* bumped by stop: replies of older reads are dropped */
    uint64_t reads;               /* replies taken: numbers them for the merge */
    bool pending[RW_MAX_STREAMS]; /* re-reading this consumer's pending entries */
    char cursor[RW_MAX_STREAMS][RW_ENTRY_ID_MAX]; /* pending phase: after this id */
    uint32_t requested, requested_pending;        /* of the read in flight */
    bool blocking;                                /* the read in flight may block */
    uint64_t newest_ms[RW_MAX_STREAMS];
    bool at_end[RW_MAX_STREAMS];
};

struct read_call {
    struct rw_reader *r;
    uint64_t gen;
};

struct rw_reader *rw_reader_new(struct rw_cmd_sink sink, const struct rw_config *cfg,
                                struct rw_merge *merge, const struct rw_reader_hooks *hooks,
                                void *arg)
{
    struct rw_reader *r = rw_xcalloc(1, sizeof(*r));
    r->sink = sink;
    r->cfg = cfg;
    r->merge = merge;
    r->hooks = *hooks;
    r->arg = arg;
    return r;
}

void rw_reader_free(struct rw_reader *r)
{
    free(r);
}

void rw_reader_set_config(struct rw_reader *r, const struct rw_config *cfg)
{
    r->cfg = cfg;
}

void rw_reader_start(struct rw_reader *r)
{
    r->running = true;
    r->busy = false;
    r->gen++;
    for (int s = 0; s < RW_MAX_STREAMS; s++) {
        r->pending[s] = true;
        strcpy(r->cursor[s], "0");
        r->newest_ms[s] = 0;
        r->at_end[s] = false;
    }
}

void rw_reader_stop(struct rw_reader *r)
{
    r->running = false;
    r->busy = false;
    r->gen++;
}

bool rw_reader_busy(const struct rw_reader *r)
{
    return r->busy;
}

void rw_reader_read_ahead(struct rw_reader *r, bool tail)
{
    if (!r->running || r->busy)
        return;
    uint32_t want = tail ? rw_merge_would_empty(r->merge) : 0;
    for (int s = 0; s < r->cfg->nstreams; s++)
        if ((r->pending[s] || !r->at_end[s]) &&
            rw_merge_queued(r->merge, s) <= (size_t)r->cfg->batch)
            want |= 1u << s;
    if (want)
        rw_reader_kick(r, want);
}

bool rw_reader_waiting(const struct rw_reader *r)
{
    return r->busy && r->blocking;
}

int64_t rw_reader_lag_ms(const struct rw_reader *r, int stream, int64_t now_ms)
{
    if (stream < 0 || stream >= RW_MAX_STREAMS || r->at_end[stream] || r->newest_ms[stream] == 0)
        return 0;
    int64_t lag = now_ms - (int64_t)r->newest_ms[stream];
    return lag > 0 ? lag : 0;
}

/* Fills one [id, [field, value, ...]] element's parts; false when malformed. */
static bool entry_parts(const redisReply *item, const redisReply **id, const char **raw,
                        size_t *raw_len)
{
    if (item->type != REDIS_REPLY_ARRAY || item->elements != 2 ||
        item->element[0]->type != REDIS_REPLY_STRING)
        return false;
    *id = item->element[0];
    const redisReply *fields = item->element[1];
    *raw = NULL;
    *raw_len = 0;
    /* A deleted entry still pending comes back with nil fields: no event. */
    if (fields->type == REDIS_REPLY_ARRAY) {
        for (size_t j = 0; j + 1 < fields->elements; j += 2) {
            const redisReply *f = fields->element[j], *v = fields->element[j + 1];
            if (f->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING && f->len == 5 &&
                memcmp(f->str, "event", 5) == 0) {
                *raw = v->str;
                *raw_len = v->len;
                break;
            }
        }
        return true;
    }
    return fields->type == REDIS_REPLY_NIL;
}

/* Checks the shape of a whole reply before anything goes into the merge. */
static bool reply_ok(const redisReply *reply, const struct rw_config *cfg)
{
    if (reply->type == REDIS_REPLY_NIL)
        return true;
    if (reply->type != REDIS_REPLY_ARRAY)
        return false;
    for (size_t i = 0; i < reply->elements; i++) {
        const redisReply *s = reply->element[i];
        if (s->type != REDIS_REPLY_ARRAY || s->elements != 2 ||
            s->element[0]->type != REDIS_REPLY_STRING || s->element[1]->type != REDIS_REPLY_ARRAY ||
            rw_config_stream_index(cfg, s->element[0]->str, s->element[0]->len) < 0)
            return false;
        const redisReply *items = s->element[1];
        for (size_t j = 0; j < items->elements; j++) {
            const redisReply *id;
            const char *raw;
            size_t rl;
            if (!entry_parts(items->element[j], &id, &raw, &rl) || id->len >= RW_ENTRY_ID_MAX)
                return false;
        }
    }
    return true;
}

bool rw_reader_take_reply(const redisReply *reply, const struct rw_config *cfg, uint32_t requested,
                          uint32_t pending, bool blocked, int count, uint64_t read_seq,
                          struct rw_merge *merge,
                          int64_t (*key)(void *, int, struct rw_entry_id, const char *, size_t),
                          void *key_arg, struct rw_read_result *res)
{
    memset(res, 0, sizeof(*res));
    if (!reply_ok(reply, cfg))
        return false;
    bool present[RW_MAX_STREAMS] = {false};
    for (size_t i = 0; reply->type == REDIS_REPLY_ARRAY && i < reply->elements; i++) {
        const redisReply *s = reply->element[i];
        int stream = rw_config_stream_index(cfg, s->element[0]->str, s->element[0]->len);
        const redisReply *items = s->element[1];
        for (size_t j = 0; j < items->elements; j++) {
            const redisReply *id;
            const char *raw;
            size_t rl;
            (void)entry_parts(items->element[j], &id, &raw, &rl);
            struct rw_entry_id eid = {0, 0};
            bool bad = !rw_parse_entry_id(id->str, id->len, &eid);
            int64_t k = bad || !raw || !key ? RW_MERGE_FIRST : key(key_arg, stream, eid, raw, rl);
            rw_merge_push(merge, stream, eid, bad, id->str, id->len, raw, rl, k, read_seq);
            if (!bad && eid.ms > res->newest_ms[stream])
                res->newest_ms[stream] = eid.ms;
            memcpy(res->last_id[stream], id->str, id->len); /* < RW_ENTRY_ID_MAX: checked */
            res->last_id[stream][id->len] = '\0';
        }
        res->returned[stream] += (int)items->elements;
        present[stream] = true;
    }
    for (int s = 0; s < cfg->nstreams; s++)
        if ((requested >> s) & 1 && !((pending >> s) & 1) && (present[s] || !blocked))
            rw_merge_set_drained(merge, s, res->returned[s] < count, read_seq);
    return true;
}

static void on_read(struct rw_link *link, redisReply *reply, void *arg)
{
    (void)link;
    struct read_call *call = arg;
    struct rw_reader *r = call->r;
    bool current = call->gen == r->gen;
    free(call);
    if (!current || !r->running)
        return;
    r->busy = false;
    if (!reply)
        return; /* the connection went: the owner resets */
    if (reply->type == REDIS_REPLY_ERROR) {
        bool nogroup = strncmp(reply->str, "NOGROUP", 7) == 0;
        r->hooks.failed(r->arg,
                        nogroup ? "consumer group missing (redis lost its data?)" : "read failed",
                        reply->str);
        return;
    }
    struct rw_read_result res;
    const struct rw_config *cfg = r->cfg;
    int64_t (*key)(void *, int, struct rw_entry_id, const char *, size_t) =
        cfg->nstreams > 1 ? r->hooks.key : NULL;
    if (!rw_reader_take_reply(reply, cfg, r->requested, r->requested_pending, r->blocking,
                              cfg->batch, ++r->reads, r->merge, key, r->arg, &res)) {
        r->hooks.failed(r->arg, "unexpected XREADGROUP reply shape", NULL);
        return;
    }
    for (int s = 0; s < cfg->nstreams; s++) {
        if (!((r->requested >> s) & 1))
            continue;
        if (res.newest_ms[s])
            r->newest_ms[s] = res.newest_ms[s];
        if (r->pending[s]) {
            /* Pending entries come in id order: continue after the last one; fewer
             * than asked for means they are all re-read. */
            if (res.returned[s] < cfg->batch) {
                r->pending[s] = false;
                rw_debug("pending entries re-read; reading new entries stream=%s", cfg->streams[s]);
            } else {
                strcpy(r->cursor[s], res.last_id[s]); /* continue after the last one read */
            }
        } else if (res.returned[s] > 0 || !r->blocking) {
            r->at_end[s] = res.returned[s] < cfg->batch;
        }
    }
    r->hooks.read(r->arg);
}

void rw_reader_kick(struct rw_reader *r, uint32_t want)
{
    if (!r->running || r->busy)
        return;
    const struct rw_config *cfg = r->cfg;
    const char *argv[8 + 2 * RW_MAX_STREAMS];
    size_t lens[8 + 2 * RW_MAX_STREAMS];
    int argc = 0;
    char count[16], block[24];
    snprintf(count, sizeof count, "%d", cfg->batch);
    snprintf(block, sizeof block, "%lld", (long long)cfg->block_ms);
    uint32_t req = 0, pend = 0;
    bool all_at_end = true;
    for (int s = 0; s < cfg->nstreams; s++) {
        if (!((want >> s) & 1))
            continue;
        req |= 1u << s;
        if (r->pending[s])
            pend |= 1u << s;
        all_at_end = all_at_end && !r->pending[s] && rw_merge_drained(r->merge, s);
    }
    if (!req)
        return;
    argv[argc++] = "XREADGROUP";
    argv[argc++] = "GROUP";
    argv[argc++] = cfg->group;
    argv[argc++] = cfg->consumer;
    argv[argc++] = "COUNT";
    argv[argc++] = count;
    int64_t block_ms = 0;
    /* Wait in Redis only at the tail of every stream asked for, and only with
     * nothing queued: entries waiting for a stream to be found at its end need
     * a read that answers for every stream at once, which a blocked one does not. */
    if (all_at_end && rw_merge_queued_all(r->merge) == 0) {
        argv[argc++] = "BLOCK";
        argv[argc++] = block;
        block_ms = cfg->block_ms;
    }
    argv[argc++] = "STREAMS";
    for (int s = 0; s < cfg->nstreams; s++)
        if ((req >> s) & 1)
            argv[argc++] = cfg->streams[s];
    for (int s = 0; s < cfg->nstreams; s++)
        if ((req >> s) & 1)
            argv[argc++] = r->pending[s] ? r->cursor[s] : ">";
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    struct read_call *call = rw_xmalloc(sizeof(*call));
    call->r = r;
    call->gen = r->gen;
    if (!rw_cmd_send(&r->sink, on_read, call, block_ms, argc, argv, lens)) {
        free(call);
        return;
    }
    r->busy = true;
    r->requested = req;
    r->requested_pending = pend;
    r->blocking = block_ms > 0;
}
