/*
 * stream_reader.h - the consumer side of the Redis streams: this consumer's
 * pending entries first (id 0), then new ones (>) with XREADGROUP ... BLOCK on
 * the reader link, each reply turned into a struct rw_batch and handed to the
 * pipeline inside the reply callback (entries point into hiredis' reply).
 *
 * The reader owns nothing but its cursors; it reads only while the daemon is
 * ACTIVE and fewer than RW_COMMITS_IN_FLIGHT commits are outstanding.
 */
#ifndef RENEWALD_STREAM_READER_H
#define RENEWALD_STREAM_READER_H

#include <hiredis/hiredis.h>

#include "renewald/common.h"
#include "renewald/config.h"
#include "renewald/timeutil.h"

struct renewald;

/* One stream entry of a batch; the pointers borrow the reply's memory. */
struct rw_entry {
    int stream; /* index into cfg->streams */
    struct rw_entry_id id;
    const char *id_str;
    size_t id_len;
    const char *event; /* the `event` field, or NULL when absent */
    size_t event_len;
    bool bad_id; /* the id is not MS-SEQ: dead-lettered as bad_entry_id */
    size_t pos;  /* position in the reply: keeps the merge stable */
};

struct rw_batch {
    struct rw_entry *entries; /* owned by the batch, in stream-id merge order */
    size_t n, cap;
    bool full;                      /* some stream returned `batch` entries */
    bool requested[RW_MAX_STREAMS]; /* the read asked for this stream (set by the reader) */
    int count[RW_MAX_STREAMS];      /* entries this stream returned */
    int64_t newest_id_ms;           /* ms part of the newest entry id, RW_NO_TIME when empty */
};

void rw_batch_free(struct rw_batch *b);

/*
 * Turns an XREADGROUP reply (NIL, or an array of [stream, [[id, [f, v, ...]], ...]])
 * into B (cleared first).  Streams are matched by name against CFG.  Entries
 * of the same stream keep their order; streams are merged by entry id.
 * Returns false when the reply does not have that shape (B is then empty).
 */
bool rw_batch_from_reply(const redisReply *reply, const struct rw_config *cfg, int batch_size,
                         struct rw_batch *b) RW_NODISCARD;

struct rw_reader;
struct rw_reader *rw_reader_new(struct renewald *d) RW_NODISCARD;
void rw_reader_free(struct rw_reader *r);
/* Starts from this consumer's pending entries; the daemon is ACTIVE. */
void rw_reader_start(struct rw_reader *r);
/* Issues the next read if none is in flight and the daemon allows it. */
void rw_reader_kick(struct rw_reader *r);
bool rw_reader_busy(const struct rw_reader *r);
/* Forgets cursors and any read in flight (a reset or shutdown). */
void rw_reader_reset(struct rw_reader *r);

#endif
