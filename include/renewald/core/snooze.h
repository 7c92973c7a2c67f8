/*
 * snooze.h - snoozing an account's band alerts (SPEC §3, §7 POST/DELETE
 * /v1/accounts/ID/snooze): the request body parsed and checked against `now`,
 * and the change applied through the engine so that it is evaluated (an ended
 * snooze alerts once if the band is worse than last alerted) and lands in the
 * next commit with the account's state.
 *
 * Nothing here allocates beyond a transient JSON parse; the request is a
 * caller-owned struct of fixed-size buffers.
 */
#ifndef RENEWALD_CORE_SNOOZE_H
#define RENEWALD_CORE_SNOOZE_H

#include "renewald/core/account_store.h"
#include "renewald/core/engine.h"

#define RW_SNOOZE_MAX_DAYS 365 /* until is at most this far after now */

struct rw_snooze_req {
    int64_t until_ms;                    /* > now, at most RW_SNOOZE_MAX_DAYS after it */
    char reason[RW_SNOOZE_TEXT_MAX + 1]; /* "" when not given */
    char by[RW_SNOOZE_TEXT_MAX + 1];     /* "" when not given */
};

/*
 * Parses a POST body: a JSON object with "until" ("YYYY-MM-DD", 00:00 UTC of
 * that day, or an RFC 3339 date-time) and optional strings (or null) "reason"
 * and "by" of at most RW_SNOOZE_TEXT_MAX bytes; no other key.  UNTIL must be
 * after NOW_MS and at most RW_SNOOZE_MAX_DAYS days after it.  False with a
 * reason for the client in ERR.
 */
bool rw_snooze_parse(const char *body, size_t len, int64_t now_ms, struct rw_snooze_req *out,
                     char *err, size_t errcap) RW_NODISCARD;

enum rw_snooze_result {
    RW_SNOOZE_DONE = 0, /* applied: the store's dirty set carries it */
    RW_SNOOZE_UNKNOWN,  /* no such account */
    RW_SNOOZE_BUSY,     /* a sweep is in progress: try again on a later loop turn */
};

/*
 * Snoozes account ID (REQ) or removes its snooze (REQ NULL), marks it dirty
 * and evaluates it at the engine's now (rw_engine_touch), which creates the
 * alert of an ended snooze through the engine's hooks.
 */
enum rw_snooze_result rw_snooze_apply(struct rw_engine *e, struct rw_store *st, const char *id,
                                      size_t id_len, const struct rw_snooze_req *req);

#endif
