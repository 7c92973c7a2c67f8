/*
 * summary.h - the renewal picture (SPEC §7 GET /v1/summary): accounts and ARR
 * by band, and by calendar month of the renewals within N days, soonest first.
 *
 * The totals by band are the store's own (kept as bands and ARRs change, the
 * figures renewald_arr{band} shows).  The months need a walk over the
 * accounts, done like the worklist's: resumable, a slice at a time, so that a
 * million accounts never hold the event loop for long.  ARR sums add each
 * account's ARR rounded to cents, as the store's totals do.
 *
 * A summary owns its month table; it borrows the store between calls
 * (accounts are never freed while the store lives).
 */
#ifndef RENEWALD_CORE_SUMMARY_H
#define RENEWALD_CORE_SUMMARY_H

#include "renewald/core/account_store.h"
#include "renewald/core/jsonw.h"

#define RW_SUMMARY_DEFAULT_DAYS 365
#define RW_SUMMARY_MAX_DAYS     3660 /* ten years: at most 122 months */

/* Parses the query string (without '?', may be NULL): within_days=N
 * (0..RW_SUMMARY_MAX_DAYS, default 365).  False with a reason in ERR. */
bool rw_summary_parse(const char *query, int *within_days, char *err, size_t errcap) RW_NODISCARD;

struct rw_summary;

/* A walk for renewals 0..WITHIN_DAYS days after the UTC day of NOW_MS. */
struct rw_summary *rw_summary_begin(int within_days, int64_t now_ms) RW_NODISCARD;
void rw_summary_free(struct rw_summary *s);
/* Looks at up to BUDGET more accounts; true when the walk is complete. */
bool rw_summary_step(struct rw_summary *s, const struct rw_store *st, size_t budget);
/*
 * After the walk: the answer {"as_of", "within_days", "accounts": {band: n},
 * "arr": {band: sum}, "renewals": [{"month": "YYYY-MM", "accounts": {…},
 * "arr": {…}}…]} into W, the by-band totals read from ST now.  Every band is
 * a key of every object; only months with a renewal are listed.
 */
void rw_summary_render(const struct rw_summary *s, const struct rw_store *st, struct rw_jsonw *w);

/* A sum of cents as a decimal number with at most two decimals ("1234.5",
 * "-0.07", "12"): exact, for JSON and the metrics alike. */
#define RW_CENTS_MAX 48
void rw_format_cents(__int128 cents, char buf[RW_CENTS_MAX]);

#endif
