/*
 * timeutil.h - RFC 3339 times, calendar dates and Redis stream entry ids.
 * Pure functions over caller-owned buffers; nothing here allocates.
 */
#ifndef RENEWALD_TIMEUTIL_H
#define RENEWALD_TIMEUTIL_H

#include "renewald/core/common.h"

#define RW_RFC3339_MAX  32 /* buffer size for rw_format_rfc3339 */
#define RW_DATE_MAX     11 /* buffer size for "YYYY-MM-DD" */
#define RW_ENTRY_ID_MAX 48 /* buffer size for a stream entry id "MS-SEQ" */

/*
 * Parses an RFC 3339 date-time ("2026-11-20T10:00:00.123Z", "...+02:00";
 * 't'/'z' and a space separator accepted; fraction of 1..9 digits, rounded
 * down to ms).  Rejects impossible dates and times (Feb 30, hour 24, minute
 * 60; a leap second :60 is accepted as :59.999).  The whole of S[0..LEN) must match.
 */
bool rw_parse_rfc3339(const char *s, size_t len, int64_t *out_ms);
/* Formats MS as "YYYY-MM-DDTHH:MM:SS.mmmZ" into BUF (RW_RFC3339_MAX bytes). */
void rw_format_rfc3339(int64_t ms, char *buf);

/* Days since 1970-01-01 of a real calendar date "YYYY-MM-DD" (years 1..9999). */
bool rw_parse_date(const char *s, size_t len, int32_t *out_day);
/* Formats a day number as "YYYY-MM-DD" into BUF (RW_DATE_MAX bytes). */
void rw_format_date(int32_t day, char *buf);
/* The UTC calendar day of a time in ms (floor division). */
int32_t rw_day_of_ms(int64_t ms);

/* A stream entry id "MS-SEQ" (both parts unsigned 64-bit decimal). */
struct rw_entry_id {
    uint64_t ms, seq;
};
bool rw_parse_entry_id(const char *s, size_t len, struct rw_entry_id *out);
void rw_format_entry_id(struct rw_entry_id id, char *buf); /* RW_ENTRY_ID_MAX bytes */
/* -1, 0 or 1. */
int rw_entry_id_cmp(struct rw_entry_id a, struct rw_entry_id b);

#endif
