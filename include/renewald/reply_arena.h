/*
 * reply_arena.h - hiredis reply objects carved out of one arena per
 * connection, instead of two mallocs per element: an XREADGROUP reply of 1000
 * entries is ~8000 objects.  hiredis builds one reply at a time and frees it
 * (freeObject of its root) after the callback, so the arena is reset then;
 * nothing may keep a pointer into a reply past its callback (no caller does:
 * they copy what they keep).
 *
 * The arena owns its memory; it must outlive every reader it is attached to.
 * Replies of a reader it is attached to must not be given to freeReplyObject.
 */
#ifndef RENEWALD_REPLY_ARENA_H
#define RENEWALD_REPLY_ARENA_H

#include <hiredis/hiredis.h>

#include "renewald/core/common.h"

struct rw_reply_arena;

struct rw_reply_arena *rw_reply_arena_new(void) RW_NODISCARD;
void rw_reply_arena_free(struct rw_reply_arena *a);
/* Makes READER build its replies in A. */
void rw_reply_arena_attach(struct rw_reply_arena *a, redisReader *reader);
/* Bytes held (for tests and metrics). */
size_t rw_reply_arena_held(const struct rw_reply_arena *a);

#endif
