/*
 * metrics.h - the daemon's counters and gauges and their Prometheus text
 * exposition (SPEC §7).  Plain fields in struct rw_metrics, owned by the
 * daemon context; the exposition writes into a caller's evbuffer.
 */
#ifndef RENEWALD_METRICS_H
#define RENEWALD_METRICS_H

#include "renewald/config.h"
#include "renewald/core/common.h"

#define RW_METRICS_MAX_REASONS 24
#define RW_METRICS_MAX_SINKS   32
#define RW_LATENCY_BUCKETS     12

/* Outcomes of a delivery attempt, as in sink.h: 0 success, 1 retry, 2 dead. */
#define RW_DELIVERY_OUTCOMES 3

struct rw_metrics {
    uint64_t events_total;
    uint64_t events_invalid[RW_METRICS_MAX_REASONS]; /* by index in rw_event_reasons */
    uint64_t alerts_total[RW_ALERT_KIND_COUNT];
    uint64_t deliveries[RW_METRICS_MAX_SINKS][RW_DELIVERY_OUTCOMES];
    uint64_t latency_buckets[RW_LATENCY_BUCKETS + 1]; /* delivery latency histogram */
    double latency_sum_s;
    uint64_t latency_count;
    uint64_t commits_total, commit_failures_total, sweeps_total;
    double stream_lag_s;
    double sweep_cpu_s;         /* CPU time of the last complete sweep */
    double sweep_accumulated_s; /* CPU time of the sweep in progress */
    double sweep_slice_max_s;   /* longest single sweep step: the loop stall it caused */
    bool redis_up;
    int64_t outbox_depth;
    bool reload_success;       /* the last reload (or the start) loaded its file */
    double reload_timestamp_s; /* wall time of the last load or reload attempt */
    double start_time_s;       /* wall time the process started */
};

/* Zeroes M for a process that started (and loaded its file) at wall time NOW_MS. */
void rw_metrics_init(struct rw_metrics *m, int64_t now_ms);

/* Counts that become true only when the commit carrying them lands. */
struct rw_counts {
    uint64_t events;
    uint64_t invalid[RW_METRICS_MAX_REASONS];
    uint64_t alerts[RW_ALERT_KIND_COUNT];
};
/* Adds C to M (a commit landed). */
void rw_metrics_add(struct rw_metrics *m, const struct rw_counts *c);
/* Index of a dead-letter reason in rw_event_reasons, or -1. */
int rw_metrics_reason_index(const char *reason);

struct evbuffer;
struct rw_store;

/* What the exposition reads besides the counters, taken when it is rendered. */
struct rw_metrics_gauges {
    const struct rw_config *cfg;
    const struct rw_store *store; /* NULL unless the state is loaded */
    size_t outbox_depth;
    bool active, catching_up, redis_up;
    double stream_lag_s[RW_MAX_STREAMS];
    double sweep_cpu_s; /* CPU time of the sweeps so far */
    uint64_t sweeps, sweep_evaluations;
};

/* Records one finished delivery of sink index SINK. */
void rw_metrics_delivery(struct rw_metrics *m, int sink, int outcome, double latency_s);
/* Writes the whole exposition of M and G into OUT. */
void rw_metrics_render(const struct rw_metrics *m, const struct rw_metrics_gauges *g,
                       struct evbuffer *out);

#endif
