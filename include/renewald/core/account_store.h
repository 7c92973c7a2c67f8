/*
 * account_store.h - every account the daemon knows: metadata, aggregate slots,
 * band state, alert bookkeeping, the dirty set of the work in hand, and the
 * compact binary record an account is persisted as.
 *
 * The store owns every struct rw_account (the struct, its id and its aggregate
 * slots, packed in large chunks the store allocates), its name and snooze, and
 * every interned string.
 * Pointers to accounts stay valid until rw_store_free(); accounts are never
 * removed one by one.  Every account has an ordinal, dense and stable for its
 * life (persisted in its record), which orders full passes and indexes
 * per-account arrays kept elsewhere (daily history).
 */
#ifndef RENEWALD_CORE_ACCOUNT_STORE_H
#define RENEWALD_CORE_ACCOUNT_STORE_H

#include "renewald/core/common.h"

#define RW_NO_TIME         INT64_MIN
#define RW_NO_DAY          INT32_MIN
#define RW_SNOOZE_TEXT_MAX 256 /* bytes of a snooze reason or author */

/* Rarely set state, kept by the store beside the account only when present
 * (rw_store_ext): most accounts have none, and pay nothing for it. */
struct rw_account_ext {
    int64_t snoozed_until_ms; /* RW_NO_TIME when not snoozed */
    char *snooze_reason;      /* owned, or NULL */
    char *snoozed_by;         /* owned, or NULL */
};

/* Bits of rw_account.flags. */
enum {
    RW_ACCT_DIRTY = 1u << 0,     /* store: in the dirty set */
    RW_ACCT_DUE_STALE = 1u << 1, /* engine: due time to be recomputed */
    RW_ACCT_SNOOZED = 1u << 2,   /* store: counted in rw_store_snoozed */
    RW_ACCT_EXT = 1u << 3,       /* store: has a struct rw_account_ext */
};

struct rw_account {
    int64_t first_seen_ms;    /* earliest event time applied, RW_NO_TIME before any */
    int64_t last_event_ms;    /* newest event time applied, RW_NO_TIME before any */
    int64_t ref_ms;           /* reference time of the decayed slots */
    int64_t below_healthy_ms; /* band waits (struct rw_band_state), RW_NO_TIME when none */
    int64_t below_watch_ms;
    char *name;          /* owned by the store (rw_store_set_name), or NULL */
    const char *owner;   /* interned in the store, or NULL */
    const char *tier;    /* interned in the store, or NULL */
    double arr, seats;   /* NAN when unknown */
    float score;         /* last evaluated score (worklist order), NAN when null */
    int32_t renewal_day; /* days since the epoch, RW_NO_DAY when none */
    uint32_t ordinal;    /* dense, stable, persisted */
    uint32_t band_seq;   /* band alerts so far (part of band_change alert ids) */
    uint32_t heap_pos;   /* engine: index in its due heap, UINT32_MAX when none */
    uint32_t due_s;      /* engine: the next time it may change, whole seconds rounded down
                          * (due_heap.h; not persisted) */
    /* Packed in 32 bits: the 16-byte record of an account with a short id fits
     * its 8-byte slot boundary 8 bytes earlier. */
    signed int window_alerted : 16; /* smallest renewal window alerted for renewal_day, 0 = none */
    unsigned int band : 2;          /* enum rw_band */
    unsigned int notified_band : 2; /* enum rw_band last alerted (or silently accepted) */
    unsigned int flags : 4;         /* RW_ACCT_* */
    unsigned int id_len : 8;        /* 1..RW_ACCOUNT_MAX */
    char id[];                      /* id_len bytes + NUL, then the aggregate slots */
};

/* The aggregate slots (rw_store_nslots doubles) that follow the id. */
double *rw_account_agg(const struct rw_account *a);

struct rw_store;

/* A store whose accounts carry NSLOTS aggregate doubles each. */
struct rw_store *rw_store_new(size_t nslots) RW_NODISCARD;
void rw_store_free(struct rw_store *st);
/* Makes room for N accounts at once (a load that knows how many come): no
 * rehash while they are added.  Changes nothing that can be seen. */
void rw_store_reserve(struct rw_store *st, size_t n);
/* Returns the memory of the account blocks not used yet to the kernel (after a
 * load).  Changes nothing that can be seen. */
void rw_store_trim(struct rw_store *st);
size_t rw_store_nslots(const struct rw_store *st);
size_t rw_store_count(const struct rw_store *st);

/* The account with this id, or NULL (also for a LEN out of 1..RW_ACCOUNT_MAX). */
struct rw_account *rw_store_find(const struct rw_store *st, const char *id, size_t len);
/*
 * The account with this id, created when absent (slots zeroed: the caller
 * resets them with rw_scorer_reset; times RW_NO_TIME, metadata unknown, band
 * unknown, the next free ordinal).  *CREATED (may be NULL) tells which.  NULL
 * when LEN is not 1..RW_ACCOUNT_MAX.
 */
struct rw_account *rw_store_upsert(struct rw_store *st, const char *id, size_t len, bool *created);

/*
 * Batch helpers: rw_store_hash gives the hash of an id (for one batch: the
 * seed is the store's) and prefetches its table slot; rw_store_prefetch
 * fetches the account of an id whose slot is already cached.  Both are only
 * hints; rw_store_upsert_hashed is rw_store_upsert with the hash given.
 */
uint64_t rw_store_hash(const struct rw_store *st, const char *id, size_t len);
void rw_store_prefetch(const struct rw_store *st, const char *id, size_t len, uint64_t h);
struct rw_account *rw_store_upsert_hashed(struct rw_store *st, const char *id, size_t len,
                                          uint64_t h, bool *created);

/* Ordinals: one past the largest in use, and the account holding one (NULL for a hole).
 * Ordinals stay below RW_ORDINAL_MAX (134 million accounts). */
#define RW_ORDINAL_MAX (UINT32_C(1) << 27)
uint32_t rw_store_ordinal_end(const struct rw_store *st);
struct rw_account *rw_store_by_ordinal(const struct rw_store *st, uint32_t ordinal);
/* Gives A the ordinal ORD (a restored record); false when another account holds
 * it or it is not below RW_ORDINAL_MAX (A keeps its own). */
bool rw_store_set_ordinal(struct rw_store *st, struct rw_account *a, uint32_t ord) RW_NODISCARD;

/*
 * Accounts and their ARR per band, kept as bands and ARRs change so that
 * reading them costs nothing (SPEC §7 /v1/summary, renewald_accounts{band},
 * renewald_arr{band}): the store counts a new account as unknown without ARR;
 * a->band and a->arr are changed only through rw_store_set_band and
 * rw_store_set_arr.  The ARR totals add each account's ARR rounded to cents
 * (exact integers: no drift however often they move); unknown ARR adds 0.
 */
size_t rw_store_band_count(const struct rw_store *st, int band);
__int128 rw_store_band_arr_cents(const struct rw_store *st, int band);
void rw_store_set_band(struct rw_store *st, struct rw_account *a, uint8_t band);
/* ARR NAN = unknown. */
void rw_store_set_arr(struct rw_store *st, struct rw_account *a, double arr);
/* An ARR in whole cents as the totals add it: 0 when unknown, clamped to
 * ±10^12 (no account is worth more; the sums stay far from overflow). */
int64_t rw_arr_cents(double arr);

/* Iterates every account in ordinal order: start with *CURSOR = 0; NULL at the end. */
struct rw_account *rw_store_next(const struct rw_store *st, size_t *cursor);
/* Iterates every account in the order they lie in memory, the fastest full pass
 * for a caller to whom the order does not matter (the worklist, the summary):
 * start with *CURSOR = 0; NULL at the end.  Accounts created between two calls
 * are met too.  A cursor is only valid for the store it was used with. */
struct rw_account *rw_store_walk(const struct rw_store *st, uint64_t *cursor);

/* Interned copy of S[0..LEN), owned by the store. */
const char *rw_store_intern(struct rw_store *st, const char *s, size_t len);
/* Replaces the account's name with a copy of S[0..LEN) (S NULL clears it),
 * kept by the store; a->name stays valid until the next call for any account. */
void rw_store_set_name(struct rw_store *st, struct rw_account *a, const char *s, size_t len);
/* The account's rarely set state (its snooze), or NULL when it has none; valid
 * until the account's next rw_store_set_snooze. */
const struct rw_account_ext *rw_store_ext(const struct rw_store *st, const struct rw_account *a);
/* Sets or clears (UNTIL_MS == RW_NO_TIME) the snooze; strings are copied (at
 * most RW_SNOOZE_TEXT_MAX bytes each), NULL = none. */
void rw_store_set_snooze(struct rw_store *st, struct rw_account *a, int64_t until_ms,
                         const char *reason, const char *by);
/* The snooze end, RW_NO_TIME when not snoozed. */
int64_t rw_store_snoozed_until(const struct rw_store *st, const struct rw_account *a);

/* The dirty set: accounts whose persisted state changed since the last rw_store_clear_dirty.
 * Marking an account also brings the count of snoozed accounts up to date. */
void rw_store_mark_dirty(struct rw_store *st, struct rw_account *a);
/* Accounts with a snooze on record (renewald_accounts_snoozed): a snooze set or
 * cleared is counted at rw_store_mark_dirty, or at rw_store_note_snooze. */
size_t rw_store_snoozed(const struct rw_store *st);
void rw_store_note_snooze(struct rw_store *st, struct rw_account *a);
struct rw_account *const *rw_store_dirty(const struct rw_store *st, size_t *n);
void rw_store_clear_dirty(struct rw_store *st);

/* Approximate heap bytes held by the store (for metrics and the benchmark). */
size_t rw_store_memory(const struct rw_store *st);

/* Days from the UTC day of NOW_MS to the renewal date, or INT32_MIN when none. */
int32_t rw_account_days_to_renewal(const struct rw_account *a, int64_t now_ms);

/* ---- the persisted record ---- */

struct rw_scorer;

/*
 * The persisted record of an account (without its id, which is its key): a
 * versioned little-endian layout that names each signal's slots by the
 * signal's fingerprint, so that a record written under another configuration
 * keeps the aggregates of the signals that did not change.
 *
 * rw_account_encode returns the record's size; it writes only when that is
 * <= CAP.  rw_account_decode creates or overwrites the account ID in ST and
 * returns it, or NULL (the store unchanged) when BUF is not a valid record; it
 * sets *SIGNALS_RESET (may be NULL) to the number of signals whose aggregates
 * it could not keep (they start empty).
 */
#define RW_ACCOUNT_RECORD_MAX 4096
size_t rw_account_encode(const struct rw_scorer *sc, const struct rw_store *st,
                         const struct rw_account *a, uint8_t *buf, size_t cap);
struct rw_account *rw_account_decode(struct rw_store *st, const struct rw_scorer *sc,
                                     const char *id, size_t id_len, const uint8_t *buf, size_t len,
                                     int *signals_reset) RW_NODISCARD;
/* A new store laid out for NEW_SC holding every account of OLD (laid out for
 * OLD_SC) through their records, dirty ones still dirty; the caller frees both. */
struct rw_store *rw_store_relayout(const struct rw_store *old, const struct rw_scorer *old_sc,
                                   const struct rw_scorer *new_sc) RW_NODISCARD;

#endif
