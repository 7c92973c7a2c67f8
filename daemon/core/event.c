/*
 * event.c - the `event` field of a stream entry to struct rw_event (SPEC §1).
 *
 * Checks run in a fixed order and the first failure is the reason, so the same
 * bytes always get the same reason (out_of_memory aside: see parse_guarded):
 *   1. json      invalid_json   (jansson rejects it: syntax, bad UTF-8, \u0000,
 *                                duplicate keys, nesting, trailing bytes,
 *                                numbers jansson cannot represent)
 *   2. object    not_object
 *   3. account   missing_account, bad_account
 *   4. type      missing_type, bad_type
 *   5. ts        bad_ts, future_ts
 *   6. value     bad_value
 *   7. metadata  (type "account" only) bad_name, bad_owner, bad_tier, bad_arr,
 *                bad_seats, bad_renewal_date, in that order
 *
 * This runs once per event: no allocation of our own, strings are copied into
 * the caller's fixed buffers.  When jansson cannot allocate, the reason is
 * out_of_memory, which is not a dead-letter reason: the caller stops.
 */
#include "renewald/core/event.h"

#include <jansson.h>
#include <math.h>
#include <string.h>

/* 9999-12-31T23:59:59.999Z: the latest time rw_format_rfc3339 can show. */
#define TS_MAX INT64_C(253402300799999)

const char *const rw_event_reasons[] = {
    "missing_event", "bad_entry_id",     "invalid_json", "not_object", "missing_account",
    "bad_account",   "missing_type",     "bad_type",     "bad_ts",     "future_ts",
    "bad_value",     "bad_name",         "bad_owner",    "bad_tier",   "bad_arr",
    "bad_seats",     "bad_renewal_date", NULL,
};

const char rw_event_oom_reason[] = "out_of_memory";

/*
 * jansson's allocator during json_loadb: the caller's (the pipeline's arena, or
 * malloc), except that once one allocation fails every later one fails too and
 * the parse is marked.  jansson 2.14 does not report running out of memory: it
 * returns NULL without json_error_out_of_memory, or, when its lexer buffer
 * cannot grow, drops the byte and carries on, so a parse "succeeds" with a
 * string cut short, or reads past the buffer if the next allocation succeeds.
 * jansson's allocator is process-wide, so this state is too.
 */
static struct {
    json_malloc_t malloc_fn;
    json_free_t free_fn;
    bool failed;
} guard;

static void *guarded_malloc(size_t n)
{
    void *p = guard.failed ? NULL : guard.malloc_fn(n);
    if (p == NULL)
        guard.failed = true; /* jansson never asks for 0 bytes */
    return p;
}

/* json_loadb, or NULL with *OOM set when an allocation failed (the JSON may be fine). */
static json_t *parse_guarded(const char *data, size_t len, bool *oom)
{
    json_get_alloc_funcs(&guard.malloc_fn, &guard.free_fn);
    guard.failed = false;
    json_set_alloc_funcs(guarded_malloc, guard.free_fn);
    /* Scalars and arrays parse (JSON_DECODE_ANY) so they get not_object, not invalid_json. */
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
    json_set_alloc_funcs(guard.malloc_fn, guard.free_fn);
    *oom = guard.failed;
    if (*oom) {
        json_decref(root);
        return NULL;
    }
    return root;
}

/* C0, DEL, or C1 (U+0080..U+009F, "\xC2\x80".."\xC2\x9F" in the UTF-8 jansson validated). */
static bool has_control(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        const unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return true;
        if (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] <= 0x9f)
            return true;
    }
    return false;
}

/*
 * Copies the string J of MIN..MAX bytes without control characters into BUF
 * (MAX + 1 bytes).  Returns false if J is not such a string.
 */
static bool copy_text(const json_t *j, size_t min, size_t max, char *buf, size_t *out_len)
{
    if (!json_is_string(j))
        return false;
    const char *s = json_string_value(j);
    const size_t len = json_string_length(j);
    if (len < min || len > max || has_control(s, len))
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (out_len)
        *out_len = len;
    return true;
}

/* An address that is safe to put in a mail header: local@domain, nothing fancy. */
static bool valid_owner(const char *s, size_t len)
{
    size_t at = len;
    if (len < 3 || len > RW_OWNER_MAX || has_control(s, len))
        return false;
    for (size_t i = 0; i < len; i++) {
        switch (s[i]) {
        case '@':
            if (at != len)
                return false;
            at = i;
            break;
        case ' ':
        case '<':
        case '>':
        case ',':
        case ';':
        case '"':
            return false;
        default:
            break;
        }
    }
    return at > 0 && at < len - 1;
}

/* A finite number >= 0, with -0 made +0. */
static bool nonneg_number(const json_t *j, double *out)
{
    if (!json_is_number(j))
        return false;
    const double v = json_number_value(j);
    if (!isfinite(v) || v < 0)
        return false;
    *out = v + 0.0;
    return true;
}

static const char *parse_ts(const json_t *j, struct rw_entry_id entry_id, int64_t *out)
{
    if (j == NULL) {
        if (entry_id.ms > (uint64_t)TS_MAX)
            return "bad_ts";
        *out = (int64_t)entry_id.ms;
    } else if (json_is_integer(j)) {
        const json_int_t v = json_integer_value(j);
        if (v < 0 || v > TS_MAX)
            return "bad_ts";
        *out = (int64_t)v;
    } else if (json_is_string(j)) {
        int64_t ms;
        if (!rw_parse_rfc3339(json_string_value(j), json_string_length(j), &ms) || ms < 0 ||
            ms > TS_MAX)
            return "bad_ts";
        *out = ms;
    } else {
        return "bad_ts";
    }
    return NULL;
}

/*
 * The metadata keys of an `account` event: absent leaves a key alone, null
 * clears it, anything else must be valid.  Returns the first bad key's reason.
 */
static const char *parse_meta(const json_t *root, struct rw_event *ev)
{
    const json_t *j;

    if ((j = json_object_get(root, "name")) != NULL) {
        if (json_is_null(j))
            ev->meta_null |= RW_META_NAME;
        else if (copy_text(j, 1, RW_NAME_MAX, ev->name, NULL))
            ev->meta_set |= RW_META_NAME;
        else
            return "bad_name";
    }
    if ((j = json_object_get(root, "owner")) != NULL) {
        if (json_is_null(j)) {
            ev->meta_null |= RW_META_OWNER;
        } else if (json_is_string(j) && valid_owner(json_string_value(j), json_string_length(j))) {
            memcpy(ev->owner, json_string_value(j), json_string_length(j));
            ev->owner[json_string_length(j)] = '\0';
            ev->meta_set |= RW_META_OWNER;
        } else {
            return "bad_owner";
        }
    }
    if ((j = json_object_get(root, "tier")) != NULL) {
        if (json_is_null(j))
            ev->meta_null |= RW_META_TIER;
        else if (copy_text(j, 1, RW_TIER_MAX, ev->tier, NULL))
            ev->meta_set |= RW_META_TIER;
        else
            return "bad_tier";
    }
    if ((j = json_object_get(root, "arr")) != NULL) {
        if (json_is_null(j))
            ev->meta_null |= RW_META_ARR;
        else if (nonneg_number(j, &ev->arr))
            ev->meta_set |= RW_META_ARR;
        else
            return "bad_arr";
    }
    if ((j = json_object_get(root, "seats")) != NULL) {
        if (json_is_null(j))
            ev->meta_null |= RW_META_SEATS;
        else if (nonneg_number(j, &ev->seats))
            ev->meta_set |= RW_META_SEATS;
        else
            return "bad_seats";
    }
    if ((j = json_object_get(root, "renewal_date")) != NULL) {
        if (json_is_null(j))
            ev->meta_null |= RW_META_RENEWAL_DATE;
        else if (json_is_string(j) &&
                 rw_parse_date(json_string_value(j), json_string_length(j), &ev->renewal_day))
            ev->meta_set |= RW_META_RENEWAL_DATE;
        else
            return "bad_renewal_date";
    }
    return NULL;
}

/* Every check after the JSON parse, on the parsed ROOT (which the caller frees). */
static const char *parse_root(const json_t *root, struct rw_entry_id entry_id, int64_t now_ms,
                              bool reject_future, struct rw_event *ev)
{
    const json_t *j;
    const char *reason;

    if (!json_is_object(root))
        return "not_object";

    if ((j = json_object_get(root, "account")) == NULL)
        return "missing_account";
    if (!copy_text(j, 1, RW_ACCOUNT_MAX, ev->account, &ev->account_len))
        return "bad_account";

    if ((j = json_object_get(root, "type")) == NULL)
        return "missing_type";
    if (!copy_text(j, 1, RW_TYPE_MAX, ev->type, &ev->type_len))
        return "bad_type";

    const json_t *ts = json_object_get(root, "ts");
    ev->has_ts = ts != NULL;
    if ((reason = parse_ts(ts, entry_id, &ev->ts_ms)) != NULL)
        return reason;
    /* Written without now_ms + 1 day so a huge now_ms cannot overflow. */
    if (reject_future && now_ms <= INT64_MAX - RW_MS_PER_DAY && ev->ts_ms > now_ms + RW_MS_PER_DAY)
        return "future_ts";

    if ((j = json_object_get(root, "value")) == NULL) {
        ev->value = 1;
    } else {
        if (!json_is_number(j) || !isfinite(json_number_value(j)))
            return "bad_value";
        ev->value = json_number_value(j);
    }

    ev->is_account = ev->type_len == 7 && memcmp(ev->type, "account", 7) == 0;
    if (ev->is_account)
        return parse_meta(root, ev);
    return NULL;
}

const char *rw_event_parse(struct rw_entry_id entry_id, const char *data, size_t len,
                           int64_t now_ms, bool reject_future, struct rw_event *out)
{
    bool oom;
    json_t *root = parse_guarded(data, len, &oom);
    if (oom)
        return rw_event_oom_reason;
    if (root == NULL)
        return "invalid_json";

    out->account[0] = out->type[0] = '\0';
    out->account_len = out->type_len = 0;
    out->ts_ms = 0;
    out->has_ts = false;
    out->value = 1;
    out->is_account = false;
    out->meta_set = out->meta_null = 0;
    out->name[0] = out->owner[0] = out->tier[0] = '\0';
    out->arr = out->seats = 0;
    out->renewal_day = 0;

    const char *reason = parse_root(root, entry_id, now_ms, reject_future, out);
    json_decref(root);
    return reason;
}
