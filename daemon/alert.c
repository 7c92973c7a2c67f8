/* alert.c - the alert object (SPEC §3) and its deterministic id. */
#include "renewald/alert.h"
#include "renewald/timeutil.h"

#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* jansson refuses invalid UTF-8; inputs should be valid, but a stray byte
 * must not drop the whole key, so replace non-ASCII bytes in that case. */
static json_t *str_or_null(const char *s)
{
    if (!s)
        return json_null();
    json_t *j = json_string(s);
    if (j)
        return j;
    char *copy = rw_xstrdup(s);
    for (char *p = copy; *p; p++) {
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    }
    j = json_string(copy);
    free(copy);
    return j ? j : json_null();
}

/* json_real() rejects NaN and infinities: those become null. */
static json_t *num_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

json_t *rw_alert_score_json(double score)
{
    return num_or_null(round(score * 10.0) / 10.0);
}

json_t *rw_alert_signals_json(const struct rw_alert_signal *signals, int nsignals)
{
    json_t *o = json_object();
    for (int i = 0; i < nsignals; i++) {
        const struct rw_alert_signal *s = &signals[i];
        json_t *v = json_object();
        json_object_set_new(v, "x", s->present ? num_or_null(s->x) : json_null());
        json_object_set_new(v, "score", s->present ? rw_alert_score_json(s->score) : json_null());
        json_object_set_new(v, "weight", num_or_null(s->weight));
        json_object_set_new(o, s->name, v);
    }
    return o;
}

json_t *rw_alert_build(const struct rw_alert_input *in)
{
    json_t *a = json_object();
    char ts[RW_RFC3339_MAX];

    rw_format_rfc3339(in->ts_ms, ts);
    json_object_set_new(a, "id", str_or_null(in->id));
    json_object_set_new(a, "kind", json_string(rw_alert_kind_name(in->kind)));
    json_object_set_new(a, "ts", json_string(ts));
    json_object_set_new(a, "account", str_or_null(in->account));
    json_object_set_new(a, "name", str_or_null(in->name));
    json_object_set_new(a, "owner", str_or_null(in->owner));
    json_object_set_new(a, "tier", str_or_null(in->tier));
    json_object_set_new(a, "arr", num_or_null(in->arr));
    json_object_set_new(a, "score", in->has_score ? rw_alert_score_json(in->score) : json_null());
    json_object_set_new(a, "band", json_string(rw_band_name(in->band)));
    if (in->kind == RW_ALERT_BAND_CHANGE)
        json_object_set_new(a, "previous_band", json_string(rw_band_name(in->previous_band)));
    json_object_set_new(a, "signals", rw_alert_signals_json(in->signals, in->nsignals));
    if (in->has_renewal) {
        char date[RW_DATE_MAX];
        rw_format_date(in->renewal_day, date);
        json_object_set_new(a, "renewal_date", json_string(date));
    } else {
        json_object_set_new(a, "renewal_date", json_null());
    }
    json_object_set_new(a, "days_to_renewal",
                        in->has_days_to_renewal ? json_integer(in->days_to_renewal) : json_null());
    if (in->kind == RW_ALERT_RENEWAL_WINDOW)
        json_object_set_new(a, "window", json_integer(in->window));
    return a;
}

char *rw_alert_dumps(const json_t *alert)
{
    char *s = json_dumps(alert, JSON_COMPACT | JSON_REAL_PRECISION(15));
    if (!s) {
        fprintf(stderr, "renewald: out of memory serialising an alert\n");
        abort();
    }
    return s;
}

void rw_alert_id(const char *account, enum rw_alert_kind kind, const char *discriminator,
                 char out[RW_ALERT_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    const char *kname = rw_alert_kind_name(kind);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    /* NUL separators keep ("ab","c") and ("a","bc") apart. */
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(ctx, account, strlen(account) + 1) != 1 ||
        EVP_DigestUpdate(ctx, kname, strlen(kname) + 1) != 1 ||
        EVP_DigestUpdate(ctx, discriminator, strlen(discriminator)) != 1 ||
        EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen < RW_ALERT_ID_LEN / 2) {
        fprintf(stderr, "renewald: SHA-256 unavailable\n");
        abort();
    }
    EVP_MD_CTX_free(ctx);
    for (int i = 0; i < RW_ALERT_ID_LEN / 2; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[RW_ALERT_ID_LEN] = '\0';
}

const char *rw_alert_str(const json_t *alert, const char *key)
{
    return json_string_value(json_object_get(alert, key));
}

double rw_alert_num(const json_t *alert, const char *key)
{
    const json_t *v = json_object_get(alert, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}
