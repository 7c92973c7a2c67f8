/*
 * event.h - one stream entry's `event` field to a small fixed struct, or the
 * reason it is dead-lettered (SPEC §1).  This is the only module that sees the
 * JSON of an event; everything after it works on struct rw_event.
 *
 * Nothing here allocates memory that outlives a call: the struct holds its
 * strings in fixed buffers owned by the caller.
 */
#ifndef RENEWALD_EVENT_H
#define RENEWALD_EVENT_H

#include "renewald/core/common.h"
#include "renewald/core/timeutil.h"

/* Bits of rw_event.meta_set / meta_null: the metadata keys of an `account` event. */
enum rw_meta_key {
    RW_META_NAME = 1u << 0,
    RW_META_OWNER = 1u << 1,
    RW_META_TIER = 1u << 2,
    RW_META_ARR = 1u << 3,
    RW_META_SEATS = 1u << 4,
    RW_META_RENEWAL_DATE = 1u << 5,
};

struct rw_event {
    char account[RW_ACCOUNT_MAX + 1];
    size_t account_len;
    char type[RW_TYPE_MAX + 1];
    size_t type_len;
    int64_t ts_ms;      /* from `ts`, or the ms part of the entry id */
    bool has_ts;        /* `ts` was given */
    double value;       /* default 1 */
    bool is_account;    /* type == "account": the metadata fields below apply */
    unsigned meta_set;  /* keys present with a value */
    unsigned meta_null; /* keys present as null: clear them */
    char name[RW_NAME_MAX + 1];
    char owner[RW_OWNER_MAX + 1];
    char tier[RW_TIER_MAX + 1];
    double arr, seats;
    int32_t renewal_day; /* days since the epoch */
};

/*
 * Parses the `event` field DATA[0..LEN) of the entry ENTRY_ID.  NOW_MS and
 * REJECT_FUTURE implement "ts more than 1 day ahead of the daemon's clock under
 * clock = wall" (pass false under clock = event).  Returns NULL and fills *OUT
 * on success, else a static snake_case reason:
 *   invalid_json, not_object, missing_account, bad_account, missing_type,
 *   bad_type, bad_ts, future_ts, bad_value, bad_name, bad_owner, bad_tier,
 *   bad_arr, bad_seats, bad_renewal_date
 * (the reader itself uses missing_event and bad_entry_id), or
 * rw_event_oom_reason ("out_of_memory") when jansson could not allocate: that
 * is no verdict on the event, which must not be dead-lettered; running out of
 * memory is fatal, so the caller stops the daemon.
 */
const char *rw_event_parse(struct rw_entry_id entry_id, const char *data, size_t len,
                           int64_t now_ms, bool reject_future, struct rw_event *out) RW_NODISCARD;

/* The same with jansson alone (the scanner's reference, for tests and fuzzing). */
const char *rw_event_parse_jansson(struct rw_entry_id entry_id, const char *data, size_t len,
                                   int64_t now_ms, bool reject_future,
                                   struct rw_event *out) RW_NODISCARD;

/* "out_of_memory": compare the result by pointer.  Not in rw_event_reasons. */
extern const char rw_event_oom_reason[];

/* Every dead-letter reason rw_event_parse and the reader can give, NULL-terminated
 * (for metrics). */
extern const char *const rw_event_reasons[];

#endif
