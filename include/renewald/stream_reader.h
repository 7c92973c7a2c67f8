/*
 * stream_reader.h - the consumer side of the Redis streams: XREADGROUP of the
 * streams whose merge queues ran dry, each stream first re-reading this
 * consumer's pending entries (after a restart), then new ones (>).  Entries go
 * into the merge (core/merge.h) with their merge key; which ones are taken,
 * and when, is the ingest's business.
 *
 * The reader owns only its cursors and the read in flight; it borrows the
 * merge and sends through a command sink (a link, or a fake in tests).
 */
#ifndef RENEWALD_STREAM_READER_H
#define RENEWALD_STREAM_READER_H

#include <hiredis/hiredis.h>

#include "renewald/config.h"
#include "renewald/core/merge.h"
#include "renewald/redis_link.h"

struct rw_reader_hooks {
    /* The merge key of an entry (its event time), for configs with several streams. */
    int64_t (*key)(void *arg, int stream, struct rw_entry_id id, const char *raw, size_t len);
    /* A read landed in the merge (entries, or streams now known to be drained). */
    void (*read)(void *arg);
    /* A read failed (REDIS_ERROR is Redis' message, or NULL for a malformed reply). */
    void (*failed)(void *arg, const char *why, const char *redis_error);
};

struct rw_reader;

struct rw_reader *rw_reader_new(struct rw_cmd_sink sink, const struct rw_config *cfg,
                                struct rw_merge *merge, const struct rw_reader_hooks *hooks,
                                void *arg) RW_NODISCARD;
void rw_reader_free(struct rw_reader *r);
/* A reload: batch and block may change (streams, group and consumer do not). */
void rw_reader_set_config(struct rw_reader *r, const struct rw_config *cfg);
/* Starts over: every stream re-reads this consumer's pending entries first. */
void rw_reader_start(struct rw_reader *r);
/* Forgets the read in flight and stops (a reset or shutdown). */
void rw_reader_stop(struct rw_reader *r);
/*
 * Reads the streams in WANT (bit i = stream i; the streams whose queues are or
 * will be empty) unless a read is in flight.  It blocks in Redis only when
 * every stream asked for is read to its end.
 */
void rw_reader_kick(struct rw_reader *r, uint32_t want);
bool rw_reader_busy(const struct rw_reader *r);
/*
 * While a batch is being applied, reads the next one, so that Redis answers on
 * the other core instead of after the batch: the streams whose last read came
 * back full and that have at most one batch queued, unless a read is in flight.
 * With TAIL, also the streams read to their end that the merge would empty
 * (as rw_reader_kick): the ingest takes entries between the slices of a sweep.
 */
void rw_reader_read_ahead(struct rw_reader *r, bool tail);
/* A read is waiting in Redis at the end of every stream (nothing to do meanwhile). */
bool rw_reader_waiting(const struct rw_reader *r);
/* Age in ms of the newest entry STREAM returned (by its id) at the wall time NOW,
 * 0 when it is read to its end. */
int64_t rw_reader_lag_ms(const struct rw_reader *r, int stream, int64_t now_ms);

/*
 * Moves an XREADGROUP reply (NIL, or [[stream, [[id, [f, v, ...]], ...]], ...])
 * into MERGE: entries of each stream in order, with KEY's merge keys; streams
 * in REQUESTED (bit mask) that returned fewer than COUNT entries are drained
 * (PENDING: bit set = that stream read its pending entries, which say nothing
 * of its end).  READ_SEQ numbers the read (increasing).  After a read that
 * BLOCKED, Redis answers with the one stream that woke it: the streams absent
 * from such a reply say nothing of their end either.  Returns false, with the merge unchanged, when
 * the reply has another shape.  For tests: the reader's whole reply handling.
 */
struct rw_read_result {
    int returned[RW_MAX_STREAMS];       /* entries per stream */
    uint64_t newest_ms[RW_MAX_STREAMS]; /* newest entry id's ms per stream, 0 when none */
    char last_id[RW_MAX_STREAMS][RW_ENTRY_ID_MAX]; /* the last entry id per stream, "" when none */
};
bool rw_reader_take_reply(const redisReply *reply, const struct rw_config *cfg, uint32_t requested,
                          uint32_t pending, bool blocked, int count, uint64_t read_seq,
                          struct rw_merge *merge,
                          int64_t (*key)(void *, int, struct rw_entry_id, const char *, size_t),
                          void *key_arg, struct rw_read_result *res) RW_NODISCARD;

#endif
