/* ordinal_set.c - a set of account ordinals, a bit each. */
#include "renewald/core/ordinal_set.h"

#include <stdlib.h>
#include <string.h>

#include "renewald/core/common.h"

void rw_ordinal_set_add(struct rw_ordinal_set *s, uint32_t ordinal)
{
    uint32_t w = ordinal / 64;
    if (w >= s->nwords) {
        uint32_t cap = rw_grown_cap(s->nwords, 1024, w + 1);
        s->words = rw_xrealloc(s->words, (size_t)cap * sizeof(*s->words));
        memset(s->words + s->nwords, 0, (size_t)(cap - s->nwords) * sizeof(*s->words));
        s->nwords = cap;
    }
    s->words[w] |= UINT64_C(1) << (ordinal % 64);
    s->any = true;
}

void rw_ordinal_set_clear(struct rw_ordinal_set *s)
{
    if (s->any)
        memset(s->words, 0, (size_t)s->nwords * sizeof(*s->words));
    s->any = false;
}

size_t rw_ordinal_set_drain(struct rw_ordinal_set *s, uint32_t *out)
{
    size_t k = 0;
    if (!s->any)
        return 0;
    for (uint32_t w = 0; w < s->nwords; w++) {
        uint64_t b = s->words[w];
        while (b) {
            out[k++] = w * 64 + (uint32_t)__builtin_ctzll(b);
            b &= b - 1;
        }
        s->words[w] = 0;
    }
    s->any = false;
    return k;
}

void rw_ordinal_set_free(struct rw_ordinal_set *s)
{
    free(s->words);
    memset(s, 0, sizeof(*s));
}
