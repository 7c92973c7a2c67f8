/* changelog.c - log and chunk blobs; when to compact. */
#include "renewald/core/changelog.h"

#include <stdlib.h>
#include <string.h>

static const uint8_t magic[4] = {'R', 'W', 'B', '1'};

/* ---- writing ---- */

static void reserve(struct rw_blob *b, size_t more)
{
    if (b->len + more <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more)
        cap *= 2;
    b->buf = rw_xrealloc(b->buf, cap);
    b->cap = cap;
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

void rw_blob_begin(struct rw_blob *b, char kind, uint64_t seq, uint32_t chunk)
{
    b->len = 0;
    b->count = 0;
    reserve(b, RW_BLOB_HEADER);
    memcpy(b->buf, magic, 4);
    b->buf[4] = (uint8_t)kind;
    put_le(b->buf + 5, seq, 8);
    put_le(b->buf + 13, chunk, 4);
    put_le(b->buf + 17, 0, 4);
    b->len = RW_BLOB_HEADER;
}

void rw_blob_add(struct rw_blob *b, const struct rw_scorer *sc, const struct rw_store *st,
                 const struct rw_account *a)
{
    reserve(b, 8 + a->id_len + RW_ACCOUNT_RECORD_MAX);
    uint8_t *p = b->buf + b->len;
    size_t rec = rw_account_encode(sc, st, a, p + 8 + a->id_len, RW_ACCOUNT_RECORD_MAX);
    if (rec > RW_ACCOUNT_RECORD_MAX)
        abort(); /* cannot happen: every field of a record is bounded */
    put_le(p, a->ordinal, 4);
    put_le(p + 4, a->id_len, 2);
    put_le(p + 6, rec, 2);
    memcpy(p + 8, a->id, a->id_len);
    b->len += 8 + a->id_len + rec;
    b->count++;
}

void rw_blob_end(struct rw_blob *b)
{
    put_le(b->buf + 17, b->count, 4);
}

void rw_blob_free(struct rw_blob *b)
{
    free(b->buf);
    memset(b, 0, sizeof(*b));
}

/* ---- reading ---- */

bool rw_blob_open(struct rw_blob_reader *r, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    if (len < RW_BLOB_HEADER || memcmp(p, magic, 4) != 0 ||
        (p[4] != RW_BLOB_LOG && p[4] != RW_BLOB_CHUNK))
        return false;
    r->kind = (char)p[4];
    r->seq = get_le(p + 5, 8);
    r->chunk = (uint32_t)get_le(p + 13, 4);
    r->count = (uint32_t)get_le(p + 17, 4);
    r->p = p + RW_BLOB_HEADER;
    r->end = p + len;
    r->left = r->count;
    return true;
}

int rw_blob_next(struct rw_blob_reader *r, struct rw_blob_entry *e)
{
    if (r->left == 0)
        return r->p == r->end ? 0 : -1;
    if ((size_t)(r->end - r->p) < 8)
        return -1;
    e->ordinal = (uint32_t)get_le(r->p, 4);
    e->id_len = (size_t)get_le(r->p + 4, 2);
    e->rec_len = (size_t)get_le(r->p + 6, 2);
    if (e->id_len == 0 || (size_t)(r->end - r->p) - 8 < e->id_len + e->rec_len)
        return -1;
    e->id = (const char *)r->p + 8;
    e->rec = r->p + 8 + e->id_len;
    r->p += 8 + e->id_len + e->rec_len;
    r->left--;
    return 1;
}

/* ---- compaction ---- */

void rw_compaction_init(struct rw_compaction *cp, const struct rw_compaction_policy *pol)
{
    memset(cp, 0, sizeof(*cp));
    cp->policy = *pol;
    if (cp->policy.chunks_per_commit == 0)
        cp->policy.chunks_per_commit = 1;
}

void rw_compaction_free(struct rw_compaction *cp)
{
    free(cp->dirty);
    cp->dirty = NULL;
    cp->dirty_words = 0;
}

static void set_bit(uint64_t **bits, size_t *words, uint32_t chunk)
{
    size_t w = chunk / 64;
    if (w >= *words) {
        size_t n = *words ? *words : 16;
        while (n <= w)
            n *= 2;
        *bits = rw_xrealloc(*bits, n * sizeof(**bits));
        memset(*bits + *words, 0, (n - *words) * sizeof(**bits));
        *words = n;
    }
    (*bits)[w] |= UINT64_C(1) << (chunk % 64);
}

void rw_log_state_mark(struct rw_log_state *ls, uint32_t ordinal)
{
    set_bit(&ls->dirty, &ls->dirty_words, ordinal / RW_CHUNK_ACCOUNTS);
}

void rw_log_state_free(struct rw_log_state *ls)
{
    free(ls->dirty);
    ls->dirty = NULL;
    ls->dirty_words = 0;
}

void rw_compaction_restore(struct rw_compaction *cp, struct rw_log_state *ls, uint64_t log_to,
                           int64_t mono)
{
    free(cp->dirty);
    cp->dirty = ls->dirty;
    cp->dirty_words = ls->dirty_words;
    ls->dirty = NULL;
    ls->dirty_words = 0;
    cp->log_from = ls->log_from ? ls->log_from : log_to + 1;
    cp->log_to = log_to;
    cp->log_records = ls->log_records;
    cp->oldest_mono = ls->log_records ? mono : 0;
    cp->nchunks = ls->nchunks;
    cp->legacy = ls->legacy;
    cp->round = false;
    cp->round_encoded = false;
    cp->delete_upto = 0;
    cp->cut_records = 0;
    cp->after_cut_mono = 0;
}

void rw_compaction_mark(struct rw_compaction *cp, uint32_t ordinal)
{
    set_bit(&cp->dirty, &cp->dirty_words, ordinal / RW_CHUNK_ACCOUNTS);
}

void rw_compaction_logged(struct rw_compaction *cp, uint64_t seq, size_t records, int64_t mono)
{
    cp->log_to = seq;
    if (records == 0)
        return;
    if (cp->log_records == 0)
        cp->oldest_mono = mono;
    cp->log_records += records;
    if (cp->round || cp->delete_upto) {
        if (seq <= cp->round_cut)
            cp->cut_records += records;
        else if (cp->after_cut_mono == 0)
            cp->after_cut_mono = mono;
    }
}

bool rw_compaction_maybe_start(struct rw_compaction *cp, uint64_t seq, size_t naccounts, bool idle,
                               int64_t mono)
{
    if (cp->round || cp->delete_upto)
        return false;
    size_t entries = cp->log_to >= cp->log_from ? (size_t)(cp->log_to - cp->log_from + 1) : 0;
    size_t want = cp->policy.min_records > naccounts ? cp->policy.min_records : naccounts;
    bool due = cp->legacy || cp->log_records >= want ||
               (entries > 0 && entries >= cp->policy.max_entries) ||
               (idle && cp->policy.idle_age_ms > 0 && cp->log_records > 0 &&
                mono - cp->oldest_mono >= cp->policy.idle_age_ms);
    if (!due)
        return false;
    cp->round = true;
    cp->round_cut = seq;
    cp->cut_records = cp->log_records;
    cp->after_cut_mono = 0;
    cp->round_cursor = 0;
    cp->round_last = 0;
    cp->round_encoded = false;
    return true;
}

int64_t rw_compaction_next_chunk(struct rw_compaction *cp, uint64_t seq, uint32_t chunk_end)
{
    if (!cp->round || cp->round_encoded)
        return -1;
    uint32_t words = (uint32_t)cp->dirty_words;
    while (cp->round_cursor < chunk_end) {
        uint32_t k = cp->round_cursor;
        uint64_t w = k / 64 < words ? cp->dirty[k / 64] >> (k % 64) : 0;
        if (w == 0) { /* nothing dirty in the rest of this word */
            cp->round_cursor = (k / 64 + 1) * 64;
            continue;
        }
        k += (uint32_t)__builtin_ctzll(w);
        if (k >= chunk_end)
            break;
        cp->dirty[k / 64] &= ~(UINT64_C(1) << (k % 64));
        cp->round_cursor = k + 1;
        cp->round_last = seq;
        if (k + 1 > cp->nchunks)
            cp->nchunks = k + 1;
        return k;
    }
    cp->round_cursor = chunk_end;
    cp->round_encoded = true;
    if (cp->round_last == 0)
        cp->round_last = seq; /* nothing to rewrite: covered once SEQ lands */
    return -1;
}

void rw_compaction_landed(struct rw_compaction *cp, uint64_t seq)
{
    if (cp->round && cp->round_encoded && seq >= cp->round_last) {
        cp->round = false;
        cp->delete_upto = cp->round_cut;
    }
}

bool rw_compaction_deletions(const struct rw_compaction *cp, size_t max, uint64_t *from,
                             uint64_t *to)
{
    if (cp->delete_upto == 0 || cp->delete_upto < cp->log_from || max == 0) {
        if (cp->delete_upto == 0 || !cp->legacy)
            return false;
        *from = cp->log_from; /* only the legacy hash */
        *to = cp->log_from - 1;
        return true;
    }
    *from = cp->log_from;
    *to = cp->delete_upto - cp->log_from + 1 > max ? cp->log_from + max - 1 : cp->delete_upto;
    return true;
}

void rw_compaction_deleting(struct rw_compaction *cp, uint64_t to)
{
    cp->legacy = false;
    if (to >= cp->log_from)
        cp->log_from = to + 1;
    if (cp->delete_upto && cp->log_from > cp->delete_upto) {
        /* What remains of the log was written after the cut. */
        cp->delete_upto = 0;
        cp->log_records -= cp->cut_records < cp->log_records ? cp->cut_records : cp->log_records;
        cp->cut_records = 0;
        cp->oldest_mono = cp->log_records ? cp->after_cut_mono : 0;
    }
}

bool rw_compaction_busy(const struct rw_compaction *cp)
{
    return (cp->round && !cp->round_encoded) || (cp->delete_upto != 0);
}
