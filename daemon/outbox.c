/* outbox.c - durable deliveries: per-sink queues, rate, concurrency, retries, dead letters. */
#include "renewald/outbox.h"

#include <event2/event.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "renewald/alert.h"
#include "renewald/daemon.h"
#include "renewald/http_client.h"
#include "renewald/log.h"
#include "renewald/redis_link.h"
#include "renewald/retry.h"
#include "renewald/sink.h"

/* Moves a job to <prefix>alerts:dead and out of the outbox in one step. */
static const char dead_script[] =
    "redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*', 'sink', ARGV[2], 'alert', ARGV[3],"
    " 'error', ARGV[4], 'attempts', ARGV[5])\n"
    "return redis.call('HDEL', KEYS[1], ARGV[1])\n";

struct job {
    char *id;       /* "ALERTID:SINK" */
    char *sink;     /* the sink's name */
    json_t *alert;  /* owned */
    char *body;     /* the alert serialised as sinks send it */
    int attempts;   /* failed attempts so far */
    int64_t due_ms; /* wall clock */
    int64_t queued_mono_ms;
    struct rw_outbox *outbox; /* while in flight: NULL after a reset */
};

/* A min-heap of jobs by due time. */
struct queue {
    struct job **heap;
    size_t n, cap;
    int in_flight;
    struct rw_rate rate;
};

struct rw_outbox {
    struct renewald *d;
    struct rw_http_client *http;
    struct queue q[RW_MAX_SINKS];
    size_t depth, in_flight;
    bool running;
    struct event *timer;
};

static void job_free(struct job *j)
{
    if (!j)
        return;
    free(j->id);
    free(j->sink);
    json_decref(j->alert);
    free(j->body);
    free(j);
}

static bool before(const struct job *a, const struct job *b)
{
    return a->due_ms < b->due_ms;
}

static void heap_push(struct queue *q, struct job *j)
{
    if (q->n == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 16;
        q->heap = rw_xrealloc(q->heap, q->cap * sizeof *q->heap);
    }
    size_t i = q->n++;
    while (i > 0 && before(j, q->heap[(i - 1) / 2])) {
        q->heap[i] = q->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    q->heap[i] = j;
}

static struct job *heap_pop(struct queue *q)
{
    struct job *top = q->heap[0];
    struct job *last = q->heap[--q->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= q->n)
            break;
        if (c + 1 < q->n && before(q->heap[c + 1], q->heap[c]))
            c++;
        if (!before(q->heap[c], last))
            break;
        q->heap[i] = q->heap[c];
        i = c;
    }
    if (q->n > 0)
        q->heap[i] = last;
    return top;
}

static int sink_index(const struct rw_config *cfg, const char *name)
{
    for (int i = 0; i < cfg->nsinks; i++)
        if (strcmp(cfg->sinks[i].name, name) == 0)
            return i;
    return -1;
}

static void arm(struct rw_outbox *o);

static void on_timer(evutil_socket_t fd, short what, void *arg);

struct rw_outbox *rw_outbox_new(struct renewald *d)
{
    struct rw_outbox *o = rw_xcalloc(1, sizeof *o);
    o->d = d;
    o->http = rw_http_client_new(d->base);
    o->timer = evtimer_new(d->base, on_timer, o);
    if (!o->http || !o->timer) {
        rw_error("cannot create the delivery client");
        exit(1);
    }
    rw_outbox_reconfigure(o);
    return o;
}

static void clear_queues(struct rw_outbox *o)
{
    for (int s = 0; s < RW_MAX_SINKS; s++) {
        struct queue *q = &o->q[s];
        for (size_t i = 0; i < q->n; i++)
            job_free(q->heap[i]);
        q->n = 0;
        q->in_flight = 0;
    }
    o->depth = 0;
}

void rw_outbox_reset(struct rw_outbox *o)
{
    /* Cancelling transfers runs their callbacks, which free the jobs. */
    rw_http_client_free(o->http);
    o->http = rw_http_client_new(o->d->base);
    if (!o->http) {
        rw_error("cannot create the delivery client");
        exit(1);
    }
    clear_queues(o);
    o->in_flight = 0;
    o->running = false;
    evtimer_del(o->timer);
}

void rw_outbox_free(struct rw_outbox *o)
{
    if (!o)
        return;
    rw_http_client_free(o->http);
    clear_queues(o);
    for (int s = 0; s < RW_MAX_SINKS; s++)
        free(o->q[s].heap);
    if (o->timer)
        event_free(o->timer);
    free(o);
}

void rw_outbox_reconfigure(struct rw_outbox *o)
{
    const struct rw_config *cfg = o->d->cfg;
    /* Re-file queued jobs by sink name: a reload may reorder, add or remove sinks. */
    struct job **all = NULL;
    size_t n = 0, cap = 0;
    for (int s = 0; s < RW_MAX_SINKS; s++) {
        struct queue *q = &o->q[s];
        for (size_t i = 0; i < q->n; i++) {
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                all = rw_xrealloc(all, cap * sizeof *all);
            }
            all[n++] = q->heap[i];
        }
        q->n = 0;
    }
    for (int s = 0; s < cfg->nsinks; s++)
        rw_rate_init(&o->q[s].rate, cfg->sinks[s].rate_per_s);
    o->depth = 0;
    size_t dropped = 0;
    for (size_t i = 0; i < n; i++) {
        int s = sink_index(cfg, all[i]->sink);
        if (s < 0) {
            dropped++;
            job_free(all[i]);
            continue;
        }
        heap_push(&o->q[s], all[i]);
        o->depth++;
    }
    free(all);
    if (dropped)
        rw_warn("deliveries to sinks no longer configured stay in the outbox count=%zu", dropped);
    arm(o);
}

void rw_outbox_add(struct rw_outbox *o, const char *job_id, size_t id_len, const char *job_json,
                   size_t json_len, int64_t due_ms)
{
    json_error_t jerr;
    json_t *job = json_loadb(job_json, json_len, 0, &jerr);
    const char *sink = NULL;
    json_t *alert = NULL;
    json_int_t attempts = 0, due = 0;
    if (!job ||
        json_unpack(job, "{s:s, s:I, s:I, s:o}", "sink", &sink, "attempts", &attempts, "due", &due,
                    "alert", &alert) != 0 ||
        !json_is_object(alert)) {
        rw_error("unreadable delivery job in the outbox id=%.*s", (int)(id_len > 80 ? 80 : id_len),
                 job_id);
        json_decref(job);
        return;
    }
    struct job *j = rw_xcalloc(1, sizeof *j);
    j->id = rw_xstrndup(job_id, id_len);
    j->sink = rw_xstrdup(sink);
    j->alert = json_incref(alert);
    j->body = rw_alert_dumps(alert);
    j->attempts = (int)attempts;
    j->due_ms = due > due_ms ? (int64_t)due : due_ms;
    j->queued_mono_ms = rw_mono_ms();
    json_decref(job);
    int s = sink_index(o->d->cfg, j->sink);
    if (s < 0) {
        rw_warn("delivery job for an unknown sink stays in the outbox id=%s sink=%s", j->id,
                j->sink);
        job_free(j);
        return;
    }
    heap_push(&o->q[s], j);
    o->depth++;
    arm(o);
}

void rw_outbox_set_running(struct rw_outbox *o, bool running)
{
    o->running = running;
    if (running)
        arm(o);
    else
        evtimer_del(o->timer);
}

size_t rw_outbox_in_flight(const struct rw_outbox *o)
{
    return o->in_flight;
}

size_t rw_outbox_depth(const struct rw_outbox *o)
{
    return o->depth;
}

/* Fire-and-forget bookkeeping in Redis; a failure leaves the job to be retried after a restart. */
static void on_bookkeeping(struct rw_link *link, redisReply *reply, void *arg)
{
    (void)link;
    struct renewald *d = rw_call_take(arg, reply, NULL, NULL);
    if (d && reply->type == REDIS_REPLY_ERROR)
        rw_log_rl(RW_LOG_ERROR, "outbox bookkeeping failed error=\"%.200s\"", reply->str);
}

static void send_cmd(struct rw_outbox *o, int argc, const char **argv, const size_t *lens)
{
    struct rw_call *call = rw_call_new(o->d, NULL, 0);
    if (!rw_link_command(o->d->writer_link, on_bookkeeping, call, 0, argc, argv, lens))
        rw_call_take(call, NULL, NULL, NULL);
}

static void job_done(struct rw_outbox *o, struct job *j)
{
    char *key = rw_config_key(o->d->cfg, "outbox");
    const char *argv[] = {"HDEL", key, j->id};
    size_t lens[] = {4, strlen(key), strlen(j->id)};
    send_cmd(o, 3, argv, lens);
    free(key);
}

static void job_dead(struct rw_outbox *o, struct job *j, const char *error)
{
    rw_warn("delivery failed for good id=%s sink=%s attempts=%d error=\"%s\"", j->id, j->sink,
            j->attempts, error);
    char *outbox = rw_config_key(o->d->cfg, "outbox");
    char *dead = rw_config_key(o->d->cfg, "alerts:dead");
    char attempts[16], keep[24];
    snprintf(attempts, sizeof attempts, "%d", j->attempts);
    snprintf(keep, sizeof keep, "%ld", o->d->cfg->keep);
    const char *argv[] = {"EVAL",  dead_script, "2",   outbox,   dead, j->id,
                          j->sink, j->body,     error, attempts, keep};
    size_t lens[11];
    for (int i = 0; i < 11; i++)
        lens[i] = strlen(argv[i]);
    send_cmd(o, 11, argv, lens);
    free(outbox);
    free(dead);
}

/* Persists the next attempt's due time, then queues the job again. */
static void job_retry(struct rw_outbox *o, int s, struct job *j, int64_t retry_after_ms)
{
    const struct rw_sink_conf *sc = &o->d->cfg->sinks[s];
    int64_t delay = rw_retry_delay_ms(sc->retry_initial_ms, sc->retry_max_ms, j->attempts,
                                      retry_after_ms, NULL, NULL);
    j->due_ms = rw_wall_ms() + delay;
    json_t *job = json_pack("{s:s, s:i, s:I, s:O}", "sink", j->sink, "attempts", j->attempts, "due",
                            (json_int_t)j->due_ms, "alert", j->alert);
    char *text = job ? json_dumps(job, JSON_COMPACT) : NULL;
    json_decref(job);
    if (text) {
        char *key = rw_config_key(o->d->cfg, "outbox");
        const char *argv[] = {"HSET", key, j->id, text};
        size_t lens[] = {4, strlen(key), strlen(j->id), strlen(text)};
        send_cmd(o, 4, argv, lens);
        free(key);
        free(text);
    }
    rw_debug("delivery will be retried id=%s sink=%s attempts=%d in_ms=%lld", j->id, j->sink,
             j->attempts, (long long)delay);
    heap_push(&o->q[s], j);
    o->depth++;
}

/* Settles one attempt of J (already out of its queue) with RESULT. */
static void settle(struct rw_outbox *o, struct job *j, const struct rw_delivery_result *res)
{
    struct renewald *d = o->d;
    int s = sink_index(d->cfg, j->sink);
    double latency = (double)(rw_mono_ms() - j->queued_mono_ms) / 1000.0;
    if (s >= 0)
        rw_metrics_delivery(&d->metrics, s, (int)res->outcome, latency);
    if (res->outcome == RW_DELIVERY_SUCCESS) {
        rw_debug("delivered id=%s sink=%s", j->id, j->sink);
        job_done(o, j);
        job_free(j);
        return;
    }
    j->attempts++;
    if (res->outcome == RW_DELIVERY_PERMANENT || s < 0 ||
        j->attempts >= d->cfg->sinks[s].max_attempts) {
        const char *why = res->outcome == RW_DELIVERY_PERMANENT ? res->error : "";
        char msg[RW_SINK_ERROR_MAX + 64];
        if (res->outcome != RW_DELIVERY_PERMANENT)
            snprintf(msg, sizeof msg, "retries exhausted: %s", res->error);
        job_dead(o, j, res->outcome == RW_DELIVERY_PERMANENT ? why : msg);
        job_free(j);
        return;
    }
    rw_log_rl(RW_LOG_WARN, "delivery failed, will retry id=%s sink=%s attempts=%d error=\"%s\"",
              j->id, j->sink, j->attempts, res->error);
    job_retry(o, s, j, res->retry_after_ms);
}

static void on_transfer_done(const struct rw_http_result *res, void *arg)
{
    struct job *j = arg;
    struct rw_outbox *o = j->outbox;
    if (res->cancelled || !o) {
        job_free(j); /* still in Redis: delivered after the next start */
        return;
    }
    o->in_flight--;
    int s = sink_index(o->d->cfg, j->sink);
    if (s >= 0 && o->q[s].in_flight > 0)
        o->q[s].in_flight--;
    struct rw_delivery_result dr;
    if (s >= 0) {
        rw_sink_classify(&o->d->cfg->sinks[s], res, &dr);
    } else {
        dr.outcome = RW_DELIVERY_RETRY;
        dr.retry_after_ms = -1;
        snprintf(dr.error, sizeof dr.error, "sink removed by reload");
    }
    settle(o, j, &dr);
    arm(o);
}

static void start_job(struct rw_outbox *o, int s, struct job *j)
{
    const struct rw_sink_conf *sc = &o->d->cfg->sinks[s];
    struct rw_http_request req;
    char err[RW_SINK_ERROR_MAX];
    memset(&req, 0, sizeof req);
    enum rw_sink_prep prep = rw_sink_prepare(sc, j->alert, j->body, rw_wall_ms(), &req, err);
    if (prep == RW_SINK_TRANSFER) {
        j->outbox = o;
        if (rw_http_client_start(o->http, &req, on_transfer_done, j) == 0) {
            o->in_flight++;
            o->q[s].in_flight++;
            return;
        }
        struct rw_delivery_result dr = {RW_DELIVERY_RETRY, -1, "cannot start transfer"};
        settle(o, j, &dr);
        return;
    }
    struct rw_delivery_result dr = {
        prep == RW_SINK_DELIVERED ? RW_DELIVERY_SUCCESS : RW_DELIVERY_PERMANENT, -1, ""};
    if (prep == RW_SINK_FAILED)
        snprintf(dr.error, sizeof dr.error, "%s", err);
    settle(o, j, &dr);
}

/* Starts what may start now; re-arms the timer for the earliest next start. */
static void pump(struct rw_outbox *o)
{
    const struct rw_config *cfg = o->d->cfg;
    int64_t now = rw_wall_ms();
    int64_t next = INT64_MAX;
    for (int s = 0; s < cfg->nsinks; s++) {
        struct queue *q = &o->q[s];
        while (q->n > 0 && q->in_flight < cfg->sinks[s].concurrency) {
            struct job *top = q->heap[0];
            if (top->due_ms > now) {
                if (top->due_ms < next)
                    next = top->due_ms;
                break;
            }
            int64_t wait = rw_rate_take(&q->rate, now);
            if (wait > 0) {
                if (now + wait < next)
                    next = now + wait;
                break;
            }
            heap_pop(q);
            o->depth--;
            start_job(o, s, top);
        }
    }
    if (next != INT64_MAX) {
        int64_t delay = next - now;
        if (delay < 1)
            delay = 1;
        struct timeval tv = {(time_t)(delay / 1000), (suseconds_t)((delay % 1000) * 1000)};
        evtimer_add(o->timer, &tv);
    }
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct rw_outbox *o = arg;
    if (o->running)
        pump(o);
}

static void arm(struct rw_outbox *o)
{
    if (!o->running)
        return;
    struct timeval zero = {0, 0};
    evtimer_add(o->timer, &zero);
}
