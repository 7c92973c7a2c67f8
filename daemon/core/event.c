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
 * Two readers feed the same checks: a scanner for the flat objects producers
 * send (event_scan.c: no allocation, strings read in place), and jansson for
 * everything else (nested values, escaped keys, anything the scanner does not
 * accept outright, which jansson then judges).  Both fill a struct
 * rw_event_members; the checks run once, on it, so both give the same verdict.
 * When jansson cannot allocate, the reason is out_of_memory, which is not a
 * dead-letter reason: the caller stops.
 */
#include "renewald/core/event.h"

#include "event_members.h"

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

/* C0, DEL, or C1 (U+0080..U+009F, "\xC2\x80".."\xC2\x9F" in valid UTF-8). */
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
static bool copy_text(const struct rw_member *j, size_t min, size_t max, char *buf, size_t *out_len)
{
    if (j->kind != RW_MEMBER_STRING)
        return false;
    if (j->len < min || j->len > max || has_control(j->s, j->len))
        return false;
    memcpy(buf, j->s, j->len);
    buf[j->len] = '\0';
    if (out_len)
        *out_len = j->len;
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

static bool is_number(const struct rw_member *j)
{
    return j->kind == RW_MEMBER_INT || j->kind == RW_MEMBER_REAL;
}

static double number_of(const struct rw_member *j)
{
    return j->kind == RW_MEMBER_INT ? (double)j->i : j->d;
}

/* A finite number >= 0, with -0 made +0. */
static bool nonneg_number(const struct rw_member *j, double *out)
{
    if (!is_number(j))
        return false;
    const double v = number_of(j);
    if (!isfinite(v) || v < 0)
        return false;
    *out = v + 0.0;
    return true;
}

static const char *parse_ts(const struct rw_member *j, struct rw_entry_id entry_id, int64_t *out)
{
    if (j->kind == RW_MEMBER_ABSENT) {
        if (entry_id.ms > (uint64_t)TS_MAX)
            return "bad_ts";
        *out = (int64_t)entry_id.ms;
    } else if (j->kind == RW_MEMBER_INT) {
        if (j->i < 0 || j->i > TS_MAX)
            return "bad_ts";
        *out = j->i;
    } else if (j->kind == RW_MEMBER_STRING) {
        int64_t ms;
        if (!rw_parse_rfc3339(j->s, j->len, &ms) || ms < 0 || ms > TS_MAX)
            return "bad_ts";
        *out = ms;
    } else {
        return "bad_ts";
    }
    return NULL;
}

/* One metadata key: absent leaves it alone, null clears it; else OK says whether it is valid. */
static const char *meta_key(const struct rw_member *j, unsigned bit, bool ok, struct rw_event *ev,
                            const char *bad)
{
    if (j->kind == RW_MEMBER_ABSENT)
        return NULL;
    if (j->kind == RW_MEMBER_NULL) {
        ev->meta_null |= bit;
        return NULL;
    }
    if (!ok)
        return bad;
    ev->meta_set |= bit;
    return NULL;
}

/* The metadata keys of an `account` event; the first bad key's reason. */
static const char *parse_meta(const struct rw_event_members *m, struct rw_event *ev)
{
    const struct rw_member *j;
    const char *r;
    j = &m->v[RW_MK_NAME];
    if ((r = meta_key(j, RW_META_NAME, copy_text(j, 1, RW_NAME_MAX, ev->name, NULL), ev,
                      "bad_name")))
        return r;
    j = &m->v[RW_MK_OWNER];
    bool owner = j->kind == RW_MEMBER_STRING && valid_owner(j->s, j->len);
    if (owner) {
        memcpy(ev->owner, j->s, j->len);
        ev->owner[j->len] = '\0';
    }
    if ((r = meta_key(j, RW_META_OWNER, owner, ev, "bad_owner")))
        return r;
    j = &m->v[RW_MK_TIER];
    if ((r = meta_key(j, RW_META_TIER, copy_text(j, 1, RW_TIER_MAX, ev->tier, NULL), ev,
                      "bad_tier")))
        return r;
    j = &m->v[RW_MK_ARR];
    if ((r = meta_key(j, RW_META_ARR, nonneg_number(j, &ev->arr), ev, "bad_arr")))
        return r;
    j = &m->v[RW_MK_SEATS];
    if ((r = meta_key(j, RW_META_SEATS, nonneg_number(j, &ev->seats), ev, "bad_seats")))
        return r;
    j = &m->v[RW_MK_RENEWAL_DATE];
    bool date = j->kind == RW_MEMBER_STRING && rw_parse_date(j->s, j->len, &ev->renewal_day);
    return meta_key(j, RW_META_RENEWAL_DATE, date, ev, "bad_renewal_date");
}

/* Every check after the JSON parse, in the documented order. */
static const char *check_members(const struct rw_event_members *m, struct rw_entry_id entry_id,
                                 int64_t now_ms, bool reject_future, struct rw_event *ev)
{
    const struct rw_member *j;
    const char *reason;

    if (!m->object)
        return "not_object";

    j = &m->v[RW_MK_ACCOUNT];
    if (j->kind == RW_MEMBER_ABSENT)
        return "missing_account";
    if (!copy_text(j, 1, RW_ACCOUNT_MAX, ev->account, &ev->account_len))
        return "bad_account";

    j = &m->v[RW_MK_TYPE];
    if (j->kind == RW_MEMBER_ABSENT)
        return "missing_type";
    if (!copy_text(j, 1, RW_TYPE_MAX, ev->type, &ev->type_len))
        return "bad_type";

    j = &m->v[RW_MK_TS];
    ev->has_ts = j->kind != RW_MEMBER_ABSENT;
    if ((reason = parse_ts(j, entry_id, &ev->ts_ms)) != NULL)
        return reason;
    /* Written without now_ms + 1 day so a huge now_ms cannot overflow. */
    if (reject_future && now_ms <= INT64_MAX - RW_MS_PER_DAY && ev->ts_ms > now_ms + RW_MS_PER_DAY)
        return "future_ts";

    j = &m->v[RW_MK_VALUE];
    if (j->kind == RW_MEMBER_ABSENT) {
        ev->value = 1;
    } else {
        if (!is_number(j) || !isfinite(number_of(j)))
            return "bad_value";
        ev->value = number_of(j);
    }

    ev->is_account = ev->type_len == 7 && memcmp(ev->type, "account", 7) == 0;
    if (ev->is_account)
        return parse_meta(m, ev);
    return NULL;
}

const char *const rw_event_member_names[RW_MK_COUNT] = {
    "account", "type", "ts", "value", "name", "owner", "tier", "arr", "seats", "renewal_date",
};

/* The known members of a jansson value (borrowing its strings). */
static void members_of(const json_t *root, struct rw_event_members *m)
{
    memset(m, 0, sizeof(*m));
    m->object = json_is_object(root);
    if (!m->object)
        return;
    for (int k = 0; k < RW_MK_COUNT; k++) {
        const json_t *j = json_object_get(root, rw_event_member_names[k]);
        struct rw_member *v = &m->v[k];
        if (!j)
            v->kind = RW_MEMBER_ABSENT;
        else if (json_is_null(j))
            v->kind = RW_MEMBER_NULL;
        else if (json_is_string(j)) {
            v->kind = RW_MEMBER_STRING;
            v->s = json_string_value(j);
            v->len = json_string_length(j);
        } else if (json_is_integer(j)) {
            v->kind = RW_MEMBER_INT;
            v->i = (int64_t)json_integer_value(j);
        } else if (json_is_real(j)) {
            v->kind = RW_MEMBER_REAL;
            v->d = json_real_value(j);
        } else {
            v->kind = RW_MEMBER_OTHER;
        }
    }
}

static void clear_event(struct rw_event *out)
{
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
}

const char *rw_event_parse_jansson(struct rw_entry_id entry_id, const char *data, size_t len,
                                   int64_t now_ms, bool reject_future, struct rw_event *out)
{
    bool oom;
    json_t *root = parse_guarded(data, len, &oom);
    if (oom)
        return rw_event_oom_reason;
    if (root == NULL)
        return "invalid_json";
    clear_event(out);
    struct rw_event_members m;
    members_of(root, &m);
    const char *reason = check_members(&m, entry_id, now_ms, reject_future, out);
    json_decref(root);
    return reason;
}

const char *rw_event_parse(struct rw_entry_id entry_id, const char *data, size_t len,
                           int64_t now_ms, bool reject_future, struct rw_event *out)
{
    struct rw_event_members m;
    struct rw_event_scratch scratch;
    if (rw_event_scan(data, len, &m, &scratch)) {
        clear_event(out);
        return check_members(&m, entry_id, now_ms, reject_future, out);
    }
    return rw_event_parse_jansson(entry_id, data, len, now_ms, reject_future, out);
}
