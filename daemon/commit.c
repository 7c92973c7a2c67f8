/* commit.c - the changelog commit: staged blobs, then one checked script (fences,
 * then every write, sequence last), acknowledgements once it landed. */
#include "renewald/commit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renewald/core/account_store.h"
#include "renewald/core/changelog.h"
#include "renewald/core/digest.h"
#include "renewald/core/jsonw.h"
#include "renewald/core/timeutil.h"
#include "renewald/log.h"

#define FIXED_KEYS   7
#define STAGE_TTL_MS "600000" /* a staged blob the script never moved expires */
#define DELETES_MAX  32       /* log entries deleted per commit (each frees a blob) */

/* A growable list of byte strings kept in one arena (offsets survive reallocs). */
struct strlist {
    char *arena;
    size_t used, cap;
    size_t *off, *len;
    size_t n, ncap;
};

static void sl_push(struct strlist *l, const char *s, size_t len)
{
    if (l->used + len > l->cap) {
        l->cap = (l->used + len) * 2 + 256;
        l->arena = rw_xrealloc(l->arena, l->cap);
    }
    if (l->n == l->ncap) {
        l->ncap = l->ncap ? l->ncap * 2 : 64;
        l->off = rw_xrealloc(l->off, l->ncap * sizeof *l->off);
        l->len = rw_xrealloc(l->len, l->ncap * sizeof *l->len);
    }
    if (len)
        memcpy(l->arena + l->used, s, len);
    l->off[l->n] = l->used;
    l->len[l->n] = len;
    l->used += len;
    l->n++;
}

static void sl_pushs(struct strlist *l, const char *s)
{
    sl_push(l, s, strlen(s));
}

static void sl_pushf(struct strlist *l, const char *fmt, long long v)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, fmt, v);
    sl_push(l, buf, (size_t)n);
}

static void sl_clear(struct strlist *l)
{
    l->used = 0;
    l->n = 0;
}

static void sl_free(struct strlist *l)
{
    free(l->arena);
    free(l->off);
    free(l->len);
    memset(l, 0, sizeof *l);
}

static void sl_append(struct strlist *to, const struct strlist *from)
{
    for (size_t i = 0; i < from->n; i++)
        sl_push(to, from->arena + from->off[i], from->len[i]);
}

/* A write sent and not yet answered: what to do when it lands. */
struct flight {
    struct flight *next;
    struct rw_commit *c;
    uint64_t seq;
    struct strlist jobs;                 /* id, text pairs for the outbox */
    struct strlist acks[RW_MAX_STREAMS]; /* acknowledged once the write landed */
    struct rw_counts counts;
};

static void flight_free(struct flight *f)
{
    sl_free(&f->jobs);
    for (int s = 0; s < RW_MAX_STREAMS; s++)
        sl_free(&f->acks[s]);
    free(f);
}

struct rw_commit {
    struct rw_cmd_sink sink;
    const struct rw_config *cfg;
    struct rw_commit_hooks hooks;
    void *arg;
    uint64_t seq;        /* of the last write sent (or known to Redis) */
    uint64_t next_alert; /* creation order of alerts within this process */
    int64_t catch_up_ms; /* alerts at this time ended a catch-up; RW_NO_TIME: none yet */
    struct strlist acks[RW_MAX_STREAMS];
    char applied[RW_MAX_STREAMS][RW_ENTRY_ID_MAX + 1]; /* the last applied id per stream, or "" */
    size_t napplied;                                   /* streams with one */
    struct strlist dead;                               /* 4 per dead letter */
    struct strlist alerts;                             /* alert texts */
    struct strlist jobs;                               /* job id, job text pairs */
    struct strlist hist; /* one element per history segment: the bytes */
    int32_t *hist_day;
    uint32_t *hist_from;
    size_t nhist_cap;
    int32_t *drops; /* history days to delete (aged out) */
    size_t ndrops, drops_cap;
    size_t nacks;
    struct rw_counts counts; /* of the pending write */
    struct flight *flights, **flights_tail;
    size_t in_flight;
    /* Writes whose reply was lost with the connection: they may have landed. */
    struct rw_counts *limbo_counts;
    uint64_t *limbo_seq;
    size_t nlimbo, limbocap;
    struct strlist args; /* reused at every flush */
    const char **argv;
    size_t *argvlen;
    size_t argcap;
    struct rw_jsonw jw;
    /* The changelog: this write's log entry, the chunks it rewrites. */
    struct rw_compaction cp;
    struct rw_blob log;
    struct rw_blob *chunks;
    size_t nchunks, chunkcap;
    uint64_t gen;              /* bumped by a reset: acknowledgements of before are stale */
    struct ack_call *acks_out; /* XACKs sent, reply not yet in (detached by free) */
};

/* One XACK in flight; C is NULL once the commit is freed. */
struct ack_call {
    struct rw_commit *c;
    uint64_t gen;
    struct ack_call *prev, *next;
};

static void ack_call_unlink(struct ack_call *a)
{
    if (a->prev)
        a->prev->next = a->next;
    else if (a->c)
        a->c->acks_out = a->next;
    if (a->next)
        a->next->prev = a->prev;
    a->prev = a->next = NULL;
}

struct rw_commit *rw_commit_new(struct rw_cmd_sink sink, const struct rw_config *cfg,
                                const struct rw_commit_hooks *hooks, void *arg)
{
    struct rw_commit *c = rw_xcalloc(1, sizeof *c);
    c->sink = sink;
    c->cfg = cfg;
    c->hooks = *hooks;
    c->arg = arg;
    c->flights_tail = &c->flights;
    c->catch_up_ms = RW_NO_TIME;
    rw_jsonw_init(&c->jw);
    rw_compaction_init(&c->cp, &(struct rw_compaction_policy){0});
    rw_commit_set_config(c, cfg);
    return c;
}

void rw_commit_set_config(struct rw_commit *c, const struct rw_config *cfg)
{
    c->cfg = cfg;
    struct rw_compaction_policy pol = {
        .min_records = (size_t)cfg->compact_records,
        .max_entries = 4096,
        .idle_age_ms = cfg->compact_idle_ms,
        .chunks_per_commit = 8,
    };
    c->cp.policy = pol;
}

static void clear_pending(struct rw_commit *c)
{
    for (int s = 0; s < RW_MAX_STREAMS; s++)
        sl_clear(&c->acks[s]);
    memset(c->applied, 0, sizeof c->applied);
    c->napplied = 0;
    sl_clear(&c->dead);
    sl_clear(&c->alerts);
    sl_clear(&c->jobs);
    sl_clear(&c->hist);
    c->ndrops = 0;
    c->nacks = 0;
    memset(&c->counts, 0, sizeof c->counts);
}

/* A write whose outcome is unknown: its counts wait for rw_commit_settle. */
static void limbo_add(struct rw_commit *c, const struct flight *f)
{
    if (c->nlimbo == c->limbocap) {
        c->limbocap = c->limbocap ? c->limbocap * 2 : 4;
        c->limbo_counts = rw_xrealloc(c->limbo_counts, c->limbocap * sizeof *c->limbo_counts);
        c->limbo_seq = rw_xrealloc(c->limbo_seq, c->limbocap * sizeof *c->limbo_seq);
    }
    c->limbo_counts[c->nlimbo] = f->counts;
    c->limbo_seq[c->nlimbo++] = f->seq;
}

static void drop_flights(struct rw_commit *c)
{
    while (c->flights) {
        struct flight *f = c->flights;
        c->flights = f->next;
        limbo_add(c, f);
        f->c = NULL; /* its reply, if it still comes, is ignored */
        f->next = NULL;
    }
    c->flights_tail = &c->flights;
    c->in_flight = 0;
}

void rw_commit_reset(struct rw_commit *c, uint64_t seq)
{
    clear_pending(c);
    drop_flights(c);
    c->seq = seq;
    c->gen++;
    struct rw_log_state none = {0};
    rw_compaction_restore(&c->cp, &none, seq, rw_mono_ms());
}

void rw_commit_restore(struct rw_commit *c, uint64_t seq, struct rw_log_state *ls)
{
    rw_commit_reset(c, seq);
    rw_compaction_restore(&c->cp, ls, seq, rw_mono_ms());
}

void rw_commit_free(struct rw_commit *c)
{
    if (!c)
        return;
    drop_flights(c);
    while (c->acks_out) { /* their replies, if they still come, are ignored */
        struct ack_call *a = c->acks_out;
        ack_call_unlink(a);
        a->c = NULL;
    }
    for (int s = 0; s < RW_MAX_STREAMS; s++)
        sl_free(&c->acks[s]);
    sl_free(&c->dead);
    sl_free(&c->alerts);
    sl_free(&c->jobs);
    sl_free(&c->hist);
    sl_free(&c->args);
    free(c->hist_day);
    free(c->hist_from);
    free(c->drops);
    free(c->limbo_counts);
    free(c->limbo_seq);
    free(c->argv);
    free(c->argvlen);
    rw_jsonw_free(&c->jw);
    rw_compaction_free(&c->cp);
    rw_blob_free(&c->log);
    for (size_t i = 0; i < c->chunkcap; i++)
        rw_blob_free(&c->chunks[i]);
    free(c->chunks);
    free(c);
}

void rw_commit_ack(struct rw_commit *c, int stream, const char *id, size_t id_len)
{
    sl_push(&c->acks[stream], id, id_len);
    c->nacks++;
}

void rw_commit_applied(struct rw_commit *c, int stream, const char *id, size_t id_len)
{
    if (id_len > RW_ENTRY_ID_MAX) /* cannot happen: the reader refuses such ids */
        return;
    c->napplied += c->applied[stream][0] == '\0';
    memcpy(c->applied[stream], id, id_len);
    c->applied[stream][id_len] = '\0';
}

void rw_commit_dead(struct rw_commit *c, int stream, const char *id, size_t id_len,
                    const char *reason, const char *event, size_t event_len)
{
    sl_pushs(&c->dead, c->cfg->streams[stream]);
    sl_push(&c->dead, id, id_len);
    sl_pushs(&c->dead, reason);
    sl_push(&c->dead, event ? event : "",
            event ? (event_len < RW_DEAD_EVENT_MAX ? event_len : RW_DEAD_EVENT_MAX) : 0);
}

void rw_commit_catch_up(struct rw_commit *c, int64_t ts_ms)
{
    c->catch_up_ms = ts_ms;
}

/* A job for a digest sink names its window: the outbox holds it until the window closes. */
static void digest_member(const struct rw_commit *c, const struct rw_sink_conf *sink, int64_t ts_ms,
                          struct rw_jsonw *w)
{
    int64_t start, end;
    if (sink->digest_ms > 0) {
        start = rw_digest_window_start(ts_ms, sink->digest_ms, sink->digest_offset_ms);
        end = start + sink->digest_ms;
    } else if (sink->catch_up_digest && c->catch_up_ms != RW_NO_TIME && ts_ms == c->catch_up_ms) {
        start = end = ts_ms;
    } else {
        return;
    }
    rw_jsonw_key(w, "digest");
    rw_jsonw_int(w, start);
    rw_jsonw_key(w, "digest_end");
    rw_jsonw_int(w, end);
}

void rw_commit_alert(struct rw_commit *c, const struct rw_alert *al, uint32_t sinks)
{
    sl_push(&c->alerts, al->json, al->json_len);
    const struct rw_config *cfg = c->cfg;
    uint64_t order = ++c->next_alert;
    for (int i = 0; i < cfg->nsinks; i++) {
        if (!(sinks & (1u << i)))
            continue;
        struct rw_jsonw *w = &c->jw;
        rw_jsonw_reset(w);
        rw_jsonw_obj_open(w);
        rw_jsonw_key(w, "sink");
        rw_jsonw_str(w, cfg->sinks[i].name);
        rw_jsonw_key(w, "attempts");
        rw_jsonw_int(w, 0);
        rw_jsonw_key(w, "due");
        rw_jsonw_int(w, 0);
        rw_jsonw_key(w, "seq");
        rw_jsonw_int(w, (int64_t)order);
        rw_jsonw_key(w, "ts");
        rw_jsonw_int(w, al->ts_ms);
        rw_jsonw_key(w, "account");
        rw_jsonw_strn(w, al->account->id, al->account->id_len);
        digest_member(c, &cfg->sinks[i], al->ts_ms, w);
        rw_jsonw_key(w, "alert");
        rw_jsonw_raw(w, al->json, al->json_len);
        rw_jsonw_obj_close(w);
        char id[RW_ALERT_ID_LEN + RW_CONF_NAME_MAX + 2];
        int n = snprintf(id, sizeof id, "%s:%s", al->id, cfg->sinks[i].name);
        sl_push(&c->jobs, id, (size_t)n);
        sl_push(&c->jobs, w->buf, w->len);
    }
}

void rw_commit_history(struct rw_commit *c, int32_t day, uint32_t from, const uint16_t *entries,
                       uint32_t n)
{
    if (c->hist.n == c->nhist_cap) {
        c->nhist_cap = c->nhist_cap ? c->nhist_cap * 2 : 16;
        c->hist_day = rw_xrealloc(c->hist_day, c->nhist_cap * sizeof *c->hist_day);
        c->hist_from = rw_xrealloc(c->hist_from, c->nhist_cap * sizeof *c->hist_from);
    }
    c->hist_day[c->hist.n] = day;
    c->hist_from[c->hist.n] = from;
    /* Little-endian 16-bit entries, as the history keys hold them. */
    char *bytes = rw_xmalloc((size_t)n * 2 + 1);
    for (uint32_t k = 0; k < n; k++) {
        bytes[2 * k] = (char)(entries[k] & 0xFF);
        bytes[2 * k + 1] = (char)(entries[k] >> 8);
    }
    sl_push(&c->hist, bytes, (size_t)n * 2);
    free(bytes);
}

void rw_commit_history_drop(struct rw_commit *c, int32_t day)
{
    /* A write that carries several new days (a replay) ages out several ranges:
     * every one is kept (a fixed array here once dropped the excess silently). */
    for (size_t i = 0; i < c->ndrops; i++)
        if (c->drops[i] == day)
            return;
    if (c->ndrops == c->drops_cap) {
        c->drops_cap = c->drops_cap ? c->drops_cap * 2 : 64;
        c->drops = rw_xrealloc(c->drops, c->drops_cap * sizeof *c->drops);
    }
    c->drops[c->ndrops++] = day;
}

void rw_commit_settle(struct rw_commit *c, uint64_t landed_seq, struct rw_metrics *m)
{
    for (size_t i = 0; i < c->nlimbo; i++)
        if (c->limbo_seq[i] <= landed_seq)
            rw_metrics_add(m, &c->limbo_counts[i]);
    c->nlimbo = 0;
}

struct rw_counts *rw_commit_counts(struct rw_commit *c)
{
    return &c->counts;
}

bool rw_commit_pending(const struct rw_commit *c, const struct rw_store *store)
{
    size_t ndirty = 0;
    if (store)
        rw_store_dirty(store, &ndirty);
    return ndirty > 0 || c->nacks > 0 || c->dead.n > 0 || c->alerts.n > 0 || c->napplied > 0 ||
           c->hist.n > 0 || c->ndrops > 0 || rw_compaction_busy(&c->cp);
}

bool rw_commit_compact_idle(struct rw_commit *c, size_t naccounts)
{
    return rw_compaction_maybe_start(&c->cp, c->seq + 1, naccounts, true, rw_mono_ms());
}

size_t rw_commit_in_flight(const struct rw_commit *c)
{
    return c->in_flight;
}

uint64_t rw_commit_next_seq(const struct rw_commit *c)
{
    return c->seq + 1;
}

static void on_acked(struct rw_link *link, redisReply *reply, void *arg)
{
    (void)link;
    struct ack_call *a = arg;
    struct rw_commit *c = a->c;
    bool current = c && a->gen == c->gen;
    ack_call_unlink(a);
    free(a);
    if (!current || !reply || reply->type != REDIS_REPLY_ERROR)
        return; /* a lost reply: the entries stay pending, replays at the next start */
    char error[256];
    snprintf(error, sizeof error, "XACK: %.200s", reply->str);
    c->gen++; /* one failure reported per reset */
    c->hooks.failed(c->arg, error);
}

/* F landed: its entries are applied for good, acknowledge them (outside the
 * script, which then stays small: an entry at or below the last applied id
 * that is read again is skipped and acknowledged then). */
static void send_acks(struct rw_commit *c, struct flight *f)
{
    for (int s = 0; s < c->cfg->nstreams; s++) {
        struct strlist *l = &f->acks[s];
        if (!l->n)
            continue;
        size_t argc = l->n + 3;
        const char **argv = rw_xmalloc(argc * sizeof(*argv));
        size_t *lens = rw_xmalloc(argc * sizeof(*lens));
        argv[0] = "XACK";
        argv[1] = c->cfg->streams[s];
        argv[2] = c->cfg->group;
        for (int k = 0; k < 3; k++)
            lens[k] = strlen(argv[k]);
        for (size_t i = 0; i < l->n; i++) {
            argv[i + 3] = l->arena + l->off[i];
            lens[i + 3] = l->len[i];
        }
        struct ack_call *a = rw_xcalloc(1, sizeof(*a));
        a->c = c;
        a->gen = c->gen;
        a->next = c->acks_out; /* linked first: a reply may come at once */
        if (a->next)
            a->next->prev = a;
        c->acks_out = a;
        if (!rw_cmd_send(&c->sink, on_acked, a, 0, (int)argc, argv, lens)) {
            ack_call_unlink(a);
            free(a); /* the link is down: they stay pending */
        }
        free(argv);
        free(lens);
    }
}

static void on_committed(struct rw_link *link, redisReply *reply, void *arg)
{
    (void)link;
    struct flight *f = arg;
    struct rw_commit *c = f->c;
    if (!c) { /* dropped by a reset: its counts went to limbo */
        flight_free(f);
        return;
    }
    /* Replies come in send order: F heads the list. */
    c->flights = f->next;
    if (!c->flights)
        c->flights_tail = &c->flights;
    c->in_flight--;
    if (!reply) {
        /* The connection went with the reply: the write may have landed.  Its
         * counts wait for the sequence number Redis holds (rw_commit_settle). */
        limbo_add(c, f);
        flight_free(f);
        c->hooks.failed(c->arg, NULL);
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        char error[256];
        snprintf(error, sizeof error, "%.200s", reply->str);
        flight_free(f);
        c->hooks.failed(c->arg, error);
        return;
    }
    send_acks(c, f);
    rw_compaction_landed(&c->cp, f->seq);
    size_t n = f->jobs.n / 2;
    const char **jid = rw_xcalloc(n + 1, sizeof *jid), **jtext = rw_xcalloc(n + 1, sizeof *jtext);
    size_t *jil = rw_xcalloc(n + 1, sizeof *jil), *jtl = rw_xcalloc(n + 1, sizeof *jtl);
    for (size_t i = 0; i < n; i++) {
        jid[i] = f->jobs.arena + f->jobs.off[2 * i];
        jil[i] = f->jobs.len[2 * i];
        jtext[i] = f->jobs.arena + f->jobs.off[2 * i + 1];
        jtl[i] = f->jobs.len[2 * i + 1];
    }
    struct rw_job_list jobs = {jid, jtext, jil, jtl, n};
    /* The jobs point into the flight's arena: free it only after the hook. */
    c->hooks.landed(c->arg, f->seq, &f->counts, &jobs);
    flight_free(f);
    free(jid);
    free(jtext);
    free(jil);
    free(jtl);
}

static char *history_key(const struct rw_config *cfg, int32_t day)
{
    char date[RW_DATE_MAX];
    rw_format_date(day, date);
    return rw_xasprintf("%shistory:%s", cfg->prefix, date);
}

/* KEYS index (1-based) of DAY's history key, added to KEYS when new. */
static size_t history_index(struct strlist *keys, int32_t *days, size_t *ndays, size_t base,
                            const struct rw_config *cfg, int32_t day)
{
    for (size_t i = 0; i < *ndays; i++)
        if (days[i] == day)
            return base + i + 1;
    char *k = history_key(cfg, day);
    sl_pushs(keys, k);
    free(k);
    days[(*ndays)++] = day;
    return base + *ndays;
}

static void push_meta(struct strlist *a, const struct rw_engine_clock *clk, uint64_t seq,
                      const struct rw_compaction *cp, int64_t catch_up_ms)
{
    sl_pushf(a, "%lld", 11);
    sl_pushs(a, "now");
    sl_pushf(a, "%lld", clk->now_ms);
    sl_pushs(a, "last_sweep");
    sl_pushf(a, "%lld", clk->last_sweep_ms);
    sl_pushs(a, "history_day");
    sl_pushf(a, "%lld", clk->history_day);
    sl_pushs(a, "sweep");
    sl_pushf(a, "%lld", clk->sweep_ms);
    sl_pushs(a, "sweep_target");
    sl_pushf(a, "%lld", clk->target_ms);
    sl_pushs(a, "sweep_alerting");
    sl_pushf(a, "%lld", clk->sweep_alerting);
    sl_pushs(a, "log_from");
    sl_pushf(a, "%lld", (long long)cp->log_from);
    sl_pushs(a, "chunks");
    sl_pushf(a, "%lld", (long long)cp->nchunks);
    sl_pushs(a, "catch_up"); /* a restart in the sweep that ended it keeps its digest */
    sl_pushf(a, "%lld", (long long)catch_up_ms);
    sl_pushs(a, "version");
    sl_pushs(a, "3");
    sl_pushs(a, "seq");
    sl_pushf(a, "%lld", (long long)seq);
}

static struct rw_blob *chunk_slot(struct rw_commit *c)
{
    if (c->nchunks == c->chunkcap) {
        size_t cap = c->chunkcap ? c->chunkcap * 2 : 8;
        c->chunks = rw_xrealloc(c->chunks, cap * sizeof(*c->chunks));
        memset(c->chunks + c->chunkcap, 0, (cap - c->chunkcap) * sizeof(*c->chunks));
        c->chunkcap = cap;
    }
    return &c->chunks[c->nchunks++];
}

/* Encodes this write's blobs: the log entry of the changed accounts, and the
 * chunks a compaction round rewrites now (the memory then equals what this
 * write makes durable).  Returns the number of records logged. */
static size_t encode_blobs(struct rw_commit *c, const struct rw_commit_state *st, uint64_t seq)
{
    size_t ndirty;
    struct rw_account *const *dirty = rw_store_dirty(st->store, &ndirty);
    c->log.len = 0;
    if (ndirty) {
        rw_blob_begin(&c->log, RW_BLOB_LOG, seq, 0);
        for (size_t i = 0; i < ndirty; i++) {
            rw_blob_add(&c->log, st->scorer, st->store, dirty[i]);
            rw_compaction_mark(&c->cp, dirty[i]->ordinal);
        }
        rw_blob_end(&c->log);
    }
    rw_compaction_logged(&c->cp, seq, ndirty, rw_mono_ms());
    rw_compaction_maybe_start(&c->cp, seq, rw_store_count(st->store), false, rw_mono_ms());
    c->nchunks = 0;
    uint32_t end = rw_store_ordinal_end(st->store);
    uint32_t chunk_end = (end + RW_CHUNK_ACCOUNTS - 1) / RW_CHUNK_ACCOUNTS;
    /* About as many accounts rewritten as logged (a round then ends before the
     * log holds a book's worth again), not a burst: a commit with 8 chunks is
     * ~2 MB, and every commit behind it waits for it. */
    size_t nchunks = 1 + ndirty / RW_CHUNK_ACCOUNTS;
    if (nchunks > c->cp.policy.chunks_per_commit)
        nchunks = c->cp.policy.chunks_per_commit;
    for (size_t n = 0; n < nchunks; n++) {
        int64_t k = rw_compaction_next_chunk(&c->cp, seq, chunk_end);
        if (k < 0)
            break;
        struct rw_blob *b = chunk_slot(c);
        rw_blob_begin(b, RW_BLOB_CHUNK, seq, (uint32_t)k);
        uint32_t from = (uint32_t)k * RW_CHUNK_ACCOUNTS;
        uint32_t to = from + RW_CHUNK_ACCOUNTS < end ? from + RW_CHUNK_ACCOUNTS : end;
        for (uint32_t o = from; o < to; o++) {
            const struct rw_account *a = rw_store_by_ordinal(st->store, o);
            if (a)
                rw_blob_add(b, st->scorer, st->store, a);
        }
        rw_blob_end(b);
    }
    return ndirty;
}

/* Stages a blob: a plain SET that expires unless the script moves it. */
static bool stage(struct rw_commit *c, const char *key, const struct rw_blob *b)
{
    const char *argv[] = {"SET", key, (const char *)b->buf, "PX", STAGE_TTL_MS};
    size_t lens[] = {3, strlen(key), b->len, 2, strlen(STAGE_TTL_MS)};
    return rw_cmd_send(&c->sink, NULL, NULL, 0, 5, argv, lens);
}

/* Builds the whole EVAL argument list into c->args and stages the blobs;
 * false when the link went down. */
static bool build_args(struct rw_commit *c, const struct rw_commit_state *st, uint64_t seq)
{
    const struct rw_config *cfg = c->cfg;
    struct strlist *a = &c->args;
    struct strlist keys = {0};
    static const char *const fixed[FIXED_KEYS] = {"lease",  "meta",   "applied", "dead",
                                                  "alerts", "outbox", "state"};
    for (int i = 0; i < FIXED_KEYS; i++) {
        char *k = rw_config_key(cfg, fixed[i]);
        sl_pushs(&keys, k);
        free(k);
    }
    for (int s = 0; s < cfg->nstreams; s++)
        sl_pushs(&keys, cfg->streams[s]);
    int32_t *days = rw_xcalloc(c->hist.n + c->ndrops + 1, sizeof *days);
    size_t ndays = 0, base = (size_t)(FIXED_KEYS + cfg->nstreams);
    struct strlist tail = {0}; /* history sections: need the history keys first */
    size_t nseg = c->hist.n;
    sl_pushf(&tail, "%lld", (long long)nseg);
    for (size_t i = 0; i < nseg; i++) {
        size_t idx = history_index(&keys, days, &ndays, base, cfg, c->hist_day[i]);
        sl_pushf(&tail, "%lld", (long long)idx);
        sl_pushf(&tail, "%lld", (long long)c->hist_from[i] * 2);
        sl_push(&tail, c->hist.arena + c->hist.off[i], c->hist.len[i]);
    }
    sl_pushf(&tail, "%lld", (long long)c->ndrops);
    for (size_t i = 0; i < c->ndrops; i++)
        sl_pushf(&tail, "%lld",
                 (long long)history_index(&keys, days, &ndays, base, cfg, c->drops[i]));
    free(days);

    /* The moves: staged blobs into the log and the chunks. */
    size_t m0 = keys.n + 1;
    bool ok = true;
    encode_blobs(c, st, seq);
    char *k;
    if (c->log.len) {
        k = rw_xasprintf("%sstage:%s:%llu:log", cfg->prefix, st->lease_token,
                         (unsigned long long)seq);
        ok = ok && stage(c, k, &c->log);
        sl_pushs(&keys, k);
        free(k);
        k = rw_xasprintf("%slog:%llu", cfg->prefix, (unsigned long long)seq);
        sl_pushs(&keys, k);
        free(k);
    }
    for (size_t i = 0; i < c->nchunks; i++) {
        struct rw_blob_reader r;
        if (!rw_blob_open(&r, c->chunks[i].buf, c->chunks[i].len))
            abort(); /* cannot happen: just written */
        k = rw_xasprintf("%sstage:%s:%llu:chunk:%u", cfg->prefix, st->lease_token,
                         (unsigned long long)seq, r.chunk);
        ok = ok && stage(c, k, &c->chunks[i]);
        sl_pushs(&keys, k);
        free(k);
        k = rw_xasprintf("%schunk:%u", cfg->prefix, r.chunk);
        sl_pushs(&keys, k);
        free(k);
    }
    /* Log entries a finished round covered. */
    size_t d0 = keys.n + 1;
    uint64_t from, to;
    bool unlink_legacy = false;
    if (rw_compaction_deletions(&c->cp, DELETES_MAX, &from, &to)) {
        unlink_legacy = c->cp.legacy;
        for (uint64_t q = from; q <= to && q >= from; q++) {
            k = rw_xasprintf("%slog:%llu", cfg->prefix, (unsigned long long)q);
            sl_pushs(&keys, k);
            free(k);
        }
        rw_compaction_deleting(&c->cp, to);
    }

    sl_clear(a);
    sl_pushs(a, "EVAL");
    sl_pushs(a, rw_commit_script);
    sl_pushf(a, "%lld", (long long)keys.n);
    sl_append(a, &keys);
    sl_pushs(a, st->lease_token);
    sl_pushf(a, "%lld", (long long)c->seq);
    sl_pushs(a, cfg->group);
    sl_pushf(a, "%lld", cfg->keep);
    sl_pushf(a, "%lld", cfg->nstreams);
    size_t h0 = base + 1;
    sl_pushf(a, "%lld", (long long)h0);
    sl_pushf(a, "%lld", (long long)m0);
    sl_pushf(a, "%lld", (long long)d0);
    sl_pushs(a, unlink_legacy ? "1" : "0");
    sl_pushf(a, "%lld", (long long)(c->dead.n / 4));
    sl_append(a, &c->dead);
    sl_pushf(a, "%lld", (long long)c->alerts.n);
    sl_append(a, &c->alerts);
    sl_pushf(a, "%lld", (long long)(c->jobs.n / 2));
    sl_append(a, &c->jobs);
    sl_append(a, &tail);
    sl_pushf(a, "%lld", (long long)c->napplied); /* only the last id of each stream */
    for (int s = 0; s < cfg->nstreams; s++) {
        if (!c->applied[s][0])
            continue;
        sl_pushs(a, cfg->streams[s]);
        sl_pushs(a, c->applied[s]);
    }
    push_meta(a, &st->clock, seq, &c->cp, c->catch_up_ms);
    sl_free(&keys);
    sl_free(&tail);
    return ok;
}

bool rw_commit_flush(struct rw_commit *c, const struct rw_commit_state *st)
{
    if (!rw_commit_pending(c, st->store))
        return true;
    uint64_t seq = c->seq + 1;
    bool staged = build_args(c, st, seq);
    rw_store_clear_dirty(st->store);
    struct strlist *args = &c->args;
    if (args->n > c->argcap) {
        c->argcap = args->n * 2;
        c->argv = rw_xrealloc(c->argv, c->argcap * sizeof *c->argv);
        c->argvlen = rw_xrealloc(c->argvlen, c->argcap * sizeof *c->argvlen);
    }
    for (size_t i = 0; i < args->n; i++) {
        c->argv[i] = args->arena + args->off[i];
        c->argvlen[i] = args->len[i];
    }
    struct flight *f = rw_xcalloc(1, sizeof *f);
    f->c = c;
    f->seq = seq;
    f->jobs = c->jobs; /* moves the job list and the acknowledgements into the flight */
    memset(&c->jobs, 0, sizeof c->jobs);
    for (int s = 0; s < RW_MAX_STREAMS; s++) {
        f->acks[s] = c->acks[s];
        memset(&c->acks[s], 0, sizeof c->acks[s]);
    }
    f->counts = c->counts;
    clear_pending(c);
    if (!staged || !rw_cmd_send(&c->sink, on_committed, f, 0, (int)args->n, c->argv, c->argvlen)) {
        flight_free(f);
        return false;
    }
    c->seq = seq;
    *c->flights_tail = f;
    c->flights_tail = &f->next;
    c->in_flight++;
    return true;
}

void rw_commit_log_stats(const struct rw_commit *c, struct rw_commit_log_stats *out)
{
    out->log_entries = c->cp.log_to >= c->cp.log_from ? c->cp.log_to - c->cp.log_from + 1 : 0;
    out->log_records = c->cp.log_records;
    out->chunks = c->cp.nchunks;
    out->compacting = c->cp.round || c->cp.delete_upto;
}
