/* worklist.c - filter, sort, page and total the accounts, a slice at a time. */
#include "renewald/core/worklist.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renewald/core/parse.h"
#include "renewald/core/score.h"
#include "renewald/core/timeutil.h"

#define DEFAULT_LIMIT 100

void rw_worklist_query_free(struct rw_worklist_query *q)
{
    free(q->owner);
    free(q->tier);
    q->owner = q->tier = NULL;
}

static bool parse_one(struct rw_worklist_query *q, const char *key, char *val, char *err,
                      size_t errcap)
{
    int64_t v;
    if (strcmp(key, "band") == 0) {
        char *items[RW_BAND_COUNT + 1];
        int n = rw_split_list(val, items, RW_BAND_COUNT);
        if (n <= 0) {
            snprintf(err, errcap, "band must be a comma-separated list of bands");
            return false;
        }
        for (int i = 0; i < n; i++) {
            enum rw_band b;
            if (!rw_band_parse(items[i], &b)) {
                snprintf(err, errcap, "unknown band '%.32s'", items[i]);
                return false;
            }
            q->bands |= 1u << b;
        }
    } else if (strcmp(key, "within_days") == 0) {
        if (!rw_parse_int64(val, 0, 36500, &v)) {
            snprintf(err, errcap, "within_days must be an integer 0..36500");
            return false;
        }
        q->within_days = (int)v;
    } else if (strcmp(key, "limit") == 0) {
        if (!rw_parse_int64(val, 1, RW_WORKLIST_MAX, &v)) {
            snprintf(err, errcap, "limit must be an integer 1..%d", RW_WORKLIST_MAX);
            return false;
        }
        q->limit = (size_t)v;
    } else if (strcmp(key, "offset") == 0) {
        if (!rw_parse_int64(val, 0, 100000000, &v)) {
            snprintf(err, errcap, "offset must be an integer 0..100000000");
            return false;
        }
        q->offset = (size_t)v;
    } else if (strcmp(key, "owner") == 0 || strcmp(key, "tier") == 0) {
        char **dst = key[0] == 'o' ? &q->owner : &q->tier;
        free(*dst);
        *dst = rw_xstrdup(val);
    } else if (strcmp(key, "min_arr") == 0) {
        double d;
        if (!rw_parse_double(val, &d) || d < 0) {
            snprintf(err, errcap, "min_arr must be a number >= 0");
            return false;
        }
        q->has_min_arr = true;
        q->min_arr = d;
    } else if (strcmp(key, "snoozed") == 0) {
        bool b;
        if (strcmp(val, "true") != 0 && strcmp(val, "false") != 0) {
            snprintf(err, errcap, "snoozed must be true or false");
            return false;
        }
        b = strcmp(val, "true") == 0;
        q->snoozed = b ? 1 : 0;
    } else if (strcmp(key, "sort") == 0) {
        static const char *const names[] = {"score", "days_to_renewal", "arr", "delta_7d"};
        int found = -1;
        for (int i = 0; i < 4; i++)
            if (strcmp(val, names[i]) == 0)
                found = i;
        if (found < 0) {
            snprintf(err, errcap, "sort must be score, days_to_renewal, arr or delta_7d");
            return false;
        }
        q->sort = (enum rw_worklist_sort)found;
    } else {
        snprintf(err, errcap, "unknown parameter '%.32s'", key);
        return false;
    }
    return true;
}

static bool parse_cb(void *arg, const char *key, char *val, char *err, size_t errcap)
{
    return parse_one(arg, key, val, err, errcap);
}

bool rw_worklist_parse(const char *query, struct rw_worklist_query *q, char *err, size_t errcap)
{
    memset(q, 0, sizeof(*q));
    q->within_days = -1;
    q->limit = DEFAULT_LIMIT;
    q->snoozed = -1;
    q->sort = RW_SORT_SCORE;
    if (!rw_query_each(query, parse_cb, q, err, errcap)) {
        rw_worklist_query_free(q);
        return false;
    }
    return true;
}

bool rw_worklist_delta(const struct rw_history *h, const struct rw_account *a, int64_t now_ms,
                       int days, int *delta)
{
    if (!h)
        return false;
    int32_t today = rw_day_of_ms(now_ms);
    int t0 = rw_history_tenths_at(h, today, a->ordinal);
    int t1 = rw_history_tenths_at(h, today - days, a->ordinal);
    if (t0 < 0 || t1 < 0)
        return false;
    *delta = t0 - t1;
    return true;
}

/* One candidate with its sort key computed once. */
struct cand {
    struct rw_account *a;
    bool has_key;
    double key;   /* ascending */
    double score; /* tie-breaks: lower score, then higher ARR, then id */
    double arr;
};

struct rw_worklist {
    struct rw_worklist_query q;
    int64_t now_ms;
    uint64_t cursor; /* rw_store_walk's */
    size_t total;
    double arr_total;
    struct cand *heap; /* max-heap of the best KEEP by the order (worst on top) */
    size_t n, keep;
    struct rw_account **page;
    size_t npage;
    bool done;
};

static int cand_cmp(const struct cand *x, const struct cand *y)
{
    if (x->has_key != y->has_key)
        return x->has_key ? -1 : 1;
    if (x->has_key && x->key != y->key)
        return x->key < y->key ? -1 : 1;
    bool xs = !isnan(x->score), ys = !isnan(y->score);
    if (xs != ys)
        return xs ? -1 : 1;
    if (xs && x->score != y->score)
        return x->score < y->score ? -1 : 1;
    bool xa = !isnan(x->arr), ya = !isnan(y->arr);
    if (xa != ya)
        return xa ? -1 : 1;
    if (xa && x->arr != y->arr)
        return x->arr > y->arr ? -1 : 1;
    const struct rw_account *a = x->a, *b = y->a;
    size_t n = a->id_len < b->id_len ? a->id_len : b->id_len;
    int c = memcmp(a->id, b->id, n);
    if (c)
        return c;
    return (a->id_len > b->id_len) - (a->id_len < b->id_len);
}

static void sift_up(struct cand *h, size_t i)
{
    while (i > 0 && cand_cmp(&h[(i - 1) / 2], &h[i]) < 0) {
        struct cand t = h[i];
        h[i] = h[(i - 1) / 2];
        h[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

static void sift_down(struct cand *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && cand_cmp(&h[l], &h[m]) > 0)
            m = l;
        if (r < n && cand_cmp(&h[r], &h[m]) > 0)
            m = r;
        if (m == i)
            return;
        struct cand t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

struct rw_worklist *rw_worklist_begin(struct rw_worklist_query *q, int64_t now_ms)
{
    struct rw_worklist *w = rw_xcalloc(1, sizeof(*w));
    w->q = *q;
    memset(q, 0, sizeof(*q));
    w->now_ms = now_ms;
    w->keep = w->q.offset + w->q.limit;
    return w;
}

void rw_worklist_free(struct rw_worklist *w)
{
    if (!w)
        return;
    rw_worklist_query_free(&w->q);
    free(w->heap);
    free(w->page);
    free(w);
}

static bool matches(const struct rw_worklist *w, const struct rw_store *st,
                    const struct rw_account *a)
{
    const struct rw_worklist_query *q = &w->q;
    if (q->bands && !(q->bands & (1u << (a->band & 31))))
        return false;
    if (q->within_days >= 0) {
        int32_t d = rw_account_days_to_renewal(a, w->now_ms);
        if (d == INT32_MIN || d < 0 || d > q->within_days)
            return false;
    }
    if (q->owner && (!a->owner || strcmp(a->owner, q->owner) != 0))
        return false;
    if (q->tier && (!a->tier || strcmp(a->tier, q->tier) != 0))
        return false;
    if (q->has_min_arr && !(a->arr >= q->min_arr))
        return false;
    if (q->snoozed >= 0) {
        int64_t until = rw_store_snoozed_until(st, a);
        bool snoozed = until != RW_NO_TIME && until > w->now_ms;
        if (snoozed != (q->snoozed == 1))
            return false;
    }
    return true;
}

static void candidate(const struct rw_worklist *w, const struct rw_history *h, struct rw_account *a,
                      struct cand *c)
{
    c->a = a;
    c->score = isnan(a->score) ? NAN : (double)rw_score_tenths(a->score);
    c->arr = a->arr;
    c->has_key = true;
    switch (w->q.sort) {
    case RW_SORT_SCORE:
        c->has_key = !isnan(c->score);
        c->key = c->score;
        break;
    case RW_SORT_DAYS_TO_RENEWAL: {
        int32_t d = rw_account_days_to_renewal(a, w->now_ms);
        c->has_key = d != INT32_MIN;
        c->key = d;
        break;
    }
    case RW_SORT_ARR:
        c->has_key = !isnan(a->arr);
        c->key = -a->arr;
        break;
    case RW_SORT_DELTA_7D: {
        int delta = 0;
        c->has_key = rw_worklist_delta(h, a, w->now_ms, 7, &delta);
        c->key = delta;
        break;
    }
    }
}

bool rw_worklist_step(struct rw_worklist *w, const struct rw_store *st, const struct rw_history *h,
                      size_t budget)
{
    if (w->done)
        return true;
    bool end = false;
    for (size_t k = 0; k < budget; k++) {
        /* In memory order: the order comes from the sort (ties end on the id),
         * and a sequential walk is several times faster than one by ordinal. */
        struct rw_account *a = rw_store_walk(st, &w->cursor);
        if (!a) {
            end = true;
            break;
        }
        if (!matches(w, st, a))
            continue;
        w->total++;
        if (!isnan(a->arr))
            w->arr_total += a->arr;
        struct cand c;
        candidate(w, h, a, &c);
        if (w->n < w->keep) {
            if (w->n % 256 == 0)
                w->heap = rw_xrealloc(w->heap, (w->n + 256) * sizeof(*w->heap));
            w->heap[w->n] = c;
            sift_up(w->heap, w->n++);
        } else if (w->keep > 0 && cand_cmp(&c, &w->heap[0]) < 0) {
            w->heap[0] = c;
            sift_down(w->heap, w->n, 0);
        }
    }
    if (!end)
        return false;
    /* Heap-sort the kept candidates into order, then cut the page. */
    size_t n = w->n;
    while (n > 1) {
        struct cand t = w->heap[0];
        w->heap[0] = w->heap[n - 1];
        w->heap[n - 1] = t;
        sift_down(w->heap, --n, 0);
    }
    size_t from = w->q.offset < w->n ? w->q.offset : w->n;
    w->npage = w->n - from;
    w->page = rw_xcalloc(w->npage + 1, sizeof(*w->page));
    for (size_t i = 0; i < w->npage; i++)
        w->page[i] = w->heap[from + i].a;
    w->done = true;
    return true;
}

struct rw_account *const *rw_worklist_page(struct rw_worklist *w, size_t *n)
{
    *n = w->npage;
    return w->page;
}

size_t rw_worklist_total(const struct rw_worklist *w)
{
    return w->total;
}

double rw_worklist_arr_total(const struct rw_worklist *w)
{
    return w->arr_total;
}

int64_t rw_worklist_now(const struct rw_worklist *w)
{
    return w->now_ms;
}
