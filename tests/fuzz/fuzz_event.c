/*
 * fuzz_event.c - the `event` field of a stream entry, any bytes, to struct
 * rw_event or a dead-letter reason (rw_event_parse, SPEC §1).
 *
 * The input is the field's bytes as they come from Redis.  Each input is parsed
 * under clock = wall (reject_future) and clock = event, and the result is
 * checked against the header's contract: a known reason, or a struct whose
 * strings are within their limits, NUL-terminated and free of control bytes.
 * The flat-object scanner and the jansson reader must agree on every input:
 * the same verdict and the same fields.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "renewald/core/event.h"
#include "renewald/core/timeutil.h"

#define TS_MAX INT64_C(253402300799999) /* 9999-12-31T23:59:59.999Z */

static void check(int ok)
{
    if (!ok)
        abort();
}

static bool known_reason(const char *r)
{
    for (size_t i = 0; rw_event_reasons[i]; i++)
        if (strcmp(rw_event_reasons[i], r) == 0)
            return true;
    return false;
}

/* No C0, DEL or C1 (as UTF-8) byte in S[0..LEN). */
static bool no_control(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return false;
        if (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] <= 0x9f)
            return false;
    }
    return true;
}

static void check_text(const char *s, size_t len, size_t min, size_t max)
{
    check(len >= min && len <= max);
    check(strlen(s) == len);
    check(no_control(s, len));
}

static void check_event(const struct rw_event *ev, int64_t now_ms, bool reject_future)
{
    check_text(ev->account, ev->account_len, 1, RW_ACCOUNT_MAX);
    check_text(ev->type, ev->type_len, 1, RW_TYPE_MAX);
    check(ev->ts_ms >= 0 && ev->ts_ms <= TS_MAX);
    if (reject_future && now_ms <= INT64_MAX - RW_MS_PER_DAY)
        check(ev->ts_ms <= now_ms + RW_MS_PER_DAY);
    check(isfinite(ev->value));
    check(ev->is_account == (ev->type_len == 7 && memcmp(ev->type, "account", 7) == 0));
    check((ev->meta_set & ev->meta_null) == 0);
    if (!ev->is_account) {
        check(ev->meta_set == 0 && ev->meta_null == 0);
        return;
    }
    if (ev->meta_set & RW_META_NAME)
        check_text(ev->name, strlen(ev->name), 1, RW_NAME_MAX);
    if (ev->meta_set & RW_META_OWNER) {
        size_t n = strlen(ev->owner);
        check_text(ev->owner, n, 3, RW_OWNER_MAX);
        const char *at = strchr(ev->owner, '@');
        check(at && at != ev->owner && at[1] != '\0' && !strchr(at + 1, '@'));
    }
    if (ev->meta_set & RW_META_TIER)
        check_text(ev->tier, strlen(ev->tier), 1, RW_TIER_MAX);
    if (ev->meta_set & RW_META_ARR)
        check(isfinite(ev->arr) && ev->arr >= 0 && !signbit(ev->arr));
    if (ev->meta_set & RW_META_SEATS)
        check(isfinite(ev->seats) && ev->seats >= 0 && !signbit(ev->seats));
    if (ev->meta_set & RW_META_RENEWAL_DATE) {
        /* A real calendar date: it survives a format/parse round trip. */
        char buf[RW_DATE_MAX];
        int32_t day;
        rw_format_date(ev->renewal_day, buf);
        check(rw_parse_date(buf, strlen(buf), &day) && day == ev->renewal_day);
    }
}

/* The fields a verdict of success fills: equal whichever reader filled them. */
static void check_same(const struct rw_event *a, const struct rw_event *b)
{
    check(a->account_len == b->account_len && memcmp(a->account, b->account, a->account_len) == 0);
    check(a->type_len == b->type_len && memcmp(a->type, b->type, a->type_len) == 0);
    check(a->ts_ms == b->ts_ms && a->has_ts == b->has_ts && a->is_account == b->is_account);
    check(memcmp(&a->value, &b->value, sizeof a->value) == 0);
    check(a->meta_set == b->meta_set && a->meta_null == b->meta_null);
    if (a->meta_set & RW_META_NAME)
        check(strcmp(a->name, b->name) == 0);
    if (a->meta_set & RW_META_OWNER)
        check(strcmp(a->owner, b->owner) == 0);
    if (a->meta_set & RW_META_TIER)
        check(strcmp(a->tier, b->tier) == 0);
    if (a->meta_set & RW_META_ARR)
        check(memcmp(&a->arr, &b->arr, sizeof a->arr) == 0);
    if (a->meta_set & RW_META_SEATS)
        check(memcmp(&a->seats, &b->seats, sizeof a->seats) == 0);
    if (a->meta_set & RW_META_RENEWAL_DATE)
        check(a->renewal_day == b->renewal_day);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Entry ids and clocks a daemon meets: a normal one, one far in the future
     * (so `ts` defaults beyond TS_MAX), and 0-0. */
    static const struct {
        struct rw_entry_id id;
        int64_t now_ms;
    } cases[] = {
        {{UINT64_C(1763632800000), 3}, INT64_C(1763632800000)},
        {{UINT64_MAX, UINT64_MAX}, INT64_MAX},
        {{0, 0}, 0},
    };
    /* Copied so that a read past SIZE is an ASan report, not a silent read. */
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct rw_event wall, event;
        memset(&wall, 0xa5, sizeof wall);
        memset(&event, 0x5a, sizeof event);
        const char *r_wall = rw_event_parse(cases[i].id, buf, size, cases[i].now_ms, true, &wall);
        const char *r_event =
            rw_event_parse(cases[i].id, buf, size, cases[i].now_ms, false, &event);
        if (r_wall) {
            check(known_reason(r_wall));
            check(strcmp(r_wall, "missing_event") != 0 && strcmp(r_wall, "bad_entry_id") != 0);
        } else {
            check_event(&wall, cases[i].now_ms, true);
        }
        if (r_event) {
            check(known_reason(r_event));
            check(strcmp(r_event, "future_ts") != 0);
        } else {
            check_event(&event, cases[i].now_ms, false);
        }
        /* The clock only adds future_ts: any other outcome is the same. */
        if (!r_wall || strcmp(r_wall, "future_ts") != 0)
            check((r_wall == NULL) == (r_event == NULL) &&
                  (!r_wall || strcmp(r_wall, r_event) == 0));
        if (!r_wall && !r_event) {
            check(wall.account_len == event.account_len &&
                  memcmp(wall.account, event.account, wall.account_len) == 0);
            check(wall.ts_ms == event.ts_ms && wall.meta_set == event.meta_set &&
                  wall.meta_null == event.meta_null);
        }
        /* The scanner (rw_event_parse) and jansson agree. */
        struct rw_event ref;
        memset(&ref, 0x3c, sizeof ref);
        const char *r_ref =
            rw_event_parse_jansson(cases[i].id, buf, size, cases[i].now_ms, true, &ref);
        check((r_ref == NULL) == (r_wall == NULL) && (!r_ref || strcmp(r_ref, r_wall) == 0));
        if (!r_ref)
            check_same(&wall, &ref);
    }
    free(buf);
    return 0;
}
