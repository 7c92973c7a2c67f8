/* outbox.c - durable deliveries: per-account chains, per-sink queues, rate, retries, dead letters.
 */
#include "renewald/outbox.h"

#include <event2/event.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "renewald/core/alert.h"
#include "renewald/core/jsonw.h"
#include "renewald/digest.h"
#include "renewald/http_client.h"
#include "renewald/log.h"
#include "renewald/retry.h"
#include "renewald/sink.h"

/* Moves a job to <prefix>alerts:dead and out of the outbox, checked before writing. */
const char rw_outbox_dead_script[] =
    "#!lua\n"
    "local function bad(key, want)\n"
    "  local t = redis.call('TYPE', key)['ok']\n"
    "  return t ~= 'none' and t ~= want end\n"
    "if bad(KEYS[1], 'hash') or bad(KEYS[2], 'stream') then\n"
    "  return redis.error_reply('WRONGTYPE outbox or alerts:dead holds another type') end\n"
    "if redis.acl_check_cmd and not (redis.acl_check_cmd('HDEL', KEYS[1], ARGV[1]) and\n"
    "    redis.acl_check_cmd('XADD', KEYS[2], '*', 'f', 'v')) then\n"
    "  return redis.error_reply('NOPERM this user may not move jobs to alerts:dead') end\n"
    "redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*', 'sink', ARGV[2], 'alert', ARGV[3],\n"
    "           'error', ARGV[4], 'attempts', ARGV[5])\n"
    "return redis.call('HDEL', KEYS[1], ARGV[1])\n";

struct chain;

struct job {
    char *id;       /* "ALERTID:SINK" */
    char *sink;     /* the sink's name */
    char *account;  /* the alert's account */
    json_t *alert;  /* owned */
    char *body;     /* the alert serialised as sinks send it */
    int attempts;   /* failed attempts so far */
    int64_t due_ms; /* wall clock */
    uint64_t seq;   /* creation order */
    int64_t created_ms;
    struct rw_outbox *outbox; /* while in flight: NULL after a reset */
    struct chain *chain;
};

/* One account's jobs for one sink, oldest first. */
struct chain {
    char *account;
    struct job **jobs;
    size_t head, n, cap;
    bool busy; /* its head is in the ready heap or in flight */
};

struct queue {
    struct job **heap; /* ready chain heads by (due, seq) */
    size_t n, cap;
    struct chain **tab; /* account -> chain, open addressing; NULL = empty */
    size_t tcap, tcount;
    int in_flight;
    struct rw_rate rate;
};

struct rw_outbox {
    struct event_base *base;
    struct rw_cmd_sink sink;
    const struct rw_config *cfg;
    struct rw_metrics *metrics;
    struct rw_http_client *http;
    struct queue q[RW_MAX_SINKS];
    size_t depth, in_flight;
    bool running;
    struct event *timer;
    struct rw_digests *digests; /* members of digest windows, not yet delivered */
};

static void job_free(struct job *j)
{
    if (!j)
        return;
    free(j->id);
    free(j->sink);
    free(j->account);
    json_decref(j->alert);
    free(j->body);
    free(j);
}

/* ---- chains ---- */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static struct chain **chain_slot(struct queue *q, const char *account)
{
    size_t mask = q->tcap - 1, i = (size_t)hash_str(account) & mask;
    while (q->tab[i] && strcmp(q->tab[i]->account, account) != 0)
        i = (i + 1) & mask;
    return &q->tab[i];
}

static struct chain *chain_get(struct queue *q, const char *account)
{
    if ((q->tcount + 1) * 2 > q->tcap) {
        struct chain **old = q->tab;
        size_t ocap = q->tcap;
        q->tcap = q->tcap ? q->tcap * 2 : 64;
        q->tab = rw_xcalloc(q->tcap, sizeof(*q->tab));
        for (size_t i = 0; i < ocap; i++)
            if (old[i])
                *chain_slot(q, old[i]->account) = old[i];
        free(old);
    }
    struct chain **slot = chain_slot(q, account);
    if (!*slot) {
        *slot = rw_xcalloc(1, sizeof(**slot));
        (*slot)->account = rw_xstrdup(account);
        q->tcount++;
    }
    return *slot;
}

/* Inserts J in seq order (jobs loaded at start come in any order). */
static void chain_insert(struct chain *c, struct job *j)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 4;
        c->jobs = rw_xrealloc(c->jobs, c->cap * sizeof(*c->jobs));
    }
    size_t i = c->n++;
    while (i > c->head && c->jobs[i - 1]->seq > j->seq) {
        c->jobs[i] = c->jobs[i - 1];
        i--;
    }
    c->jobs[i] = j;
    j->chain = c;
}

static struct job *chain_head(const struct chain *c)
{
    return c->head < c->n ? c->jobs[c->head] : NULL;
}

static void chain_pop(struct chain *c)
{
    if (c->head < c->n)
        c->head++;
    if (c->head == c->n)
        c->head = c->n = 0;
}

static void queue_clear(struct queue *q)
{
    for (size_t i = 0; i < q->tcap; i++) {
        struct chain *c = q->tab[i];
        if (!c)
            continue;
        for (size_t k = c->head; k < c->n; k++)
            if (c->jobs[k]->outbox == NULL) /* not in flight: ours to free */
                job_free(c->jobs[k]);
            else
                c->jobs[k]->chain = NULL;
        free(c->jobs);
        free(c->account);
        free(c);
    }
    free(q->tab);
    q->tab = NULL;
    q->tcap = q->tcount = 0;
    q->n = 0;
    q->in_flight = 0;
}

/* ---- the ready heap ---- */

static bool before(const struct job *a, const struct job *b)
{
    return a->due_ms != b->due_ms ? a->due_ms < b->due_ms : a->seq < b->seq;
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
    j->chain->busy = true;
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

/* The head of C goes to the ready heap, unless it is already there or in flight. */
static void offer(struct queue *q, struct chain *c)
{
    struct job *h = chain_head(c);
    if (h && !c->busy)
        heap_push(q, h);
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

/* A digest written to the outbox hash: delivered like any job. */
static void add_digest_job(void *arg, const char *id, size_t id_len, const char *json, size_t len)
{
    rw_outbox_add(arg, id, id_len, json, len);
}

struct rw_outbox *rw_outbox_new(struct event_base *base, struct rw_cmd_sink sink,
                                const struct rw_config *cfg, struct rw_metrics *metrics)
{
    struct rw_outbox *o = rw_xcalloc(1, sizeof *o);
    o->base = base;
    o->sink = sink;
    o->cfg = cfg;
    o->metrics = metrics;
    o->http = rw_http_client_new(base);
    o->timer = evtimer_new(base, on_timer, o);
    if (!o->http || !o->timer) {
        rw_error("cannot create the delivery client");
        exit(1);
    }
    for (int s = 0; s < cfg->nsinks; s++)
        rw_rate_init(&o->q[s].rate, cfg->sinks[s].rate_per_s);
    o->digests = rw_digests_new(sink, cfg, add_digest_job, o);
    return o;
}

static void clear_queues(struct rw_outbox *o)
{
    for (int s = 0; s < RW_MAX_SINKS; s++)
        queue_clear(&o->q[s]);
    o->depth = 0;
}

void rw_outbox_reset(struct rw_outbox *o)
{
    /* Cancelling transfers runs their callbacks, which free the jobs in flight. */
    clear_queues(o);
    rw_http_client_free(o->http);
    o->http = rw_http_client_new(o->base);
    if (!o->http) {
        rw_error("cannot create the delivery client");
        exit(1);
    }
    o->in_flight = 0;
    o->running = false;
    evtimer_del(o->timer);
    rw_digests_reset(o->digests);
}

void rw_outbox_free(struct rw_outbox *o)
{
    if (!o)
        return;
    clear_queues(o);
    rw_http_client_free(o->http);
    for (int s = 0; s < RW_MAX_SINKS; s++)
        free(o->q[s].heap);
    if (o->timer)
        event_free(o->timer);
    rw_digests_free(o->digests);
    free(o);
}

/* Files J under its sink's chain of its account; false when the sink is unknown. */
static bool file_job(struct rw_outbox *o, struct job *j)
{
    int s = sink_index(o->cfg, j->sink);
    if (s < 0)
        return false;
    struct chain *c = chain_get(&o->q[s], j->account);
    chain_insert(c, j);
    o->depth++;
    if (o->running)
        offer(&o->q[s], c);
    return true;
}

void rw_outbox_set_config(struct rw_outbox *o, const struct rw_config *cfg)
{
    rw_digests_set_config(o->digests, cfg);
    /* Re-file queued jobs by sink name: a reload may reorder, add or remove sinks. */
    struct job **all = NULL;
    size_t n = 0, cap = 0;
    for (int s = 0; s < RW_MAX_SINKS; s++) {
        struct queue *q = &o->q[s];
        for (size_t i = 0; i < q->tcap; i++) {
            struct chain *c = q->tab[i];
            for (size_t k = c ? c->head : 0; c && k < c->n; k++) {
                if (n == cap) {
                    cap = cap ? cap * 2 : 64;
                    all = rw_xrealloc(all, cap * sizeof *all);
                }
                all[n++] = c->jobs[k];
                c->jobs[k]->chain = NULL;
            }
            if (c) {
                free(c->jobs);
                free(c->account);
                free(c);
            }
        }
        free(q->tab);
        q->tab = NULL;
        q->tcap = q->tcount = 0;
        q->n = 0;
        q->in_flight = 0;
    }
    o->cfg = cfg;
    for (int s = 0; s < cfg->nsinks; s++)
        rw_rate_init(&o->q[s].rate, cfg->sinks[s].rate_per_s);
    o->depth = 0;
    bool running = o->running;
    o->running = false; /* file everything first, offer the heads after */
    size_t dropped = 0;
    for (size_t i = 0; i < n; i++) {
        struct job *j = all[i];
        bool flying = j->outbox != NULL;
        if (!file_job(o, j)) {
            dropped++;
            if (!flying)
                job_free(j);
            continue;
        }
        if (flying) { /* still in flight: its chain waits for it */
            int s = sink_index(cfg, j->sink);
            o->q[s].in_flight++;
            j->chain->busy = true;
        }
    }
    free(all);
    o->running = running;
    if (dropped)
        rw_warn("deliveries to sinks no longer configured stay in the outbox count=%zu", dropped);
    if (o->running) {
        for (int s = 0; s < cfg->nsinks; s++)
            for (size_t i = 0; i < o->q[s].tcap; i++)
                if (o->q[s].tab[i])
                    offer(&o->q[s], o->q[s].tab[i]);
    }
    arm(o);
}

/* The alert's own text inside a job (written last, as the commit writes it), or NULL. */
static char *alert_text(const char *job, size_t len)
{
    static const char key[] = ",\"alert\":";
    if (len < sizeof key + 2 || job[len - 1] != '}')
        return NULL;
    for (size_t i = len - sizeof key; i > 0; i--)
        if (memcmp(job + i, key, sizeof key - 1) == 0) {
            size_t from = i + sizeof key - 1;
            return rw_xstrndup(job + from, len - 1 - from);
        }
    return NULL;
}

void rw_outbox_add(struct rw_outbox *o, const char *job_id, size_t id_len, const char *job_json,
                   size_t json_len)
{
    json_error_t jerr;
    json_t *job = json_loadb(job_json, json_len, 0, &jerr);
    const char *sink = NULL, *account = NULL;
    json_t *alert = NULL;
    json_int_t attempts = 0, due = 0, seq = 0, ts = 0;
    if (!job ||
        json_unpack(job, "{s:s, s:I, s:I, s?I, s?I, s?s, s:o}", "sink", &sink, "attempts",
                    &attempts, "due", &due, "seq", &seq, "ts", &ts, "account", &account, "alert",
                    &alert) != 0 ||
        !json_is_object(alert)) {
        rw_error("unreadable delivery job in the outbox id=%.*s", (int)(id_len > 80 ? 80 : id_len),
                 job_id);
        json_decref(job);
        return;
    }
    json_t *window = json_object_get(job, "digest");
    if (json_is_integer(window)) { /* a member: held until its window closes */
        json_t *end = json_object_get(job, "digest_end");
        char *id = rw_xstrndup(job_id, id_len);
        rw_digests_add(o->digests, id, sink, json_integer_value(window),
                       json_is_integer(end) ? json_integer_value(end) : json_integer_value(window),
                       alert, (uint64_t)seq);
        free(id);
        json_decref(job);
        return;
    }
    struct job *j = rw_xcalloc(1, sizeof *j);
    j->id = rw_xstrndup(job_id, id_len);
    j->sink = rw_xstrdup(sink);
    const char *acct = account ? account : rw_alert_str(alert, "account");
    j->account = rw_xstrdup(acct ? acct : "");
    j->alert = json_incref(alert);
    /* Sinks send the alert as it was created, byte for byte (the webhook signs it). */
    j->body = alert_text(job_json, json_len);
    if (!j->body)
        j->body = rw_alert_dumps(alert);
    j->attempts = (int)attempts;
    j->due_ms = (int64_t)due;
    j->seq = (uint64_t)seq;
    j->created_ms = ts > 0 ? (int64_t)ts : rw_wall_ms();
    json_decref(job);
    if (!file_job(o, j)) {
        rw_log_rl(RW_LOG_WARN, "delivery job for an unknown sink stays in the outbox id=%s sink=%s",
                  j->id, j->sink);
        job_free(j);
        return;
    }
    arm(o);
}

void rw_outbox_set_running(struct rw_outbox *o, bool running)
{
    if (running && !o->running) {
        o->running = true;
        for (int s = 0; s < o->cfg->nsinks; s++)
            for (size_t i = 0; i < o->q[s].tcap; i++)
                if (o->q[s].tab[i])
                    offer(&o->q[s], o->q[s].tab[i]);
        arm(o);
    } else if (!running) {
        o->running = false;
        evtimer_del(o->timer);
    }
}

size_t rw_outbox_in_flight(const struct rw_outbox *o)
{
    return o->in_flight;
}

size_t rw_outbox_depth(const struct rw_outbox *o)
{
    return o->depth + rw_digests_members(o->digests);
}

void rw_outbox_close_digests(struct rw_outbox *o, int64_t now_ms, const char *lease_token)
{
    if (now_ms != INT64_MIN) /* RW_NO_TIME: no event yet */
        rw_digests_close(o->digests, now_ms, lease_token);
}

/* ---- bookkeeping in Redis: a failure leaves the job to be retried after a restart ---- */

static void on_bookkeeping(struct rw_link *link, redisReply *reply, void *arg)
{
    (void)link;
    (void)arg;
    if (reply && reply->type == REDIS_REPLY_ERROR)
        rw_log_rl(RW_LOG_ERROR, "outbox bookkeeping failed error=\"%.200s\"", reply->str);
}

static void send_cmd(struct rw_outbox *o, int argc, const char **argv, const size_t *lens)
{
    if (!rw_cmd_send(&o->sink, on_bookkeeping, NULL, 0, argc, argv, lens))
        rw_log_rl(RW_LOG_WARN, "outbox bookkeeping skipped: redis link down");
}

static void job_done(struct rw_outbox *o, struct job *j)
{
    char *key = rw_config_key(o->cfg, "outbox");
    const char *argv[] = {"HDEL", key, j->id};
    size_t lens[] = {4, strlen(key), strlen(j->id)};
    send_cmd(o, 3, argv, lens);
    free(key);
}

static void job_dead(struct rw_outbox *o, struct job *j, const char *error)
{
    rw_log_rl(RW_LOG_WARN, "delivery failed for good id=%s sink=%s attempts=%d error=\"%s\"", j->id,
              j->sink, j->attempts, error);
    char *outbox = rw_config_key(o->cfg, "outbox");
    char *dead = rw_config_key(o->cfg, "alerts:dead");
    char attempts[16], keep[24];
    snprintf(attempts, sizeof attempts, "%d", j->attempts);
    snprintf(keep, sizeof keep, "%ld", o->cfg->keep);
    const char *argv[] = {
        "EVAL", rw_outbox_dead_script, "2", outbox, dead, j->id, j->sink, j->body, error, attempts,
        keep};
    size_t lens[11];
    for (int i = 0; i < 11; i++)
        lens[i] = strlen(argv[i]);
    send_cmd(o, 11, argv, lens);
    free(outbox);
    free(dead);
}

/* Persists the next attempt's due time; the job stays its chain's head. */
static void job_retry(struct rw_outbox *o, int s, struct job *j, int64_t retry_after_ms)
{
    const struct rw_sink_conf *sc = &o->cfg->sinks[s];
    int64_t delay = rw_retry_delay_ms(sc->retry_initial_ms, sc->retry_max_ms, j->attempts,
                                      retry_after_ms, NULL, NULL);
    j->due_ms = rw_wall_ms() + delay;
    json_t *job =
        json_pack("{s:s, s:i, s:I, s:I, s:I, s:s, s:O}", "sink", j->sink, "attempts", j->attempts,
                  "due", (json_int_t)j->due_ms, "seq", (json_int_t)j->seq, "ts",
                  (json_int_t)j->created_ms, "account", j->account, "alert", j->alert);
    char *text = job ? json_dumps(job, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(job);
    if (text) {
        char *key = rw_config_key(o->cfg, "outbox");
        const char *argv[] = {"HSET", key, j->id, text};
        size_t lens[] = {4, strlen(key), strlen(j->id), strlen(text)};
        send_cmd(o, 4, argv, lens);
        free(key);
        free(text);
    }
    rw_debug("delivery will be retried id=%s sink=%s attempts=%d in_ms=%lld", j->id, j->sink,
             j->attempts, (long long)delay);
    heap_push(&o->q[s], j);
}

/* Settles one attempt of J (out of the ready heap) with RESULT. */
static void settle(struct rw_outbox *o, int s, struct job *j, const struct rw_delivery_result *res)
{
    double latency = (double)(rw_wall_ms() - j->created_ms) / 1000.0;
    struct chain *c = j->chain;
    if (res->outcome == RW_DELIVERY_SUCCESS) {
        if (s >= 0)
            rw_metrics_delivery(o->metrics, s, RW_DELIVERY_SUCCESS, latency);
        rw_debug("delivered id=%s sink=%s", j->id, j->sink);
        job_done(o, j);
    } else {
        j->attempts++;
        bool final = res->outcome == RW_DELIVERY_PERMANENT || s < 0 ||
                     j->attempts >= o->cfg->sinks[s].max_attempts;
        if (s >= 0)
            rw_metrics_delivery(o->metrics, s, final ? RW_DELIVERY_PERMANENT : RW_DELIVERY_RETRY,
                                latency);
        if (!final) {
            rw_log_rl(RW_LOG_WARN,
                      "delivery failed, will retry id=%s sink=%s attempts=%d error=\"%s\"", j->id,
                      j->sink, j->attempts, res->error);
            job_retry(o, s, j, res->retry_after_ms);
            return;
        }
        char msg[RW_SINK_ERROR_MAX + 64];
        if (res->outcome != RW_DELIVERY_PERMANENT)
            snprintf(msg, sizeof msg, "retries exhausted: %s", res->error);
        job_dead(o, j, res->outcome == RW_DELIVERY_PERMANENT ? res->error : msg);
    }
    /* Done with it: the account's next job for this sink may go. */
    o->depth--;
    if (c) {
        chain_pop(c);
        c->busy = false;
        if (s >= 0)
            offer(&o->q[s], c);
    }
    job_free(j);
}

static void on_transfer_done(const struct rw_http_result *res, void *arg)
{
    struct job *j = arg;
    struct rw_outbox *o = j->outbox;
    if (res->cancelled || !o) {
        job_free(j); /* still in Redis: delivered after the next start */
        return;
    }
    j->outbox = NULL;
    o->in_flight--;
    int s = sink_index(o->cfg, j->sink);
    if (s >= 0 && o->q[s].in_flight > 0)
        o->q[s].in_flight--;
    struct rw_delivery_result dr;
    if (s >= 0) {
        rw_sink_classify(&o->cfg->sinks[s], res, &dr);
    } else {
        dr.outcome = RW_DELIVERY_RETRY;
        dr.retry_after_ms = -1;
        snprintf(dr.error, sizeof dr.error, "sink removed by reload");
    }
    if (!j->chain) { /* its sink went away in a reload while it flew */
        job_free(j);
        arm(o);
        return;
    }
    settle(o, s, j, &dr);
    arm(o);
}

static void start_job(struct rw_outbox *o, int s, struct job *j)
{
    const struct rw_sink_conf *sc = &o->cfg->sinks[s];
    struct rw_http_request req;
    char err[RW_SINK_ERROR_MAX];
    memset(&req, 0, sizeof req);
    enum rw_sink_prep prep = rw_sink_prepare(sc, j->alert, j->body, rw_wall_ms(), &req, err);
    if (prep == RW_SINK_TRANSFER) {
        rw_sink_attempt_headers(sc, &req, j->attempts + 1);
        j->outbox = o;
        if (rw_http_client_start(o->http, &req, on_transfer_done, j) == 0) {
            o->in_flight++;
            o->q[s].in_flight++;
            return;
        }
        j->outbox = NULL;
        struct rw_delivery_result dr = {RW_DELIVERY_RETRY, -1, "cannot start transfer"};
        settle(o, s, j, &dr);
        return;
    }
    struct rw_delivery_result dr = {
        prep == RW_SINK_DELIVERED ? RW_DELIVERY_SUCCESS : RW_DELIVERY_PERMANENT, -1, ""};
    if (prep == RW_SINK_FAILED)
        snprintf(dr.error, sizeof dr.error, "%s", err);
    settle(o, s, j, &dr);
}

/* Starts what may start now; re-arms the timer for the earliest next start. */
static void pump(struct rw_outbox *o)
{
    const struct rw_config *cfg = o->cfg;
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
