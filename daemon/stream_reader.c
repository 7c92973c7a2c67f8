/* stream_reader.c - XREADGROUP: this consumer's pending entries first, then new ones. */
#include "renewald/stream_reader.h"

#include <stdlib.h>
#include <string.h>

#include "renewald/commit.h"
#include "renewald/daemon.h"
#include "renewald/log.h"
#include "renewald/pipeline.h"
#include "renewald/redis_link.h"

struct rw_reader {
    struct renewald *d;
    bool busy;                      /* a read is in flight */
    bool pending_phase;             /* re-reading our pending entries */
    bool done[RW_MAX_STREAMS];      /* pending phase: this stream has no more */
    bool requested[RW_MAX_STREAMS]; /* streams of the read in flight */
    char cursor[RW_MAX_STREAMS][RW_ENTRY_ID_MAX];
    struct rw_batch batch; /* reused across reads */
};

void rw_batch_free(struct rw_batch *b)
{
    free(b->entries);
    memset(b, 0, sizeof *b);
}

static struct rw_entry *batch_push(struct rw_batch *b)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 256;
        b->entries = rw_xrealloc(b->entries, b->cap * sizeof *b->entries);
    }
    return &b->entries[b->n++];
}

/* Fills E from one [id, [field, value, ...]] element; false when malformed. */
static bool parse_entry(const redisReply *item, int stream, struct rw_entry *e)
{
    if (item->type != REDIS_REPLY_ARRAY || item->elements != 2 ||
        item->element[0]->type != REDIS_REPLY_STRING)
        return false;
    const redisReply *id = item->element[0];
    const redisReply *fields = item->element[1];
    memset(e, 0, sizeof *e);
    e->stream = stream;
    e->id_str = id->str;
    e->id_len = id->len;
    e->bad_id = !rw_parse_entry_id(id->str, id->len, &e->id);
    /* A deleted entry still pending comes back with nil fields: no event. */
    if (fields->type == REDIS_REPLY_ARRAY) {
        for (size_t j = 0; j + 1 < fields->elements; j += 2) {
            const redisReply *f = fields->element[j], *v = fields->element[j + 1];
            if (f->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING && f->len == 5 &&
                memcmp(f->str, "event", 5) == 0) {
                e->event = v->str;
                e->event_len = v->len;
                break;
            }
        }
    } else if (fields->type != REDIS_REPLY_NIL) {
        return false;
    }
    return true;
}

static int entry_cmp(const void *pa, const void *pb)
{
    const struct rw_entry *a = pa, *b = pb;
    int c = rw_entry_id_cmp(a->id, b->id);
    if (c)
        return c;
    if (a->stream != b->stream)
        return a->stream < b->stream ? -1 : 1;
    /* Keep reply order for equal (bad) ids. */
    return a->pos < b->pos ? -1 : (a->pos > b->pos ? 1 : 0);
}

bool rw_batch_from_reply(const redisReply *reply, const struct rw_config *cfg, int batch_size,
                         struct rw_batch *b)
{
    b->n = 0;
    b->full = false;
    b->newest_id_ms = INT64_MIN;
    for (int s = 0; s < RW_MAX_STREAMS; s++) {
        b->count[s] = 0;
        b->requested[s] = false;
    }
    if (reply->type == REDIS_REPLY_NIL)
        return true;
    if (reply->type != REDIS_REPLY_ARRAY)
        return false;
    for (size_t i = 0; i < reply->elements; i++) {
        const redisReply *s = reply->element[i];
        if (s->type != REDIS_REPLY_ARRAY || s->elements != 2 ||
            s->element[0]->type != REDIS_REPLY_STRING || s->element[1]->type != REDIS_REPLY_ARRAY)
            goto bad;
        int stream = rw_config_stream_index(cfg, s->element[0]->str, s->element[0]->len);
        if (stream < 0)
            goto bad;
        const redisReply *items = s->element[1];
        if ((int)items->elements >= batch_size)
            b->full = true;
        b->count[stream] += (int)items->elements;
        for (size_t j = 0; j < items->elements; j++) {
            struct rw_entry *e = batch_push(b);
            if (!parse_entry(items->element[j], stream, e))
                goto bad;
            e->pos = b->n - 1;
            if (!e->bad_id && (int64_t)e->id.ms > b->newest_id_ms)
                b->newest_id_ms = (int64_t)e->id.ms;
        }
    }
    /* Entries of one stream are in id order already; merge streams by id. */
    if (cfg->nstreams > 1 && b->n > 1)
        qsort(b->entries, b->n, sizeof *b->entries, entry_cmp);
    return true;
bad:
    b->n = 0;
    return false;
}

struct rw_reader *rw_reader_new(struct renewald *d)
{
    struct rw_reader *r = rw_xcalloc(1, sizeof *r);
    r->d = d;
    return r;
}

void rw_reader_free(struct rw_reader *r)
{
    if (!r)
        return;
    rw_batch_free(&r->batch);
    free(r);
}

void rw_reader_reset(struct rw_reader *r)
{
    r->busy = false;
    r->pending_phase = false;
}

bool rw_reader_busy(const struct rw_reader *r)
{
    return r->busy;
}

void rw_reader_start(struct rw_reader *r)
{
    r->pending_phase = true;
    for (int i = 0; i < RW_MAX_STREAMS; i++) {
        r->done[i] = false;
        strcpy(r->cursor[i], "0");
    }
    r->busy = false;
    rw_reader_kick(r);
}

/* Advances the pending-phase cursors past what this batch returned. */
static void advance_pending(struct rw_reader *r, const struct rw_batch *b, const bool *seen)
{
    const struct rw_config *cfg = r->d->cfg;
    for (size_t i = 0; i < b->n; i++) {
        const struct rw_entry *e = &b->entries[i];
        if (e->id_len < RW_ENTRY_ID_MAX && !e->bad_id) {
            char buf[RW_ENTRY_ID_MAX];
            rw_format_entry_id(e->id, buf);
            strcpy(r->cursor[e->stream], buf);
        }
    }
    bool all_done = true;
    for (int s = 0; s < cfg->nstreams; s++) {
        if (!r->done[s] && r->requested[s] && !seen[s])
            r->done[s] = true;
        all_done = all_done && r->done[s];
    }
    if (all_done) {
        r->pending_phase = false;
        rw_debug("pending entries re-read; reading new entries");
    }
}

static void on_read(struct rw_link *link, redisReply *reply, void *arg)
{
    (void)link;
    struct renewald *d = rw_call_take(arg, reply, NULL, NULL);
    if (!d)
        return;
    struct rw_reader *r = d->reader;
    r->busy = false;
    if (d->phase != RW_PHASE_ACTIVE && d->phase != RW_PHASE_STOPPING)
        return;
    if (reply->type == REDIS_REPLY_ERROR) {
        rw_error("XREADGROUP failed error=\"%.200s\"", reply->str);
        rw_daemon_reset(d, strncmp(reply->str, "NOGROUP", 7) == 0
                               ? "consumer group missing (redis lost its data?)"
                               : "read failed");
        return;
    }
    if (!rw_batch_from_reply(reply, d->cfg, d->cfg->batch, &r->batch)) {
        rw_error("unexpected XREADGROUP reply shape; reconnecting");
        rw_daemon_reset(d, "bad read reply");
        return;
    }
    struct rw_batch *b = &r->batch;
    for (int s = 0; s < RW_MAX_STREAMS; s++)
        b->requested[s] = r->requested[s];
    bool seen[RW_MAX_STREAMS] = {false};
    for (size_t i = 0; i < b->n; i++)
        seen[b->entries[i].stream] = true;
    bool pending = r->pending_phase;
    if (pending)
        advance_pending(r, b, seen);
    /* Ask for the next batch before working on this one, so that Redis serves
     * it while this one is processed (the pending phase's cursors depend on
     * this batch, so it reads one at a time). */
    if (!pending && d->phase == RW_PHASE_ACTIVE) {
        rw_reader_kick(r);
        rw_link_flush(d->reader_link);
    }
    if (b->newest_id_ms != INT64_MIN) {
        double lag = (double)(rw_wall_ms() - b->newest_id_ms) / 1000.0;
        d->metrics.stream_lag_s = lag > 0 ? lag : 0;
    } else if (!pending) {
        d->metrics.stream_lag_s = 0;
    }
    /* Every read goes through the pipeline, an empty one too: it tells which
     * streams are drained (releasing held entries) and ends a catch-up. */
    rw_pipeline_process(d, b);
    rw_daemon_after_batch(d);
    rw_commit_flush(d->commit);
    if (d->phase == RW_PHASE_ACTIVE)
        rw_reader_kick(r);
}

void rw_reader_kick(struct rw_reader *r)
{
    struct renewald *d = r->d;
    if (r->busy || d->phase != RW_PHASE_ACTIVE ||
        rw_commit_in_flight(d->commit) >= RW_COMMITS_IN_FLIGHT)
        return;
    const struct rw_config *cfg = d->cfg;
    const char *argv[8 + 2 * RW_MAX_STREAMS];
    size_t lens[8 + 2 * RW_MAX_STREAMS];
    int argc = 0;
    char count[16], block[24];
    snprintf(count, sizeof count, "%d", cfg->batch);
    snprintf(block, sizeof block, "%lld", (long long)cfg->block_ms);
    argv[argc++] = "XREADGROUP";
    argv[argc++] = "GROUP";
    argv[argc++] = cfg->group;
    argv[argc++] = cfg->consumer;
    argv[argc++] = "COUNT";
    argv[argc++] = count;
    int64_t block_ms = 0;
    if (!r->pending_phase) {
        argv[argc++] = "BLOCK";
        argv[argc++] = block;
        block_ms = cfg->block_ms;
    }
    argv[argc++] = "STREAMS";
    int first = argc;
    /* A stream with held entries is ahead in event time: let the others catch up. */
    for (int s = 0; s < cfg->nstreams; s++) {
        r->requested[s] =
            (!r->pending_phase || !r->done[s]) && !rw_pipeline_holding(d->pipeline, s);
        if (r->requested[s])
            argv[argc++] = cfg->streams[s];
    }
    int nstreams = argc - first;
    for (int s = 0; s < cfg->nstreams; s++)
        if (r->requested[s])
            argv[argc++] = r->pending_phase ? r->cursor[s] : ">";
    if (nstreams == 0) {
        /* Only streams with held entries are left to read: no other stream can
         * still move the watermark, so release them rather than wait forever. */
        if (r->pending_phase) {
            r->pending_phase = false;
        } else {
            rw_pipeline_release_held(d);
            rw_daemon_after_batch(d);
            rw_commit_flush(d->commit);
        }
        if (d->phase == RW_PHASE_ACTIVE && !rw_pipeline_holding_any(d->pipeline))
            rw_reader_kick(r);
        return;
    }
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    struct rw_call *call = rw_call_new(d, NULL, 0);
    if (rw_link_command(d->reader_link, on_read, call, block_ms, argc, argv, lens))
        r->busy = true;
    else
        rw_call_take(call, NULL, NULL, NULL);
}
