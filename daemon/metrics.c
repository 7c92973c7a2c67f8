/* metrics.c - counters and the Prometheus text exposition. */
#include "renewald/metrics.h"

#include <errno.h>
#include <event2/buffer.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "renewald/core/account_store.h"
#include "renewald/core/event.h"
#include "renewald/core/summary.h"

/* Upper bounds of the delivery latency histogram, in seconds. */
static const double latency_bounds[RW_LATENCY_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                          0.5,   1,    2.5,   5,    10,  30};
static const char *const outcome_names[RW_DELIVERY_OUTCOMES] = {"success", "retry", "dead"};

void rw_metrics_init(struct rw_metrics *m, int64_t now_ms)
{
    memset(m, 0, sizeof *m);
    m->reload_success = true;
    m->start_time_s = (double)now_ms / 1000.0;
    m->reload_timestamp_s = m->start_time_s;
}

/* Resident set size from /proc/self/statm (readable under ProcSubset=pid), or -1. */
static double resident_bytes(void)
{
    char buf[128];
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    /* "SIZE RESIDENT SHARED ...", in pages */
    char *end = NULL;
    errno = 0;
    (void)strtoull(buf, &end, 10);
    if (errno || end == buf || *end != ' ')
        return -1;
    const char *p = end + 1;
    unsigned long long resident = strtoull(p, &end, 10);
    if (errno || end == p)
        return -1;
    long page = sysconf(_SC_PAGESIZE);
    return (double)resident * (double)(page > 0 ? page : 4096);
}

static double cpu_seconds(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

int rw_metrics_reason_index(const char *reason)
{
    for (int i = 0; i < RW_METRICS_MAX_REASONS && rw_event_reasons[i]; i++)
        if (strcmp(rw_event_reasons[i], reason) == 0)
            return i;
    return -1;
}

void rw_metrics_add(struct rw_metrics *m, const struct rw_counts *c)
{
    m->events_total += c->events;
    for (int i = 0; i < RW_METRICS_MAX_REASONS; i++)
        m->events_invalid[i] += c->invalid[i];
    for (int k = 0; k < RW_ALERT_KIND_COUNT; k++)
        m->alerts_total[k] += c->alerts[k];
}

void rw_metrics_delivery(struct rw_metrics *m, int sink, int outcome, double latency_s)
{
    if (sink < 0 || sink >= RW_METRICS_MAX_SINKS || outcome < 0 || outcome >= RW_DELIVERY_OUTCOMES)
        return;
    m->deliveries[sink][outcome]++;
    if (outcome != 0)
        return;
    int b = 0;
    while (b < RW_LATENCY_BUCKETS && latency_s > latency_bounds[b])
        b++;
    m->latency_buckets[b]++;
    m->latency_sum_s += latency_s;
    m->latency_count++;
}

static void header(struct evbuffer *out, const char *name, const char *type, const char *help)
{
    evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void rw_metrics_render(const struct rw_metrics *m, const struct rw_metrics_gauges *g,
                       struct evbuffer *out)
{
    const struct rw_config *cfg = g->cfg;

    header(out, "renewald_build_info", "gauge", "Build information.");
    evbuffer_add_printf(out, "renewald_build_info{version=\"%s\"} 1\n", RENEWALD_VERSION);
    header(out, "renewald_events_total", "counter", "Valid events applied.");
    evbuffer_add_printf(out, "renewald_events_total %llu\n", (unsigned long long)m->events_total);
    header(out, "renewald_events_invalid_total", "counter",
           "Stream entries dead-lettered, by reason.");
    for (int i = 0; i < RW_METRICS_MAX_REASONS && rw_event_reasons[i]; i++)
        evbuffer_add_printf(out, "renewald_events_invalid_total{reason=\"%s\"} %llu\n",
                            rw_event_reasons[i], (unsigned long long)m->events_invalid[i]);

    size_t bands[RW_BAND_COUNT] = {0};
    for (int b = 0; g->store && b < RW_BAND_COUNT; b++)
        bands[b] = rw_store_band_count(g->store, b);
    header(out, "renewald_accounts", "gauge", "Accounts by band.");
    for (int b = 0; b < RW_BAND_COUNT; b++)
        evbuffer_add_printf(out, "renewald_accounts{band=\"%s\"} %zu\n",
                            rw_band_name((enum rw_band)b), bands[b]);
    header(out, "renewald_accounts_snoozed", "gauge",
           "Accounts whose band alerts are snoozed (POST /v1/accounts/ID/snooze).");
    evbuffer_add_printf(out, "renewald_accounts_snoozed %zu\n",
                        g->store ? rw_store_snoozed(g->store) : (size_t)0);
    header(out, "renewald_arr", "gauge",
           "Annual recurring revenue of the accounts in each band (each rounded to cents).");
    for (int b = 0; b < RW_BAND_COUNT; b++) {
        char arr[RW_CENTS_MAX];
        rw_format_cents(g->store ? rw_store_band_arr_cents(g->store, b) : 0, arr);
        evbuffer_add_printf(out, "renewald_arr{band=\"%s\"} %s\n", rw_band_name((enum rw_band)b),
                            arr);
    }

    header(out, "renewald_alerts_total", "counter", "Alerts created, by kind.");
    for (int k = 0; k < RW_ALERT_KIND_COUNT; k++)
        evbuffer_add_printf(out, "renewald_alerts_total{kind=\"%s\"} %llu\n",
                            rw_alert_kind_name((enum rw_alert_kind)k),
                            (unsigned long long)m->alerts_total[k]);

    header(out, "renewald_deliveries_total", "counter", "Delivery attempts, by sink and outcome.");
    for (int s = 0; s < cfg->nsinks && s < RW_METRICS_MAX_SINKS; s++)
        for (int o = 0; o < RW_DELIVERY_OUTCOMES; o++)
            evbuffer_add_printf(out, "renewald_deliveries_total{sink=\"%s\",outcome=\"%s\"} %llu\n",
                                cfg->sinks[s].name, outcome_names[o],
                                (unsigned long long)m->deliveries[s][o]);

    header(out, "renewald_delivery_latency_seconds", "histogram",
           "Time from alert creation to successful delivery.");
    uint64_t cum = 0;
    for (int b = 0; b < RW_LATENCY_BUCKETS; b++) {
        cum += m->latency_buckets[b];
        evbuffer_add_printf(out, "renewald_delivery_latency_seconds_bucket{le=\"%g\"} %llu\n",
                            latency_bounds[b], (unsigned long long)cum);
    }
    cum += m->latency_buckets[RW_LATENCY_BUCKETS];
    evbuffer_add_printf(out, "renewald_delivery_latency_seconds_bucket{le=\"+Inf\"} %llu\n",
                        (unsigned long long)cum);
    evbuffer_add_printf(out, "renewald_delivery_latency_seconds_sum %g\n", m->latency_sum_s);
    evbuffer_add_printf(out, "renewald_delivery_latency_seconds_count %llu\n",
                        (unsigned long long)m->latency_count);

    header(out, "renewald_outbox_depth", "gauge", "Deliveries waiting in the outbox.");
    evbuffer_add_printf(out, "renewald_outbox_depth %zu\n", g->outbox_depth);
    double lag = 0;
    for (int s = 0; s < cfg->nstreams; s++)
        if (g->stream_lag_s[s] > lag)
            lag = g->stream_lag_s[s];
    header(out, "renewald_stream_lag_seconds", "gauge",
           "Age of the newest entry read, by its id, in the stream furthest behind.");
    evbuffer_add_printf(out, "renewald_stream_lag_seconds %.3f\n", lag);
    header(out, "renewald_stream_lag_by_stream_seconds", "gauge",
           "Age of the newest entry read, by its id, per stream (0 when read to its end).");
    for (int s = 0; s < cfg->nstreams; s++)
        evbuffer_add_printf(out, "renewald_stream_lag_by_stream_seconds{stream=\"%s\"} %.3f\n",
                            cfg->streams[s], g->stream_lag_s[s]);
    header(out, "renewald_redis_up", "gauge", "1 when both redis connections are up.");
    evbuffer_add_printf(out, "renewald_redis_up %d\n", g->redis_up ? 1 : 0);
    header(out, "renewald_active", "gauge", "1 when this instance holds the lease.");
    evbuffer_add_printf(out, "renewald_active %d\n", g->active ? 1 : 0);
    header(out, "renewald_commits_total", "counter", "Atomic state commits.");
    evbuffer_add_printf(out, "renewald_commits_total %llu\n", (unsigned long long)m->commits_total);
    header(out, "renewald_commit_failures_total", "counter", "Commits refused or failed.");
    evbuffer_add_printf(out, "renewald_commit_failures_total %llu\n",
                        (unsigned long long)m->commit_failures_total);
    header(out, "renewald_sweeps_total", "counter", "Sweeps of the grid times.");
    evbuffer_add_printf(out, "renewald_sweeps_total %llu\n", (unsigned long long)g->sweeps);
    header(out, "renewald_sweep_evaluations_total", "counter",
           "Accounts evaluated by sweeps (only those that could change, and everyone once a day).");
    evbuffer_add_printf(out, "renewald_sweep_evaluations_total %llu\n",
                        (unsigned long long)g->sweep_evaluations);
    header(out, "renewald_sweep_cpu_seconds_total", "counter", "CPU time spent in sweeps.");
    evbuffer_add_printf(out, "renewald_sweep_cpu_seconds_total %.6f\n", g->sweep_cpu_s);
    header(out, "renewald_sweep_stall_seconds_max", "gauge",
           "Longest time one sweep step held the event loop.");
    evbuffer_add_printf(out, "renewald_sweep_stall_seconds_max %.6f\n", m->sweep_slice_max_s);
    header(out, "renewald_catching_up", "gauge", "1 while replaying a backlog.");
    evbuffer_add_printf(out, "renewald_catching_up %d\n", g->catching_up ? 1 : 0);

    header(out, "renewald_config_last_reload_success", "gauge",
           "1 when the last load or reload of the configuration file succeeded.");
    evbuffer_add_printf(out, "renewald_config_last_reload_success %d\n", m->reload_success ? 1 : 0);
    header(out, "renewald_config_last_reload_timestamp_seconds", "gauge",
           "Unix time of the last load (the start) or reload attempt of the configuration.");
    evbuffer_add_printf(out, "renewald_config_last_reload_timestamp_seconds %.3f\n",
                        m->reload_timestamp_s);

    /* The process_* names every Prometheus client library exports. */
    header(out, "process_cpu_seconds_total", "counter", "User and system CPU time spent.");
    evbuffer_add_printf(out, "process_cpu_seconds_total %.6f\n", cpu_seconds());
    double rss = resident_bytes();
    if (rss >= 0) {
        header(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
        evbuffer_add_printf(out, "process_resident_memory_bytes %.0f\n", rss);
    }
    header(out, "process_start_time_seconds", "gauge",
           "Start time of the process since the Unix epoch in seconds.");
    evbuffer_add_printf(out, "process_start_time_seconds %.3f\n", m->start_time_s);
}
