/*
 * changelog.h - the blobs of the changelog commit, and when to compact.
 *
 * A commit writes the records of its changed accounts as one blob, the log
 * entry of its sequence number; compaction rewrites whole chunks of accounts
 * (RW_CHUNK_ACCOUNTS consecutive ordinals each) as blobs stamped with the
 * sequence number they are true at.  Loading reads every chunk, then replays
 * the log entries not older than their chunk's stamp, in sequence order.
 *
 * Blob: "RWB1", kind ('L' log entry, 'C' chunk), seq (u64), chunk (u32),
 * count (u32), then COUNT entries: ordinal (u32), id length (u16), record
 * length (u16), the id, the record (account_store.h).  Integers little-endian.
 *
 * struct rw_blob owns its buffer.  The reader borrows the bytes it is given.
 * struct rw_compaction (below) owns its bitmap; it decides, performs nothing.
 */
#ifndef RENEWALD_CORE_CHANGELOG_H
#define RENEWALD_CORE_CHANGELOG_H

#include "renewald/core/account_store.h"
#include "renewald/core/score.h"

#define RW_CHUNK_ACCOUNTS 1024
#define RW_BLOB_HEADER    21
#define RW_BLOB_LOG       'L'
#define RW_BLOB_CHUNK     'C'

/* ---- writing ---- */

struct rw_blob {
    uint8_t *buf;
    size_t len, cap;
    uint32_t count;
};

/* Starts a blob of KIND (clears B, keeps its buffer). */
void rw_blob_begin(struct rw_blob *b, char kind, uint64_t seq, uint32_t chunk);
/* Appends A's record. */
void rw_blob_add(struct rw_blob *b, const struct rw_scorer *sc, const struct rw_store *st,
                 const struct rw_account *a);
/* Writes the count into the header; the blob is B->buf[0, B->len). */
void rw_blob_end(struct rw_blob *b);
void rw_blob_free(struct rw_blob *b);

/* ---- reading ---- */

struct rw_blob_reader {
    char kind;
    uint64_t seq;
    uint32_t chunk, count;
    const uint8_t *p, *end;
    uint32_t left;
};

struct rw_blob_entry {
    uint32_t ordinal;
    const char *id;
    size_t id_len;
    const uint8_t *rec;
    size_t rec_len;
};

/* Reads the header of the LEN bytes at BUF; false when it is not a blob. */
bool rw_blob_open(struct rw_blob_reader *r, const void *buf, size_t len) RW_NODISCARD;
/* The next entry: 1, 0 at the end, -1 when the blob is malformed (then stop). */
int rw_blob_next(struct rw_blob_reader *r, struct rw_blob_entry *e) RW_NODISCARD;

/* ---- compaction ---- */

/*
 * A round of compaction rewrites every chunk that holds an account changed
 * since the chunk was last written, a few chunks per commit, each stamped with
 * the sequence number of the commit that carries it (the memory then equals
 * what that commit makes durable).  When the commit carrying the round's last
 * chunk has landed, every log entry up to the round's start is covered by the
 * chunks and may be deleted.
 */
struct rw_compaction_policy {
    size_t min_records;  /* start a round once the log holds this many records */
    size_t max_entries;  /* ... or this many entries */
    int64_t idle_age_ms; /* ... or when idle and the oldest entry is this old */
    size_t chunks_per_commit;
};

struct rw_compaction {
    struct rw_compaction_policy policy;
    uint64_t *dirty; /* a bit per chunk: changed since it was last written */
    size_t dirty_words;
    uint64_t log_from;   /* first sequence number whose log entry may exist */
    uint64_t log_to;     /* last sequence number known to Redis */
    size_t log_records;  /* records in the log entries from log_from */
    int64_t oldest_mono; /* when the oldest live log entry was written (0: none) */
    uint32_t nchunks;    /* chunks ever written: the loader reads [0, nchunks) */
    bool legacy;         /* a state hash of an earlier version is still there */
    /* The round in progress. */
    bool round;
    uint64_t round_cut;    /* log entries up to here are covered at the end */
    uint32_t round_cursor; /* next chunk to look at */
    uint64_t round_last;   /* sequence number carrying the round's last chunk */
    bool round_encoded;
    uint64_t delete_upto;   /* log entries up to here may go (0: none) */
    size_t cut_records;     /* records in the log entries up to the cut */
    int64_t after_cut_mono; /* when the first entry after the cut was written */
};

/* What loading found (the loader fills it; rw_compaction_restore takes DIRTY). */
struct rw_log_state {
    uint64_t log_from;  /* first sequence number whose log entry may exist */
    size_t log_records; /* records replayed from log entries */
    uint32_t nchunks;   /* chunks ever written */
    bool legacy;        /* accounts came from the hash of an earlier version */
    uint64_t *dirty;    /* a bit per chunk holding an account loaded from the log */
    size_t dirty_words;
};
void rw_log_state_mark(struct rw_log_state *ls, uint32_t ordinal);
void rw_log_state_free(struct rw_log_state *ls);

void rw_compaction_init(struct rw_compaction *cp, const struct rw_compaction_policy *pol);
void rw_compaction_free(struct rw_compaction *cp);
/* The state loaded from LS (its bitmap moves into CP); LOG_TO: the commit
 * sequence number Redis holds; MONO: now. */
void rw_compaction_restore(struct rw_compaction *cp, struct rw_log_state *ls, uint64_t log_to,
                           int64_t mono);
/* The account at ORDINAL changed (its record goes into a log entry). */
void rw_compaction_mark(struct rw_compaction *cp, uint32_t ordinal);
/* Log entry SEQ written with RECORDS records (0: none, the commit had no records). */
void rw_compaction_logged(struct rw_compaction *cp, uint64_t seq, size_t records, int64_t mono);
/* Starts a round, when none runs and one is due; the commit about to be built
 * is SEQ.  IDLE: nothing else to do; NACCOUNTS: accounts in memory. */
bool rw_compaction_maybe_start(struct rw_compaction *cp, uint64_t seq, size_t naccounts, bool idle,
                               int64_t mono);
/* The next chunk to rewrite in the commit SEQ (its dirty bit cleared), or -1
 * when this commit has no more (CHUNK_END: chunks spanned by the ordinals). */
int64_t rw_compaction_next_chunk(struct rw_compaction *cp, uint64_t seq, uint32_t chunk_end);
/* The commit SEQ landed. */
void rw_compaction_landed(struct rw_compaction *cp, uint64_t seq);
/* Log entries to delete in the next commit: [*FROM, *TO], at most MAX; false when none. */
bool rw_compaction_deletions(const struct rw_compaction *cp, size_t max, uint64_t *from,
                             uint64_t *to);
/* The next commit deletes up to TO (and the legacy hash with the first deletion). */
void rw_compaction_deleting(struct rw_compaction *cp, uint64_t to);
/* Work for a commit of its own: a round in progress or deletions waiting. */
bool rw_compaction_busy(const struct rw_compaction *cp);

#endif
