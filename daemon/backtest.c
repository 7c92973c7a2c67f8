/*
 * backtest.c - `renewald backtest` (SPEC §10): history replayed through the
 * same core as the daemon, in memory, under clock = event, and a report of what
 * the configuration would have alerted (and, with labels, how well).
 *
 * Reads a JSON-lines file, or streams by XRANGE (read-only, blocking: this is
 * a command-line tool, not the event loop).  Never writes to Redis.
 */
#include "renewald/backtest.h"

#include <errno.h>
#include <getopt.h>
#include <hiredis/hiredis.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "renewald/cluster.h"
#include "renewald/config.h"
#include "renewald/core/engine.h"
#include "renewald/core/json_arena.h"
#include "renewald/core/jsonw.h"
#include "renewald/core/merge.h"
#include "renewald/core/parse.h"
#include "renewald/core/timeutil.h"

#define EX_USAGE     64
#define EX_DATAERR   65
#define EX_NOINPUT   66
#define EX_CONFIG    78
#define XRANGE_STEP  "1000"
#define XRANGE_COUNT 1000

struct opts {
    const char *config, *events, *streams, *labels, *out;
    bool has_from, has_to, json;
    int64_t from_ms, to_end_ms; /* [from, to_end): alerts reported, events applied */
};

/* What the replay learns per account, by ordinal. */
struct acct_stat {
    uint32_t alerts;
    bool any_band_alert, ever_at_risk;
    int64_t first_warn_ms;  /* first band_change alert at watch or worse, RW_NO_TIME */
    int64_t warn_before_ms; /* ... strictly before the label date (set when labels are read) */
};

struct label {
    char *account;
    bool churned;
    int64_t date_ms;
};

struct bt {
    struct opts o;
    struct rw_config *cfg;
    struct rw_scorer *sc;
    struct rw_store *st;
    struct rw_engine *eng;
    FILE *out;
    uint64_t events, invalid, beyond;
    uint64_t by_kind[RW_ALERT_KIND_COUNT], by_band[RW_BAND_COUNT];
    struct acct_stat *stat;
    size_t nstat;
    struct label *labels;
    size_t nlabels;
    int64_t progress_mono_ms, started_mono_ms;
};

static struct acct_stat *stat_of(struct bt *b, uint32_t ordinal)
{
    if (ordinal >= b->nstat) {
        size_t n = b->nstat ? b->nstat : 1024;
        while (n <= ordinal)
            n *= 2;
        b->stat = rw_xrealloc(b->stat, n * sizeof(*b->stat));
        for (size_t i = b->nstat; i < n; i++)
            b->stat[i] = (struct acct_stat){0, false, false, RW_NO_TIME, RW_NO_TIME};
        b->nstat = n;
    }
    return &b->stat[ordinal];
}

static void on_alert(void *arg, const struct rw_alert *al)
{
    struct bt *b = arg;
    if (b->o.has_from && al->ts_ms < b->o.from_ms)
        return;
    if (b->out) {
        fwrite(al->json, 1, al->json_len, b->out);
        fputc('\n', b->out);
    }
    struct acct_stat *s = stat_of(b, al->account->ordinal);
    s->alerts++;
    b->by_kind[al->kind]++;
    if (al->kind != RW_ALERT_BAND_CHANGE)
        return;
    b->by_band[al->band]++;
    s->any_band_alert = true;
    if (rw_band_severity(al->band) > 0 && s->first_warn_ms == RW_NO_TIME)
        s->first_warn_ms = al->ts_ms;
}

static void on_band(void *arg, const struct rw_account *a, enum rw_band from, int64_t now_ms)
{
    (void)from;
    struct bt *b = arg;
    if (a->band == RW_BAND_AT_RISK && !(b->o.has_from && now_ms < b->o.from_ms))
        stat_of(b, a->ordinal)->ever_at_risk = true;
}

static void progress(struct bt *b, bool last)
{
    int64_t mono = rw_mono_ms();
    if (!last && mono - b->progress_mono_ms < 1000)
        return;
    if (mono - b->started_mono_ms < 2000 && !last)
        return;
    if (last && b->progress_mono_ms == 0)
        return;
    b->progress_mono_ms = mono;
    char when[RW_DATE_MAX] = "-";
    if (rw_engine_now(b->eng) != RW_NO_TIME)
        rw_format_date(rw_day_of_ms(rw_engine_now(b->eng)), when);
    fprintf(stderr, "%sbacktest: %llu events, %zu accounts, at %s%s", isatty(2) ? "\r" : "",
            (unsigned long long)b->events, rw_store_count(b->st), when,
            isatty(2) && !last ? "" : "\n");
}

/* One entry of the history, in replay order. */
static void feed(struct bt *b, struct rw_entry_id id, const char *data, size_t len, bool need_ts)
{
    struct rw_event ev;
    rw_json_arena_enter();
    const char *why = rw_event_parse(id, data, len, 0, false, &ev);
    rw_json_arena_leave();
    if (why == rw_event_oom_reason) {
        fputs("renewald: out of memory parsing an event\n", stderr);
        abort();
    }
    if (why || (need_ts && !ev.has_ts)) {
        b->invalid++;
        return;
    }
    if (b->o.has_to && ev.ts_ms >= b->o.to_end_ms) {
        b->beyond++;
        return;
    }
    rw_engine_advance(b->eng, ev.ts_ms);
    rw_engine_work(b->eng, SIZE_MAX);
    rw_engine_apply(b->eng, &ev, ev.ts_ms);
    b->events++;
    if ((b->events & 0xFFFF) == 0)
        progress(b, false);
}

static int replay_file(struct bt *b)
{
    FILE *f = strcmp(b->o.events, "-") == 0 ? stdin : fopen(b->o.events, "re");
    if (!f) {
        fprintf(stderr, "renewald backtest: %s: %s\n", b->o.events, strerror(errno));
        return EX_NOINPUT;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    uint64_t seq = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        size_t i = 0;
        while (i < (size_t)n && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (i == (size_t)n)
            continue; /* blank line */
        struct rw_entry_id id = {0, ++seq};
        feed(b, id, line + i, (size_t)n - i, true);
    }
    bool err = ferror(f) != 0;
    free(line);
    if (f != stdin)
        fclose(f);
    if (err) {
        fprintf(stderr, "renewald backtest: cannot read %s\n", b->o.events);
        return EX_NOINPUT;
    }
    return 0;
}

/* ---- streams, read-only ---- */

struct src_stream {
    char *key;
    char next[RW_ENTRY_ID_MAX + 1]; /* XRANGE start: "-" or "(ID" */
    bool done;
};

static redisContext *open_node(const struct rw_config *cfg, const char *address)
{
    redisContext *c;
    struct timeval tv = {10, 0};
    if (strncmp(address, "unix:", 5) == 0) {
        c = redisConnectUnixWithTimeout(address + 5, tv);
    } else {
        char host[64];
        int port;
        if (!rw_split_host_port(address, host, sizeof host, 1, &port))
            return NULL;
        c = redisConnectWithTimeout(host, port, tv);
    }
    if (!c || c->err) {
        fprintf(stderr, "renewald backtest: cannot connect to redis %s: %s\n", address,
                c ? c->errstr : "out of memory");
        redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    redisReply *r = NULL;
    if (cfg->redis_password) {
        r = cfg->redis_username
                ? redisCommand(c, "AUTH %s %s", cfg->redis_username, cfg->redis_password)
                : redisCommand(c, "AUTH %s", cfg->redis_password);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            fprintf(stderr, "renewald backtest: redis AUTH failed\n");
            freeReplyObject(r);
            redisFree(c);
            return NULL;
        }
        freeReplyObject(r);
    }
    r = redisCommand(c, "SELECT %d", cfg->redis_db);
    bool ok = r && r->type != REDIS_REPLY_ERROR;
    freeReplyObject(r);
    if (!ok) {
        fprintf(stderr, "renewald backtest: redis SELECT %d failed\n", cfg->redis_db);
        redisFree(c);
        return NULL;
    }
    return c;
}

/* [redis] address, or with cluster = true the master of the streams' slot (via the seeds). */
static redisContext *connect_redis(const struct rw_config *cfg)
{
    if (!cfg->redis_cluster)
        return open_node(cfg, cfg->redis_address);
    char *copy = rw_xstrdup(cfg->redis_address), *seeds[RW_MAX_SEEDS], master[RW_CLUSTER_ADDR_MAX];
    int n = rw_split_list(copy, seeds, RW_MAX_SEEDS), port;
    int slot = rw_cluster_key_slot(cfg->streams[0], strlen(cfg->streams[0]));
    redisContext *c = NULL;
    for (int i = 0; i < n && !c; i++) {
        char host[64];
        redisContext *seed = rw_split_host_port(seeds[i], host, sizeof host, 1, &port)
                                 ? open_node(cfg, seeds[i])
                                 : NULL;
        if (seed && rw_cluster_master_sync(seed, host, slot, master))
            c = open_node(cfg, master);
        redisFree(seed);
    }
    if (!c)
        fprintf(stderr, "renewald backtest: no seed node named the master of slot %d\n", slot);
    free(copy);
    return c;
}

/* The `event` field of one XRANGE item [id, [f, v, ...]], NULL when none. */
static const redisReply *event_field(const redisReply *fields)
{
    if (fields->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (size_t j = 0; j + 1 < fields->elements; j += 2) {
        const redisReply *f = fields->element[j], *v = fields->element[j + 1];
        if (f->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING && f->len == 5 &&
            memcmp(f->str, "event", 5) == 0)
            return v;
    }
    return NULL;
}

/* The merge key of an entry: its event time when it has one. */
static int64_t entry_key(struct rw_entry_id id, const char *raw, size_t len, int nstreams)
{
    if (nstreams == 1 || !raw)
        return RW_MERGE_FIRST;
    struct rw_event ev;
    rw_json_arena_enter();
    const char *why = rw_event_parse(id, raw, len, 0, false, &ev);
    rw_json_arena_leave();
    return why ? RW_MERGE_FIRST : ev.ts_ms;
}

/* Reads the next slice of stream S into the merge; false on a Redis error. */
static bool fill(redisContext *c, struct rw_merge *m, struct src_stream *ss, int s, int nstreams)
{
    redisReply *r = redisCommand(c, "XRANGE %s %s + COUNT " XRANGE_STEP, ss->key, ss->next);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        fprintf(stderr, "renewald backtest: XRANGE %s failed: %s\n", ss->key,
                r && r->type == REDIS_REPLY_ERROR ? r->str : c->errstr);
        freeReplyObject(r);
        return false;
    }
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *it = r->element[i];
        if (it->type != REDIS_REPLY_ARRAY || it->elements != 2 ||
            it->element[0]->type != REDIS_REPLY_STRING || it->element[0]->len >= RW_ENTRY_ID_MAX)
            continue;
        const redisReply *idr = it->element[0];
        struct rw_entry_id id = {0, 0};
        bool bad = !rw_parse_entry_id(idr->str, idr->len, &id);
        const redisReply *v = event_field(it->element[1]);
        const char *raw = v ? v->str : NULL;
        size_t rl = v ? v->len : 0;
        rw_merge_push(m, s, id, bad, idr->str, idr->len, raw, rl, entry_key(id, raw, rl, nstreams),
                      0);
        snprintf(ss->next, sizeof ss->next, "(%.*s", (int)idr->len, idr->str);
    }
    ss->done = r->elements < (size_t)XRANGE_COUNT;
    /* A read-only replay of what the streams hold now: none of them grows. */
    rw_merge_set_drained(m, s, ss->done, RW_MERGE_FINAL);
    freeReplyObject(r);
    return true;
}

static int replay_streams(struct bt *b)
{
    redisContext *c = connect_redis(b->cfg);
    if (!c)
        return EX_NOINPUT;
    char *list = rw_xstrdup(b->o.streams);
    char *items[RW_MAX_STREAMS];
    int n = rw_split_list(list, items, RW_MAX_STREAMS);
    if (n <= 0) {
        fprintf(stderr, "renewald backtest: --stream needs 1 to %d stream keys\n", RW_MAX_STREAMS);
        free(list);
        redisFree(c);
        return EX_USAGE;
    }
    struct src_stream ss[RW_MAX_STREAMS];
    struct rw_merge *m = rw_merge_new(n);
    for (int s = 0; s < n; s++) {
        ss[s].key = items[s];
        strcpy(ss[s].next, "-");
        ss[s].done = false;
    }
    int rc = 0;
    for (;;) {
        struct rw_merge_item *it = rw_merge_peek(m);
        if (!it) {
            int s = 0;
            while (s < n && (ss[s].done || rw_merge_queued(m, s) > 0))
                s++;
            if (s == n)
                break; /* every stream read to its end and taken */
            if (!fill(c, m, &ss[s], s, n)) {
                rc = EX_NOINPUT;
                break;
            }
            continue;
        }
        if (it->bad_id || !it->raw)
            b->invalid++;
        else
            feed(b, it->id, it->raw, it->raw_len, false);
        rw_merge_pop(m);
    }
    rw_merge_free(m);
    free(list);
    redisFree(c);
    return rc;
}

/* ---- labels and the report ---- */

/* The next CSV field of *P (double quotes allowed), into a heap string; NULL at the line end. */
static char *csv_field(const char **p)
{
    const char *s = *p;
    if (*s == '\0')
        return NULL;
    struct rw_jsonw w; /* used as a plain growable buffer */
    rw_jsonw_init(&w);
    if (*s == '"') {
        s++;
        while (*s && !(*s == '"' && s[1] != '"')) {
            if (*s == '"')
                s++;
            rw_jsonw_raw(&w, s++, 1);
        }
        if (*s == '"')
            s++;
    } else {
        const char *e = strchr(s, ',');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        rw_jsonw_raw(&w, s, n);
        s += n;
    }
    if (*s == ',')
        s++;
    *p = s;
    return rw_jsonw_take(&w, NULL);
}

static int read_labels(struct bt *b)
{
    FILE *f = fopen(b->o.labels, "re");
    if (!f) {
        fprintf(stderr, "renewald backtest: %s: %s\n", b->o.labels, strerror(errno));
        return EX_NOINPUT;
    }
    char *line = NULL;
    size_t cap = 0, cap_labels = 0;
    ssize_t n;
    int lineno = 0, rc = 0;
    while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0)
            continue;
        const char *p = line;
        char *acct = csv_field(&p), *outcome = csv_field(&p), *date = csv_field(&p);
        int32_t day;
        if (lineno == 1 && acct && strcmp(acct, "account") == 0) {
            /* a header */
        } else if (!acct || !outcome || !date || !*acct ||
                   (strcmp(outcome, "churned") != 0 && strcmp(outcome, "renewed") != 0) ||
                   !rw_parse_date(date, strlen(date), &day)) {
            fprintf(stderr,
                    "%s:%d: expected account,outcome,date with outcome churned or renewed "
                    "and date YYYY-MM-DD\n",
                    b->o.labels, lineno);
            rc = EX_DATAERR;
        } else {
            if (b->nlabels == cap_labels) {
                cap_labels = cap_labels ? cap_labels * 2 : 256;
                b->labels = rw_xrealloc(b->labels, cap_labels * sizeof(*b->labels));
            }
            b->labels[b->nlabels++] = (struct label){
                rw_xstrdup(acct), strcmp(outcome, "churned") == 0, (int64_t)day * RW_MS_PER_DAY};
        }
        free(acct);
        free(outcome);
        free(date);
    }
    free(line);
    fclose(f);
    return rc;
}

static int dbl_cmp(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

struct report {
    uint64_t total, max;
    double mean;
    size_t churned, churned_alerted, lead_ge_60, renewed, renewed_at_risk, renewed_alerted;
    double median_lead;
    bool has_median;
};

static const struct acct_stat *label_stat(struct bt *b, const struct label *l)
{
    const struct rw_account *a = rw_store_find(b->st, l->account, strlen(l->account));
    return a ? stat_of(b, a->ordinal) : NULL;
}

static void compute(struct bt *b, struct report *r)
{
    memset(r, 0, sizeof(*r));
    for (int k = 0; k < RW_ALERT_KIND_COUNT; k++)
        r->total += b->by_kind[k];
    size_t naccounts = rw_store_count(b->st);
    for (uint32_t o = 0; o < rw_store_ordinal_end(b->st); o++)
        if (rw_store_by_ordinal(b->st, o) && stat_of(b, o)->alerts > r->max)
            r->max = stat_of(b, o)->alerts;
    r->mean = naccounts ? (double)r->total / (double)naccounts : 0.0;
    double *leads = rw_xcalloc(b->nlabels + 1, sizeof(double));
    size_t nleads = 0;
    for (size_t i = 0; i < b->nlabels; i++) {
        const struct label *l = &b->labels[i];
        const struct acct_stat *s = label_stat(b, l);
        if (l->churned) {
            r->churned++;
            /* The first alert is the earliest: if it is not before the date, none is. */
            if (s && s->first_warn_ms != RW_NO_TIME && s->first_warn_ms < l->date_ms) {
                double lead = (double)(l->date_ms - s->first_warn_ms) / (double)RW_MS_PER_DAY;
                r->churned_alerted++;
                leads[nleads++] = lead;
                if (lead >= 60.0)
                    r->lead_ge_60++;
            }
        } else {
            r->renewed++;
            if (s && s->ever_at_risk)
                r->renewed_at_risk++;
            if (s && s->any_band_alert)
                r->renewed_alerted++;
        }
    }
    if (nleads) {
        qsort(leads, nleads, sizeof(double), dbl_cmp);
        r->median_lead =
            nleads % 2 ? leads[nleads / 2] : (leads[nleads / 2 - 1] + leads[nleads / 2]) / 2.0;
        r->has_median = true;
    }
    free(leads);
}

static double share(size_t part, size_t whole)
{
    return whole ? (double)part / (double)whole : 0.0;
}

static void print_json(struct bt *b, const struct report *r)
{
    struct rw_jsonw w;
    rw_jsonw_init(&w);
    rw_jsonw_obj_open(&w);
    rw_jsonw_key(&w, "events");
    rw_jsonw_int(&w, (int64_t)b->events);
    rw_jsonw_key(&w, "accounts");
    rw_jsonw_int(&w, (int64_t)rw_store_count(b->st));
    rw_jsonw_key(&w, "alerts");
    rw_jsonw_obj_open(&w);
    rw_jsonw_key(&w, "total");
    rw_jsonw_int(&w, (int64_t)r->total);
    rw_jsonw_key(&w, "by_kind");
    rw_jsonw_obj_open(&w);
    for (int k = 0; k < RW_ALERT_KIND_COUNT; k++) {
        rw_jsonw_key(&w, rw_alert_kind_name((enum rw_alert_kind)k));
        rw_jsonw_int(&w, (int64_t)b->by_kind[k]);
    }
    rw_jsonw_obj_close(&w);
    rw_jsonw_key(&w, "by_band");
    rw_jsonw_obj_open(&w);
    for (int band = RW_BAND_HEALTHY; band < RW_BAND_COUNT; band++) {
        if (band == RW_BAND_HEALTHY && b->by_band[band] == 0)
            continue;
        rw_jsonw_key(&w, rw_band_name((enum rw_band)band));
        rw_jsonw_int(&w, (int64_t)b->by_band[band]);
    }
    rw_jsonw_obj_close(&w);
    rw_jsonw_key(&w, "per_account");
    rw_jsonw_obj_open(&w);
    rw_jsonw_key(&w, "max");
    rw_jsonw_int(&w, (int64_t)r->max);
    rw_jsonw_key(&w, "mean");
    rw_jsonw_num(&w, r->mean);
    rw_jsonw_obj_close(&w);
    rw_jsonw_obj_close(&w);
    if (b->o.labels) {
        rw_jsonw_key(&w, "churned");
        rw_jsonw_obj_open(&w);
        rw_jsonw_key(&w, "accounts");
        rw_jsonw_int(&w, (int64_t)r->churned);
        rw_jsonw_key(&w, "alerted_share");
        rw_jsonw_num(&w, share(r->churned_alerted, r->churned));
        rw_jsonw_key(&w, "lead_days");
        rw_jsonw_obj_open(&w);
        rw_jsonw_key(&w, "median");
        if (r->has_median)
            rw_jsonw_num(&w, r->median_lead);
        else
            rw_jsonw_null(&w);
        rw_jsonw_key(&w, "share_ge_60");
        rw_jsonw_num(&w, share(r->lead_ge_60, r->churned));
        rw_jsonw_obj_close(&w);
        rw_jsonw_obj_close(&w);
        rw_jsonw_key(&w, "renewed");
        rw_jsonw_obj_open(&w);
        rw_jsonw_key(&w, "accounts");
        rw_jsonw_int(&w, (int64_t)r->renewed);
        rw_jsonw_key(&w, "ever_at_risk_share");
        rw_jsonw_num(&w, share(r->renewed_at_risk, r->renewed));
        rw_jsonw_key(&w, "any_band_alert_share");
        rw_jsonw_num(&w, share(r->renewed_alerted, r->renewed));
        rw_jsonw_obj_close(&w);
    }
    rw_jsonw_obj_close(&w);
    puts(w.buf);
    rw_jsonw_free(&w);
}

static void print_text(struct bt *b, const struct report *r)
{
    printf("renewald backtest of %s\n\n", b->o.config);
    printf("  %-34s %12llu\n", "events replayed", (unsigned long long)b->events);
    if (b->invalid)
        printf("  %-34s %12llu\n", "entries skipped (invalid)", (unsigned long long)b->invalid);
    if (b->beyond)
        printf("  %-34s %12llu\n", "events after --to", (unsigned long long)b->beyond);
    printf("  %-34s %12zu\n\n", "accounts", rw_store_count(b->st));
    printf("  %-34s %12llu\n", "alerts", (unsigned long long)r->total);
    for (int k = 0; k < RW_ALERT_KIND_COUNT; k++)
        printf("    %-32s %12llu\n", rw_alert_kind_name((enum rw_alert_kind)k),
               (unsigned long long)b->by_kind[k]);
    for (int band = RW_BAND_HEALTHY; band < RW_BAND_COUNT; band++)
        if (band != RW_BAND_HEALTHY || b->by_band[band])
            printf("    band_change to %-17s %12llu\n", rw_band_name((enum rw_band)band),
                   (unsigned long long)b->by_band[band]);
    printf("  %-34s %12llu\n", "alerts per account, max", (unsigned long long)r->max);
    printf("  %-34s %12.2f\n", "alerts per account, mean", r->mean);
    if (!b->o.labels)
        return;
    printf("\n  churned accounts %zu\n", r->churned);
    printf("    %-32s %11.1f%%\n", "alerted (watch or worse) before",
           100.0 * share(r->churned_alerted, r->churned));
    if (r->has_median)
        printf("    %-32s %12.1f\n", "lead time, median days", r->median_lead);
    else
        printf("    %-32s %12s\n", "lead time, median days", "-");
    printf("    %-32s %11.1f%%\n", "alerted >= 60 days before",
           100.0 * share(r->lead_ge_60, r->churned));
    printf("  renewed accounts %zu\n", r->renewed);
    printf("    %-32s %11.1f%%\n", "ever at_risk", 100.0 * share(r->renewed_at_risk, r->renewed));
    printf("    %-32s %11.1f%%\n", "any band alert", 100.0 * share(r->renewed_alerted, r->renewed));
}

static void usage(FILE *f)
{
    fputs("usage: renewald backtest -c FILE (--events FILE.jsonl | --stream KEY[,KEY...])\n"
          "                         [--labels FILE.csv] [--from DATE] [--to DATE]\n"
          "                         [--out ALERTS.jsonl] [--json]\n"
          "\n"
          "Replays history through the scoring and alert rules of FILE under clock = event,\n"
          "in memory, and reports the alerts it would have created.  --events reads one\n"
          "event JSON object per line (ts required; - for stdin); --stream reads streams\n"
          "by XRANGE from [redis] address (read-only).  --from DATE reports alerts from\n"
          "00:00 UTC of DATE (earlier history still builds the state); --to DATE ignores\n"
          "events after DATE.  --labels: CSV account,outcome,date (churned|renewed).\n",
          f);
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'}, {"events", required_argument, NULL, 'e'},
        {"stream", required_argument, NULL, 's'}, {"labels", required_argument, NULL, 'l'},
        {"from", required_argument, NULL, 'f'},   {"to", required_argument, NULL, 't'},
        {"out", required_argument, NULL, 'o'},    {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof(*o));
    int opt;
    int32_t day;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:h", options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            o->config = optarg;
            break;
        case 'e':
            o->events = optarg;
            break;
        case 's':
            o->streams = optarg;
            break;
        case 'l':
            o->labels = optarg;
            break;
        case 'o':
            o->out = optarg;
            break;
        case 'j':
            o->json = true;
            break;
        case 'f':
        case 't':
            if (!rw_parse_date(optarg, strlen(optarg), &day)) {
                fprintf(stderr, "renewald backtest: --%s needs a date YYYY-MM-DD\n",
                        opt == 'f' ? "from" : "to");
                return EX_USAGE;
            }
            if (opt == 'f') {
                o->has_from = true;
                o->from_ms = (int64_t)day * RW_MS_PER_DAY;
            } else {
                o->has_to = true;
                o->to_end_ms = ((int64_t)day + 1) * RW_MS_PER_DAY;
            }
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            usage(stderr);
            return EX_USAGE;
        }
    }
    if (optind < argc || !o->config || !o->events == !o->streams) {
        if (optind < argc)
            fprintf(stderr, "renewald backtest: unexpected argument '%s'\n", argv[optind]);
        else
            fprintf(stderr, "renewald backtest: needs -c FILE and one of --events or --stream\n");
        usage(stderr);
        return EX_USAGE;
    }
    return 0;
}

static int run(struct bt *b)
{
    int rc = b->o.labels ? read_labels(b) : 0;
    if (rc)
        return rc;
    if (b->o.out) {
        b->out = fopen(b->o.out, "we");
        if (!b->out) {
            fprintf(stderr, "renewald backtest: %s: %s\n", b->o.out, strerror(errno));
            return 73; /* EX_CANTCREAT */
        }
    }
    b->sc = rw_scorer_new(b->cfg);
    b->st = rw_store_new(rw_scorer_nslots(b->sc));
    struct rw_engine_hooks hooks = {.alert = on_alert, .band = on_band};
    b->eng = rw_engine_new(b->cfg, b->sc, b->st, &hooks, b);
    b->started_mono_ms = rw_mono_ms();
    rc = b->o.events ? replay_file(b) : replay_streams(b);
    rw_engine_work(b->eng, SIZE_MAX);
    progress(b, true);
    if (b->out && fclose(b->out) != 0) {
        fprintf(stderr, "renewald backtest: cannot write %s\n", b->o.out);
        rc = rc ? rc : 74; /* EX_IOERR */
    }
    b->out = NULL;
    if (rc)
        return rc;
    if (b->invalid)
        fprintf(stderr, "renewald backtest: skipped %llu invalid entries\n",
                (unsigned long long)b->invalid);
    struct report r;
    compute(b, &r);
    if (b->o.json)
        print_json(b, &r);
    else
        print_text(b, &r);
    return 0;
}

int rw_backtest_main(int argc, char **argv)
{
    struct bt b;
    memset(&b, 0, sizeof(b));
    int rc = parse_opts(argc, argv, &b.o);
    if (rc)
        return rc < 0 ? 0 : rc;
    struct rw_diag diag = {0};
    b.cfg = rw_config_load(b.o.config, &diag);
    if (!b.cfg) {
        for (int i = 0; i < diag.n; i++)
            fprintf(stderr, "%s\n", diag.msgs[i]);
        rw_diag_free(&diag);
        return EX_CONFIG;
    }
    rw_diag_free(&diag);
    rc = run(&b);
    rw_engine_free(b.eng);
    rw_store_free(b.st);
    rw_scorer_free(b.sc);
    rw_config_free(b.cfg);
    for (size_t i = 0; i < b.nlabels; i++)
        free(b.labels[i].account);
    free(b.labels);
    free(b.stat);
    return rc;
}
