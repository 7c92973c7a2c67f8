/*
 * event_members.h - private to event.c and event_scan.c: the members of an
 * event object that the checks look at, as either reader found them.
 */
#ifndef RENEWALD_CORE_EVENT_MEMBERS_H
#define RENEWALD_CORE_EVENT_MEMBERS_H

#include "renewald/core/common.h"

enum rw_member_kind {
    RW_MEMBER_ABSENT = 0,
    RW_MEMBER_NULL,
    RW_MEMBER_STRING, /* S[0..LEN): valid UTF-8, no NUL */
    RW_MEMBER_INT,    /* I */
    RW_MEMBER_REAL,   /* D, finite */
    RW_MEMBER_OTHER,  /* true, false, an array or an object */
};

struct rw_member {
    enum rw_member_kind kind;
    const char *s;
    size_t len;
    int64_t i;
    double d;
};

enum {
    RW_MK_ACCOUNT,
    RW_MK_TYPE,
    RW_MK_TS,
    RW_MK_VALUE,
    RW_MK_NAME,
    RW_MK_OWNER,
    RW_MK_TIER,
    RW_MK_ARR,
    RW_MK_SEATS,
    RW_MK_RENEWAL_DATE,
    RW_MK_COUNT,
};
extern const char *const rw_event_member_names[RW_MK_COUNT];

struct rw_event_members {
    bool object; /* false: the document is valid JSON but not an object */
    struct rw_member v[RW_MK_COUNT];
};

/* Decoded strings (those with escapes) of the known members, cut at
 * RW_SCAN_TEXT - 1 bytes: longer than any limit the checks apply. */
#define RW_SCAN_TEXT 300
struct rw_event_scratch {
    char buf[RW_MK_COUNT][RW_SCAN_TEXT];
};

/*
 * Reads DATA[0..LEN) when it is one flat JSON object (string keys without
 * escapes, values that are strings, numbers, true, false or null) that
 * jansson would accept too: fills M (strings point into DATA or SCRATCH) and
 * returns true.  Returns false for anything else -- nested values, escaped
 * keys, a duplicate key, bad syntax or encoding, a number jansson refuses --
 * and the caller asks jansson.  Allocates nothing.
 */
bool rw_event_scan(const char *data, size_t len, struct rw_event_members *m,
                   struct rw_event_scratch *scratch);

#endif
