/*
 * account_store.h - every account the daemon knows: metadata, aggregate slots,
 * band bookkeeping, the dirty set of the batch in hand, and the compact binary
 * record an account is persisted as.
 *
 * The store owns every struct rw_account (one allocation each: the struct, its
 * aggregate slots and its id) and every interned string.  Pointers to accounts
 * stay valid until rw_store_free(); accounts are never removed one by one.
 */
#ifndef RENEWALD_ACCOUNT_STORE_H
#define RENEWALD_ACCOUNT_STORE_H

#include "renewald/common.h"

#define RW_NO_TIME INT64_MIN
#define RW_NO_DAY  INT32_MIN

struct rw_account {
    int64_t first_seen_ms;  /* oldest event time applied, RW_NO_TIME before any */
    int64_t last_event_ms;  /* newest event time applied, RW_NO_TIME before any */
    int64_t ref_ms;         /* reference time of the decayed slots */
    int64_t below_since_ms; /* start of a confirm wait, RW_NO_TIME when none */
    char *name;             /* owned by the account, or NULL */
    const char *owner;      /* interned in the store, or NULL */
    const char *tier;       /* interned in the store, or NULL */
    double arr, seats;      /* NAN when unknown */
    double *agg;            /* nslots doubles, inside the account's allocation */
    float score;            /* last evaluated score, NAN when null (worklist order) */
    int32_t renewal_day;    /* days since the epoch, RW_NO_DAY when none */
    uint32_t band_seq;      /* band changes so far (part of band_change alert ids) */
    int16_t window_alerted; /* smallest renewal window alerted for renewal_day, 0 = none */
    uint8_t band;           /* enum rw_band */
    uint8_t notified_band;  /* enum rw_band last alerted (or silently accepted) */
    uint8_t dirty;          /* store-internal: in the dirty set */
    uint8_t id_len;         /* 1..RW_ACCOUNT_MAX */
    char id[];              /* id_len bytes + NUL */
};

struct rw_store;

/* A store whose accounts carry NSLOTS aggregate doubles each. */
struct rw_store *rw_store_new(size_t nslots) RW_NODISCARD;
void rw_store_free(struct rw_store *st);
size_t rw_store_nslots(const struct rw_store *st);
size_t rw_store_count(const struct rw_store *st);

/* The account with this id, or NULL (also for a LEN out of 1..RW_ACCOUNT_MAX). */
struct rw_account *rw_store_find(const struct rw_store *st, const char *id, size_t len);
/*
 * The account with this id, created when absent (slots zeroed: the caller
 * resets them with rw_scorer_reset; times RW_NO_TIME, metadata unknown, band
 * unknown).  *CREATED (may be NULL) tells which.  NULL when LEN is not
 * 1..RW_ACCOUNT_MAX.
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

/*
 * Accounts per band, kept as bands move so that reading them costs nothing:
 * the store counts a new account as unknown; whoever changes a->band reports
 * it with rw_store_band_moved.
 */
size_t rw_store_band_count(const struct rw_store *st, int band);
void rw_store_band_moved(struct rw_store *st, uint8_t from, uint8_t to);

/* Iterates every account: start with *CURSOR = 0; NULL at the end.  Stable
 * while no account is added; an account added during a pass may be missed. */
struct rw_account *rw_store_next(const struct rw_store *st, size_t *cursor);

/* Interned copy of S[0..LEN), owned by the store. */
const char *rw_store_intern(struct rw_store *st, const char *s, size_t len);
/* Replaces the account's name with a copy of S[0..LEN) (S NULL clears it). */
void rw_account_set_name(struct rw_account *a, const char *s, size_t len);

/* The dirty set: accounts changed since the last rw_store_clear_dirty. */
void rw_store_mark_dirty(struct rw_store *st, struct rw_account *a);
struct rw_account *const *rw_store_dirty(const struct rw_store *st, size_t *n);
void rw_store_clear_dirty(struct rw_store *st);

/* Approximate heap bytes held by the store (for metrics and the benchmark). */
size_t rw_store_memory(const struct rw_store *st);

/*
 * The persisted record of an account (without its id, which is the hash
 * field): a versioned little-endian binary layout.  FINGERPRINT is the
 * scorer's slot layout; rw_account_encode writes it and rw_account_decode
 * resets the slots (keeping everything else) when it differs.
 *
 * rw_account_encode returns the record's size; it writes only when that is
 * <= CAP.  rw_account_decode upserts the account ID into ST and returns it,
 * or NULL (the store unchanged) when BUF is not a valid record; on a layout
 * mismatch it sets *SLOTS_RESET and the caller resets the slots.
 */
#define RW_ACCOUNT_RECORD_MAX 2048
size_t rw_account_encode(const struct rw_store *st, const struct rw_account *a,
                         uint32_t fingerprint, uint8_t *buf, size_t cap);
struct rw_account *rw_account_decode(struct rw_store *st, const char *id, size_t id_len,
                                     const uint8_t *buf, size_t len, uint32_t fingerprint,
                                     bool *slots_reset) RW_NODISCARD;

/* Days from the UTC day of NOW_MS to the renewal date, or INT32_MIN when none. */
int32_t rw_account_days_to_renewal(const struct rw_account *a, int64_t now_ms);

/*
 * The worklist: accounts whose band is in BANDS (bit 1u << enum rw_band; 0 = any)
 * and, when WITHIN_DAYS >= 0, whose renewal is 0..WITHIN_DAYS days from NOW_MS;
 * lowest stored score first (null scores last), ties by id.  Writes at most
 * LIMIT pointers to OUT and returns how many.
 */
size_t rw_store_worklist(const struct rw_store *st, unsigned bands, int within_days, int64_t now_ms,
                         struct rw_account **out, size_t limit);

#endif
