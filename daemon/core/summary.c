/* summary.c - accounts and ARR by band and by renewal month, the months a slice at a time. */
#include "renewald/core/summary.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renewald/core/parse.h"
#include "renewald/core/timeutil.h"

#define MAX_MONTHS (RW_SUMMARY_MAX_DAYS / 28 + 2)

struct month {
    size_t accounts[RW_BAND_COUNT];
    __int128 cents[RW_BAND_COUNT];
};

struct rw_summary {
    int64_t now_ms;
    int within_days;
    int32_t today;
    int first_year, first_month; /* the calendar month of today: months[0] */
    uint64_t cursor;             /* rw_store_walk's */
    bool done;
    uint8_t month_of[RW_SUMMARY_MAX_DAYS + 1]; /* days after today -> index in months */
    struct month months[MAX_MONTHS];
};

static bool parse_cb(void *arg, const char *key, char *val, char *err, size_t errcap)
{
    int64_t v;
    if (strcmp(key, "within_days") != 0) {
        snprintf(err, errcap, "unknown parameter '%.32s'", key);
        return false;
    }
    if (!rw_parse_int64(val, 0, RW_SUMMARY_MAX_DAYS, &v)) {
        snprintf(err, errcap, "within_days must be an integer 0..%d", RW_SUMMARY_MAX_DAYS);
        return false;
    }
    *(int *)arg = (int)v;
    return true;
}

bool rw_summary_parse(const char *query, int *within_days, char *err, size_t errcap)
{
    int days = RW_SUMMARY_DEFAULT_DAYS;
    if (!rw_query_each(query, parse_cb, &days, err, errcap))
        return false;
    *within_days = days;
    return true;
}

/* The year and month (1..12) of a day number (days since 1970-01-01, proleptic Gregorian). */
static void year_month(int32_t day, int *y, int *m)
{
    int64_t z = (int64_t)day + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t mo = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yoe + era * 400 + (mo <= 2));
    *m = (int)mo;
}

struct rw_summary *rw_summary_begin(int within_days, int64_t now_ms)
{
    struct rw_summary *s = rw_xcalloc(1, sizeof(*s));
    s->now_ms = now_ms;
    s->within_days = within_days < 0                     ? 0
                     : within_days > RW_SUMMARY_MAX_DAYS ? RW_SUMMARY_MAX_DAYS
                                                         : within_days;
    s->today = rw_day_of_ms(now_ms);
    year_month(s->today, &s->first_year, &s->first_month);
    for (int d = 0; d <= s->within_days; d++) {
        int y, m;
        year_month(s->today + d, &y, &m);
        s->month_of[d] = (uint8_t)((y - s->first_year) * 12 + (m - s->first_month));
    }
    return s;
}

void rw_summary_free(struct rw_summary *s)
{
    free(s);
}

bool rw_summary_step(struct rw_summary *s, const struct rw_store *st, size_t budget)
{
    for (size_t k = 0; k < budget; k++) {
        /* In memory order: the sums do not depend on it, and a sequential walk
         * is several times faster than one by ordinal. */
        const struct rw_account *a = rw_store_walk(st, &s->cursor);
        if (!a) {
            s->done = true;
            break;
        }
        if (a->renewal_day == RW_NO_DAY)
            continue;
        int64_t d = (int64_t)a->renewal_day - s->today;
        if (d < 0 || d > s->within_days)
            continue;
        int idx = s->month_of[d];
        if (idx >= MAX_MONTHS)
            continue; /* cannot happen: within_days bounds the months */
        s->months[idx].accounts[a->band]++;
        s->months[idx].cents[a->band] += rw_arr_cents(a->arr);
    }
    return s->done;
}

void rw_format_cents(__int128 cents, char buf[RW_CENTS_MAX])
{
    char digits[RW_CENTS_MAX];
    int n = 0;
    bool neg = cents < 0;
    unsigned __int128 v = neg ? (unsigned __int128)(-(cents + 1)) + 1 : (unsigned __int128)cents;
    do {
        digits[n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v > 0 && n < RW_CENTS_MAX - 8);
    while (n < 3)
        digits[n++] = '0'; /* at least "0.0x" */
    int k = 0;
    if (neg)
        buf[k++] = '-';
    for (int i = n - 1; i >= 2; i--)
        buf[k++] = digits[i];
    if (digits[1] != '0' || digits[0] != '0') {
        buf[k++] = '.';
        buf[k++] = digits[1];
        if (digits[0] != '0')
            buf[k++] = digits[0];
    }
    buf[k] = '\0';
}

static void cents_value(struct rw_jsonw *w, __int128 cents)
{
    char buf[RW_CENTS_MAX];
    rw_format_cents(cents, buf);
    rw_jsonw_raw(w, buf, strlen(buf));
}

static void by_band(struct rw_jsonw *w, const size_t *accounts, const __int128 *cents)
{
    rw_jsonw_key(w, "accounts");
    rw_jsonw_obj_open(w);
    for (int b = 0; b < RW_BAND_COUNT; b++) {
        rw_jsonw_key(w, rw_band_name((enum rw_band)b));
        rw_jsonw_int(w, (int64_t)accounts[b]);
    }
    rw_jsonw_obj_close(w);
    rw_jsonw_key(w, "arr");
    rw_jsonw_obj_open(w);
    for (int b = 0; b < RW_BAND_COUNT; b++) {
        rw_jsonw_key(w, rw_band_name((enum rw_band)b));
        cents_value(w, cents[b]);
    }
    rw_jsonw_obj_close(w);
}

void rw_summary_render(const struct rw_summary *s, const struct rw_store *st, struct rw_jsonw *w)
{
    size_t accounts[RW_BAND_COUNT];
    __int128 cents[RW_BAND_COUNT];
    for (int b = 0; b < RW_BAND_COUNT; b++) {
        accounts[b] = rw_store_band_count(st, b);
        cents[b] = rw_store_band_arr_cents(st, b);
    }
    rw_jsonw_obj_open(w);
    rw_jsonw_key(w, "as_of");
    rw_jsonw_time(w, s->now_ms);
    rw_jsonw_key(w, "within_days");
    rw_jsonw_int(w, s->within_days);
    by_band(w, accounts, cents);
    rw_jsonw_key(w, "renewals");
    rw_jsonw_arr_open(w);
    for (int i = 0; i < MAX_MONTHS; i++) {
        const struct month *m = &s->months[i];
        size_t n = 0;
        for (int b = 0; b < RW_BAND_COUNT; b++)
            n += m->accounts[b];
        if (n == 0)
            continue;
        int y = s->first_year + (s->first_month - 1 + i) / 12;
        int mo = (s->first_month - 1 + i) % 12 + 1;
        char label[16];
        snprintf(label, sizeof label, "%04d-%02d", y, mo);
        rw_jsonw_elem(w);
        rw_jsonw_obj_open(w);
        rw_jsonw_key(w, "month");
        rw_jsonw_str(w, label);
        by_band(w, m->accounts, m->cents);
        rw_jsonw_obj_close(w);
    }
    rw_jsonw_arr_close(w);
    rw_jsonw_obj_close(w);
}
