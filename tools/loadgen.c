/* loadgen.c - a synthetic, seeded book of business written to Redis Streams with pipelined XADD.
 *
 * N accounts with metadata (name, owner, tier, ARR, seats, a renewal date within the year after
 * the book ends) and one behaviour pattern each (healthy, declining, silent, support_heavy, new)
 * live D days of usage (login, api_call), support (ticket_opened) and CSAT (csat 1..5) events.
 * The events of each day are generated, sorted by time and appended in that order, so every
 * stream is in event-time order.  Metadata goes to <prefix>accounts first (at the start of the
 * book; a new account's at its onboarding day), usage to <prefix>usage, support and CSAT to
 * <prefix>support.  Everything is derived from the seed and --start alone: two runs with the same
 * options write the same entries (and, with --explicit-ids, the same entry ids).
 *
 * With --rate R it is a background load instead: the metadata, then R events/s of usage with
 * ts = now for --duration seconds.  With --partitions N the book is sharded by account over N
 * stream sets <prefix>{pK}:usage ... (K: FNV-1a of the account id, folded, modulo N), as producers
 * for a Redis Cluster deployment do (SPEC §9); on a cluster each XADD goes to the master of its
 * slot. With --book-out DIR it writes no Redis at all but a labelled book to files, for `renewald
 * backtest` (labelled_book.c).  A JSON summary goes to stdout, progress to stderr.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "labelled_book.h"
#include "lg_redis.h"
#include "renewald/core/timeutil.h"
#include "rng.h"

#define DAY_MS         INT64_C(86400000)
#define MAX_PARTITIONS 1024
#define MAX_ACCOUNTS   10000000
#define MAX_DAYS       3650
#define MAX_DURATION_S 86400
#define MAX_EVENT      512
#define PIPELINE_DEF   1000
#define PROGRESS_MS    1000
#define RATE_TICK_MS   5

enum pattern { P_HEALTHY, P_DECLINING, P_SILENT, P_SUPPORT, P_NEW, P_COUNT };
static const char *const pattern_names[P_COUNT] = {"healthy", "declining", "silent",
                                                   "support_heavy", "new"};
/* Share of the book per pattern, in percent. */
static const int pattern_share[P_COUNT] = {55, 15, 8, 10, 12};

enum stream { S_ACCOUNTS, S_USAGE, S_SUPPORT, S_COUNT };
static const char *const stream_suffix[S_COUNT] = {"accounts", "usage", "support"};

enum etype { T_ACCOUNT, T_LOGIN, T_API_CALL, T_TICKET, T_CSAT, T_COUNT };
static const char *const type_names[T_COUNT] = {"account", "login", "api_call", "ticket_opened",
                                                "csat"};
static const enum stream type_stream[T_COUNT] = {S_ACCOUNTS, S_USAGE, S_USAGE, S_SUPPORT,
                                                 S_SUPPORT};

struct options {
    const char *host, *socket_path, *prefix, *start, *account_prefix, *book_out;
    int port;
    long accounts, days;
    uint64_t seed;
    double per_day, rate, duration, no_ts;
    bool explicit_ids, quiet, no_metadata, days_given;
    int pipeline;
    int partitions; /* 0: one stream set, PREFIXusage ... */
};

/* One account's fixed traits, drawn once from its own generator. */
struct profile {
    uint8_t pattern;
    uint16_t seats;
    uint16_t change_day; /* declining: decline starts; silent: last active day; new: onboarding */
    uint16_t renewal_in; /* renewal date = end day + this (1..365) */
    float activity;      /* expected usage events per day at full activity */
    float ticket_rate;   /* tickets per day */
};

/* One generated event of a day, before sorting. */
struct gen_event {
    int64_t ts_ms;
    uint32_t account;
    uint8_t type;
    uint8_t value; /* csat score */
    uint16_t aux;  /* user / ticket number */
};

/* The streams of one partition (the only one without --partitions). */
struct part {
    char streams[S_COUNT][256];
    struct rw_entry_id last_id[S_COUNT];
    uint64_t per_stream[S_COUNT];
};

struct writer {
    struct lg_redis *r;
    const struct options *o;
    struct part *parts;
    int nparts;
    uint64_t per_type[T_COUNT], no_ts, total;
    int64_t t0_mono, last_progress;
};

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "loadgen: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(2);
}

/* ---- the book ---------------------------------------------------------------------------- */

static const char *const name_a[] = {"Acme",    "Blue",    "Bright", "Cedar",  "Delta",   "Ember",
                                     "Falcon",  "Granite", "Harbor", "Indigo", "Juniper", "Kestrel",
                                     "Lumen",   "Maple",   "Nimbus", "Orbit",  "Pioneer", "Quartz",
                                     "Redwood", "Summit",  "Tidal",  "Umbra",  "Vertex",  "Willow"};
static const char *const name_b[] = {"Analytics", "Robotics", "Logistics", "Health",  "Foods",
                                     "Labs",      "Systems",  "Media",     "Energy",  "Finance",
                                     "Retail",    "Networks", "Software",  "Studios", "Works"};
static const char *const owners[] = {"maria.lopez@example.com", "james.chen@example.com",
                                     "aisha.khan@example.com",  "tom.muller@example.com",
                                     "sofia.rossi@example.com", "li.wei@example.com",
                                     "noah.smith@example.com",  "emma.dubois@example.com",
                                     "ravi.patel@example.com",  "olga.ivanova@example.com"};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

static enum pattern pick_pattern(struct rng *r)
{
    int x = (int)rng_below(r, 100), acc = 0;
    for (int p = 0; p < P_COUNT; p++) {
        acc += pattern_share[p];
        if (x < acc)
            return (enum pattern)p;
    }
    return P_HEALTHY;
}

static void make_profile(const struct options *o, long i, struct profile *p)
{
    struct rng r;
    rng_init(&r, o->seed, (uint64_t)i, UINT64_MAX);
    p->pattern = (uint8_t)pick_pattern(&r);
    /* Log-normal activity around --events-per-account-day (mean 1 after the exp(σ²/2) fix). */
    double act = o->per_day * exp(0.6 * rng_normal(&r) - 0.18);
    if (act > o->per_day * 20)
        act = o->per_day * 20;
    p->activity = (float)act;
    /* Seats: logins per seat per day of 0.3..0.9 at full activity (the scale "logins" expects). */
    double per_seat = rng_uniform(&r, 0.3, 0.9);
    double seats = floor(0.55 * act / per_seat + 0.5);
    p->seats = (uint16_t)(seats < 1 ? 1 : seats > 60000 ? 60000 : seats);
    long d = o->days;
    switch (p->pattern) {
    case P_DECLINING:
        p->change_day = (uint16_t)(d / 4 + (long)rng_below(&r, (uint64_t)(d / 3 + 1)));
        break;
    case P_SILENT: /* last active 10..40 days before the end */
        p->change_day =
            (uint16_t)(d > 12 ? d - 10 - (long)rng_below(&r, (uint64_t)(d < 42 ? d - 11 : 31))
                              : d / 2);
        break;
    case P_NEW: /* onboarded within the last 10 days */
        p->change_day = (uint16_t)(d - 1 - (long)rng_below(&r, (uint64_t)(d < 10 ? d : 10)));
        break;
    default:
        p->change_day = 0;
    }
    p->renewal_in = (uint16_t)(1 + rng_below(&r, 365));
    p->ticket_rate = p->pattern == P_SUPPORT ? (float)rng_uniform(&r, 0.4, 1.0)
                                             : (float)(0.005 + 0.02 * sqrt(act));
}

/* Tier and ARR are drawn apart from the seats: the seats follow the usage volume (so that logins
 * per seat land where a "logins" signal expects them), tiers and ARR look like a real book. */
static const char *tier_of(struct rng *r, long *arr)
{
    int x = (int)rng_below(r, 100);
    double lo = 5000, hi = 20000;
    const char *tier = "starter";
    if (x >= 88) {
        tier = "enterprise";
        lo = 80000;
        hi = 400000;
    } else if (x >= 55) {
        tier = "business";
        lo = 20000;
        hi = 80000;
    }
    *arr = (long)(floor(exp(rng_uniform(r, log(lo), log(hi))) / 100 + 0.5) * 100);
    return tier;
}

/* Activity multiplier of account P on day D (0..days-1), or 0 when it does nothing. */
static double day_factor(const struct profile *p, long d, long days, int64_t day_start_ms)
{
    double f = 1.0;
    switch (p->pattern) {
    case P_DECLINING:
        if (d > p->change_day)
            f = fmax(0.08,
                     1.0 - 0.92 * (double)(d - p->change_day) / (double)(days - p->change_day));
        break;
    case P_SILENT:
        if (d > p->change_day)
            return 0;
        break;
    case P_SUPPORT:
        f = 0.8;
        break;
    case P_NEW:
        if (d < p->change_day)
            return 0;
        f = fmin(1.0, 0.4 + 0.15 * (double)(d - p->change_day));
        break;
    default:
        break;
    }
    /* 1970-01-01 was a Thursday: day 2 and 3 of the week (from Thursday) are Sat and Sun. */
    int64_t wd = (day_start_ms / DAY_MS) % 7;
    double weekly = (wd == 2 || wd == 3) ? 0.35 : 1.0;
    return f * weekly / (5.0 / 7 + 2.0 / 7 * 0.35);
}

static uint8_t csat_value(const struct profile *p, struct rng *r)
{
    static const int good[5] = {1, 1, 8, 35, 55}, poor[5] = {30, 35, 25, 8, 2};
    const int *w = p->pattern == P_SUPPORT ? poor : good;
    int x = (int)rng_below(r, 100), acc = 0;
    for (int v = 0; v < 5; v++) {
        acc += w[v];
        if (x < acc)
            return (uint8_t)(v + 1);
    }
    return 5;
}

/* ---- writing ----------------------------------------------------------------------------- */

static void drain(struct writer *w)
{
    lg_redis_drain(w->r);
}

/* The partition of account ACC: FNV-1a (32 bits) of its id, folded (h ^ h >> 16) so that the
 * last byte does not decide alone, modulo the partitions. */
static struct part *part_of(struct writer *w, const char *acc)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)acc; *p; p++)
        h = (h ^ *p) * 16777619u;
    return &w->parts[(h ^ (h >> 16)) % (uint32_t)w->nparts];
}

static void progress(struct writer *w, const char *what, bool force)
{
    if (w->o->quiet)
        return;
    int64_t now = mono_ms();
    if (!force && now - w->last_progress < PROGRESS_MS)
        return;
    if (!force && now - w->t0_mono < 2 * PROGRESS_MS)
        return; /* short runs stay quiet */
    w->last_progress = now;
    double s = (double)(now - w->t0_mono) / 1000.0;
    fprintf(stderr, "loadgen: %s: %llu events in %.1fs (%.0f events/s)\n", what,
            (unsigned long long)w->total, s, s > 0 ? (double)w->total / s : 0.0);
}

/* XADD STREAM ID|* event JSON to the partition of account ACC; TS_MS also makes the explicit id. */
static void xadd(struct writer *w, const char *acc, enum etype type, int64_t ts_ms,
                 const char *json, size_t len, bool has_ts)
{
    enum stream s = type_stream[type];
    struct part *pt = part_of(w, acc);
    char id[RW_ENTRY_ID_MAX] = "*";
    if (w->o->explicit_ids) {
        struct rw_entry_id *last = &pt->last_id[s];
        uint64_t ms = ts_ms < 0 ? 0 : (uint64_t)ts_ms;
        if (ms > last->ms || (last->ms == 0 && last->seq == 0)) {
            last->ms = ms;
            last->seq = ms == 0 ? 1 : 0;
        } else {
            last->seq++;
        }
        rw_format_entry_id(*last, id);
    }
    lg_redis_xadd(w->r, pt->streams[s], id, json, len);
    pt->per_stream[s]++;
    w->per_type[type]++;
    w->total++;
    if (!has_ts)
        w->no_ts++;
}

static void account_id(const struct options *o, uint32_t i, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s%06u", o->account_prefix, i);
}

static void emit_metadata(struct writer *w, const struct profile *p, uint32_t i, int64_t ts_ms,
                          int32_t end_day)
{
    const struct options *o = w->o;
    struct rng r;
    rng_init(&r, o->seed, i, UINT64_MAX - 1);
    char acc[160], when[RW_RFC3339_MAX], renew[RW_DATE_MAX], json[MAX_EVENT];
    account_id(o, i, acc, sizeof acc);
    rw_format_rfc3339(ts_ms, when);
    rw_format_date(end_day + p->renewal_in, renew);
    const char *a = name_a[rng_below(&r, COUNT_OF(name_a))];
    const char *b = name_b[rng_below(&r, COUNT_OF(name_b))];
    const char *owner = owners[rng_below(&r, COUNT_OF(owners))];
    long arr;
    const char *tier = tier_of(&r, &arr);
    int len = snprintf(json, sizeof json,
                       "{\"account\":\"%s\",\"type\":\"account\",\"ts\":\"%s\",\"name\":\"%s %s "
                       "%u\",\"owner\":\"%s\",\"tier\":\"%s\",\"arr\":%ld,\"seats\":%u,"
                       "\"renewal_date\":\"%s\"}",
                       acc, when, a, b, i % 1000, owner, tier, arr, p->seats, renew);
    xadd(w, acc, T_ACCOUNT, ts_ms, json, (size_t)len, true);
}

static void emit_event(struct writer *w, const struct gen_event *e, bool has_ts)
{
    const struct options *o = w->o;
    char acc[160], ts[RW_RFC3339_MAX + 16] = "", json[MAX_EVENT];
    account_id(o, e->account, acc, sizeof acc);
    if (has_ts) {
        char when[RW_RFC3339_MAX];
        rw_format_rfc3339(e->ts_ms, when);
        snprintf(ts, sizeof ts, ",\"ts\":\"%s\"", when);
    }
    int len;
    switch (e->type) {
    case T_LOGIN:
        len = snprintf(
            json, sizeof json,
            "{\"account\":\"%s\",\"type\":\"login\"%s,\"user\":\"u%u\",\"source\":\"web\"}", acc,
            ts, e->aux);
        break;
    case T_API_CALL:
        len = snprintf(json, sizeof json,
                       "{\"account\":\"%s\",\"type\":\"api_call\"%s,\"endpoint\":\"/v2/reports\","
                       "\"status\":200}",
                       acc, ts);
        break;
    case T_TICKET:
        len = snprintf(json, sizeof json,
                       "{\"account\":\"%s\",\"type\":\"ticket_opened\"%s,\"ticket\":\"T-%u%05u\","
                       "\"priority\":\"%s\"}",
                       acc, ts, e->account, e->aux, e->aux % 4 == 0 ? "high" : "normal");
        break;
    default:
        len = snprintf(
            json, sizeof json,
            "{\"account\":\"%s\",\"type\":\"csat\"%s,\"value\":%u,\"ticket\":\"T-%u%05u\"}", acc,
            ts, e->value, e->account, e->aux);
        break;
    }
    xadd(w, acc, (enum etype)e->type, e->ts_ms, json, (size_t)len, has_ts);
}

static int cmp_event(const void *pa, const void *pb)
{
    const struct gen_event *a = pa, *b = pb;
    if (a->ts_ms != b->ts_ms)
        return a->ts_ms < b->ts_ms ? -1 : 1;
    if (a->account != b->account)
        return a->account < b->account ? -1 : 1;
    return (int)a->type - (int)b->type;
}

struct day_buf {
    struct gen_event *ev;
    size_t n, cap;
};

static struct gen_event *day_push(struct day_buf *b)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 65536;
        b->ev = realloc(b->ev, b->cap * sizeof *b->ev);
        if (!b->ev)
            die("%s", "out of memory");
    }
    return &b->ev[b->n++];
}

/* The events of account I on day D, appended to B. */
static void gen_day(const struct options *o, const struct profile *p, uint32_t i, long d,
                    int64_t day_start, struct day_buf *b)
{
    double f = day_factor(p, d, o->days, day_start);
    if (f <= 0)
        return;
    struct rng r;
    rng_init(&r, o->seed, i, (uint64_t)d);
    int64_t first_ms = 0;
    if (p->pattern == P_NEW && d == p->change_day) {
        first_ms = (int64_t)rng_below(&r, DAY_MS / 2); /* metadata comes first that day */
        struct gen_event *e = day_push(b);
        *e = (struct gen_event){.ts_ms = day_start + first_ms, .account = i, .type = T_ACCOUNT};
        first_ms += 1;
    }
    unsigned n = rng_poisson(&r, p->activity * f);
    for (unsigned k = 0; k < n; k++) {
        struct gen_event *e = day_push(b);
        *e = (struct gen_event){
            .ts_ms = day_start + first_ms + (int64_t)rng_below(&r, (uint64_t)(DAY_MS - first_ms)),
            .account = i,
            .type = rng_unit(&r) < 0.55 ? T_LOGIN : T_API_CALL,
            .aux = (uint16_t)rng_below(&r, p->seats),
        };
    }
    double tickets = p->ticket_rate * (p->pattern == P_SUPPORT ? 1.0 : f);
    unsigned nt = rng_poisson(&r, tickets);
    for (unsigned k = 0; k < nt; k++) {
        int64_t t =
            day_start + first_ms + (int64_t)rng_below(&r, (uint64_t)(DAY_MS - first_ms) / 2);
        uint16_t ticket = (uint16_t)rng_below(&r, 65536);
        struct gen_event *e = day_push(b);
        *e = (struct gen_event){.ts_ms = t, .account = i, .type = T_TICKET, .aux = ticket};
        if (rng_unit(&r) < 0.6) {
            e = day_push(b);
            *e = (struct gen_event){.ts_ms = t + 1 + (int64_t)rng_below(&r, DAY_MS / 2 - 1),
                                    .account = i,
                                    .type = T_CSAT,
                                    .value = csat_value(p, &r),
                                    .aux = ticket};
        }
    }
}

static void run_book(struct writer *w, const struct profile *prof, int64_t start_ms,
                     uint64_t *per_pattern)
{
    const struct options *o = w->o;
    int32_t end_day = rw_day_of_ms(start_ms + o->days * DAY_MS);
    for (long i = 0; i < o->accounts; i++) {
        per_pattern[prof[i].pattern]++;
        if (!o->no_metadata && prof[i].pattern != P_NEW)
            emit_metadata(w, &prof[i], (uint32_t)i, start_ms, end_day);
    }
    struct day_buf b = {0};
    struct rng nots;
    rng_init(&nots, o->seed, UINT64_MAX, UINT64_MAX);
    for (long d = 0; d < o->days && !stop_requested; d++) {
        int64_t day_start = start_ms + d * DAY_MS;
        b.n = 0;
        for (long i = 0; i < o->accounts; i++)
            gen_day(o, &prof[i], (uint32_t)i, d, day_start, &b);
        qsort(b.ev, b.n, sizeof *b.ev, cmp_event);
        for (size_t k = 0; k < b.n; k++) {
            const struct gen_event *e = &b.ev[k];
            if (e->type == T_ACCOUNT) {
                if (!o->no_metadata)
                    emit_metadata(w, &prof[e->account], e->account, e->ts_ms, end_day);
                continue;
            }
            bool has_ts = !(o->no_ts > 0 && rng_unit(&nots) < o->no_ts);
            emit_event(w, e, has_ts);
            if ((k & 4095) == 0)
                progress(w, "book", false);
        }
    }
    free(b.ev);
    drain(w);
}

/* Background load: R events/s of usage (ts = now) on random accounts, for DURATION seconds. */
static void run_rate(struct writer *w, const struct profile *prof, uint64_t *per_pattern)
{
    const struct options *o = w->o;
    int64_t now = wall_ms();
    int32_t end_day = rw_day_of_ms(now);
    for (long i = 0; i < o->accounts; i++) {
        per_pattern[prof[i].pattern]++;
        if (!o->no_metadata)
            emit_metadata(w, &prof[i], (uint32_t)i, now, end_day);
    }
    drain(w);
    struct rng r;
    rng_init(&r, o->seed, UINT64_MAX - 2, 0);
    int64_t t0 = mono_ms(), end = t0 + (int64_t)(o->duration * 1000);
    uint64_t sent = 0;
    while (!stop_requested) {
        int64_t t = mono_ms();
        if (t >= end)
            break;
        uint64_t due = (uint64_t)((double)(t - t0) * o->rate / 1000.0);
        int64_t ts = wall_ms();
        for (; sent < due; sent++) {
            uint32_t i = (uint32_t)rng_below(&r, (uint64_t)o->accounts);
            struct gen_event e = {.ts_ms = ts,
                                  .account = i,
                                  .type = rng_unit(&r) < 0.55 ? T_LOGIN : T_API_CALL,
                                  .aux = (uint16_t)rng_below(&r, prof[i].seats)};
            emit_event(w, &e, true);
        }
        drain(w);
        progress(w, "rate", false);
        struct timespec tick = {0, RATE_TICK_MS * 1000000L};
        nanosleep(&tick, NULL);
    }
    drain(w);
}

/* ---- command line ------------------------------------------------------------------------ */

static void usage(FILE *f)
{
    fputs("usage: loadgen [options]\n"
          "  --redis ADDR              HOST:PORT or unix:/path (default 127.0.0.1:6379)\n"
          "  --host H --port P         the same, separately\n"
          "  --socket PATH             a unix socket\n"
          "  --accounts N              accounts in the book (default 1000)\n"
          "  --days D                  days of history (default 30)\n"
          "  --events-per-account-day E  mean usage events per account and day (default 2)\n"
          "  --seed S                  PRNG seed (default 1)\n"
          "  --streams PREFIX          stream key prefix (default events:) -> PREFIXusage,\n"
          "                            PREFIXsupport, PREFIXaccounts\n"
          "  --account-prefix P        account id prefix (default acct-)\n"
          "  --start T                 start of the book: RFC 3339 or now-Dd (default now-Dd,\n"
          "                            so the book ends now)\n"
          "  --explicit-ids            entry ids from event times (ms-seq) instead of *\n"
          "  --no-ts F                 leave ts out of a fraction F of usage/support events\n"
          "  --no-metadata             no account metadata events\n"
          "  --rate R                  background load: R events/s with ts = now (after the\n"
          "                            metadata), for --duration seconds (default 60)\n"
          "  --pipeline K              XADDs per pipelined chunk (default 1000)\n"
          "  --partitions N            shard the book by account over N stream sets\n"
          "                            PREFIX{pK}:usage, ... (K from a hash of the account id),\n"
          "                            for one renewald per partition on a Redis Cluster; on a\n"
          "                            cluster --redis names any node\n"
          "  --quiet                   no progress on stderr\n"
          "  --book-out DIR            no Redis: write a labelled book for renewald backtest,\n"
          "                            DIR/events.jsonl (integer ts, time order), DIR/labels.csv\n"
          "                            (account,outcome,date) and DIR/patterns.csv; uses\n"
          "                            --accounts, --days (default 400), --seed, --start (default\n"
          "                            2025-01-01; rounded down to 00:00 UTC), --account-prefix\n"
          "Prints a JSON summary on stdout.\n",
          f);
}

static double num_arg(const char *opt, const char *v, double lo, double hi)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || !(x >= lo && x <= hi)) {
        fprintf(stderr, "loadgen: %s: bad value '%s' (%g..%g)\n", opt, v, lo, hi);
        exit(2);
    }
    return x;
}

static int64_t parse_start(const char *s, long days)
{
    int64_t now = wall_ms();
    if (!s)
        return now - days * DAY_MS;
    if (strncmp(s, "now", 3) == 0) {
        if (!s[3])
            return now;
        char *end;
        errno = 0;
        long n = strtol(s + 4, &end, 10);
        if (s[3] == '-' && !errno && end != s + 4 && n >= 0 && n <= MAX_DAYS * 10 &&
            strcmp(end, "d") == 0)
            return now - n * DAY_MS;
        die("--start: bad value '%s' (RFC 3339 or now-Nd)", s);
    }
    int64_t ms;
    if (!rw_parse_rfc3339(s, strlen(s), &ms))
        die("--start: bad value '%s' (RFC 3339 or now-Nd)", s);
    return ms;
}

static void parse_args(int argc, char **argv, struct options *o)
{
    *o = (struct options){.host = "127.0.0.1",
                          .port = 6379,
                          .prefix = "events:",
                          .account_prefix = "acct-",
                          .accounts = 1000,
                          .days = 30,
                          .seed = 1,
                          .per_day = 2,
                          .duration = 60,
                          .pipeline = PIPELINE_DEF};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = true;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(a, "--explicit-ids") == 0) {
            o->explicit_ids = true;
            takes = false;
        } else if (strcmp(a, "--quiet") == 0) {
            o->quiet = true;
            takes = false;
        } else if (strcmp(a, "--no-metadata") == 0) {
            o->no_metadata = true;
            takes = false;
        } else if (!v) {
            fprintf(stderr, "loadgen: %s needs a value (see --help)\n", a);
            exit(2);
        } else if (strcmp(a, "--redis") == 0) {
            if (strncmp(v, "unix:", 5) == 0) {
                o->socket_path = v + 5;
            } else {
                const char *colon = strrchr(v, ':');
                if (!colon)
                    die("--redis: bad address '%s'", v);
                static char host[256];
                snprintf(host, sizeof host, "%.*s", (int)(colon - v), v);
                o->host = host;
                o->port = (int)num_arg(a, colon + 1, 1, 65535);
            }
        } else if (strcmp(a, "--host") == 0) {
            o->host = v;
        } else if (strcmp(a, "--port") == 0) {
            o->port = (int)num_arg(a, v, 1, 65535);
        } else if (strcmp(a, "--socket") == 0) {
            o->socket_path = v;
        } else if (strcmp(a, "--accounts") == 0) {
            o->accounts = (long)num_arg(a, v, 1, MAX_ACCOUNTS);
        } else if (strcmp(a, "--days") == 0) {
            o->days = (long)num_arg(a, v, 1, MAX_DAYS);
            o->days_given = true;
        } else if (strcmp(a, "--book-out") == 0) {
            o->book_out = v;
        } else if (strcmp(a, "--events-per-account-day") == 0) {
            o->per_day = num_arg(a, v, 0, 10000);
        } else if (strcmp(a, "--seed") == 0) {
            o->seed = (uint64_t)num_arg(a, v, 0, 9007199254740992.0);
        } else if (strcmp(a, "--streams") == 0) {
            o->prefix = v;
        } else if (strcmp(a, "--account-prefix") == 0) {
            o->account_prefix = v;
        } else if (strcmp(a, "--start") == 0) {
            o->start = v;
        } else if (strcmp(a, "--rate") == 0) {
            o->rate = num_arg(a, v, 0.001, 10000000);
        } else if (strcmp(a, "--duration") == 0) {
            o->duration = num_arg(a, v, 0, MAX_DURATION_S);
        } else if (strcmp(a, "--no-ts") == 0) {
            o->no_ts = num_arg(a, v, 0, 1);
        } else if (strcmp(a, "--pipeline") == 0) {
            o->pipeline = (int)num_arg(a, v, 1, 100000);
        } else if (strcmp(a, "--partitions") == 0) {
            o->partitions = (int)num_arg(a, v, 1, MAX_PARTITIONS);
        } else {
            fprintf(stderr, "loadgen: unknown option %s (see --help)\n", a);
            exit(2);
        }
        if (takes)
            i++;
    }
    if (strlen(o->prefix) > 200 || strlen(o->account_prefix) > 100)
        die("%s", "--streams or --account-prefix too long");
    if (o->book_out) {
        if (o->rate > 0 || o->no_ts > 0 || o->explicit_ids || o->no_metadata || o->partitions)
            die("%s", "--book-out writes files: no --rate, --no-ts, --explicit-ids, "
                      "--no-metadata, --partitions");
        if (strcspn(o->account_prefix, "\",\\") != strlen(o->account_prefix))
            die("%s", "--book-out: --account-prefix must not hold '\"', ',' or '\\'");
        for (const char *c = o->account_prefix; *c; c++)
            if ((unsigned char)*c < 0x20)
                die("%s", "--book-out: --account-prefix must not hold control characters");
        if (!o->days_given)
            o->days = 400;
    }
    if (o->no_ts > 0 && !o->explicit_ids && !o->quiet)
        fprintf(stderr, "loadgen: note: --no-ts without --explicit-ids: those events take the "
                        "time they are appended\n");
}

static void print_summary(const struct writer *w, const uint64_t *per_pattern, int64_t start_ms,
                          int64_t end_ms, double seconds)
{
    const struct options *o = w->o;
    char start[RW_RFC3339_MAX], end[RW_RFC3339_MAX];
    rw_format_rfc3339(start_ms, start);
    rw_format_rfc3339(end_ms, end);
    printf("{\"seed\":%llu,\"accounts\":%ld,\"days\":%ld,\"start\":\"%s\",\"end\":\"%s\","
           "\"events\":%llu,\"no_ts\":%llu,\"explicit_ids\":%s,\"streams\":{",
           (unsigned long long)o->seed, o->accounts, o->rate > 0 ? 0 : o->days, start, end,
           (unsigned long long)w->total, (unsigned long long)w->no_ts,
           o->explicit_ids ? "true" : "false");
    for (int k = 0; k < w->nparts; k++)
        for (int s = 0; s < S_COUNT; s++)
            printf("%s\"%s\":%llu", k || s ? "," : "", w->parts[k].streams[s],
                   (unsigned long long)w->parts[k].per_stream[s]);
    printf("},\"types\":{");
    for (int t = 0; t < T_COUNT; t++)
        printf("%s\"%s\":%llu", t ? "," : "", type_names[t], (unsigned long long)w->per_type[t]);
    printf("},\"patterns\":{");
    for (int p = 0; p < P_COUNT; p++)
        printf("%s\"%s\":%llu", p ? "," : "", pattern_names[p], (unsigned long long)per_pattern[p]);
    printf("},\"partitions\":%d,\"redis_nodes\":%d,\"seconds\":%.3f,"
           "\"events_per_second\":%.0f}\n",
           o->partitions, lg_redis_nodes(w->r), seconds,
           seconds > 0 ? (double)w->total / seconds : 0.0);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    struct options o;
    parse_args(argc, argv, &o);
    if (o.book_out) {
        int64_t start = o.start ? parse_start(o.start, o.days) : INT64_C(1735689600000);
        struct book_options bo = {.dir = o.book_out,
                                  .account_prefix = o.account_prefix,
                                  .start_ms = (int64_t)rw_day_of_ms(start) * DAY_MS,
                                  .accounts = o.accounts,
                                  .days = o.days,
                                  .seed = o.seed,
                                  .quiet = o.quiet};
        return labelled_book_write(&bo);
    }
    signal(SIGINT, on_stop);
    signal(SIGTERM, on_stop);
    signal(SIGPIPE, SIG_IGN);

    struct writer w = {.o = &o, .nparts = o.partitions ? o.partitions : 1};
    w.parts = calloc((size_t)w.nparts, sizeof *w.parts);
    const char **keys = calloc((size_t)w.nparts * S_COUNT, sizeof *keys);
    if (!w.parts || !keys)
        die("%s", "out of memory");
    for (int k = 0; k < w.nparts; k++) {
        for (int s = 0; s < S_COUNT; s++) {
            char *name = w.parts[k].streams[s];
            if (o.partitions)
                snprintf(name, 256, "%s{p%d}:%s", o.prefix, k, stream_suffix[s]);
            else
                snprintf(name, 256, "%s%s", o.prefix, stream_suffix[s]);
            keys[k * S_COUNT + s] = name;
        }
    }
    w.r = lg_redis_connect(o.host, o.port, o.socket_path, o.pipeline, keys, w.nparts * S_COUNT);
    free(keys);
    struct profile *prof = calloc((size_t)o.accounts, sizeof *prof);
    if (!prof)
        die("%s", "out of memory");
    for (long i = 0; i < o.accounts; i++)
        make_profile(&o, i, &prof[i]);

    uint64_t per_pattern[P_COUNT] = {0};
    int64_t start_ms = parse_start(o.start, o.days);
    w.t0_mono = w.last_progress = mono_ms();
    if (o.rate > 0) {
        start_ms = wall_ms();
        run_rate(&w, prof, per_pattern);
    } else {
        run_book(&w, prof, start_ms, per_pattern);
    }
    double seconds = (double)(mono_ms() - w.t0_mono) / 1000.0;
    if (seconds >= 2)
        progress(&w, "done", true);
    int64_t end_ms = o.rate > 0 ? wall_ms() : start_ms + o.days * DAY_MS;
    print_summary(&w, per_pattern, start_ms, end_ms, seconds);
    free(prof);
    free(w.parts);
    lg_redis_free(w.r);
    return stop_requested && o.rate <= 0 ? 1 : 0;
}
