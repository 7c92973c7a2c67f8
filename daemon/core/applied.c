/* applied.c - skip-at-or-below-last-applied, per stream. */
#include "renewald/core/applied.h"

#include <string.h>

void rw_applied_clear(struct rw_applied *a)
{
    memset(a, 0, sizeof *a);
}

bool rw_applied_restore(struct rw_applied *a, int stream, const char *id, size_t len)
{
    struct rw_entry_id parsed;
    if (stream < 0 || stream >= RW_MAX_STREAMS || !rw_parse_entry_id(id, len, &parsed))
        return false;
    a->last[stream] = parsed;
    a->has[stream] = true;
    return true;
}

bool rw_applied_admit(struct rw_applied *a, int stream, struct rw_entry_id id)
{
    if (stream < 0 || stream >= RW_MAX_STREAMS)
        return false;
    if (a->has[stream] && rw_entry_id_cmp(id, a->last[stream]) <= 0)
        return false;
    a->last[stream] = id;
    a->has[stream] = true;
    return true;
}
