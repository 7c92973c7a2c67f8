/* commit.c - one Lua script per batch: fences, state, acks, dead letters, alerts, jobs. */
#include "renewald/commit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renewald/account_store.h"
#include "renewald/alert.h"
#include "renewald/daemon.h"
#include "renewald/log.h"
#include "renewald/outbox.h"
#include "renewald/redis_link.h"
#include "renewald/score.h"
#include "renewald/stream_reader.h"

/*
 * KEYS: lease, meta, state, applied, dead, alerts, outbox, then the streams.
 * ARGV: token, expected seq, group, keep, then sections each led by a count:
 * meta pairs, account pairs, ack groups (KEYS index, count, ids...), applied
 * pairs, dead letters (stream, id, reason, event), alerts, job pairs.
 */
const char rw_commit_script[] =
    "local lease, meta, state, applied = KEYS[1], KEYS[2], KEYS[3], KEYS[4]\n"
    "local dead, alerts, outbox = KEYS[5], KEYS[6], KEYS[7]\n"
    "if redis.call('GET', lease) ~= ARGV[1] then\n"
    "  return redis.error_reply('FENCED lease not held') end\n"
    "local seq = redis.call('HGET', meta, 'seq') or '0'\n"
    "if seq ~= ARGV[2] then\n"
    "  return redis.error_reply('FENCED commit sequence is ' .. seq .. ', expected ' .. ARGV[2])\n"
    "end\n"
    "local group, keep, i = ARGV[3], ARGV[4], 5\n"
    "local function count() local n = tonumber(ARGV[i]); i = i + 1; return n end\n"
    "local function hset(key, n)\n"
    "  local done = 0\n"
    "  while done < n do\n"
    "    local m = math.min(n - done, 200)\n"
    "    redis.call('HSET', key, unpack(ARGV, i, i + 2 * m - 1))\n"
    "    i = i + 2 * m; done = done + m\n"
    "  end\n"
    "end\n"
    "hset(meta, count())\n"
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
    "for k = 1, count() do\n"
    "  redis.call('XADD', dead, 'MAXLEN', '~', keep, '*', 'stream', ARGV[i], 'id', ARGV[i + 1],\n"
    "             'reason', ARGV[i + 2], 'event', ARGV[i + 3])\n"
    "  i = i + 4\n"
    "end\n"
    "for k = 1, count() do\n"
    "  redis.call('XADD', alerts, 'MAXLEN', '~', keep, '*', 'alert', ARGV[i]); i = i + 1\n"
    "end\n"
    "hset(outbox, count())\n"
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

/* A commit sent and not yet answered: what to do when it lands. */
struct flight {
    struct flight *next;
    uint64_t seq;
    struct strlist jobs; /* id, json pairs to hand to the outbox */
    struct rw_counts counts;
};

struct rw_commit {
    struct renewald *d;
    uint64_t seq; /* of the last commit sent (or known to Redis) */
    struct strlist acks[RW_MAX_STREAMS];
    struct strlist applied; /* stream name, id pairs */
    struct strlist dead;    /* 4 per dead letter */
    struct strlist alerts;  /* serialised alerts */
    struct strlist jobs;    /* job id, job json pairs */
    size_t nacks;
    struct rw_counts counts; /* of the pending write */
    struct flight *flights, **flights_tail;
    size_t in_flight;
    /* Commits whose reply was lost with the connection: they may have landed. */
    struct rw_counts *limbo_counts;
    uint64_t *limbo_seq;
    size_t nlimbo, limbocap;
    /* Reused at every flush. */
    struct strlist args;
    const char **argv;
    size_t *argvlen;
    size_t argcap;
};

struct rw_commit *rw_commit_new(struct renewald *d)
{
    struct rw_commit *c = rw_xcalloc(1, sizeof *c);
    c->d = d;
    c->flights_tail = &c->flights;
    return c;
}

static void clear_pending(struct rw_commit *c)
{
    for (int s = 0; s < RW_MAX_STREAMS; s++)
        sl_clear(&c->acks[s]);
    sl_clear(&c->applied);
    sl_clear(&c->dead);
    sl_clear(&c->alerts);
    sl_clear(&c->jobs);
    c->nacks = 0;
    memset(&c->counts, 0, sizeof c->counts);
}

static void drop_flights(struct rw_commit *c)
{
    while (c->flights) {
        struct flight *f = c->flights;
        c->flights = f->next;
        if (c->nlimbo == c->limbocap) {
            c->limbocap = c->limbocap ? c->limbocap * 2 : 4;
            c->limbo_counts = rw_xrealloc(c->limbo_counts, c->limbocap * sizeof *c->limbo_counts);
            c->limbo_seq = rw_xrealloc(c->limbo_seq, c->limbocap * sizeof *c->limbo_seq);
        }
        c->limbo_counts[c->nlimbo] = f->counts;
        c->limbo_seq[c->nlimbo++] = f->seq;
        sl_free(&f->jobs);
        free(f);
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
    sl_free(&c->args);
    free(c->limbo_counts);
    free(c->limbo_seq);
    free(c->argv);
    free(c->argvlen);
    free(c);
}

void rw_commit_ack(struct rw_commit *c, int stream, const char *id, size_t id_len)
{
    sl_push(&c->acks[stream], id, id_len);
    c->nacks++;
}

void rw_commit_applied(struct rw_commit *c, int stream, const char *id, size_t id_len)
{
    sl_pushs(&c->applied, c->d->cfg->streams[stream]);
    sl_push(&c->applied, id, id_len);
}

void rw_commit_dead(struct rw_commit *c, int stream, const char *id, size_t id_len,
                    const char *reason, const char *event, size_t event_len)
{
    sl_pushs(&c->dead, c->d->cfg->streams[stream]);
    sl_push(&c->dead, id, id_len);
    sl_pushs(&c->dead, reason);
    sl_push(&c->dead, event ? event : "",
            event ? (event_len < RW_DEAD_EVENT_MAX ? event_len : RW_DEAD_EVENT_MAX) : 0);
}

void rw_commit_alert(struct rw_commit *c, const char *alert_id, json_t *alert, uint32_t sinks)
{
    char *body = rw_alert_dumps(alert);
    sl_pushs(&c->alerts, body);
    free(body);
    const struct rw_config *cfg = c->d->cfg;
    for (int i = 0; i < cfg->nsinks; i++) {
        if (!(sinks & (1u << i)))
            continue;
        json_t *job = json_pack("{s:s, s:i, s:I, s:O}", "sink", cfg->sinks[i].name, "attempts", 0,
                                "due", (json_int_t)0, "alert", alert);
        char *json = job ? json_dumps(job, JSON_COMPACT) : NULL;
        if (!json) {
            rw_error("cannot serialise a delivery job alert=%s sink=%s", alert_id,
                     cfg->sinks[i].name);
            json_decref(job);
            continue;
        }
        char *id = rw_xasprintf("%s:%s", alert_id, cfg->sinks[i].name);
        sl_pushs(&c->jobs, id);
        sl_pushs(&c->jobs, json);
        free(id);
        free(json);
        json_decref(job);
    }
    json_decref(alert);
}

void rw_commit_settle(struct rw_commit *c, uint64_t landed_seq)
{
    for (size_t i = 0; i < c->nlimbo; i++)
        if (c->limbo_seq[i] <= landed_seq)
            rw_metrics_add(&c->d->metrics, &c->limbo_counts[i]);
    c->nlimbo = 0;
}

struct rw_counts *rw_commit_counts(struct rw_commit *c)
{
    return &c->counts;
}

bool rw_commit_pending(const struct rw_commit *c)
{
    size_t ndirty = 0;
    if (c->d->store)
        rw_store_dirty(c->d->store, &ndirty);
    return ndirty > 0 || c->nacks > 0 || c->dead.n > 0 || c->alerts.n > 0 || c->applied.n > 0;
}

size_t rw_commit_in_flight(const struct rw_commit *c)
{
    return c->in_flight;
}

static void push_count(struct strlist *args, size_t n)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%zu", n);
    sl_pushs(args, buf);
}

static void push_all(struct strlist *args, const struct strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        sl_push(args, l->arena + l->off[i], l->len[i]);
}

static void on_committed(struct rw_link *link, redisReply *reply, void *arg)
{
    (void)link;
    struct renewald *d = rw_call_take(arg, reply, NULL, NULL);
    if (!d)
        return;
    struct rw_commit *c = d->commit;
    struct flight *f = c->flights;
    if (!f)
        return;
    c->flights = f->next;
    if (!c->flights)
        c->flights_tail = &c->flights;
    c->in_flight--;
    if (reply->type == REDIS_REPLY_ERROR) {
        d->metrics.commit_failures_total++;
        rw_error("commit failed seq=%llu error=\"%.200s\"", (unsigned long long)f->seq, reply->str);
        sl_free(&f->jobs);
        free(f);
        rw_daemon_reset(d, "commit failed");
        return;
    }
    d->commit_seq = f->seq;
    d->metrics.commits_total++;
    rw_metrics_add(&d->metrics, &f->counts);
    for (size_t i = 0; i + 1 < f->jobs.n; i += 2)
        rw_outbox_add(d->outbox, f->jobs.arena + f->jobs.off[i], f->jobs.len[i],
                      f->jobs.arena + f->jobs.off[i + 1], f->jobs.len[i + 1], 0);
    sl_free(&f->jobs);
    free(f);
    if (d->phase == RW_PHASE_ACTIVE)
        rw_reader_kick(d->reader);
}

void rw_commit_flush(struct rw_commit *c)
{
    struct renewald *d = c->d;
    if (!d->store || !rw_commit_pending(c))
        return;
    const struct rw_config *cfg = d->cfg;
    struct strlist *args = &c->args;
    sl_clear(args);
    char *keys[FIXED_KEYS] = {
        rw_config_key(cfg, "lease"),   rw_config_key(cfg, "meta"), rw_config_key(cfg, "state"),
        rw_config_key(cfg, "applied"), rw_config_key(cfg, "dead"), rw_config_key(cfg, "alerts"),
        rw_config_key(cfg, "outbox"),
    };
    char nkeys[16];
    snprintf(nkeys, sizeof nkeys, "%d", FIXED_KEYS + cfg->nstreams);
    sl_pushs(args, "EVAL");
    sl_pushs(args, rw_commit_script);
    sl_pushs(args, nkeys);
    for (int i = 0; i < FIXED_KEYS; i++) {
        sl_pushs(args, keys[i]);
        free(keys[i]);
    }
    for (int s = 0; s < cfg->nstreams; s++)
        sl_pushs(args, cfg->streams[s]);

    uint64_t seq = c->seq + 1;
    char num[32];
    sl_pushs(args, d->lease_token);
    snprintf(num, sizeof num, "%llu", (unsigned long long)c->seq);
    sl_pushs(args, num);
    sl_pushs(args, cfg->group);
    snprintf(num, sizeof num, "%ld", cfg->keep);
    sl_pushs(args, num);

    /* meta */
    push_count(args, 3);
    sl_pushs(args, "seq");
    snprintf(num, sizeof num, "%llu", (unsigned long long)seq);
    sl_pushs(args, num);
    sl_pushs(args, "event_now");
    snprintf(num, sizeof num, "%lld", (long long)d->event_now_ms);
    sl_pushs(args, num);
    sl_pushs(args, "next_sweep");
    snprintf(num, sizeof num, "%lld", (long long)d->next_sweep_ms);
    sl_pushs(args, num);

    /* accounts */
    size_t ndirty;
    struct rw_account *const *dirty = rw_store_dirty(d->store, &ndirty);
    push_count(args, ndirty);
    uint32_t fp = rw_scorer_fingerprint(d->scorer);
    uint8_t rec[RW_ACCOUNT_RECORD_MAX];
    for (size_t i = 0; i < ndirty; i++) {
        size_t len = rw_account_encode(d->store, dirty[i], fp, rec, sizeof rec);
        if (len > sizeof rec) {
            rw_error("account record too large account=%s size=%zu", dirty[i]->id, len);
            abort(); /* cannot happen: every field is bounded */
        }
        sl_push(args, dirty[i]->id, dirty[i]->id_len);
        sl_push(args, (const char *)rec, len);
    }
    rw_store_clear_dirty(d->store);

    /* acks */
    size_t groups = 0;
    for (int s = 0; s < cfg->nstreams; s++)
        groups += c->acks[s].n > 0;
    push_count(args, groups);
    for (int s = 0; s < cfg->nstreams; s++) {
        if (!c->acks[s].n)
            continue;
        push_count(args, (size_t)(FIXED_KEYS + 1 + s));
        push_count(args, c->acks[s].n);
        push_all(args, &c->acks[s]);
    }
    push_count(args, c->applied.n / 2);
    push_all(args, &c->applied);
    push_count(args, c->dead.n / 4);
    push_all(args, &c->dead);
    push_count(args, c->alerts.n);
    push_all(args, &c->alerts);
    push_count(args, c->jobs.n / 2);
    push_all(args, &c->jobs);

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
    f->seq = seq;
    f->jobs = c->jobs; /* moves the job list into the flight */
    f->counts = c->counts;
    memset(&c->jobs, 0, sizeof c->jobs);
    clear_pending(c);

    struct rw_call *call = rw_call_new(d, NULL, 0);
    if (!rw_link_command(d->writer_link, on_committed, call, 0, (int)args->n, c->argv,
                         c->argvlen)) {
        rw_call_take(call, NULL, NULL, NULL);
        sl_free(&f->jobs);
        free(f);
        rw_daemon_reset(d, "writer link down at commit");
        return;
    }
    c->seq = seq;
    *c->flights_tail = f;
    c->flights_tail = &f->next;
    c->in_flight++;
}
