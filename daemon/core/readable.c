/* readable.c - numbers, units, money, changes and names for people. */
#include "renewald/core/readable.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Drops trailing zeros after a decimal point ("0.020" -> "0.02", "3.0" -> "3"). */
static void trim_zeros(char *s)
{
    char *dot = strchr(s, '.');
    if (!dot)
        return;
    char *e = s + strlen(s);
    while (e > dot + 1 && e[-1] == '0')
        *--e = '\0';
    if (e == dot + 1)
        *dot = '\0';
}

void rw_readable_number(double x, char *buf, size_t n)
{
    if (!isfinite(x)) {
        snprintf(buf, n, "n/a");
        return;
    }
    double ax = fabs(x);
    if (ax < 5e-7) {
        snprintf(buf, n, "0");
        return;
    }
    /* Decimals for two significant digits, at most six, none at 10 and above. */
    int decimals = 1 - (int)floor(log10(ax));
    if (decimals < 0)
        decimals = 0;
    if (decimals > 6)
        decimals = 6;
    snprintf(buf, n, "%.*f", decimals, x);
    trim_zeros(buf);
    if (strcmp(buf, "-0") == 0)
        snprintf(buf, n, "0");
}

void rw_readable_signal(const struct rw_signal_conf *c, bool present, double x, char *buf, size_t n)
{
    char num[RW_READABLE_MAX];
    if (!present) {
        snprintf(buf, n, "%s", "");
        return;
    }
    rw_readable_number(x, num, sizeof num);
    switch (c->aggregate) {
    case RW_AGG_RATE:
        snprintf(buf, n, "%s per %s", num, c->normalize_seats ? "seat/day" : "day");
        return;
    case RW_AGG_MEAN:
        snprintf(buf, n, "%s avg", num);
        return;
    case RW_AGG_TREND: {
        char days[RW_READABLE_MAX];
        rw_readable_number((double)c->baseline_ms / (double)RW_MS_PER_DAY, days, sizeof days);
        snprintf(buf, n, "%s\xc3\x97 its %s-day rate", num, days);
        return;
    }
    case RW_AGG_RECENCY:
        if (!isfinite(x))
            snprintf(buf, n, "never");
        else if (strcmp(num, "1") == 0)
            snprintf(buf, n, "1 day ago");
        else
            snprintf(buf, n, "%s days ago", num);
        return;
    }
    snprintf(buf, n, "%s", num);
}

void rw_readable_money(double arr, char *buf, size_t n)
{
    if (!isfinite(arr)) {
        snprintf(buf, n, "n/a");
        return;
    }
    static const struct {
        double at;
        const char *suffix;
    } scale[] = {{1e9, "B"}, {1e6, "M"}, {1e4, "k"}};
    const char *sign = arr < 0 ? "-" : "";
    double a = fabs(arr);
    for (size_t i = 0; i < sizeof scale / sizeof scale[0]; i++) {
        double unit = scale[i].at == 1e4 ? 1e3 : scale[i].at;
        if (a >= scale[i].at) {
            char num[RW_READABLE_MAX];
            double v = a / unit;
            /* 1.5M, 14.5k, 145k: three significant digits at most. */
            snprintf(num, sizeof num, "%.*f", v < 100 ? 1 : 0, v);
            trim_zeros(num);
            snprintf(buf, n, "%s%s%s", sign, num, scale[i].suffix);
            return;
        }
    }
    /* Below 10,000: whole units with a thousands separator. */
    long long v = llround(a);
    if (v >= 1000)
        snprintf(buf, n, "%s%lld,%03lld", sign, v / 1000, v % 1000);
    else
        snprintf(buf, n, "%s%lld", sign, v);
}

void rw_readable_change(int now, int before, char *buf, size_t n)
{
    int d = now - before;
    const char *arrow = d < 0 ? "\xe2\x96\xbc" : d > 0 ? "\xe2\x96\xb2" : "\xc2\xb1";
    int a = d < 0 ? -d : d;
    snprintf(buf, n, "%s %d.%d", arrow, a / 10, a % 10);
}

const char *rw_readable_band(const char *band)
{
    if (band && strcmp(band, "at_risk") == 0)
        return "at risk";
    if (band && strcmp(band, "watch") == 0)
        return "watch";
    if (band && strcmp(band, "healthy") == 0)
        return "healthy";
    return "unknown";
}

const char *rw_readable_band_emoji(const char *band)
{
    if (band && strcmp(band, "at_risk") == 0)
        return "\xf0\x9f\x94\xb4"; /* red circle */
    if (band && strcmp(band, "watch") == 0)
        return "\xf0\x9f\x9f\xa0"; /* orange circle */
    if (band && strcmp(band, "healthy") == 0)
        return "\xf0\x9f\x9f\xa2"; /* green circle */
    return "\xe2\x9a\xaa";         /* white circle */
}

size_t rw_utf8_chars(const char *s)
{
    size_t k = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            k++;
    return k;
}

void rw_utf8_cut(char *s, size_t max)
{
    size_t k = 0;
    for (char *p = s; *p; p++) {
        if (((unsigned char)*p & 0xC0) != 0x80) {
            if (k == max) {
                *p = '\0';
                return;
            }
            k++;
        }
    }
}

void rw_readable_who(const char *name, const char *id, size_t max_chars, char *buf, size_t n)
{
    if (n == 0)
        return;
    id = id ? id : "?";
    size_t idc = rw_utf8_chars(id);
    if (!name || !*name || idc + 4 > max_chars) {
        snprintf(buf, n, "%s", id);
        rw_utf8_cut(buf, max_chars);
        return;
    }
    /* " (ID)" takes idc + 3 characters; the name gets the rest. */
    size_t room = max_chars - idc - 3;
    snprintf(buf, n, "%s", name);
    if (rw_utf8_chars(buf) > room) {
        rw_utf8_cut(buf, room - 1);
        size_t len = strlen(buf);
        while (len > 0 && buf[len - 1] == ' ')
            buf[--len] = '\0';
        snprintf(buf + len, n - len, "\xe2\x80\xa6");
    }
    size_t len = strlen(buf);
    snprintf(buf + len, n - len, " (%s)", id);
}

static const char *jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* A one-decimal number as tenths, or -1. */
static int jtenths(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_number(v))
        return -1;
    double d = json_number_value(v);
    return isfinite(d) && d >= 0 && d <= 1000 ? (int)lround(d * 10) : -1;
}

static void add_driver(struct rw_alert_view *v, const char *name, const json_t *sig)
{
    int i = v->ndrivers++;
    v->drivers[i].name = name;
    v->drivers[i].score = jtenths(sig, "score");
    const char *text = jstr(sig, "text");
    const json_t *x = json_object_get(sig, "x");
    if (text)
        snprintf(v->drivers[i].text, sizeof v->drivers[i].text, "%s", text);
    else if (json_is_number(x))
        rw_readable_number(json_number_value(x), v->drivers[i].text, sizeof v->drivers[i].text);
    else
        v->drivers[i].text[0] = '\0';
}

void rw_alert_view(const json_t *alert, struct rw_alert_view *v)
{
    memset(v, 0, sizeof(*v));
    v->id = jstr(alert, "id");
    v->kind = jstr(alert, "kind");
    v->ts = jstr(alert, "ts");
    v->account = jstr(alert, "account");
    v->name = jstr(alert, "name");
    v->owner = jstr(alert, "owner");
    v->tier = jstr(alert, "tier");
    v->band = jstr(alert, "band");
    v->previous_band = jstr(alert, "previous_band");
    v->renewal_date = jstr(alert, "renewal_date");
    v->url = jstr(alert, "url");
    v->band_change = !v->kind || strcmp(v->kind, "band_change") == 0;
    v->new_account =
        v->band_change && (!v->previous_band || strcmp(v->previous_band, "unknown") == 0);
    const json_t *w = json_object_get(alert, "window");
    v->window = json_is_integer(w) ? (long long)json_integer_value(w) : 0;
    const json_t *d = json_object_get(alert, "days_to_renewal");
    v->has_days = json_is_integer(d);
    v->days_to_renewal = v->has_days ? (long long)json_integer_value(d) : 0;
    v->score = jtenths(alert, "score");
    v->score_7d = jtenths(alert, "score_7d");
    v->score_30d = jtenths(alert, "score_30d");
    const json_t *arr = json_object_get(alert, "arr");
    v->arr = json_is_number(arr) ? json_number_value(arr) : NAN;

    const json_t *sigs = json_object_get(alert, "signals");
    const json_t *drivers = json_object_get(alert, "drivers");
    if (json_is_array(drivers)) {
        size_t i;
        const json_t *name;
        json_array_foreach(drivers, i, name)
        {
            const char *n = json_string_value(name);
            if (n && v->ndrivers < RW_VIEW_DRIVERS)
                add_driver(v, n, json_object_get(sigs, n));
        }
        return;
    }
    /* An alert from before drivers: its worst present signals by score. */
    for (int k = 0; k < RW_VIEW_DRIVERS; k++) {
        const char *key, *best = NULL;
        const json_t *sig, *best_sig = NULL;
        int best_t = 1000; /* a full score pulls nothing down */
        json_object_foreach((json_t *)sigs, key, sig)
        {
            int t = jtenths(sig, "score");
            bool taken = false;
            for (int j = 0; j < v->ndrivers; j++)
                taken = taken || strcmp(v->drivers[j].name, key) == 0;
            if (t >= 0 && t < best_t && !taken) {
                best = key;
                best_sig = sig;
                best_t = t;
            }
        }
        if (!best)
            return;
        add_driver(v, best, best_sig);
    }
}
