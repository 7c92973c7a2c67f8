/* labelled_book.c - `loadgen --book-out DIR`: a seeded book of business with known outcomes,
 * written to files for `renewald backtest` instead of Redis.
 *
 * Every account follows one pattern.  Healthy: steady use with a mild weekend dip and a slow
 * drift.  Seasonal: weekends at ~30 % and a two-week holiday at ~10 % once a year.  New: first
 * seen in the second half of the book, ramping up.  Decline: usage falls linearly to a floor
 * over 30..100 days.  Silence: all activity stops at once.  Support-heavy: tickets climb to
 * several times their usual rate, answered with CSAT 1-2, and usage sags a little.  The last
 * three churn: their renewal date is 70..150 days after the onset of trouble, and they send
 * nothing from that date on.  The others renew (their renewal date moves one year ahead on the
 * day).  Counts are Poisson around the account's level of the day, which carries a log-normal
 * day-to-day factor and now and then a quiet day; a share of the renewing accounts also gets
 * one bad week or one single bad CSAT answer (false-positive bait).
 *
 * Every draw comes from a generator of (seed, account) or (seed, account, day), so the files
 * are the same for the same options, whatever the machine.
 */
#include "labelled_book.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "renewald/core/timeutil.h"
#include "rng.h"

#define DAY_MS   INT64_C(86400000)
#define HOUR_MS  INT64_C(3600000)
#define YEAR     365                          /* days between two renewal dates */
#define SALT     UINT64_C(0x6C6162656C6C6564) /* keeps these streams apart from loadgen's */
#define NO_DAY   (-1)
#define HOLIDAY  14 /* days of a seasonal account's holiday */
#define BAD_WEEK 7  /* days of a bad week */

enum bpattern { B_HEALTHY, B_SEASONAL, B_NEW, B_DECLINE, B_SILENCE, B_SUPPORT, B_COUNT };
static const char *const bpattern_names[B_COUNT] = {"healthy", "seasonal", "new",
                                                    "decline", "silence",  "support_heavy"};
/* Share of the book per pattern, in percent: 70 % renew, 30 % churn. */
static const int bpattern_share[B_COUNT] = {45, 15, 10, 12, 8, 10};

enum btype { E_ACCOUNT, E_LOGIN, E_API_CALL, E_TICKET, E_CSAT, E_COUNT };
static const char *const btype_names[E_COUNT] = {"account", "login", "api_call", "ticket_opened",
                                                 "csat"};

/* One account's fixed traits; days are indexes from the start of the book. */
struct bprof {
    uint8_t pattern;
    uint16_t seats;
    float logins;    /* logins per seat on a weekday at full level */
    float weekend;   /* weekend factor */
    float api;       /* API calls per weekday at full level; 0: no integration */
    float tickets;   /* tickets per day at full level */
    float noise;     /* sigma of the log-normal day factor */
    float drift;     /* relative change of the level over a year (renewing accounts) */
    int32_t first;   /* first day with events */
    int32_t onset;   /* first day of trouble; NO_DAY */
    int32_t span;    /* decline: days to the floor; support: ramp of tickets; new: ramp-up */
    float floor;     /* decline: the level it ends at; support: share of usage lost */
    float peak;      /* support: tickets per day at the top of the ramp */
    int32_t renew;   /* the renewal date of the label (may lie after the book) */
    int32_t holiday; /* seasonal: first day of a holiday, then every YEAR days; NO_DAY */
    float holiday_level;
    int32_t bad_week; /* bait: first day of a bad week; NO_DAY */
    float bad_level;
    int32_t bad_csat; /* bait: the day of one CSAT answer of 1; NO_DAY */
};

struct bevent {
    int64_t ts_ms;
    uint32_t account;
    uint8_t type;
    uint32_t value; /* login: user; api_call: calls; csat: 1..5; account: renewal day */
    uint32_t aux;   /* ticket number; account: 1 for the date of a renewal */
};

struct bbuf {
    struct bevent *ev;
    size_t n, cap;
};

static const char *const name_a[] = {"Acme",   "Blue",    "Bright",  "Cedar",  "Delta",   "Ember",
                                     "Falcon", "Granite", "Harbor",  "Indigo", "Juniper", "Lumen",
                                     "Maple",  "Nimbus",  "Pioneer", "Quartz", "Summit",  "Willow"};
static const char *const name_b[] = {"Analytics", "Robotics", "Logistics", "Health", "Foods",
                                     "Labs",      "Systems",  "Media",     "Energy", "Retail"};
static const char *const owners[] = {"maria.lopez@example.com", "james.chen@example.com",
                                     "aisha.khan@example.com",  "tom.muller@example.com",
                                     "sofia.rossi@example.com", "li.wei@example.com"};
#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

static bool churns(const struct bprof *p)
{
    return p->pattern == B_DECLINE || p->pattern == B_SILENCE || p->pattern == B_SUPPORT;
}

static int32_t draw_day(struct rng *r, int32_t lo, int32_t hi) /* lo..hi inclusive */
{
    return hi <= lo ? lo : lo + (int32_t)rng_below(r, (uint64_t)(hi - lo + 1));
}

static void make_bprof(const struct book_options *o, uint32_t i, struct bprof *p)
{
    struct rng r;
    rng_init(&r, o->seed ^ SALT, i, UINT64_MAX);
    int x = (int)rng_below(&r, 100), acc = 0, pat = 0;
    while (pat < B_COUNT - 1 && x >= acc + bpattern_share[pat])
        acc += bpattern_share[pat++];
    int32_t days = (int32_t)o->days;
    *p = (struct bprof){.pattern = (uint8_t)pat,
                        .onset = NO_DAY,
                        .holiday = NO_DAY,
                        .bad_week = NO_DAY,
                        .bad_csat = NO_DAY};
    double seats = floor(exp(log(10.0) + 0.8 * rng_normal(&r)) + 0.5);
    p->seats = (uint16_t)(seats < 3 ? 3 : seats > 400 ? 400 : seats);
    p->logins = (float)rng_uniform(&r, 0.3, 0.9);
    p->weekend =
        (float)(pat == B_SEASONAL ? rng_uniform(&r, 0.25, 0.35) : rng_uniform(&r, 0.45, 0.8));
    p->api = rng_unit(&r) < 0.75 ? (float)(p->seats * rng_uniform(&r, 4, 30)) : 0.0f;
    p->tickets = (float)(0.01 + p->seats * rng_uniform(&r, 0.002, 0.006));
    p->noise = (float)rng_uniform(&r, 0.15, 0.3);
    p->drift = (float)rng_uniform(&r, -0.15, 0.25);
    /* Trouble starts after two warm-up months, early enough for the renewal to fall inside. */
    int32_t warm = days / 5 < 60 ? days / 5 : 60, onset_hi = days - 150 > warm ? days - 150 : warm;
    switch (pat) {
    case B_NEW:
        p->first = draw_day(&r, days / 2, days - 30 > days / 2 ? days - 30 : days / 2);
        p->span = draw_day(&r, 14, 42);
        p->renew = p->first + YEAR;
        break;
    case B_DECLINE:
        p->span = draw_day(&r, 30, 100);
        p->floor = (float)rng_uniform(&r, 0.05, 0.25);
        break;
    case B_SUPPORT:
        p->span = draw_day(&r, 7, 21);
        p->peak = (float)fmax(rng_uniform(&r, 0.4, 1.0), p->tickets * rng_uniform(&r, 6, 12));
        p->floor = (float)rng_uniform(&r, 0.05, 0.25);
        break;
    default:
        p->renew = draw_day(&r, 30, 30 + YEAR - 1);
        break;
    }
    if (churns(p)) {
        p->onset = draw_day(&r, warm, onset_hi);
        p->renew = p->onset + draw_day(&r, 70, 150);
        p->drift = 0;
        return; /* no bait: no lead time comes from a false alarm */
    }
    if (pat == B_SEASONAL) {
        p->holiday = draw_day(&r, 0, YEAR - 1);
        p->holiday_level = (float)rng_uniform(&r, 0.05, 0.15);
    }
    int32_t settled = p->first + (pat == B_NEW ? p->span : 30);
    if (rng_unit(&r) < 0.2 && settled < days - BAD_WEEK) {
        p->bad_week = draw_day(&r, settled, days - BAD_WEEK - 1);
        p->bad_level = (float)rng_uniform(&r, 0.3, 0.6);
    }
    if (rng_unit(&r) < 0.25 && settled < days - 1)
        p->bad_csat = draw_day(&r, settled, days - 1);
}

/* The account's level on day D before the weekly rhythm and noise: 1 = its usual use. */
static double level(const struct bprof *p, int32_t d)
{
    double since = p->onset == NO_DAY ? -1 : (double)(d - p->onset + 1);
    switch (p->pattern) {
    case B_NEW:
        return 0.2 + 0.8 * fmin(1.0, (double)(d - p->first) / p->span);
    case B_DECLINE:
        return since > 0 ? fmax(p->floor, 1.0 - (1.0 - p->floor) * since / p->span) : 1.0;
    case B_SILENCE:
        return since > 0 ? 0.0 : 1.0;
    case B_SUPPORT:
        return since > 0 ? 1.0 - p->floor * fmin(1.0, since / p->span) : 1.0;
    default:
        return 1.0 + p->drift * (double)d / YEAR;
    }
}

static bool in_holiday(const struct bprof *p, int32_t d)
{
    if (p->holiday == NO_DAY)
        return false;
    int32_t k = ((d - p->holiday) % YEAR + YEAR) % YEAR;
    return k < HOLIDAY;
}

static struct bevent *push(struct bbuf *b)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 65536;
        b->ev = realloc(b->ev, b->cap * sizeof *b->ev);
        if (!b->ev) {
            fputs("loadgen: out of memory\n", stderr);
            exit(2);
        }
    }
    return &b->ev[b->n++];
}

static uint8_t csat_value(struct rng *r, bool poor)
{
    static const int good[5] = {2, 3, 10, 35, 50}, bad[5] = {50, 40, 10, 0, 0};
    const int *w = poor ? bad : good;
    int x = (int)rng_below(r, 100), acc = 0;
    for (int v = 0; v < 5; v++) {
        acc += w[v];
        if (x < acc)
            return (uint8_t)(v + 1);
    }
    return 5;
}

/* A ticket at T, answered (CSAT) half the time within the next twelve hours. */
static void ticket(struct bbuf *b, struct rng *r, uint32_t i, int64_t t, bool poor, int forced)
{
    uint32_t no = (uint32_t)rng_below(r, 100000);
    *push(b) = (struct bevent){.ts_ms = t, .account = i, .type = E_TICKET, .aux = no};
    if (!forced && rng_unit(r) >= 0.5)
        return;
    uint8_t v = forced ? (uint8_t)forced : csat_value(r, poor);
    *push(b) = (struct bevent){.ts_ms = t + 1 + (int64_t)rng_below(r, 12 * HOUR_MS - 1),
                               .account = i,
                               .type = E_CSAT,
                               .value = v,
                               .aux = no};
}

/* The events of account I on day D, appended to B (any order: the day is sorted). */
static void gen_day(const struct book_options *o, const struct bprof *p, uint32_t i, int32_t d,
                    int64_t day_start, struct bbuf *b)
{
    if (d < p->first || (churns(p) && d >= p->renew))
        return; /* not a customer yet, or no longer */
    struct rng r;
    rng_init(&r, o->seed ^ SALT, i, (uint64_t)d);
    if (d == p->first)
        *push(b) = (struct bevent){
            .ts_ms = day_start, .account = i, .type = E_ACCOUNT, .value = (uint32_t)p->renew};
    if (!churns(p) && d >= p->renew && (d - p->renew) % YEAR == 0) /* renewed: the next date */
        *push(b) = (struct bevent){.ts_ms = day_start + 9 * HOUR_MS,
                                   .account = i,
                                   .type = E_ACCOUNT,
                                   .value = (uint32_t)(d + YEAR),
                                   .aux = 1};
    double lv = level(p, d);
    /* Day-to-day noise: a factor both usage streams share, and one of each. */
    double sd = p->noise * M_SQRT1_2;
    double f = lv * exp(sd * rng_normal(&r) - 0.5 * sd * sd);
    int64_t wd = (day_start / DAY_MS) % 7; /* 1970-01-01 was a Thursday: 2, 3 = Sat, Sun */
    if (wd == 2 || wd == 3)
        f *= p->weekend;
    if (in_holiday(p, d))
        f *= p->holiday_level;
    if (p->bad_week != NO_DAY && d >= p->bad_week && d < p->bad_week + BAD_WEEK)
        f *= p->bad_level;
    if (rng_unit(&r) < 0.015)
        f *= 0.1; /* a quiet day: an outage, a local holiday */
    double fl = f * exp(sd * rng_normal(&r) - 0.5 * sd * sd);
    double fa = f * exp(sd * rng_normal(&r) - 0.5 * sd * sd);
    unsigned n = rng_poisson(&r, p->seats * p->logins * fl);
    for (unsigned k = 0; k < n; k++)
        *push(b) = (struct bevent){.ts_ms = day_start + 1 + (int64_t)rng_below(&r, DAY_MS - 1),
                                   .account = i,
                                   .type = E_LOGIN,
                                   .value = (uint32_t)rng_below(&r, p->seats)};
    for (int half = 0; half < 2 && p->api > 0; half++) { /* two rollups of API calls a day */
        unsigned calls = rng_poisson(&r, p->api * fa / 2);
        if (calls)
            *push(b) = (struct bevent){.ts_ms = day_start + half * 12 * HOUR_MS + 1 +
                                                (int64_t)rng_below(&r, 12 * HOUR_MS - 1),
                                       .account = i,
                                       .type = E_API_CALL,
                                       .value = calls};
    }
    double tickets = p->tickets * fmin(1.0, lv), progress = 0;
    if (p->pattern == B_SUPPORT && p->onset != NO_DAY && d >= p->onset) {
        progress = fmin(1.0, (double)(d - p->onset + 1) / p->span);
        tickets = p->tickets + (p->peak - p->tickets) * progress;
    }
    unsigned nt = rng_poisson(&r, tickets);
    for (unsigned k = 0; k < nt; k++)
        ticket(b, &r, i, day_start + 1 + (int64_t)rng_below(&r, 12 * HOUR_MS), progress > 0, 0);
    if (d == p->bad_csat)
        ticket(b, &r, i, day_start + 1 + (int64_t)rng_below(&r, 12 * HOUR_MS), false, 1);
}

static int cmp_bevent(const void *pa, const void *pb)
{
    const struct bevent *a = pa, *b = pb;
    if (a->ts_ms != b->ts_ms)
        return a->ts_ms < b->ts_ms ? -1 : 1;
    if (a->account != b->account)
        return a->account < b->account ? -1 : 1;
    if (a->type != b->type)
        return (int)a->type - (int)b->type;
    return a->aux < b->aux ? -1 : a->aux > b->aux;
}

/* ---- output ---- */

struct bw {
    const struct book_options *o;
    const struct bprof *prof;
    int32_t day0; /* calendar day of book day 0 */
    FILE *ev;
    uint64_t per_type[E_COUNT], total;
};

static void write_event(struct bw *w, const struct bevent *e)
{
    const struct book_options *o = w->o;
    const struct bprof *p = &w->prof[e->account];
    FILE *f = w->ev;
    long long ts = (long long)e->ts_ms;
    fprintf(f, "{\"account\":\"%s%06u\",\"type\":\"%s\",\"ts\":%lld", o->account_prefix, e->account,
            btype_names[e->type], ts);
    switch (e->type) {
    case E_ACCOUNT: {
        char renew[RW_DATE_MAX];
        rw_format_date(w->day0 + (int32_t)e->value, renew);
        if (e->aux) { /* renewed: only the date changes */
            fprintf(f, ",\"renewal_date\":\"%s\"}\n", renew);
            break;
        }
        struct rng r;
        rng_init(&r, o->seed ^ SALT, e->account, UINT64_MAX - 1);
        const char *tier = p->seats < 10 ? "starter" : p->seats < 40 ? "business" : "enterprise";
        double per_seat = p->seats < 10   ? rng_uniform(&r, 400, 700)
                          : p->seats < 40 ? rng_uniform(&r, 700, 1000)
                                          : rng_uniform(&r, 900, 1400);
        long arr = (long)(floor(p->seats * per_seat / 100 + 0.5) * 100);
        const char *a = name_a[rng_below(&r, COUNT_OF(name_a))];
        const char *b = name_b[rng_below(&r, COUNT_OF(name_b))];
        fprintf(f,
                ",\"name\":\"%s %s %u\",\"owner\":\"%s\",\"tier\":\"%s\",\"arr\":%ld,"
                "\"seats\":%u,\"renewal_date\":\"%s\"}\n",
                a, b, e->account % 1000, owners[rng_below(&r, COUNT_OF(owners))], tier, arr,
                p->seats, renew);
        break;
    }
    case E_LOGIN:
        fprintf(f, ",\"user\":\"u%u\"}\n", e->value);
        break;
    case E_API_CALL:
        fprintf(f, ",\"value\":%u}\n", e->value);
        break;
    case E_TICKET:
        fprintf(f, ",\"ticket\":\"T-%u-%05u\"}\n", e->account, e->aux);
        break;
    default:
        fprintf(f, ",\"value\":%u,\"ticket\":\"T-%u-%05u\"}\n", e->value, e->account, e->aux);
        break;
    }
    w->per_type[e->type]++;
    w->total++;
}

static FILE *open_out(const char *dir, const char *name, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        fprintf(stderr, "loadgen: %s: %s\n", path, strerror(errno));
    else
        setvbuf(f, NULL, _IOFBF, 1 << 20);
    return f;
}

static bool close_out(FILE *f, const char *path)
{
    if (ferror(f) | (fclose(f) != 0)) {
        fprintf(stderr, "loadgen: cannot write %s\n", path);
        return false;
    }
    return true;
}

static bool write_labels(const struct book_options *o, const struct bprof *prof, int32_t day0,
                         uint64_t *churned, uint64_t *renewed)
{
    char lp[4096], pp[4096], date[RW_DATE_MAX], first[RW_DATE_MAX], onset[RW_DATE_MAX];
    FILE *l = open_out(o->dir, "labels.csv", lp, sizeof lp);
    FILE *t = l ? open_out(o->dir, "patterns.csv", pp, sizeof pp) : NULL;
    if (!t) {
        if (l)
            fclose(l);
        return false;
    }
    fputs("account,outcome,date\n", l);
    fputs("account,pattern,first_seen,onset,renewal_date\n", t);
    for (long i = 0; i < o->accounts; i++) {
        const struct bprof *p = &prof[i];
        rw_format_date(day0 + p->renew, date);
        rw_format_date(day0 + p->first, first);
        onset[0] = '\0';
        if (p->onset != NO_DAY)
            rw_format_date(day0 + p->onset, onset);
        fprintf(l, "%s%06ld,%s,%s\n", o->account_prefix, i, churns(p) ? "churned" : "renewed",
                date);
        fprintf(t, "%s%06ld,%s,%s,%s,%s\n", o->account_prefix, i, bpattern_names[p->pattern], first,
                onset, date);
        ++*(churns(p) ? churned : renewed);
    }
    bool ok = close_out(l, lp);
    return close_out(t, pp) && ok;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int labelled_book_write(const struct book_options *o)
{
    if (mkdir(o->dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "loadgen: %s: %s\n", o->dir, strerror(errno));
        return 1;
    }
    double t0 = mono_s(), last = t0;
    struct bprof *prof = calloc((size_t)o->accounts, sizeof *prof);
    if (!prof) {
        fputs("loadgen: out of memory\n", stderr);
        return 1;
    }
    uint64_t per_pattern[B_COUNT] = {0}, churned = 0, renewed = 0;
    for (long i = 0; i < o->accounts; i++) {
        make_bprof(o, (uint32_t)i, &prof[i]);
        per_pattern[prof[i].pattern]++;
    }
    int32_t day0 = rw_day_of_ms(o->start_ms);
    char path[4096];
    struct bw w = {.o = o, .prof = prof, .day0 = day0};
    w.ev = open_out(o->dir, "events.jsonl", path, sizeof path);
    if (!w.ev || !write_labels(o, prof, day0, &churned, &renewed)) {
        if (w.ev)
            fclose(w.ev);
        free(prof);
        return 1;
    }
    struct bbuf b = {0};
    for (int32_t d = 0; d < o->days; d++) {
        int64_t day_start = o->start_ms + (int64_t)d * DAY_MS;
        b.n = 0;
        for (long i = 0; i < o->accounts; i++)
            gen_day(o, &prof[i], (uint32_t)i, d, day_start, &b);
        qsort(b.ev, b.n, sizeof *b.ev, cmp_bevent);
        for (size_t k = 0; k < b.n; k++)
            write_event(&w, &b.ev[k]);
        double now = mono_s();
        if (!o->quiet && now - last >= 1.0 && now - t0 >= 2.0) {
            last = now;
            fprintf(stderr, "loadgen: book: day %d of %ld, %llu events\n", d + 1, o->days,
                    (unsigned long long)w.total);
        }
    }
    free(b.ev);
    free(prof);
    if (!close_out(w.ev, path))
        return 1;
    char start[RW_DATE_MAX], end[RW_DATE_MAX];
    rw_format_date(day0, start);
    rw_format_date(day0 + (int32_t)o->days, end);
    printf("{\"seed\":%llu,\"accounts\":%ld,\"days\":%ld,\"start\":\"%s\",\"end\":\"%s\","
           "\"events\":%llu,\"types\":{",
           (unsigned long long)o->seed, o->accounts, o->days, start, end,
           (unsigned long long)w.total);
    for (int t = 0; t < E_COUNT; t++)
        printf("%s\"%s\":%llu", t ? "," : "", btype_names[t], (unsigned long long)w.per_type[t]);
    printf("},\"patterns\":{");
    for (int p = 0; p < B_COUNT; p++)
        printf("%s\"%s\":%llu", p ? "," : "", bpattern_names[p],
               (unsigned long long)per_pattern[p]);
    printf("},\"labels\":{\"churned\":%llu,\"renewed\":%llu},\"seconds\":%.3f}\n",
           (unsigned long long)churned, (unsigned long long)renewed, mono_s() - t0);
    return fflush(stdout) == 0 ? 0 : 1;
}
