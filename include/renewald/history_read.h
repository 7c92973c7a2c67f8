/*
 * history_read.h - one account's daily score history read back from Redis
 * (SPEC §7 GET /v1/accounts/ID/history): the two bytes of its ordinal in each
 * day key `<prefix>history:YYYY-MM-DD` (GETRANGE, pipelined, asynchronous),
 * the keys the commit writes at each day's first sweep.
 *
 * A read owns itself: it ends exactly once, by calling its callback with the
 * entries (or a failure), unless it was cancelled first; it frees itself when
 * the last reply came back.  The command sink is borrowed and must outlive
 * every read (its link ends each command with a reply or a NULL one).
 */
#ifndef RENEWALD_HISTORY_READ_H
#define RENEWALD_HISTORY_READ_H

#include "renewald/core/common.h"
#include "renewald/redis_link.h"

#define RW_HISTORY_READ_MAX_DAYS 401 /* [score] history <= 400d, plus today */

/*
 * The read ended: OK with ENTRIES[i] the 16-bit entry of day FIRST_DAY + i
 * (0 = none: the key or the account's bytes absent), for NDAYS days; or not OK
 * with WHY.  ENTRIES is borrowed for the call.
 */
typedef void (*rw_history_read_cb)(void *arg, bool ok, const char *why, int32_t first_day,
                                   const uint16_t *entries, int ndays);

struct rw_history_read;

/* Starts reading ORDINAL's entries of days FIRST_DAY .. FIRST_DAY + NDAYS - 1
 * (1..RW_HISTORY_READ_MAX_DAYS) under PREFIX; NULL (CB never called) when the
 * commands cannot be sent (the link is down). */
struct rw_history_read *rw_history_read_start(const struct rw_cmd_sink *sink, const char *prefix,
                                              uint32_t ordinal, int32_t first_day, int ndays,
                                              rw_history_read_cb cb, void *arg) RW_NODISCARD;
/* The callback will not be called; the read frees itself once its replies are in. */
void rw_history_read_cancel(struct rw_history_read *r);

#endif
