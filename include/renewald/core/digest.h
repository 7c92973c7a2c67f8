/*
 * digest.h - what a digest is, without I/O (SPEC §4 "Digests"): the window
 * of length D (shifted by an offset) that holds an alert's time, the stable id
 * of the digest of one (sink, window, recipient), and the digest object built
 * from its alerts, most urgent first.
 *
 * A window is [start, end) with end = start + D; a catch-up digest is the
 * window [T, T] of the alerts created when a catch-up ended at T (it closes
 * once `now` is past T).  Times are ms since the epoch in the engine's `now`
 * (event time under clock = event).
 */
#ifndef RENEWALD_CORE_DIGEST_H
#define RENEWALD_CORE_DIGEST_H

#include <jansson.h>

#include "renewald/core/alert.h"

/* The start of the window of length D_MS (> 0) shifted by OFFSET_MS holding TS_MS. */
int64_t rw_digest_window_start(int64_t ts_ms, int64_t d_ms, int64_t offset_ms);
/* A window [START, END) is over at NOW_MS (a catch-up window [T, T]: NOW_MS > T). */
bool rw_digest_window_over(int64_t start_ms, int64_t end_ms, int64_t now_ms);

/* Lowercase hex of the first 16 bytes of SHA-256 over "digest", SINK, START,
 * END and RECIPIENT ("" for none), NUL-separated. */
void rw_digest_id(const char *sink, int64_t start_ms, int64_t end_ms, const char *recipient,
                  char out[RW_ALERT_ID_LEN + 1]);

/*
 * The digest object {"kind": "digest", "id", "window_start", "window_end",
 * "alerts": [...]} (plus "owner": RECIPIENT when RECIPIENT is not NULL, for
 * an e-mail sink that writes to owners) as a new reference.  ALERTS (an array
 * of alert objects) is borrowed; the digest holds them ordered most urgent
 * first: at_risk, then watch, then the rest; then the nearest renewal
 * (accounts without one last); then ts; then id.
 */
json_t *rw_digest_build(const char *sink, int64_t start_ms, int64_t end_ms, const char *recipient,
                        const json_t *alerts) RW_NODISCARD;

/* True when ALERT (a job's alert object) is a digest. */
bool rw_digest_is(const json_t *alert);

#endif
