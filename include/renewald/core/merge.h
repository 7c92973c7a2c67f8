/*
 * merge.h - the order in which entries of several streams are taken (SPEC §6):
 * each stream's entries in id order, streams merged by event time (ties: the
 * order of `streams` in the config), and nothing taken while a stream that may
 * still hold an earlier entry has none read.  Whatever the reads returned and
 * however they were split, the entries come out in the same order, provided
 * producers append in time order (atomically across streams).
 *
 * Reads are numbered.  A stream read to its end by read N says nothing of what
 * was appended after read N: an entry that came with a later read may go first
 * only once that stream has been found at its end again by a read at least as
 * recent.
 *
 * The merge owns a copy of every entry pushed until it is popped (one queue
 * per stream: the id, the raw event bytes and the merge key).
 */
#ifndef RENEWALD_CORE_MERGE_H
#define RENEWALD_CORE_MERGE_H

#include "renewald/core/common.h"
#include "renewald/core/timeutil.h"

#define RW_MERGE_FIRST INT64_MIN /* key of an entry to take as soon as it heads its stream */

struct rw_merge_item {
    int stream;
    struct rw_entry_id id;
    bool bad_id;        /* the id is not MS-SEQ */
    const char *id_str; /* NUL-terminated, ID_LEN bytes */
    size_t id_len;
    const char *raw; /* the `event` field, NULL when the entry has none */
    size_t raw_len;
    int64_t key_ms;    /* event time, or RW_MERGE_FIRST */
    uint64_t read_seq; /* the number of the read that brought it */
    uint64_t hint;     /* free for the consumer (a prefetch hint), 0 when pushed */
};

struct rw_merge;

struct rw_merge *rw_merge_new(int nstreams) RW_NODISCARD;
void rw_merge_free(struct rw_merge *m);
/* Forgets every entry; every stream counts as not drained. */
void rw_merge_clear(struct rw_merge *m);

/* Appends an entry brought by read READ_SEQ to STREAM's queue (copied). */
void rw_merge_push(struct rw_merge *m, int stream, struct rw_entry_id id, bool bad_id,
                   const char *id_str, size_t id_len, const char *raw, size_t raw_len,
                   int64_t key_ms, uint64_t read_seq);
/* Read READ_SEQ of STREAM came back short (DRAINED): what is appended to it
 * later is newer than everything appended before that read, so its empty queue
 * need not hold back entries brought by reads up to READ_SEQ.
 * RW_MERGE_FINAL: the stream will never grow (a snapshot). */
#define RW_MERGE_FINAL UINT64_MAX
void rw_merge_set_drained(struct rw_merge *m, int stream, bool drained, uint64_t read_seq);
bool rw_merge_drained(const struct rw_merge *m, int stream);
/* Entries of STREAM waiting to be taken. */
size_t rw_merge_queued(const struct rw_merge *m, int stream);
size_t rw_merge_queued_all(const struct rw_merge *m);

/*
 * The next entry to take, or NULL when none may be taken yet: a stream that
 * is not drained has nothing queued (read it), or everything is taken.  The
 * item stays valid until the next push or pop.
 */
struct rw_merge_item *rw_merge_peek(struct rw_merge *m);
/*
 * The K-th entry after the head of STREAM's queue (K = 0: the head), or NULL:
 * what will probably be taken soon, for prefetching.  Valid until the next push
 * or pop.
 */
struct rw_merge_item *rw_merge_ahead(struct rw_merge *m, int stream, size_t k);
/* Takes the entry rw_merge_peek returned. */
void rw_merge_pop(struct rw_merge *m);

/*
 * The streams (bit i = stream i) whose queues would be empty once every
 * entry that may be taken now is taken: what to read next.
 */
uint32_t rw_merge_would_empty(const struct rw_merge *m);

#endif
