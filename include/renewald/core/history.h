/*
 * history.h - the accounts' recent daily scores in memory: for each of the
 * last RW_HISTORY_RING UTC days, one entry per account ordinal (its score in
 * tenths at the first sweep of that day).  Enough for the alerts' score_7d and
 * score_30d and the worklist's deltas; the long history lives outside the
 * daemon (in Redis), written from the newest day's entries.
 *
 * The day a sweep records keeps full 16-bit entries, with the band, until
 * they are written out: 0 = none recorded; else
 * RW_HIST_SET | band << 11 | tenths (RW_HIST_NULL_SCORE for a null score).
 * Then the day only serves its scores: when its sweep ends or a newer day
 * begins it is packed to 10 bits an entry (1.25 bytes an account instead of
 * 2), its bands dropped.
 *
 * The history owns its arrays.
 */
#ifndef RENEWALD_CORE_HISTORY_H
#define RENEWALD_CORE_HISTORY_H

#include "renewald/core/common.h"

#define RW_HISTORY_RING    31 /* today and the 30 days before: score_30d, delta_30d */
#define RW_HIST_SET        0x8000u
#define RW_HIST_NULL_SCORE 0x7FFu

struct rw_history;

struct rw_history *rw_history_new(void) RW_NODISCARD;
void rw_history_free(struct rw_history *h);
/* Forgets everything. */
void rw_history_clear(struct rw_history *h);

/* Makes DAY the newest day, whole (older days beyond the ring are dropped, the
 * other older days packed; a day already present keeps its scores, unpacked
 * with their bands 0 until recorded again). */
void rw_history_begin_day(struct rw_history *h, int32_t day);
/* DAY is recorded and written out: packs it too. */
void rw_history_end_day(struct rw_history *h, int32_t day);
/* Records ORDINAL's entry for DAY (must be within the ring; else ignored). */
void rw_history_set(struct rw_history *h, int32_t day, uint32_t ordinal, uint16_t entry);
/* The score (tenths) of ORDINAL on DAY, or -1 when none was recorded, the
 * score was null, or DAY is outside the ring. */
int rw_history_tenths_at(const struct rw_history *h, int32_t day, uint32_t ordinal);
/* The full entries of DAY as an array of N (>= the highest ordinal + 1 set),
 * or NULL when DAY is absent or packed (only the newest day is kept whole). */
const uint16_t *rw_history_day(const struct rw_history *h, int32_t day, uint32_t *n);
/* Replaces DAY's entries with the N little-endian 16-bit values at BYTES (a
 * restore); packed at once unless DAY is the newest day held. */
void rw_history_load_day(struct rw_history *h, int32_t day, const unsigned char *bytes, size_t n);

uint16_t rw_history_entry(int band, bool has_score, int tenths);
/* The score (tenths) of an entry, or -1 when none or null; the band, or -1. */
int rw_history_tenths(uint16_t entry);
int rw_history_band(uint16_t entry);

size_t rw_history_memory(const struct rw_history *h);

#endif
