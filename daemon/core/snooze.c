/* snooze.c - the snooze request checked against now, and applied through the engine. */
#include "renewald/core/snooze.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "renewald/core/timeutil.h"

/* "until": a calendar date (its 00:00 UTC) or an RFC 3339 date-time. */
static bool parse_until(const json_t *v, int64_t *out)
{
    if (!json_is_string(v))
        return false;
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    int32_t day;
    if (len == 10 && rw_parse_date(s, len, &day)) {
        *out = (int64_t)day * RW_MS_PER_DAY;
        return true;
    }
    return rw_parse_rfc3339(s, len, out);
}

/* An optional string member KEY of at most RW_SNOOZE_TEXT_MAX bytes into BUF. */
static bool text_member(const json_t *obj, const char *key, char *buf, char *err, size_t errcap)
{
    const json_t *v = json_object_get(obj, key);
    buf[0] = '\0';
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v)) {
        snprintf(err, errcap, "%s must be a string", key);
        return false;
    }
    size_t len = json_string_length(v);
    if (len > RW_SNOOZE_TEXT_MAX) {
        snprintf(err, errcap, "%s is longer than %d bytes", key, RW_SNOOZE_TEXT_MAX);
        return false;
    }
    memcpy(buf, json_string_value(v), len);
    buf[len] = '\0';
    return true;
}

static bool check_object(const json_t *root, int64_t now_ms, struct rw_snooze_req *out, char *err,
                         size_t errcap)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)root, key, v)
    {
        if (strcmp(key, "until") != 0 && strcmp(key, "reason") != 0 && strcmp(key, "by") != 0) {
            snprintf(err, errcap, "unknown key '%.32s'", key);
            return false;
        }
    }
    v = json_object_get(root, "until");
    if (!v || json_is_null(v)) {
        snprintf(err, errcap, "until is required");
        return false;
    }
    if (!parse_until(v, &out->until_ms)) {
        snprintf(err, errcap, "until must be a date YYYY-MM-DD or an RFC 3339 date-time");
        return false;
    }
    if (out->until_ms <= now_ms) {
        snprintf(err, errcap, "until must be after now");
        return false;
    }
    if (out->until_ms - now_ms > RW_SNOOZE_MAX_DAYS * RW_MS_PER_DAY) {
        snprintf(err, errcap, "until must be at most %d days after now", RW_SNOOZE_MAX_DAYS);
        return false;
    }
    return text_member(root, "reason", out->reason, err, errcap) &&
           text_member(root, "by", out->by, err, errcap);
}

bool rw_snooze_parse(const char *body, size_t len, int64_t now_ms, struct rw_snooze_req *out,
                     char *err, size_t errcap)
{
    memset(out, 0, sizeof *out);
    json_error_t jerr;
    /* NUL bytes refused (jansson's default): the texts are C strings. */
    json_t *root = json_loadb(body ? body : "", body ? len : 0,
                              JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!root) {
        snprintf(err, errcap, "body is not valid JSON: %.100s", jerr.text);
        return false;
    }
    bool ok = false;
    if (!json_is_object(root))
        snprintf(err, errcap, "body must be a JSON object");
    else
        ok = check_object(root, now_ms, out, err, errcap);
    json_decref(root);
    return ok;
}

enum rw_snooze_result rw_snooze_apply(struct rw_engine *e, struct rw_store *st, const char *id,
                                      size_t id_len, const struct rw_snooze_req *req)
{
    struct rw_account *a = rw_store_find(st, id, id_len);
    if (!a)
        return RW_SNOOZE_UNKNOWN;
    if (rw_engine_busy(e))
        return RW_SNOOZE_BUSY;
    if (req)
        rw_store_set_snooze(st, a, req->until_ms, req->reason[0] ? req->reason : NULL,
                            req->by[0] ? req->by : NULL);
    else
        rw_store_set_snooze(st, a, RW_NO_TIME, NULL, NULL);
    rw_store_mark_dirty(st, a);
    rw_engine_touch(e, a);
    return RW_SNOOZE_DONE;
}
