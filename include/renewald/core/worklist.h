/*
 * worklist.h - the renewal team's worklist (SPEC §7 GET /v1/accounts): accounts
 * filtered by band, renewal horizon, owner, tier, ARR and snooze, sorted, paged,
 * with the total count and ARR of every match.  A scan is resumable: it walks
 * the store in ordinal order a slice at a time, so that a request at a million
 * accounts never holds the event loop for long.
 *
 * The worklist owns its query strings and its result list; it borrows the
 * store and the history between calls (accounts are never freed while the
 * store lives).
 */
#ifndef RENEWALD_CORE_WORKLIST_H
#define RENEWALD_CORE_WORKLIST_H

#include "renewald/core/account_store.h"
#include "renewald/core/history.h"

#define RW_WORKLIST_MAX 10000 /* limit at most */

enum rw_worklist_sort {
    RW_SORT_SCORE = 0,       /* lowest first, null scores last */
    RW_SORT_DAYS_TO_RENEWAL, /* soonest first, no renewal date last */
    RW_SORT_ARR,             /* largest first, unknown last */
    RW_SORT_DELTA_7D,        /* biggest drop first, unknown last */
};

struct rw_worklist_query {
    unsigned bands;  /* bit (1u << enum rw_band); 0 = any */
    int within_days; /* keeps 0 <= days_to_renewal <= N; -1 = any */
    size_t limit;    /* 1..RW_WORKLIST_MAX, default 100 */
    size_t offset;
    char *owner, *tier; /* owned; NULL = any */
    bool has_min_arr;
    double min_arr;
    int snoozed; /* -1 any, 0 not snoozed, 1 snoozed */
    enum rw_worklist_sort sort;
};

/* Parses a query string (without '?', may be NULL) into Q (its strings heap
 * copies: free with rw_worklist_query_free); false with a reason in ERR. */
bool rw_worklist_parse(const char *query, struct rw_worklist_query *q, char *err,
                       size_t errcap) RW_NODISCARD;
void rw_worklist_query_free(struct rw_worklist_query *q);

/* The daily-history deltas of A at NOW: today's score minus N days ago, in tenths. */
bool rw_worklist_delta(const struct rw_history *h, const struct rw_account *a, int64_t now_ms,
                       int days, int *delta);

struct rw_worklist;

/* A scan for Q (taken over: the caller's copy is emptied) at NOW_MS. */
struct rw_worklist *rw_worklist_begin(struct rw_worklist_query *q, int64_t now_ms) RW_NODISCARD;
void rw_worklist_free(struct rw_worklist *w);
/* Looks at up to BUDGET more accounts; true when the scan is complete. */
bool rw_worklist_step(struct rw_worklist *w, const struct rw_store *st, const struct rw_history *h,
                      size_t budget);
/* After the scan: the page, in order, and the totals over every match. */
struct rw_account *const *rw_worklist_page(struct rw_worklist *w, size_t *n);
size_t rw_worklist_total(const struct rw_worklist *w);
double rw_worklist_arr_total(const struct rw_worklist *w);
int64_t rw_worklist_now(const struct rw_worklist *w);

#endif
