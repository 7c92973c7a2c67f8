/* history_read.c - GETRANGE of one account's two bytes in each day key, pipelined. */
#include "renewald/history_read.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renewald/core/timeutil.h"
#include "renewald/log.h"

struct rw_history_read {
    rw_history_read_cb cb; /* NULL once cancelled or answered */
    void *arg;
    int32_t first_day;
    int ndays;
    int sent, replied;
    bool failed;
    char why[128];
    uint16_t entries[RW_HISTORY_READ_MAX_DAYS];
};

/* Every command carries its read and its day (replies come back in order, but
 * a NULL reply may come for any of them). */
struct day_cmd {
    struct rw_history_read *r;
    int index;
};

static void finish_if_done(struct rw_history_read *r)
{
    if (r->replied < r->sent)
        return;
    if (r->cb)
        r->cb(r->arg, !r->failed, r->failed ? r->why : NULL, r->first_day, r->entries, r->ndays);
    free(r);
}

static void on_reply(struct rw_link *link, redisReply *reply, void *arg)
{
    (void)link;
    struct day_cmd *dc = arg;
    struct rw_history_read *r = dc->r;
    int i = dc->index;
    free(dc);
    r->replied++;
    if (!reply) {
        if (!r->failed)
            snprintf(r->why, sizeof r->why, "redis connection lost");
        r->failed = true;
    } else if (reply->type == REDIS_REPLY_STRING && reply->len == 2) {
        const unsigned char *b = (const unsigned char *)reply->str;
        r->entries[i] = (uint16_t)(b[0] | (b[1] << 8));
    } else if (reply->type == REDIS_REPLY_ERROR) {
        if (!r->failed) {
            rw_log_rl(RW_LOG_WARN, "history read refused by redis error=\"%.200s\"", reply->str);
            snprintf(r->why, sizeof r->why, "redis refused the read");
        }
        r->failed = true;
    } /* else: no key or shorter (no entry that day): stays 0 */
    finish_if_done(r);
}

struct rw_history_read *rw_history_read_start(const struct rw_cmd_sink *sink, const char *prefix,
                                              uint32_t ordinal, int32_t first_day, int ndays,
                                              rw_history_read_cb cb, void *arg)
{
    if (ndays < 1 || ndays > RW_HISTORY_READ_MAX_DAYS || ordinal >= UINT32_MAX / 2)
        return NULL;
    struct rw_history_read *r = rw_xcalloc(1, sizeof(*r));
    r->cb = cb;
    r->arg = arg;
    r->first_day = first_day;
    r->ndays = ndays;
    char from[24], to[24];
    snprintf(from, sizeof from, "%llu", (unsigned long long)ordinal * 2);
    snprintf(to, sizeof to, "%llu", (unsigned long long)ordinal * 2 + 1);
    for (int i = 0; i < ndays; i++) {
        char date[RW_DATE_MAX];
        rw_format_date(first_day + i, date);
        char *key = rw_xasprintf("%shistory:%s", prefix, date);
        const char *argv[] = {"GETRANGE", key, from, to};
        size_t lens[] = {8, strlen(key), strlen(from), strlen(to)};
        struct day_cmd *dc = rw_xcalloc(1, sizeof(*dc));
        dc->r = r;
        dc->index = i;
        bool ok = rw_cmd_send(sink, on_reply, dc, 0, 4, argv, lens);
        free(key);
        if (!ok) {
            free(dc);
            if (r->sent == 0) {
                free(r);
                return NULL;
            }
            /* Down midway: what was sent still answers (NULL replies); fail then. */
            snprintf(r->why, sizeof r->why, "redis connection lost");
            r->failed = true;
            break;
        }
        r->sent++;
    }
    return r;
}

void rw_history_read_cancel(struct rw_history_read *r)
{
    if (r)
        r->cb = NULL;
}
