/* daemon.c - the loop: lifecycle, workers wired by callbacks, one flush point per turn. */
#include "renewald/daemon.h"

#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "renewald/api.h"
#include "renewald/cluster.h"
#include "renewald/commit.h"
#include "renewald/core/merge.h"
#include "renewald/core/route.h"
#include "renewald/core/snooze.h"
#include "renewald/core/timeutil.h"
#include "renewald/heap_trim.h"
#include "renewald/ingest.h"
#include "renewald/lease.h"
#include "renewald/log.h"
#include "renewald/notify.h"
#include "renewald/outbox.h"
#include "renewald/redis_link.h"
#include "renewald/state_load.h"
#include "renewald/stream_reader.h"

#define HOUSEKEEPING_MS         200
#define WORK_BUDGET_MS          4 /* loop time one turn of ingest may take */
#define READER_REPLY_TIMEOUT_MS 10000
#define WRITER_REPLY_TIMEOUT_MS 15000
#define RETRY_MIN_MS            100
#define RETRY_MAX_MS            1000  /* a fixed cause is noticed within a second */
#define REFRESH_SLICE           20000 /* stored scores refreshed per idle loop turn */
#define REFRESH_EVERY_MS        1000  /* a new refresh pass at most this often */

enum phase { PH_CONNECTING = 0, PH_STANDBY, PH_LOADING, PH_ACTIVE, PH_STOPPING };
static const char *const phase_names[] = {"connecting", "standby", "loading", "active", "stopping"};

struct renewald {
    struct event_base *base;
    char *config_path;
    struct rw_config *cfg;    /* current; replaced whole by a reload */
    struct rw_scorer *scorer; /* built from cfg */
    struct rw_store *store;   /* NULL unless LOADING or ACTIVE */
    struct rw_engine *engine; /* with the store */
    struct rw_merge *merge;
    struct rw_applied applied;
    struct rw_load_result load;

    struct rw_cluster *cluster;  /* [redis] cluster = true; else NULL */
    struct rw_link *reader_link; /* XREADGROUP only: it blocks */
    struct rw_link *writer_link; /* everything else */
    struct rw_reader *reader;
    struct rw_ingest *ingest;
    struct rw_commit *commit;
    struct rw_lease *lease;
    struct rw_loader *loader;
    struct rw_outbox *outbox;
    struct rw_api *api;
    struct rw_metrics metrics;

    enum phase phase;
    char host[64];
    char trouble[300]; /* why the daemon is not working, for /healthz; "" when it is */
    bool unproven;     /* active again after a failure, nothing landed yet: still trouble */
    bool locked;       /* holds the instance lock: may take over its own lease */
    int64_t retry_ms;  /* backoff before the next attempt after a failure; 0 = none */
    bool waiting;      /* in that backoff */
    double sweep_cpu_s;
    int64_t refresh_mono_ms; /* when the last score refresh pass began */
    uint64_t landed_seq;     /* highest commit known to have landed */

    struct event *sig_term, *sig_int, *sig_hup;
    struct event *housekeeping, *work, *retry, *stop_timer;
    int exit_code;
    int64_t stop_deadline_mono_ms;
    bool stop_released;
    int64_t last_lease_mono_ms, last_status_mono_ms;
};

static void schedule_work(struct renewald *d)
{
    event_add(d->work, &(struct timeval){0, 0}); /* a timer, not event_active: I/O between turns */
}

static bool links_up(const struct renewald *d)
{
    return rw_link_up(d->reader_link) && rw_link_up(d->writer_link);
}

/* ---- losing and regaining the state ---- */

/* Drops everything in memory that came from Redis and stops the workers. */
static void drop_state(struct renewald *d)
{
    rw_reader_stop(d->reader);
    rw_loader_stop(d->loader);
    rw_lease_stop(d->lease);
    rw_ingest_stop(d->ingest);
    rw_commit_reset(d->commit, 0);
    rw_outbox_reset(d->outbox);
    if (d->api)
        rw_api_store_gone(d->api);
    rw_engine_free(d->engine);
    d->engine = NULL;
    rw_store_free(d->store);
    d->store = NULL;
    rw_merge_clear(d->merge);
    /* Replies still on the way belong to the dropped state: they are discarded. */
    rw_link_cancel_all(d->reader_link);
    rw_link_cancel_all(d->writer_link);
}

static void try_acquire(struct renewald *d)
{
    if (d->waiting || !links_up(d) || (d->phase != PH_CONNECTING && d->phase != PH_STANDBY))
        return;
    rw_lease_try_acquire(d->lease);
}

/* Something failed that may leave memory and Redis apart: reload after a backoff. */
static void fail(struct renewald *d, const char *why, const char *redis_error)
{
    if (d->phase == PH_STOPPING)
        return;
    d->retry_ms = d->retry_ms ? d->retry_ms * 2 : RETRY_MIN_MS;
    if (d->retry_ms > RETRY_MAX_MS)
        d->retry_ms = RETRY_MAX_MS;
    if (redis_error)
        snprintf(d->trouble, sizeof d->trouble, "%s: %.200s", why, redis_error);
    else
        snprintf(d->trouble, sizeof d->trouble, "%s", why);
    /* Once per backoff step: the cause, named. */
    rw_error("%s; reloading the state from redis in %lld ms error=\"%s\"", why,
             (long long)d->retry_ms, redis_error ? redis_error : "");
    bool had_state = d->phase >= PH_LOADING;
    d->phase = PH_CONNECTING;
    if (had_state)
        drop_state(d);
    d->waiting = true;
    struct timeval tv = {(time_t)(d->retry_ms / 1000), (suseconds_t)(d->retry_ms % 1000) * 1000};
    event_add(d->retry, &tv);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct renewald *d = arg;
    d->waiting = false;
    try_acquire(d);
}

static void on_link_state(struct rw_link *link, bool up, void *arg)
{
    (void)link;
    struct renewald *d = arg;
    d->metrics.redis_up = links_up(d);
    if (d->phase == PH_STOPPING)
        return; /* the stop sequence decides; deliveries keep their grace time */
    if (!up) {
        if (d->phase >= PH_LOADING) {
            snprintf(d->trouble, sizeof d->trouble, "redis connection lost");
            rw_warn("redis connection lost; the state will be loaded again");
            drop_state(d);
        }
        d->phase = PH_CONNECTING;
        return;
    }
    try_acquire(d);
}

/* ---- the engine's output ---- */

static void on_alert(void *arg, const struct rw_alert *al)
{
    struct renewald *d = arg;
    const struct rw_account *a = al->account;
    struct rw_route_alert ra = {
        .kind = al->kind,
        .band = al->band,
        .tier = a->tier,
        .arr = a->arr,
        .has_days_to_renewal = al->days_to_renewal != INT32_MIN,
        .days_to_renewal = al->days_to_renewal,
    };
    uint32_t sinks = rw_route_sinks(d->cfg, &ra);
    rw_info("alert created id=%s kind=%s account=%s band=%s", al->id, rw_alert_kind_name(al->kind),
            a->id, rw_band_name(al->band));
    rw_commit_counts(d->commit)->alerts[al->kind]++;
    rw_commit_alert(d->commit, al, sinks);
}

static void on_history(void *arg, int32_t day, uint32_t from, uint32_t to)
{
    struct renewald *d = arg;
    uint32_t n;
    const uint16_t *v = rw_history_day(rw_engine_history(d->engine), day, &n);
    if (!v || from >= n)
        return;
    if (to > n)
        to = n;
    rw_commit_history(d->commit, day, from, v + from, to - from);
    if (from == 0) { /* a new day: the oldest ones age out */
        int32_t keep = (int32_t)(d->cfg->history_ms / RW_MS_PER_DAY);
        for (int32_t k = day - keep - 31; k <= day - keep - 1; k++)
            rw_commit_history_drop(d->commit, k);
    }
}

/* ---- lease ---- */

static void on_lease_acquired(void *arg)
{
    struct renewald *d = arg;
    if (d->phase != PH_CONNECTING && d->phase != PH_STANDBY)
        return;
    rw_info("lease acquired, becoming active group=%s", d->cfg->group);
    d->phase = PH_LOADING;
    d->store = rw_store_new(rw_scorer_nslots(d->scorer));
    d->load.store = d->store;
    /* The engine lives with the store; the loader fills its history. */
    struct rw_engine_hooks eh = {on_alert, on_history, NULL};
    d->engine = rw_engine_new(d->cfg, d->scorer, d->store, &eh, d);
    rw_loader_start(d->loader, d->cfg, d->scorer, &d->load);
}

static void on_lease_standby(void *arg)
{
    struct renewald *d = arg;
    if (d->phase != PH_STANDBY)
        rw_info("another instance holds the lease; standing by group=%s", d->cfg->group);
    if (d->phase == PH_CONNECTING)
        d->phase = PH_STANDBY;
    rw_notify_ready(); /* a hot standby is a running service */
}

static void on_lease_lost(void *arg, const char *why)
{
    struct renewald *d = arg;
    if (d->phase == PH_ACTIVE || d->phase == PH_LOADING)
        fail(d, why, NULL);
}

static void on_lease_error(void *arg, const char *redis_error)
{
    struct renewald *d = arg;
    snprintf(d->trouble, sizeof d->trouble, "lease command refused: %.200s", redis_error);
    rw_log_rl(RW_LOG_ERROR, "lease: redis refused error=\"%.200s\"", redis_error);
}

static void on_lease_released(void *arg)
{
    struct renewald *d = arg;
    event_base_loopexit(d->base, NULL);
}

/* ---- loading ---- */

static void on_load_job(void *arg, const char *id, size_t id_len, const char *text, size_t len)
{
    struct renewald *d = arg;
    rw_outbox_add(d->outbox, id, id_len, text, len);
}

static void on_load_history(void *arg, int32_t day, const unsigned char *bytes, size_t len)
{
    struct renewald *d = arg;
    if (d->engine)
        rw_history_load_day(rw_engine_history(d->engine), day, bytes, len);
}

static void on_load_done(void *arg, bool ok, const char *why, const char *redis_error)
{
    struct renewald *d = arg;
    if (d->phase != PH_LOADING)
        return;
    if (!ok) {
        fail(d, why, redis_error);
        return;
    }
    struct rw_load_result *r = &d->load;
    if (r->bad_records)
        rw_error("skipped unreadable account records count=%zu", r->bad_records);
    if (r->signals_reset)
        rw_warn("signal definitions changed since these accounts were saved: the changed "
                "signals start empty accounts=%zu",
                r->signals_reset);
    if (r->empty && r->groups_created > 0)
        rw_warn("no saved state in redis: reading every stream from its start "
                "(first start, or redis lost its data)");
    rw_info("state loaded accounts=%zu pending_deliveries=%zu commit_seq=%llu", r->accounts,
            r->jobs, (unsigned long long)r->commit_seq);
    if (r->commit_seq < d->landed_seq)
        rw_warn("redis lost acknowledged writes (a failover, or a restart without persistence): "
                "commit %llu had landed, redis holds %llu; the entries they covered are applied "
                "again",
                (unsigned long long)d->landed_seq, (unsigned long long)r->commit_seq);
    d->landed_seq = r->commit_seq;
    rw_commit_settle(d->commit, r->commit_seq, &d->metrics);
    rw_commit_restore(d->commit, r->commit_seq, &r->log);
    rw_commit_catch_up(d->commit, r->catch_up_ms);
    d->applied = r->applied;
    rw_engine_restore(d->engine, &r->clock);
    d->phase = PH_ACTIVE;
    /* After a failure, healthy once a commit lands (or none is due): the cause may linger. */
    d->unproven = d->trouble[0] != '\0';
    rw_info("active accounts=%zu group=%s consumer=%s", rw_store_count(d->store), d->cfg->group,
            d->cfg->consumer);
    rw_ingest_start(d->ingest, d->engine, &d->applied);
    rw_reader_start(d->reader);
    rw_outbox_set_running(d->outbox, true);
    rw_notify_ready(); /* connected, state loaded: the service is up */
    schedule_work(d);
}

/* ---- commits ---- */

/* Work lands again after a failure. */
static void proven(struct renewald *d)
{
    if (!d->unproven)
        return;
    d->unproven = false;
    d->trouble[0] = '\0';
    rw_info("working again after the failure");
}

static void on_landed(void *arg, uint64_t seq, const struct rw_counts *counts,
                      const struct rw_job_list *jobs)
{
    struct renewald *d = arg;
    if (seq > d->landed_seq)
        d->landed_seq = seq;
    if (d->api)
        rw_api_landed(d->api, seq);
    d->metrics.commits_total++;
    rw_metrics_add(&d->metrics, counts);
    for (size_t i = 0; i < jobs->n; i++)
        rw_outbox_add(d->outbox, jobs->ids[i], jobs->id_lens[i], jobs->texts[i],
                      jobs->text_lens[i]);
    d->retry_ms = 0; /* progress: the next failure starts the backoff over */
    proven(d);
    schedule_work(d);
}

static void on_commit_failed(void *arg, const char *error)
{
    struct renewald *d = arg;
    d->metrics.commit_failures_total++;
    fail(d, error ? "commit refused by redis" : "redis connection lost during a commit", error);
}

static void flush(struct renewald *d)
{
    if (!d->store || rw_commit_in_flight(d->commit) >= RW_COMMITS_IN_FLIGHT ||
        !rw_commit_pending(d->commit, d->store))
        return;
    struct rw_commit_state st = {d->store, d->scorer, {0}, rw_lease_token(d->lease)};
    rw_engine_get_clock(d->engine, &st.clock);
    if (!rw_commit_flush(d->commit, &st))
        fail(d, "redis connection down at commit", NULL);
}

/* ---- reading ---- */

static int64_t reader_key(void *arg, int stream, struct rw_entry_id id, const char *raw, size_t len)
{
    (void)stream;
    struct renewald *d = arg;
    return rw_ingest_key(d->ingest, id, raw, len);
}

static void on_read(void *arg)
{
    schedule_work(arg);
}

static void on_read_failed(void *arg, const char *why, const char *redis_error)
{
    struct renewald *d = arg;
    fail(d, why, redis_error);
}

/* The flush point: once per loop turn when there is work. */
static void on_work(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct renewald *d = arg;
    if (d->phase != PH_ACTIVE)
        return;
    /* Backpressure: a full commit window waits (a landing schedules the work again). */
    if (rw_commit_in_flight(d->commit) >= RW_COMMITS_IN_FLIGHT)
        return;
    rw_reader_read_ahead(d->reader, false); /* the next batch, read while this one is applied */
    double cpu0 = rw_cpu_seconds();
    int64_t t0 = rw_mono_ms();
    uint64_t steps0 = rw_engine_sweep_steps(d->engine); /* a sweep may start and end in a turn */
    bool idle = rw_ingest_run(d->ingest, rw_wall_ms(), t0 + WORK_BUDGET_MS);
    double stall = (double)(rw_mono_ms() - t0) / 1000.0;
    bool swept = rw_engine_sweep_steps(d->engine) != steps0;
    if (stall > d->metrics.sweep_slice_max_s && swept)
        d->metrics.sweep_slice_max_s = stall;
    if (swept)
        d->sweep_cpu_s += rw_cpu_seconds() - cpu0;
    if (d->phase != PH_ACTIVE)
        return;
    flush(d);
    if (!idle) {
        bool gaps = rw_ingest_between_slices(d->ingest); /* they take entries: read on */
        if (gaps || rw_commit_in_flight(d->commit) < RW_COMMITS_IN_FLIGHT)
            rw_reader_read_ahead(d->reader, gaps);
        schedule_work(d);
        return;
    }
    if (rw_commit_in_flight(d->commit) < RW_COMMITS_IN_FLIGHT)
        rw_reader_kick(d->reader, rw_merge_would_empty(d->merge));
    /* Idle: the worklist's stored scores brought to now, a slice a turn, once a second. */
    if (!rw_reader_waiting(d->reader))
        return;
    if (rw_commit_in_flight(d->commit) == 0) {
        proven(d); /* read to the end, everything landed: digest windows over can close */
        rw_outbox_close_digests(d->outbox, rw_engine_now(d->engine), rw_lease_token(d->lease));
        /* Nothing else to do: fold the log into the chunks, or hand back freed memory. */
        if (rw_commit_compact_idle(d->commit, rw_store_count(d->store)))
            schedule_work(d);
        else
            rw_heap_trim_idle(rw_mono_ms());
    }
    int64_t mono = rw_mono_ms();
    bool start = rw_engine_refreshed_at(d->engine) != rw_engine_now(d->engine) &&
                 mono - d->refresh_mono_ms >= REFRESH_EVERY_MS;
    if (start)
        d->refresh_mono_ms = mono;
    if (!rw_engine_refresh(d->engine, REFRESH_SLICE, start))
        schedule_work(d);
}

/* ---- housekeeping, reload, stop ---- */

static void on_housekeeping(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct renewald *d = arg;
    int64_t mono = rw_mono_ms();
    rw_notify_watchdog();
    if (d->phase == PH_STOPPING)
        return;
    if (mono - d->last_lease_mono_ms >= d->cfg->lease_ms / 3) {
        d->last_lease_mono_ms = mono;
        if (d->phase == PH_ACTIVE || d->phase == PH_LOADING)
            rw_lease_renew(d->lease, mono);
        else
            try_acquire(d);
    }
    if (d->phase == PH_ACTIVE) {
        rw_ingest_tick(d->ingest, rw_wall_ms());
        schedule_work(d);
    }
    if (mono - d->last_status_mono_ms >= 5000) {
        d->last_status_mono_ms = mono;
        rw_notify_status("%s accounts=%zu outbox=%zu", phase_names[d->phase],
                         d->store ? rw_store_count(d->store) : (size_t)0,
                         rw_outbox_depth(d->outbox));
    }
}

static void try_finish_stop(struct renewald *d)
{
    int64_t now = rw_mono_ms();
    bool deadline = now >= d->stop_deadline_mono_ms;
    if (now >= d->stop_deadline_mono_ms + 2000) {
        event_base_loopexit(d->base, NULL); /* the lease release never came back */
        return;
    }
    bool commits = d->store && rw_commit_in_flight(d->commit) > 0;
    bool deliveries = rw_outbox_in_flight(d->outbox) > 0;
    if (!deadline && (commits || deliveries))
        return;
    if (deliveries)
        rw_warn("shutdown timeout: %zu deliveries left pending in the outbox",
                rw_outbox_in_flight(d->outbox));
    if (d->stop_released)
        return;
    d->stop_released = true;
    rw_lease_release(d->lease);
}

static void on_stop_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    try_finish_stop(arg);
}

static void begin_stop(struct renewald *d, const char *sig)
{
    if (d->phase == PH_STOPPING)
        return;
    rw_info("stopping signal=%s", sig);
    rw_notify_stopping();
    bool was_active = d->phase == PH_ACTIVE;
    d->phase = PH_STOPPING;
    d->stop_deadline_mono_ms = rw_mono_ms() + d->cfg->shutdown_timeout_ms;
    rw_outbox_set_running(d->outbox, false);
    /* Persist what was taken so far; entries still in the merge stay pending in
     * Redis for the next start.  A blocked read has nothing in hand: drop it. */
    if (was_active && d->store && rw_commit_pending(d->commit, d->store)) {
        struct rw_commit_state st = {d->store, d->scorer, {0}, rw_lease_token(d->lease)};
        rw_engine_get_clock(d->engine, &st.clock);
        if (!rw_commit_flush(d->commit, &st))
            rw_warn("could not persist the last batch: it is read again at the next start");
    }
    rw_reader_stop(d->reader);
    rw_link_reset(d->reader_link, "shutdown");
    struct timeval tick = {0, 50 * 1000};
    event_add(d->stop_timer, &tick);
    try_finish_stop(d);
}

static void reload(struct renewald *d)
{
    rw_notify_reloading();
    struct rw_diag diag = {0};
    struct rw_config *cfg = rw_config_load(d->config_path, &diag);
    d->metrics.reload_timestamp_s = (double)rw_wall_ms() / 1000.0;
    if (!cfg) {
        for (int i = 0; i < diag.n; i++)
            rw_error("reload rejected, keeping the running configuration error=\"%s\"",
                     diag.msgs[i]);
        rw_diag_free(&diag);
        d->metrics.reload_success = false;
        rw_notify_reloaded();
        return;
    }
    rw_config_restart_keys(d->cfg, cfg, &diag);
    for (int i = 0; i < diag.n; i++)
        rw_warn("reload: a key changed that takes effect only after a restart key=%s",
                diag.msgs[i]);
    rw_diag_free(&diag);

    struct rw_config *old = d->cfg;
    struct rw_scorer *scorer = rw_scorer_new(cfg);
    bool layout = rw_scorer_fingerprint(scorer) != rw_scorer_fingerprint(d->scorer);
    rw_log_set_level(cfg->log_level);
    rw_log_set_format(cfg->log_format);
    if (d->store && layout) {
        /* Unchanged signals keep their aggregates; changed or new ones start empty. */
        struct rw_store *st = rw_store_relayout(d->store, d->scorer, scorer);
        if (d->api)
            rw_api_store_gone(d->api);
        rw_engine_reconfigure(d->engine, cfg, scorer, st);
        rw_store_free(d->store);
        d->store = st;
        d->load.store = st;
    } else if (d->engine) {
        rw_engine_reconfigure(d->engine, cfg, scorer, d->store);
    }
    rw_scorer_free(d->scorer);
    d->scorer = scorer;
    d->cfg = cfg;
    rw_reader_set_config(d->reader, cfg);
    rw_ingest_set_config(d->ingest, cfg);
    rw_commit_set_config(d->commit, cfg);
    rw_outbox_set_config(d->outbox, cfg);
    rw_config_free(old);
    d->metrics.reload_success = true;
    rw_info("configuration reloaded path=%s signals_changed=%s", d->config_path,
            layout ? "yes" : "no");
    rw_notify_reloaded();
    if (d->phase == PH_ACTIVE)
        schedule_work(d);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    struct renewald *d = arg;
    if (sig == SIGHUP)
        reload(d);
    else
        begin_stop(d, sig == SIGTERM ? "TERM" : "INT");
}

/* ---- the API's view ---- */

static void api_state(void *arg, struct rw_api_state *out)
{
    struct renewald *d = arg;
    bool ready = d->store && d->engine && (d->phase == PH_ACTIVE || d->phase == PH_STOPPING);
    out->cfg = d->cfg;
    out->scorer = d->scorer;
    out->store = ready ? d->store : NULL;
    out->history = ready ? rw_engine_history(d->engine) : NULL;
    out->redis = rw_link_sink(d->writer_link);
    out->standby = d->phase == PH_STANDBY;
    int64_t now = ready ? rw_engine_now(d->engine) : RW_NO_TIME;
    out->now_ms = now != RW_NO_TIME ? now : rw_wall_ms();
    if (d->phase == PH_ACTIVE && d->metrics.redis_up && !d->unproven)
        out->unhealthy = NULL;
    else if (d->phase == PH_STANDBY)
        out->unhealthy = "standby";
    else if (d->phase == PH_STOPPING)
        out->unhealthy = "stopping";
    else if (!d->metrics.redis_up)
        out->unhealthy = "redis unreachable";
    else if (d->trouble[0])
        out->unhealthy = d->trouble;
    else if (d->phase == PH_LOADING)
        out->unhealthy = "loading state";
    else
        out->unhealthy = "starting";
}

/* A snooze from the API: applied now, durable with the next commit. */
static enum rw_snooze_result api_snooze(void *arg, const char *id, size_t len,
                                        const struct rw_snooze_req *req, uint64_t *seq)
{
    struct renewald *d = arg;
    if (d->phase != PH_ACTIVE)
        return RW_SNOOZE_BUSY; /* stopping: nothing more is committed; the client is dropped */
    enum rw_snooze_result r = rw_snooze_apply(d->engine, d->store, id, len, req);
    if (r == RW_SNOOZE_DONE) {
        *seq = rw_commit_next_seq(d->commit);
        schedule_work(d); /* the flush point sends it, events or not */
    }
    return r;
}

static void api_metrics(void *arg, struct evbuffer *out)
{
    struct renewald *d = arg;
    struct rw_metrics_gauges g = {
        .cfg = d->cfg,
        .store = d->store,
        .outbox_depth = rw_outbox_depth(d->outbox),
        .active = d->phase == PH_ACTIVE,
        .catching_up = rw_ingest_phase(d->ingest) == RW_INGEST_CATCHING_UP,
        .redis_up = d->metrics.redis_up,
        .sweep_cpu_s = d->sweep_cpu_s,
    };
    if (d->engine) {
        struct rw_engine_stats es;
        rw_engine_stats(d->engine, &es);
        g.sweeps = es.sweeps;
        g.sweep_evaluations = es.sweep_evaluations;
    }
    int64_t wall = rw_wall_ms();
    for (int s = 0; s < d->cfg->nstreams; s++)
        g.stream_lag_s[s] = (double)rw_reader_lag_ms(d->reader, s, wall) / 1000.0;
    rw_metrics_render(&d->metrics, &g, out);
}

/* ---- construction ---- */

static struct event *add_signal(struct renewald *d, int sig)
{
    struct event *ev = evsignal_new(d->base, sig, on_signal, d);
    if (!ev || event_add(ev, NULL) != 0) {
        rw_error("cannot watch signal %d", sig);
        exit(1);
    }
    return ev;
}

/* The instance lock proves a same-host predecessor with this consumer dead (SPEC §8).
 * Taken before anything else (the HTTP port, say), so that a second process
 * names the first.  Sets D->locked when held. */
static bool lock_instance(struct renewald *d)
{
    const struct rw_config *cfg = d->cfg;
    char *identity = rw_xasprintf("%s|%d|%s|%s|%s", cfg->redis_address, cfg->redis_db, cfg->prefix,
                                  cfg->group, cfg->consumer);
    char path[512];
    long holder = 0;
    int fd = rw_lease_lock_local(identity, &holder, path, sizeof path);
    free(identity);
    if (fd == -1) {
        rw_error("another renewald process (pid %ld) runs with consumer %s of group %s on this "
                 "host; refusing to start a second one lock=%s",
                 holder, cfg->consumer, cfg->group, path);
        return false;
    }
    if (fd == -2) {
        rw_warn("cannot create the instance lock; a restart waits for its predecessor's lease "
                "to lapse lock=%s",
                path);
        return true;
    }
    d->locked = true; /* fd stays open (and locked) until exit */
    return true;
}

static bool build(struct renewald *d)
{
    const struct rw_config *cfg = d->cfg;
    d->scorer = rw_scorer_new(cfg);
    d->merge = rw_merge_new(cfg->nstreams);
    d->housekeeping = event_new(d->base, -1, EV_PERSIST, on_housekeeping, d);
    d->work = event_new(d->base, -1, 0, on_work, d);
    d->retry = evtimer_new(d->base, on_retry, d);
    d->stop_timer = event_new(d->base, -1, EV_PERSIST, on_stop_timer, d);
    if (cfg->redis_cluster && !(d->cluster = rw_cluster_new(d->base, cfg)))
        return false;
    d->reader_link =
        rw_link_new(d->base, cfg, d->cluster, "reader", READER_REPLY_TIMEOUT_MS, on_link_state, d);
    d->writer_link =
        rw_link_new(d->base, cfg, d->cluster, "writer", WRITER_REPLY_TIMEOUT_MS, on_link_state, d);
    if (!d->scorer || !d->housekeeping || !d->work || !d->retry || !d->stop_timer ||
        !d->reader_link || !d->writer_link)
        return false;
    struct rw_cmd_sink writer = rw_link_sink(d->writer_link);
    struct rw_reader_hooks rh = {reader_key, on_read, on_read_failed};
    d->reader = rw_reader_new(rw_link_sink(d->reader_link), cfg, d->merge, &rh, d);
    struct rw_commit_hooks ch = {on_landed, on_commit_failed};
    d->commit = rw_commit_new(writer, cfg, &ch, d);
    d->ingest = rw_ingest_new(cfg, d->merge, d->commit);
    char *key = rw_config_key(cfg, "lease");
    struct rw_lease_hooks lh = {on_lease_acquired, on_lease_standby, on_lease_lost, on_lease_error,
                                on_lease_released};
    d->lease = rw_lease_new(writer, key, cfg->lease_ms, d->host, cfg->consumer, &lh, d);
    free(key);
    struct rw_loader_hooks loh = {on_load_job, on_load_history, on_load_done};
    d->loader = rw_loader_new(writer, &loh, d);
    d->outbox = rw_outbox_new(d->base, writer, cfg, &d->metrics);
    if (cfg->http_listen) {
        struct rw_api_hooks ah = {api_state, api_metrics, api_snooze};
        d->api = rw_api_new(d->base, cfg->http_listen, &ah, d);
        if (!d->api)
            return false;
    }
    struct timeval hk = {0, HOUSEKEEPING_MS * 1000};
    event_add(d->housekeeping, &hk);
    return true;
}

static void teardown(struct renewald *d)
{
    rw_link_free(d->reader_link);
    rw_link_free(d->writer_link);
    rw_cluster_free(d->cluster); /* after the links that use it */
    rw_api_free(d->api);
    rw_outbox_free(d->outbox);
    rw_reader_free(d->reader);
    rw_ingest_free(d->ingest);
    rw_loader_free(d->loader);
    rw_lease_free(d->lease);
    rw_commit_free(d->commit);
    rw_engine_free(d->engine);
    rw_store_free(d->store);
    rw_merge_free(d->merge);
    rw_scorer_free(d->scorer);
    struct event *evs[] = {d->sig_term, d->sig_int, d->sig_hup,   d->housekeeping,
                           d->work,     d->retry,   d->stop_timer};
    for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
        if (evs[i])
            event_free(evs[i]);
    event_base_free(d->base);
    rw_config_free(d->cfg);
    free(d->config_path);
    free(d);
}

int rw_daemon_run(const char *config_path, struct rw_config *cfg)
{
    struct renewald *d = rw_xcalloc(1, sizeof *d);
    d->config_path = rw_xstrdup(config_path);
    d->cfg = cfg;
    rw_metrics_init(&d->metrics, rw_wall_ms());
    rw_log_init(cfg->log_level, cfg->log_format);
    rw_log_route_libevent();
    signal(SIGPIPE, SIG_IGN);
    if (gethostname(d->host, sizeof d->host - 1) != 0)
        strcpy(d->host, "unknown");
    d->base = event_base_new();
    if (!d->base) {
        rw_error("cannot create the event loop");
        return 1;
    }
    d->sig_term = add_signal(d, SIGTERM);
    d->sig_int = add_signal(d, SIGINT);
    d->sig_hup = add_signal(d, SIGHUP);
    if (!lock_instance(d) || !build(d)) {
        teardown(d);
        return 1;
    }
    rw_lease_allow_takeover(d->lease, d->locked);
    rw_info("renewald %s starting config=%s streams=%d signals=%d sinks=%d", RENEWALD_VERSION,
            config_path, cfg->nstreams, cfg->nsignals, cfg->nsinks);
    event_base_dispatch(d->base);
    int code = d->exit_code;
    rw_info("stopped");
    d->phase = PH_STOPPING;
    teardown(d);
    return code;
}
