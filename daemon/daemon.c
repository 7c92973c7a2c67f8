/* daemon.c - the loop: lifecycle, signals as events, housekeeping, reload, shutdown. */
#include "renewald/daemon.h"

#include <event2/event.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "renewald/account_store.h"
#include "renewald/api.h"
#include "renewald/commit.h"
#include "renewald/lease.h"
#include "renewald/log.h"
#include "renewald/notify.h"
#include "renewald/outbox.h"
#include "renewald/pipeline.h"
#include "renewald/redis_link.h"
#include "renewald/score.h"
#include "renewald/state_load.h"
#include "renewald/stream_reader.h"

#define HOUSEKEEPING_MS         200
#define SWEEP_CHUNK             256 /* accounts evaluated between clock checks in a sweep step */
#define SWEEP_BUDGET_MS         4   /* loop time one sweep step may take */
#define READER_REPLY_TIMEOUT_MS 10000
#define WRITER_REPLY_TIMEOUT_MS 15000
#define CATCHUP_SWEEP_MIN_MS    (3600 * INT64_C(1000))

struct rw_call *rw_call_new(struct renewald *d, void *extra, size_t index)
{
    struct rw_call *call = rw_xmalloc(sizeof *call);
    call->d = d;
    call->generation = d->generation;
    call->extra = extra;
    call->index = index;
    return call;
}

struct renewald *rw_call_take(struct rw_call *call, const void *reply, void **extra, size_t *index)
{
    struct renewald *d = call->d;
    bool current = call->generation == d->generation && reply != NULL;
    if (extra)
        *extra = call->extra;
    if (index)
        *index = call->index;
    free(call);
    return current ? d : NULL;
}

int64_t rw_daemon_now(const struct renewald *d)
{
    return d->now_ms;
}

bool rw_daemon_alerting(const struct renewald *d)
{
    return !(d->cfg->clock == RW_CLOCK_WALL && d->catching_up);
}

static void drop_state(struct renewald *d)
{
    rw_reader_reset(d->reader);
    rw_pipeline_reset(d->pipeline);
    rw_commit_reset(d->commit, 0);
    rw_outbox_reset(d->outbox);
    rw_store_free(d->store);
    d->store = NULL;
    d->sweep_cursor = SIZE_MAX;
    d->sweep_alerting = false;
    event_del(d->sweep_slice);
}

static void start_if_ready(struct renewald *d)
{
    if (d->phase == RW_PHASE_CONNECTING && rw_link_up(d->reader_link) && rw_link_up(d->writer_link))
        rw_lease_try_acquire(d);
}

void rw_daemon_reset(struct renewald *d, const char *why)
{
    if (d->phase == RW_PHASE_STOPPING) {
        drop_state(d);
        return;
    }
    if (d->resetting)
        return;
    d->resetting = true;
    if (d->phase >= RW_PHASE_LOADING)
        rw_warn("dropping in-memory state and reloading from redis why=\"%s\"", why);
    d->generation++;
    d->phase = RW_PHASE_CONNECTING;
    d->lease_renew_in_flight = false; /* its reply belongs to the old generation */
    drop_state(d);
    /* Cancels every command of the old generation; the links reconnect by themselves. */
    rw_link_reset(d->reader_link, why);
    rw_link_reset(d->writer_link, why);
    d->resetting = false;
    start_if_ready(d);
}

static void on_link_state(struct rw_link *link, bool up, void *arg)
{
    struct renewald *d = arg;
    d->metrics.redis_up = rw_link_up(d->reader_link) && rw_link_up(d->writer_link);
    (void)link;
    if (d->phase == RW_PHASE_STOPPING)
        return; /* the stop sequence decides; deliveries keep their grace time */
    if (!up) {
        if (d->phase >= RW_PHASE_STANDBY)
            rw_daemon_reset(d, "redis connection lost");
        return;
    }
    start_if_ready(d);
}

void rw_daemon_loaded(struct renewald *d)
{
    if (d->phase != RW_PHASE_LOADING)
        return;
    d->phase = RW_PHASE_ACTIVE;
    rw_info("active accounts=%zu group=%s consumer=%s", rw_store_count(d->store), d->cfg->group,
            d->cfg->consumer);
    rw_outbox_set_running(d->outbox, true);
    rw_reader_start(d->reader);
}

/* Evaluates every account in slices, one slice per loop turn, so the loop never stalls. */
static void on_sweep_slice(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct renewald *d = arg;
    if (d->phase != RW_PHASE_ACTIVE || d->sweep_cursor == SIZE_MAX)
        return;
    if (rw_commit_in_flight(d->commit) >= RW_COMMITS_IN_FLIGHT) {
        /* Let Redis take the last slices first: commits stay one slice big,
         * and the lease renewal queued behind them is not starved. */
        struct timeval wait = {0, 2000};
        event_add(d->sweep_slice, &wait);
        return;
    }
    d->now_ms = rw_wall_ms();
    double cpu0 = rw_cpu_seconds(), t0 = (double)rw_mono_ms();
    bool done;
    do
        done = rw_pipeline_sweep(d, &d->sweep_cursor, SWEEP_CHUNK);
    while (!done && (double)rw_mono_ms() - t0 < SWEEP_BUDGET_MS);
    if (rw_commit_in_flight(d->commit) < RW_COMMITS_IN_FLIGHT)
        rw_commit_flush(d->commit);
    double stall = ((double)rw_mono_ms() - t0) / 1000.0;
    if (stall > d->metrics.sweep_slice_max_s)
        d->metrics.sweep_slice_max_s = stall;
    d->metrics.sweep_accumulated_s += rw_cpu_seconds() - cpu0;
    if (done) {
        d->sweep_cursor = SIZE_MAX;
        d->sweep_alerting = false;
        d->metrics.sweeps_total++;
        d->metrics.sweep_cpu_s = d->metrics.sweep_accumulated_s;
        d->metrics.sweep_accumulated_s = 0;
        return;
    }
    struct timeval zero = {0, 0};
    event_add(d->sweep_slice, &zero);
}

static void start_sliced_sweep(struct renewald *d)
{
    if (d->sweep_cursor != SIZE_MAX)
        return;
    d->sweep_cursor = 0;
    struct timeval zero = {0, 0};
    event_add(d->sweep_slice, &zero);
}

void rw_daemon_after_batch(struct renewald *d)
{
    const struct rw_config *cfg = d->cfg;
    if ((cfg->clock == RW_CLOCK_EVENT || d->catching_up) && d->event_now_ms != RW_NO_TIME) {
        /* Replay time: sweep synchronously so bands evolve as they would have
         * (there is no replay time before the first event). */
        int64_t interval = cfg->sweep_interval_ms;
        if (d->catching_up && interval < CATCHUP_SWEEP_MIN_MS)
            interval = CATCHUP_SWEEP_MIN_MS;
        if (d->next_sweep_ms == RW_NO_TIME)
            d->next_sweep_ms = d->now_ms + interval;
        if (d->now_ms >= d->next_sweep_ms) {
            size_t cursor = 0;
            double cpu0 = rw_cpu_seconds();
            rw_pipeline_sweep(d, &cursor, SIZE_MAX);
            d->metrics.sweep_cpu_s = rw_cpu_seconds() - cpu0;
            d->metrics.sweeps_total++;
            d->next_sweep_ms = d->now_ms + interval;
        }
    }
}

static void on_housekeeping(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct renewald *d = arg;
    int64_t mono = rw_mono_ms();
    rw_notify_watchdog();
    if (d->phase == RW_PHASE_STOPPING)
        return;
    if (mono - d->last_lease_mono_ms >= d->cfg->lease_ms / 3) {
        d->last_lease_mono_ms = mono;
        if (d->phase == RW_PHASE_CONNECTING)
            start_if_ready(d);
        else if (d->phase == RW_PHASE_STANDBY)
            rw_lease_try_acquire(d);
        else
            rw_lease_renew(d);
    }
    if (d->phase == RW_PHASE_ACTIVE && d->cfg->clock == RW_CLOCK_WALL && !d->catching_up) {
        int64_t now = rw_wall_ms();
        if (d->next_sweep_ms == RW_NO_TIME || d->next_sweep_ms > now + d->cfg->sweep_interval_ms)
            d->next_sweep_ms = now + d->cfg->sweep_interval_ms;
        if (now >= d->next_sweep_ms) {
            d->next_sweep_ms = now + d->cfg->sweep_interval_ms;
            start_sliced_sweep(d);
        }
    }
    if (d->phase == RW_PHASE_ACTIVE)
        rw_reader_kick(d->reader);
    d->metrics.outbox_depth = (int64_t)rw_outbox_depth(d->outbox);
    if (mono - d->last_status_mono_ms >= 5000) {
        d->last_status_mono_ms = mono;
        static const char *const phases[] = {"connecting", "standby", "loading", "active",
                                             "stopping"};
        rw_notify_status("%s accounts=%zu lag=%.1fs outbox=%zu", phases[d->phase],
                         d->store ? rw_store_count(d->store) : (size_t)0, d->metrics.stream_lag_s,
                         rw_outbox_depth(d->outbox));
    }
}

void rw_daemon_caught_up(struct renewald *d)
{
    rw_info("caught up with the streams; alerting resumes");
    d->next_sweep_ms = rw_wall_ms() + d->cfg->sweep_interval_ms;
    d->sweep_alerting = true;
    d->sweep_cursor = SIZE_MAX;
    start_sliced_sweep(d);
}

static void try_finish_stop(struct renewald *d)
{
    bool deadline = rw_mono_ms() >= d->stop_deadline_mono_ms;
    if (rw_mono_ms() >= d->stop_deadline_mono_ms + 2000) {
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
    rw_lease_release(d);
}

static void on_stop_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    try_finish_stop(arg);
}

static void begin_stop(struct renewald *d, const char *sig)
{
    if (d->phase == RW_PHASE_STOPPING)
        return;
    rw_info("stopping signal=%s", sig);
    rw_notify_stopping();
    bool was_active = d->phase == RW_PHASE_ACTIVE;
    d->phase = RW_PHASE_STOPPING;
    d->stop_deadline_mono_ms = rw_mono_ms() + d->cfg->shutdown_timeout_ms;
    rw_outbox_set_running(d->outbox, false);
    /* Persist what a sliced sweep changed, then cancel a blocked read: it has
     * no batch in hand and its entries stay pending for the next start. */
    if (was_active && d->store && rw_commit_pending(d->commit))
        rw_commit_flush(d->commit);
    rw_reader_reset(d->reader);
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
    if (!cfg) {
        for (int i = 0; i < diag.n; i++)
            rw_error("reload rejected, keeping the running configuration: %s", diag.msgs[i]);
        rw_diag_free(&diag);
        rw_notify_ready();
        return;
    }
    rw_config_restart_keys(d->cfg, cfg, &diag);
    for (int i = 0; i < diag.n; i++)
        rw_warn("reload: %s changed but takes effect only after a restart", diag.msgs[i]);
    rw_diag_free(&diag);

    /* Keys that need a restart keep their running values. */
    struct rw_config *old = d->cfg;
    struct rw_scorer *scorer = rw_scorer_new(cfg);
    bool layout_changed = rw_scorer_fingerprint(scorer) != rw_scorer_fingerprint(d->scorer);
    rw_log_set_level(cfg->log_level);
    rw_log_set_format(cfg->log_format);
    if (layout_changed) {
        /* Aggregates are laid out by the signals: rebuild them from Redis. */
        rw_daemon_reset(d, "signals changed by reload");
    }
    rw_scorer_free(d->scorer);
    d->scorer = scorer;
    d->cfg = cfg;
    rw_outbox_reconfigure(d->outbox);
    rw_config_free(old);
    rw_info("configuration reloaded path=%s", d->config_path);
    rw_notify_ready();
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

static struct event *add_signal(struct renewald *d, int sig)
{
    struct event *ev = evsignal_new(d->base, sig, on_signal, d);
    if (!ev || event_add(ev, NULL) != 0) {
        rw_error("cannot watch signal %d", sig);
        exit(1);
    }
    return ev;
}

int rw_daemon_run(const char *config_path, struct rw_config *cfg)
{
    struct renewald *d = rw_xcalloc(1, sizeof *d);
    d->config_path = rw_xstrdup(config_path);
    d->cfg = cfg;
    d->event_now_ms = RW_NO_TIME;
    d->next_sweep_ms = RW_NO_TIME;
    d->sweep_cursor = SIZE_MAX;
    rw_log_init(cfg->log_level, cfg->log_format);
    rw_log_route_libevent();
    signal(SIGPIPE, SIG_IGN);

    d->base = event_base_new();
    if (!d->base) {
        rw_error("cannot create the event loop");
        return 1;
    }
    d->scorer = rw_scorer_new(cfg);
    rw_lease_init(d);
    d->sig_term = add_signal(d, SIGTERM);
    d->sig_int = add_signal(d, SIGINT);
    d->sig_hup = add_signal(d, SIGHUP);
    d->housekeeping = event_new(d->base, -1, EV_PERSIST, on_housekeeping, d);
    d->sweep_slice = evtimer_new(d->base, on_sweep_slice, d);
    d->stop_timer = event_new(d->base, -1, EV_PERSIST, on_stop_timer, d);
    struct timeval hk = {0, HOUSEKEEPING_MS * 1000};
    event_add(d->housekeeping, &hk);

    d->commit = rw_commit_new(d);
    d->reader = rw_reader_new(d);
    d->pipeline = rw_pipeline_new();
    d->outbox = rw_outbox_new(d);
    if (cfg->http_listen) {
        d->api = rw_api_new(d, cfg->http_listen);
        if (!d->api)
            return 1;
    }
    d->phase = RW_PHASE_CONNECTING;
    int64_t reader_timeout = READER_REPLY_TIMEOUT_MS;
    d->reader_link = rw_link_new(d->base, cfg, "reader", reader_timeout, on_link_state, d);
    d->writer_link = rw_link_new(d->base, cfg, "writer", WRITER_REPLY_TIMEOUT_MS, on_link_state, d);
    if (!d->reader_link || !d->writer_link)
        return 1;
    rw_info("renewald %s starting config=%s streams=%d signals=%d sinks=%d", RENEWALD_VERSION,
            config_path, cfg->nstreams, cfg->nsignals, cfg->nsinks);
    /* Ready once the loop runs: standby and reconnecting are states of a running service. */
    rw_notify_ready();
    event_base_dispatch(d->base);

    int code = d->exit_code;
    rw_info("stopped");
    d->phase = RW_PHASE_STOPPING;
    rw_link_free(d->reader_link);
    rw_link_free(d->writer_link);
    rw_api_free(d->api);
    rw_outbox_free(d->outbox);
    rw_reader_free(d->reader);
    rw_pipeline_free(d->pipeline);
    rw_commit_free(d->commit);
    rw_store_free(d->store);
    rw_scorer_free(d->scorer);
    event_free(d->sig_term);
    event_free(d->sig_int);
    event_free(d->sig_hup);
    event_free(d->housekeeping);
    event_free(d->sweep_slice);
    event_free(d->stop_timer);
    event_base_free(d->base);
    rw_config_free(d->cfg);
    free(d->config_path);
    free(d);
    return code;
}
