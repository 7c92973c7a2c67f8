/*
 * fuzz_redis_reply.c - Redis replies, any RESP bytes, through hiredis' reply
 * reader and into the daemon's pure reply handler: rw_reader_take_reply (the
 * XREADGROUP reply into the stream merge), then every entry taken is
 * walked and its `event` field parsed as the pipeline would.
 *
 * The input is what a Redis server sends: it is fed to one hiredis reader and
 * every complete reply is handled, until the reader needs more bytes or
 * reports a protocol error.
 *
 * hiredis 0.14 allocates an array's element vector as soon as it reads the
 * "*N" header, before any element arrives: "*2000000000\r\n" is a 16 GB calloc.
 * That is hiredis trusting its server (renewald only talks to the Redis it is
 * configured for), not a bug of the daemon's, so the reader's createArray is
 * wrapped to refuse counts beyond what a reply can hold (hiredis then reports
 * an out-of-memory error and the input ends there).
 */
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

#include "renewald/core/event.h"
#include "renewald/core/merge.h"
#include "renewald/stream_reader.h"

#define MAX_ARRAY_ELEMENTS (1 << 20)

static void check(int ok)
{
    if (!ok)
        abort();
}

static redisReplyObjectFunctions wrapped;
static void *(*create_array)(const redisReadTask *, int);

static void *bounded_create_array(const redisReadTask *task, int elements)
{
    if (elements > MAX_ARRAY_ELEMENTS)
        return NULL;
    return create_array(task, elements);
}

static char stream_usage[] = "events:usage";
static char stream_support[] = "events:support";
static struct rw_config *two_streams, *one_stream;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    two_streams = calloc(1, sizeof *two_streams);
    one_stream = calloc(1, sizeof *one_stream);
    if (!two_streams || !one_stream)
        abort();
    two_streams->nstreams = 2;
    two_streams->streams[0] = stream_usage;
    two_streams->streams[1] = stream_support;
    two_streams->batch = 1000;
    one_stream->nstreams = 1;
    one_stream->streams[0] = stream_support;
    one_stream->batch = 1000;
    return 0;
}

/* Reads every byte of S[0..LEN) so that ASan sees a bad pointer or length. */
static unsigned touch(const char *s, size_t len)
{
    unsigned sum = 0;
    for (size_t i = 0; i < len; i++)
        sum += (unsigned char)s[i];
    return sum;
}

static void walk(struct rw_merge *m, const struct rw_config *cfg)
{
    volatile unsigned sum = 0;
    struct rw_merge_item *e;
    while ((e = rw_merge_peek(m)) != NULL) {
        check(e->stream >= 0 && e->stream < cfg->nstreams);
        check(e->id_str != NULL && e->id_str[e->id_len] == '\0');
        sum += touch(e->id_str, e->id_len);
        if (e->raw) {
            sum += touch(e->raw, e->raw_len);
            if (!e->bad_id) {
                struct rw_event ev;
                const char *reason = rw_event_parse(e->id, e->raw, e->raw_len, 0, false, &ev);
                if (!reason)
                    sum += touch(ev.account, ev.account_len);
            }
        }
        rw_merge_pop(m);
    }
    (void)sum;
}

static void handle(const redisReply *reply)
{
    static const struct {
        struct rw_config **cfg;
        int batch;
        bool blocked;
    } cases[] = {{&two_streams, 1000, false}, {&one_stream, 1000, true}, {&two_streams, 1, false}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct rw_config *cfg = *cases[i].cfg;
        struct rw_merge *m = rw_merge_new(cfg->nstreams);
        struct rw_read_result res;
        uint32_t all = (1u << cfg->nstreams) - 1;
        if (rw_reader_take_reply(reply, cfg, all, 0, cases[i].blocked, cases[i].batch, 1, m, NULL,
                                 NULL, &res)) {
            if (reply->type == REDIS_REPLY_NIL)
                check(rw_merge_queued_all(m) == 0);
            else
                check(reply->type == REDIS_REPLY_ARRAY);
            for (int s = 0; s < cfg->nstreams; s++)
                rw_merge_set_drained(m, s, true, 1); /* take everything */
            walk(m, cfg);
        } else {
            check(rw_merge_queued_all(m) == 0);
        }
        rw_merge_free(m);
    }
    /* What on_read logs for an error reply. */
    if (reply->type == REDIS_REPLY_ERROR || reply->type == REDIS_REPLY_STATUS)
        check(reply->str && strlen(reply->str) <= reply->len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    redisReader *reader = redisReaderCreate();
    if (!reader)
        return 0;
    if (!create_array) {
        wrapped = *reader->fn;
        create_array = wrapped.createArray;
        wrapped.createArray = bounded_create_array;
    }
    reader->fn = &wrapped;
    if (redisReaderFeed(reader, (const char *)data, size) != REDIS_OK) {
        redisReaderFree(reader);
        return 0;
    }
    for (;;) {
        void *reply = NULL;
        if (redisReaderGetReply(reader, &reply) != REDIS_OK || !reply)
            break;
        handle(reply);
        freeReplyObject(reply);
    }
    redisReaderFree(reader);
    return 0;
}
