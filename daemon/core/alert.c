/* alert.c - the alert object (SPEC §3) as JSON text, written once, and its id. */
#include "renewald/core/alert.h"

#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renewald/core/account_store.h"
#include "renewald/core/score.h"

void rw_alert_render_signals(struct rw_jsonw *w, const struct rw_alert_signal *sig, int n)
{
    rw_jsonw_obj_open(w);
    for (int i = 0; i < n; i++) {
        rw_jsonw_key(w, sig[i].name);
        rw_jsonw_obj_open(w);
        rw_jsonw_key(w, "x");
        if (sig[i].present)
            rw_jsonw_num(w, sig[i].x);
        else
            rw_jsonw_null(w);
        rw_jsonw_key(w, "score");
        if (sig[i].present)
            rw_jsonw_tenths(w, rw_score_tenths(sig[i].score));
        else
            rw_jsonw_null(w);
        rw_jsonw_key(w, "weight");
        rw_jsonw_num(w, sig[i].weight);
        rw_jsonw_key(w, "text");
        rw_jsonw_str(w, sig[i].present && sig[i].text && *sig[i].text ? sig[i].text : NULL);
        rw_jsonw_obj_close(w);
    }
    rw_jsonw_obj_close(w);
}

int rw_alert_drivers(const struct rw_alert_signal *sig, int n, int out[RW_ALERT_DRIVERS])
{
    int k = 0;
    double pull[RW_ALERT_DRIVERS];
    for (int i = 0; i < n; i++) {
        if (!sig[i].present || !(sig[i].weight > 0.0))
            continue;
        double p = sig[i].weight * (100.0 - sig[i].score);
        if (!(p > 0.0))
            continue;
        /* Insertion into the top list; equal pulls keep config order. */
        int pos = k;
        while (pos > 0 && pull[pos - 1] < p)
            pos--;
        if (pos >= RW_ALERT_DRIVERS)
            continue;
        int last = k < RW_ALERT_DRIVERS ? k : RW_ALERT_DRIVERS - 1;
        for (int j = last; j > pos; j--) {
            pull[j] = pull[j - 1];
            out[j] = out[j - 1];
        }
        pull[pos] = p;
        out[pos] = i;
        if (k < RW_ALERT_DRIVERS)
            k++;
    }
    return k;
}

void rw_alert_render_url(struct rw_jsonw *w, const char *tmpl, const char *id, size_t id_len)
{
    if (!tmpl) {
        rw_jsonw_null(w);
        return;
    }
    static const char hex[] = "0123456789ABCDEF";
    struct rw_jsonw u;
    rw_jsonw_init(&u);
    const char *at = strstr(tmpl, "{account}");
    rw_jsonw_raw(&u, tmpl, at ? (size_t)(at - tmpl) : strlen(tmpl));
    if (at) {
        for (size_t i = 0; i < id_len; i++) {
            unsigned char c = (unsigned char)id[i];
            bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
            if (plain) {
                rw_jsonw_raw(&u, (const char *)&c, 1);
            } else {
                char e[3] = {'%', hex[c >> 4], hex[c & 15]};
                rw_jsonw_raw(&u, e, 3);
            }
        }
        rw_jsonw_raw(&u, at + 9, strlen(at + 9));
    }
    rw_jsonw_strn(w, u.buf, u.len);
    rw_jsonw_free(&u);
}

static void tenths_or_null(struct rw_jsonw *w, int t)
{
    if (t == RW_NO_TENTHS)
        rw_jsonw_null(w);
    else
        rw_jsonw_tenths(w, t);
}

void rw_alert_render(struct rw_jsonw *w, const struct rw_alert *al, const char *url_template)
{
    const struct rw_account *a = al->account;
    rw_jsonw_obj_open(w);
    rw_jsonw_key(w, "id");
    rw_jsonw_str(w, al->id);
    rw_jsonw_key(w, "kind");
    rw_jsonw_str(w, rw_alert_kind_name(al->kind));
    rw_jsonw_key(w, "ts");
    rw_jsonw_time(w, al->ts_ms);
    rw_jsonw_key(w, "account");
    rw_jsonw_strn(w, a->id, a->id_len);
    rw_jsonw_key(w, "name");
    rw_jsonw_str(w, a->name);
    rw_jsonw_key(w, "owner");
    rw_jsonw_str(w, a->owner);
    rw_jsonw_key(w, "tier");
    rw_jsonw_str(w, a->tier);
    rw_jsonw_key(w, "arr");
    rw_jsonw_num(w, a->arr);
    rw_jsonw_key(w, "score");
    tenths_or_null(w, al->score);
    rw_jsonw_key(w, "band");
    rw_jsonw_str(w, rw_band_name(al->band));
    if (al->kind == RW_ALERT_BAND_CHANGE) {
        rw_jsonw_key(w, "previous_band");
        rw_jsonw_str(w, rw_band_name(al->previous_band));
    }
    rw_jsonw_key(w, "signals");
    rw_alert_render_signals(w, al->signals, al->nsignals);
    rw_jsonw_key(w, "renewal_date");
    rw_jsonw_date(w, a->renewal_day);
    rw_jsonw_key(w, "days_to_renewal");
    if (al->days_to_renewal == INT32_MIN)
        rw_jsonw_null(w);
    else
        rw_jsonw_int(w, al->days_to_renewal);
    if (al->kind == RW_ALERT_RENEWAL_WINDOW) {
        rw_jsonw_key(w, "window");
        rw_jsonw_int(w, al->window);
    }
    rw_jsonw_key(w, "score_7d");
    tenths_or_null(w, al->score_7d);
    rw_jsonw_key(w, "score_30d");
    tenths_or_null(w, al->score_30d);
    rw_jsonw_key(w, "drivers");
    int drivers[RW_ALERT_DRIVERS];
    int nd = rw_alert_drivers(al->signals, al->nsignals, drivers);
    rw_jsonw_arr_open(w);
    for (int i = 0; i < nd; i++) {
        rw_jsonw_elem(w);
        rw_jsonw_str(w, al->signals[drivers[i]].name);
    }
    rw_jsonw_arr_close(w);
    rw_jsonw_key(w, "url");
    rw_alert_render_url(w, url_template, a->id, a->id_len);
    rw_jsonw_obj_close(w);
}

void rw_hash_id(const void *const *parts, const size_t *lens, int n, char out[RW_ALERT_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
    for (int k = 0; ok && k < n; k++)
        ok = EVP_DigestUpdate(ctx, parts[k], lens[k]) == 1;
    if (!ok || EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen < RW_ALERT_ID_LEN / 2) {
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

void rw_alert_id(const char *account, enum rw_alert_kind kind, const char *discriminator,
                 char out[RW_ALERT_ID_LEN + 1])
{
    const char *kname = rw_alert_kind_name(kind);
    /* NUL separators keep ("ab","c") and ("a","bc") apart. */
    const void *parts[] = {account, kname, discriminator};
    size_t lens[] = {strlen(account) + 1, strlen(kname) + 1, strlen(discriminator)};
    rw_hash_id(parts, lens, 3, out);
}

char *rw_alert_dumps(const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(15));
    if (!s) {
        fprintf(stderr, "renewald: out of memory serialising an alert\n");
        abort();
    }
    return s;
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
