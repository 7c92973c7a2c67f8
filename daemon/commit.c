/* commit.c - one checked Lua script per batch: fences, then every write, sequence last. */
#include "renewald/commit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renewald/core/account_store.h"
#include "renewald/core/jsonw.h"
#include "renewald/core/timeutil.h"
#include "renewald/log.h"

/*
 * KEYS: lease, meta, state, applied, dead, alerts, outbox, the NSTREAMS
 * streams, then history keys.  ARGV: token, expected seq, group, keep,
 * nstreams, then sections each led by a count, in the order they are written:
 * dead letters (stream, id, reason, event), alerts, job pairs, history writes
 * (KEYS index, offset, bytes), history drops (KEYS index), account pairs, ack
 * groups (KEYS index, count, ids...), applied pairs, meta pairs (seq last).
 */
const char rw_commit_script[] =
    "#!lua\n"
    "local lease, meta, state, applied = KEYS[1], KEYS[2], KEYS[3], KEYS[4]\n"
    "local dead, alerts, outbox = KEYS[5], KEYS[6], KEYS[7]\n"
    "local token, expected, group, keep = ARGV[1], ARGV[2], ARGV[3], ARGV[4]\n"
    "local nstreams = tonumber(ARGV[5])\n"
    /* 1. Everything that can refuse, before the first write. */
    "if redis.call('GET', lease) ~= token then\n"
    "  return redis.error_reply('FENCED lease not held') end\n"
    "local seq = redis.call('HGET', meta, 'seq') or '0'\n"
    "if seq ~= expected then\n"
    "  return redis.error_reply('FENCED commit sequence is ' .. seq .. ', expected ' .. expected)\n"
    "end\n"
    "local function bad_type(key, want)\n"
    "  local t = redis.call('TYPE', key)['ok']\n"
    "  if t ~= 'none' and t ~= want then\n"
    "    return 'WRONGTYPE ' .. key .. ' holds a ' .. t .. ', not a ' .. want end\n"
    "end\n"
    "local function may(...)\n"
    "  if not redis.acl_check_cmd then return nil end\n"
    "  if not redis.acl_check_cmd(...) then\n"
    "    local a = {...}\n"
    "    return 'NOPERM this user may not run ' .. a[1] .. ' on ' .. a[2] end\n"
    "end\n"
    "local err = bad_type(state, 'hash') or bad_type(applied, 'hash') or\n"
    "  bad_type(outbox, 'hash') or bad_type(dead, 'stream') or bad_type(alerts, 'stream') or\n"
    "  may('HSET', meta, 'f', 'v') or may('HSET', state, 'f', 'v') or\n"
    "  may('HSET', applied, 'f', 'v') or may('HSET', outbox, 'f', 'v') or\n"
    "  may('XADD', dead, 'MAXLEN', '~', '1', '*', 'f', 'v') or\n"
    "  may('XADD', alerts, 'MAXLEN', '~', '1', '*', 'f', 'v')\n"
    "for s = 8, 7 + nstreams do\n"
    "  err = err or bad_type(KEYS[s], 'stream') or may('XACK', KEYS[s], group, '0-1')\n"
    "end\n"
    "for h = 8 + nstreams, #KEYS do\n"
    "  err = err or bad_type(KEYS[h], 'string') or may('SETRANGE', KEYS[h], '0', 'v') or\n"
    "    may('DEL', KEYS[h])\n"
    "end\n"
    "if err then return redis.error_reply(err) end\n"
    /* 2. The writes: alerts and what records them first, the sequence last. */
    "local i = 6\n"
    "local function count() local n = tonumber(ARGV[i]); i = i + 1; return n end\n"
    "local function hset(key, n)\n"
    "  local done = 0\n"
    "  while done < n do\n"
    "    local m = math.min(n - done, 200)\n"
    "    redis.call('HSET', key, unpack(ARGV, i, i + 2 * m - 1))\n"
    "    i = i + 2 * m; done = done + m\n"
    "  end\n"
    "end\n"
    "for k = 1, count() do\n"
    "  redis.call('XADD', dead, 'MAXLEN', '~', keep, '*', 'stream', ARGV[i], 'id', ARGV[i + 1],\n"
    "             'reason', ARGV[i + 2], 'event', ARGV[i + 3])\n"
    "  i = i + 4\n"
    "end\n"
    "for k = 1, count() do\n"
    "  redis.call('XADD', alerts, 'MAXLEN', '~', keep, '*', 'alert', ARGV[i]); i = i + 1\n"
    "end\n"
    "hset(outbox, count())\n"
    "for k = 1, count() do\n"
    "  redis.call('SETRANGE', KEYS[tonumber(ARGV[i])], ARGV[i + 1], ARGV[i + 2]); i = i + 3\n"
    "end\n"
    "for k = 1, count() do redis.call('DEL', KEYS[tonumber(ARGV[i])]); i = i + 1 end\n"
    "hset(state, count())\n"
    "for g = 1, count() do\n"
    "  local key = KEYS[tonumber(ARGV[i])]; local n = tonumber(ARGV[i + 1]); i = i + 2\n"
    "  local done = 0\n"
    "  while done < n do\n"
    "    local m = math.min(n - done, 400)\n"
    "    redis.call('XACK', key, group, unpack(ARGV, i, i + m - 1))\n"
    "    i = i + m; done = done + m\n"
    "  end\n"
    "end\n"
    "hset(applied, count())\n"
    "hset(meta, count())\n"
    "return 1\n";

#define FIXED_KEYS 7

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
    struct strlist jobs; /* id, text pairs for the outbox */
    struct rw_counts counts;
};

struct rw_commit {
    struct rw_cmd_sink sink;
    const struct rw_config *cfg;
    struct rw_commit_hooks hooks;
    void *arg;
    uint64_t seq;        /* of the last write sent (or known to Redis) */
    uint64_t next_alert; /* creation order of alerts within this process */
    struct strlist acks[RW_MAX_STREAMS];
    struct strlist applied; /* stream name, id pairs (the last per stream wins) */
    struct strlist dead;    /* 4 per dead letter */
    struct strlist alerts;  /* alert texts */
    struct strlist jobs;    /* job id, job text pairs */
    struct strlist hist;    /* one element per history segment: the bytes */
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
};

struct rw_commit *rw_commit_new(struct rw_cmd_sink sink, const struct rw_config *cfg,
                                const struct rw_commit_hooks *hooks, void *arg)
{
    struct rw_commit *c = rw_xcalloc(1, sizeof *c);
    c->sink = sink;
    c->cfg = cfg;
    c->hooks = *hooks;
    c->arg = arg;
    c->flights_tail = &c->flights;
    rw_jsonw_init(&c->jw);
    return c;
}

void rw_commit_set_config(struct rw_commit *c, const struct rw_config *cfg)
{
    c->cfg = cfg;
}

static void clear_pending(struct rw_commit *c)
{
    for (int s = 0; s < RW_MAX_STREAMS; s++)
        sl_clear(&c->acks[s]);
    sl_clear(&c->applied);
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
    }
    c->flights_tail = &c->flights;
    c->in_flight = 0;
}

void rw_commit_reset(struct rw_commit *c, uint64_t seq)
{
    clear_pending(c);
    drop_flights(c);
    c->seq = seq;
}

void rw_commit_free(struct rw_commit *c)
{
    if (!c)
        return;
    drop_flights(c);
    for (int s = 0; s < RW_MAX_STREAMS; s++)
        sl_free(&c->acks[s]);
    sl_free(&c->applied);
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
    free(c);
}

void rw_commit_ack(struct rw_commit *c, int stream, const char *id, size_t id_len)
{
    sl_push(&c->acks[stream], id, id_len);
    c->nacks++;
}

void rw_commit_applied(struct rw_commit *c, int stream, const char *id, size_t id_len)
{
    sl_pushs(&c->applied, c->cfg->streams[stream]);
    sl_push(&c->applied, id, id_len);
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
    return ndirty > 0 || c->nacks > 0 || c->dead.n > 0 || c->alerts.n > 0 || c->applied.n > 0 ||
           c->hist.n > 0 || c->ndrops > 0;
}

size_t rw_commit_in_flight(const struct rw_commit *c)
{
    return c->in_flight;
}

static void on_committed(struct rw_link *link, redisReply *reply, void *arg)
{
    (void)link;
    struct flight *f = arg;
    struct rw_commit *c = f->c;
    if (!c) { /* dropped by a reset: its counts went to limbo */
        sl_free(&f->jobs);
        free(f);
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
        sl_free(&f->jobs);
        free(f);
        c->hooks.failed(c->arg, NULL);
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        char error[256];
        snprintf(error, sizeof error, "%.200s", reply->str);
        sl_free(&f->jobs);
        free(f);
        c->hooks.failed(c->arg, error);
        return;
    }
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
    sl_free(&f->jobs);
    free(f);
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

static void push_meta(struct strlist *a, const struct rw_engine_clock *clk, uint64_t seq)
{
    sl_pushf(a, "%lld", 8);
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
    sl_pushs(a, "version");
    sl_pushs(a, "2");
    sl_pushs(a, "seq");
    sl_pushf(a, "%lld", (long long)seq);
}

/* Builds the whole EVAL argument list into c->args. */
static void build_args(struct rw_commit *c, const struct rw_commit_state *st, uint64_t seq)
{
    const struct rw_config *cfg = c->cfg;
    struct strlist *a = &c->args;
    struct strlist keys = {0};
    static const char *const fixed[FIXED_KEYS] = {"lease", "meta",   "state", "applied",
                                                  "dead",  "alerts", "outbox"};
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
    sl_pushf(a, "%lld", (long long)(c->dead.n / 4));
    sl_append(a, &c->dead);
    sl_pushf(a, "%lld", (long long)c->alerts.n);
    sl_append(a, &c->alerts);
    sl_pushf(a, "%lld", (long long)(c->jobs.n / 2));
    sl_append(a, &c->jobs);
    sl_append(a, &tail);

    size_t ndirty;
    struct rw_account *const *dirty = rw_store_dirty(st->store, &ndirty);
    sl_pushf(a, "%lld", (long long)ndirty);
    uint8_t rec[RW_ACCOUNT_RECORD_MAX];
    for (size_t i = 0; i < ndirty; i++) {
        size_t len = rw_account_encode(st->scorer, dirty[i], rec, sizeof rec);
        if (len > sizeof rec) {
            rw_error("account record too large account=%s size=%zu", dirty[i]->id, len);
            abort(); /* cannot happen: every field is bounded */
        }
        sl_push(a, dirty[i]->id, dirty[i]->id_len);
        sl_push(a, (const char *)rec, len);
    }
    size_t groups = 0;
    for (int s = 0; s < cfg->nstreams; s++)
        groups += c->acks[s].n > 0;
    sl_pushf(a, "%lld", (long long)groups);
    for (int s = 0; s < cfg->nstreams; s++) {
        if (!c->acks[s].n)
            continue;
        sl_pushf(a, "%lld", (long long)(FIXED_KEYS + 1 + s));
        sl_pushf(a, "%lld", (long long)c->acks[s].n);
        sl_append(a, &c->acks[s]);
    }
    sl_pushf(a, "%lld", (long long)(c->applied.n / 2));
    sl_append(a, &c->applied);
    push_meta(a, &st->clock, seq);
    sl_free(&keys);
    sl_free(&tail);
    free(days);
}

bool rw_commit_flush(struct rw_commit *c, const struct rw_commit_state *st)
{
    if (!rw_commit_pending(c, st->store))
        return true;
    uint64_t seq = c->seq + 1;
    build_args(c, st, seq);
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
    f->jobs = c->jobs; /* moves the job list into the flight */
    f->counts = c->counts;
    memset(&c->jobs, 0, sizeof c->jobs);
    clear_pending(c);
    if (!rw_cmd_send(&c->sink, on_committed, f, 0, (int)args->n, c->argv, c->argvlen)) {
        sl_free(&f->jobs);
        free(f);
        return false;
    }
    c->seq = seq;
    *c->flights_tail = f;
    c->flights_tail = &f->next;
    c->in_flight++;
    return true;
}
