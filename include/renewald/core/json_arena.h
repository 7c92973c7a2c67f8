/*
 * json_arena.h - a bump allocator that jansson uses while the pipeline parses
 * a batch of events: every parse allocates a few dozen small objects and frees
 * them all a moment later, so malloc/free were a tenth of the daemon's time.
 *
 * jansson's allocator is process-wide, so the arena is too (the one global of
 * the daemon outside the loop's context).  Between rw_json_arena_enter() and
 * rw_json_arena_leave() no jansson object may be created that outlives
 * rw_json_arena_reset(), and none created before may be freed.
 */
#ifndef RENEWALD_JSON_ARENA_H
#define RENEWALD_JSON_ARENA_H

/* Routes jansson's allocations into the arena. */
void rw_json_arena_enter(void);
/* Forgets everything allocated since enter or the last reset (keeps one block). */
void rw_json_arena_reset(void);
/* Restores malloc/free for jansson and resets the arena. */
void rw_json_arena_leave(void);

#endif
