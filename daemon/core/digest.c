/* digest.c - digest windows, ids and objects (no I/O). */
#include "renewald/core/digest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renewald/core/timeutil.h"

int64_t rw_digest_window_start(int64_t ts_ms, int64_t d_ms, int64_t offset_ms)
{
    int64_t t = ts_ms - offset_ms;
    int64_t k = t >= 0 ? t / d_ms : -((-t + d_ms - 1) / d_ms);
    return k * d_ms + offset_ms;
}

bool rw_digest_window_over(int64_t start_ms, int64_t end_ms, int64_t now_ms)
{
    return end_ms > start_ms ? now_ms >= end_ms : now_ms > end_ms;
}

void rw_digest_id(const char *sink, int64_t start_ms, int64_t end_ms, const char *recipient,
                  char out[RW_ALERT_ID_LEN + 1])
{
    char times[64];
    int n =
        snprintf(times, sizeof times, "%lld%c%lld", (long long)start_ms, '\0', (long long)end_ms);
    const void *parts[] = {"digest", sink, times, recipient};
    size_t lens[] = {7, strlen(sink) + 1, (size_t)n + 1, strlen(recipient)};
    rw_hash_id(parts, lens, 4, out);
}

/* 0 at_risk, 1 watch, 2 anything else. */
static int urgency(const json_t *a)
{
    const char *band = rw_alert_str(a, "band");
    if (band && strcmp(band, "at_risk") == 0)
        return 0;
    if (band && strcmp(band, "watch") == 0)
        return 1;
    return 2;
}

static json_int_t days_key(const json_t *a)
{
    const json_t *d = json_object_get(a, "days_to_renewal");
    return json_is_integer(d) ? json_integer_value(d) : INT32_MAX;
}

static int str_cmp(const char *x, const char *y)
{
    return strcmp(x ? x : "", y ? y : "");
}

static int most_urgent_first(const void *pa, const void *pb)
{
    const json_t *a = *(const json_t *const *)pa, *b = *(const json_t *const *)pb;
    int ua = urgency(a), ub = urgency(b);
    if (ua != ub)
        return ua - ub;
    json_int_t da = days_key(a), db = days_key(b);
    if (da != db)
        return da < db ? -1 : 1;
    int c = str_cmp(rw_alert_str(a, "ts"), rw_alert_str(b, "ts")); /* RFC 3339, one form */
    return c ? c : str_cmp(rw_alert_str(a, "id"), rw_alert_str(b, "id"));
}

json_t *rw_digest_build(const char *sink, int64_t start_ms, int64_t end_ms, const char *recipient,
                        const json_t *alerts)
{
    size_t n = json_array_size(alerts);
    const json_t **v = rw_xcalloc(n ? n : 1, sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(alerts, i);
    qsort(v, n, sizeof *v, most_urgent_first);
    json_t *list = json_array();
    for (size_t i = 0; list && i < n; i++)
        json_array_append(list, (json_t *)v[i]);
    free(v);
    char id[RW_ALERT_ID_LEN + 1], from[RW_RFC3339_MAX], to[RW_RFC3339_MAX];
    rw_digest_id(sink, start_ms, end_ms, recipient ? recipient : "", id);
    rw_format_rfc3339(start_ms, from);
    rw_format_rfc3339(end_ms, to);
    json_t *d = json_pack("{s:s, s:s, s:s, s:s, s:o*}", "kind", "digest", "id", id, "window_start",
                          from, "window_end", to, "alerts", list);
    if (d && recipient)
        json_object_set_new(d, "owner", json_string(recipient));
    if (!d) {
        fputs("renewald: out of memory building a digest\n", stderr);
        abort();
    }
    return d;
}

bool rw_digest_is(const json_t *alert)
{
    const char *kind = rw_alert_str(alert, "kind");
    return kind && strcmp(kind, "digest") == 0;
}
