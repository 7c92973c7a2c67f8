/*
 * ordinal_set.h - a set of account ordinals, a bit each: the sweep's work list
 * put in ordinal order, and the accounts a live sweep must skip.  The set owns
 * its words; it grows to the largest ordinal added.
 */
#ifndef RENEWALD_CORE_ORDINAL_SET_H
#define RENEWALD_CORE_ORDINAL_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rw_ordinal_set {
    uint64_t *words;
    uint32_t nwords; /* allocated */
    bool any;        /* a bit may be set (clearing an empty set costs nothing) */
};

void rw_ordinal_set_add(struct rw_ordinal_set *s, uint32_t ordinal);
static inline bool rw_ordinal_set_has(const struct rw_ordinal_set *s, uint32_t ordinal)
{
    return ordinal / 64 < s->nwords && (s->words[ordinal / 64] >> (ordinal % 64) & 1);
}
/* Empties the set (keeps its words). */
void rw_ordinal_set_clear(struct rw_ordinal_set *s);
/* Writes the members in increasing order to OUT (room for every member) and
 * empties the set; returns how many. */
size_t rw_ordinal_set_drain(struct rw_ordinal_set *s, uint32_t *out);
void rw_ordinal_set_free(struct rw_ordinal_set *s);

#endif
