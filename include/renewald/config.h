/*
 * config.h - the configuration file (SPEC §5): one table of keys, INI loading
 * with libinih, validation that reports every error as "FILE:LINE: message",
 * and the immutable struct rw_config the rest of the daemon reads.
 *
 * Ownership: rw_config_load() returns a heap object owned by the caller and
 * released with rw_config_free(); every string inside belongs to it.  Nothing
 * changes a loaded config: a reload loads a new one and swaps the pointer.
 */
#ifndef RENEWALD_CONFIG_H
#define RENEWALD_CONFIG_H

#include "renewald/core/common.h"

#define RW_CONF_NAME_MAX    64 /* bytes of a section name: signal, sink, route */
#define RW_MAX_STREAMS      32
#define RW_MAX_SEEDS        16 /* [redis] address entries with cluster = true */
#define RW_MAX_SIGNALS      16
#define RW_MAX_SIGNAL_TYPES 16
#define RW_MAX_SINKS        32
#define RW_MAX_ROUTES       64
#define RW_MAX_WINDOWS      8
#define RW_MAX_TIERS        16
#define RW_MAX_RECIPIENTS   16

enum rw_clock_mode { RW_CLOCK_WALL = 0, RW_CLOCK_EVENT = 1 };
enum rw_log_level { RW_LOG_DEBUG = 0, RW_LOG_INFO = 1, RW_LOG_WARN = 2, RW_LOG_ERROR = 3 };
enum rw_log_format { RW_LOG_TEXT = 0, RW_LOG_JSON = 1 };
enum rw_aggregate { RW_AGG_RATE = 0, RW_AGG_MEAN = 1, RW_AGG_TREND = 2, RW_AGG_RECENCY = 3 };
enum rw_sink_type { RW_SINK_SLACK = 0, RW_SINK_WEBHOOK = 1, RW_SINK_EMAIL = 2, RW_SINK_LOG = 3 };
enum rw_tls_mode { RW_TLS_REQUIRED = 0, RW_TLS_OPPORTUNISTIC = 1, RW_TLS_NONE = 2 };
enum rw_band_policy { RW_ON_BAND_WORSE = 0, RW_ON_BAND_ANY = 1, RW_ON_BAND_NONE = 2 };

struct rw_signal_conf {
    char name[RW_CONF_NAME_MAX + 1];
    char types[RW_MAX_SIGNAL_TYPES][RW_TYPE_MAX + 1];
    int ntypes;
    enum rw_aggregate aggregate;
    int64_t half_life_ms; /* > 0 */
    int64_t baseline_ms;  /* trend only: > half_life_ms; 0 otherwise */
    double low, high;     /* low != high; low > high means lower is better */
    double weight;        /* >= 0, default 1 */
    bool normalize_seats; /* normalize = seats (rate only) */
    bool critical;
    double min_samples; /* mean only: absent while the decayed count is below it; 0 = none */
};

struct rw_sink_conf {
    char name[RW_CONF_NAME_MAX + 1];
    enum rw_sink_type type;
    char *url;      /* slack, webhook: http:// or https:// URL; secret for slack */
    char *secret;   /* webhook HMAC key, or NULL */
    char *smtp_url; /* email: smtp:// or smtps:// */
    char *username; /* email, or NULL */
    char *password; /* email, or NULL; a secret */
    enum rw_tls_mode tls;
    char *ca_file;               /* or NULL: the system store */
    char *from;                  /* email */
    bool to_owner;               /* to = owner */
    char *to[RW_MAX_RECIPIENTS]; /* email: fixed recipients when !to_owner */
    int nto;
    char *fallback_to;        /* email, or NULL */
    int64_t timeout_ms;       /* default 10s */
    int64_t retry_initial_ms; /* default 1s */
    int64_t retry_max_ms;     /* default 5m */
    int max_attempts;         /* default 12, >= 1 */
    double rate_per_s;        /* 0 = unlimited; slack default 1 */
    int concurrency;          /* default 4, >= 1 */
    int64_t digest_ms;        /* one message per window of this length; 0 = none */
    int64_t digest_offset_ms; /* windows start at multiples of digest_ms plus this */
    bool catch_up_digest;     /* the alerts that end a catch-up go out as one digest */
};

struct rw_route_conf {
    char name[RW_CONF_NAME_MAX + 1];
    unsigned kinds; /* bit (1u << enum rw_alert_kind); 0 = any */
    unsigned bands; /* bit (1u << enum rw_band); 0 = any */
    char *tiers[RW_MAX_TIERS];
    int ntiers; /* 0 = any */
    bool has_min_arr;
    double min_arr;
    bool has_within_days;
    int within_days;
    int sinks[RW_MAX_SINKS]; /* indexes into rw_config.sinks */
    int nsinks;
};

struct rw_config {
    char *path;

    /* [daemon] */
    enum rw_clock_mode clock;
    int64_t sweep_interval_ms;
    int64_t shutdown_timeout_ms;
    enum rw_log_level log_level;
    enum rw_log_format log_format;

    /* [redis] */
    /* "HOST:PORT" with an IP address, or "unix:/path"; with cluster = true, a
     * comma-separated list of 1..RW_MAX_SEEDS seed nodes "HOST:PORT". */
    char *redis_address;
    bool redis_cluster;                    /* Redis Cluster mode (SPEC §9) */
    char *redis_username, *redis_password; /* or NULL */
    int redis_db;
    char *streams[RW_MAX_STREAMS];
    int nstreams; /* >= 1 */
    char *group;
    char *consumer; /* %H already replaced by the host name */
    char *prefix;
    int batch;
    int64_t block_ms;
    int64_t lease_ms;
    int compact_records;     /* a compaction round once the log holds max(this, accounts) records */
    int64_t compact_idle_ms; /* ... or once idle with a log entry this old */

    /* [http] */
    char *http_listen; /* NULL when disabled (empty value) */
    char *http_token;  /* or NULL */

    struct rw_signal_conf signals[RW_MAX_SIGNALS];
    int nsignals;

    /* [score] */
    double healthy, watch, hysteresis;
    int64_t confirm_ms, min_history_ms;
    int64_t confirm_at_risk_ms; /* = confirm_ms when not given */
    int64_t history_ms;         /* daily scores kept (0 = none), <= 400 days */

    /* [alerts] */
    enum rw_band_policy on_band_change;
    int renewal_windows[RW_MAX_WINDOWS]; /* days, sorted descending, distinct, > 0 */
    int nwindows;
    long keep;
    int band_change_within; /* days; -1 = none */
    char *account_url;      /* template with {account}, or NULL */

    struct rw_sink_conf sinks[RW_MAX_SINKS];
    int nsinks;
    struct rw_route_conf routes[RW_MAX_ROUTES];
    int nroutes;
};

/* A growing list of diagnostics ("FILE:LINE: message"). */
struct rw_diag {
    char **msgs;
    int n, cap;
};
void rw_diag_add(struct rw_diag *d, const char *fmt, ...) RW_PRINTF(2, 3);
void rw_diag_free(struct rw_diag *d);

/*
 * Loads and validates PATH.  On success returns the config and leaves DIAG
 * empty; on any error returns NULL and DIAG holds every error found.
 */
struct rw_config *rw_config_load(const char *path, struct rw_diag *diag) RW_NODISCARD;
void rw_config_free(struct rw_config *cfg);

/* The configuration's keys that only take effect on restart; names of the
 * ones that differ between A and B are appended to DIAG as plain "section.key". */
void rw_config_restart_keys(const struct rw_config *a, const struct rw_config *b,
                            struct rw_diag *diag);

/* Index of the stream NAME[0..LEN) in cfg->streams, or -1. */
int rw_config_stream_index(const struct rw_config *cfg, const char *name, size_t len);

/* "<prefix><suffix>", a fresh heap string the caller frees. */
char *rw_config_key(const struct rw_config *cfg, const char *suffix);

#endif
