/* bench_consumer.c - the ceiling: a bare consumer group reader that only XREADGROUPs and XACKs.
 *
 * Reads every entry of the given streams through its own consumer group (created at id 0),
 * COUNT per stream per read like renewald's [redis] batch, and acknowledges each batch.  The
 * acknowledgement of a batch is pipelined with the next read (one round trip per batch), which
 * is what a consumer that does nothing else can best do.  Stops when a read comes back empty
 * (no BLOCK), or after --max-seconds.  Prints {"events":N,"seconds":S,"events_per_second":R}.
 */
#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_STREAMS 32

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "bench_consumer: %s: %s\n", what, detail);
    exit(2);
}

static void usage(void)
{
    fputs("usage: bench_consumer [--redis HOST:PORT|unix:/path] [--group G] [--count N]\n"
          "                      [--max-seconds S] STREAM...\n",
          stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    const char *addr = "127.0.0.1:6379", *group = "bench", *streams[MAX_STREAMS];
    long count = 1000;
    double max_s = 600;
    int nstreams = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--redis") == 0 && i + 1 < argc)
            addr = argv[++i];
        else if (strcmp(argv[i], "--group") == 0 && i + 1 < argc)
            group = argv[++i];
        else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
            count = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--max-seconds") == 0 && i + 1 < argc)
            max_s = strtod(argv[++i], NULL);
        else if (argv[i][0] == '-' || nstreams == MAX_STREAMS)
            usage();
        else
            streams[nstreams++] = argv[i];
    }
    if (nstreams == 0 || count < 1 || count > 100000 || !(max_s > 0 && max_s <= 86400))
        usage();

    struct timeval tv = {10, 0};
    redisContext *c;
    if (strncmp(addr, "unix:", 5) == 0) {
        c = redisConnectUnixWithTimeout(addr + 5, tv);
    } else {
        char host[256];
        const char *colon = strrchr(addr, ':');
        if (!colon || colon - addr >= (long)sizeof host)
            die("bad address", addr);
        snprintf(host, sizeof host, "%.*s", (int)(colon - addr), addr);
        c = redisConnectWithTimeout(host, atoi(colon + 1), tv);
    }
    if (!c || c->err)
        die("connect", c ? c->errstr : "out of memory");

    for (int s = 0; s < nstreams; s++) {
        redisReply *r = redisCommand(c, "XGROUP CREATE %s %s 0 MKSTREAM", streams[s], group);
        if (!r)
            die("XGROUP CREATE", c->errstr);
        if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9) != 0)
            die("XGROUP CREATE", r->str);
        freeReplyObject(r);
    }

    /* XREADGROUP GROUP g c COUNT n STREAMS s1..sk > .. > */
    int rargc = 0;
    const char *rargv[8 + 2 * MAX_STREAMS];
    char countbuf[32];
    snprintf(countbuf, sizeof countbuf, "%ld", count);
    rargv[rargc++] = "XREADGROUP";
    rargv[rargc++] = "GROUP";
    rargv[rargc++] = group;
    rargv[rargc++] = "bench";
    rargv[rargc++] = "COUNT";
    rargv[rargc++] = countbuf;
    rargv[rargc++] = "STREAMS";
    for (int s = 0; s < nstreams; s++)
        rargv[rargc++] = streams[s];
    for (int s = 0; s < nstreams; s++)
        rargv[rargc++] = ">";

    size_t ack_cap = (size_t)count + 3;
    const char **aargv = malloc(ack_cap * sizeof *aargv);
    size_t *aargl = malloc(ack_cap * sizeof *aargl);
    if (!aargv || !aargl)
        die("malloc", "out of memory");

    uint64_t events = 0;
    int acks_owed = 0;
    double t0 = mono_s();
    redisAppendCommandArgv(c, rargc, rargv, NULL);
    for (;;) {
        redisReply *r = NULL;
        for (int k = 0; k < acks_owed; k++) { /* the XACK replies come before the read's */
            redisReply *a = NULL;
            if (redisGetReply(c, (void **)&a) != REDIS_OK)
                die("XACK", c->errstr);
            if (a->type == REDIS_REPLY_ERROR)
                die("XACK", a->str);
            freeReplyObject(a);
        }
        acks_owed = 0;
        if (redisGetReply(c, (void **)&r) != REDIS_OK)
            die("XREADGROUP", c->errstr);
        if (r->type == REDIS_REPLY_ERROR)
            die("XREADGROUP", r->str);
        bool empty = true;
        if (r->type == REDIS_REPLY_ARRAY) {
            for (size_t s = 0; s < r->elements; s++) {
                const redisReply *pair = r->element[s];
                if (pair->type != REDIS_REPLY_ARRAY || pair->elements != 2)
                    die("XREADGROUP", "unexpected reply shape");
                const redisReply *name = pair->element[0], *entries = pair->element[1];
                if (entries->type != REDIS_REPLY_ARRAY || entries->elements == 0)
                    continue;
                empty = false;
                int n = 0;
                aargv[n] = "XACK";
                aargl[n++] = 4;
                aargv[n] = name->str;
                aargl[n++] = name->len;
                aargv[n] = group;
                aargl[n++] = strlen(group);
                for (size_t e = 0; e < entries->elements && (size_t)n < ack_cap; e++) {
                    const redisReply *id = entries->element[e]->element[0];
                    aargv[n] = id->str;
                    aargl[n++] = id->len;
                }
                events += entries->elements;
                redisAppendCommandArgv(c, n, aargv, aargl);
                acks_owed++;
            }
        }
        bool out_of_time = mono_s() - t0 > max_s;
        if (empty || out_of_time) {
            for (int k = 0; k < acks_owed; k++) {
                redisReply *a = NULL;
                if (redisGetReply(c, (void **)&a) != REDIS_OK)
                    die("XACK", c->errstr);
                freeReplyObject(a);
            }
            freeReplyObject(r);
            break;
        }
        /* Queue the next read behind the acks: one round trip carries both. */
        redisAppendCommandArgv(c, rargc, rargv, NULL);
        freeReplyObject(r);
    }
    double secs = mono_s() - t0;
    printf("{\"events\":%llu,\"seconds\":%.3f,\"events_per_second\":%.0f}\n",
           (unsigned long long)events, secs, secs > 0 ? (double)events / secs : 0.0);
    free(aargv);
    free(aargl);
    redisFree(c);
    return 0;
}
