/*
 * alert.h - the alert object of SPEC §3 as a jansson json_t, built from plain
 * C inputs, and the deterministic alert id.
 *
 * Ownership: rw_alert_build() returns a new reference the caller owns
 * (json_decref).  Inputs are only read during the call; strings are copied.
 */
#ifndef RENEWALD_ALERT_H
#define RENEWALD_ALERT_H

#include "renewald/common.h"

#include <jansson.h>

#define RW_ALERT_ID_LEN 32 /* hex characters of an alert id */

/* One signal as the scorer evaluated it. */
struct rw_alert_signal {
    const char *name; /* not NULL */
    bool present;     /* false: x and score are null */
    double x;         /* non-finite (infinite recency) is written as null */
    double score;     /* 0..100; written rounded to 1 decimal */
    double weight;
};

struct rw_alert_input {
    const char *id; /* not NULL; see rw_alert_id() */
    enum rw_alert_kind kind;
    int64_t ts_ms;       /* written as RFC 3339 with ms and Z */
    const char *account; /* not NULL */
    const char *name;    /* NULL -> null */
    const char *owner;   /* NULL -> null */
    const char *tier;    /* NULL -> null */
    double arr;          /* NAN (any non-finite) -> null */
    bool has_score;      /* false -> score null */
    double score;        /* written rounded to 1 decimal */
    enum rw_band band;
    enum rw_band previous_band;            /* band_change only */
    const struct rw_alert_signal *signals; /* NSIGNALS entries, in config order; may be NULL if 0 */
    int nsignals;
    bool has_renewal;         /* false -> renewal_date null */
    int32_t renewal_day;      /* days since 1970-01-01 */
    bool has_days_to_renewal; /* false -> days_to_renewal null */
    int32_t days_to_renewal;
    int window; /* renewal_window only: the window in days */
};

/*
 * Builds the alert object.  Keys, in this order: id, kind, ts, account, name,
 * owner, tier, arr, score, band, previous_band (band_change only), signals
 * ({NAME: {"x", "score", "weight"}}), renewal_date ("YYYY-MM-DD" or null),
 * days_to_renewal, window (renewal_window only).  Never returns NULL.
 */
json_t *rw_alert_build(const struct rw_alert_input *in) RW_NODISCARD;

/* The `signals` object alone (also used by the HTTP API); a new reference. */
json_t *rw_alert_signals_json(const struct rw_alert_signal *signals, int nsignals) RW_NODISCARD;

/* SCORE rounded to 1 decimal as a json real (half away from zero). */
json_t *rw_alert_score_json(double score) RW_NODISCARD;

/*
 * Serialises an alert compactly, reals with 15 significant digits (so 31.4 is
 * "31.4", not "31.399999999999999"), keys in insertion order.  Returns a heap
 * string the caller frees with free(); never NULL.
 */
char *rw_alert_dumps(const json_t *alert) RW_NODISCARD;

/*
 * The deterministic id of an alert: lowercase hex of the first 16 bytes of
 * SHA-256 over ACCOUNT, NUL, the kind's name, NUL, DISCRIMINATOR (e.g. a
 * transition counter, or the renewal date and window).  OUT receives
 * RW_ALERT_ID_LEN characters and a NUL.  ACCOUNT and DISCRIMINATOR are not NULL.
 */
void rw_alert_id(const char *account, enum rw_alert_kind kind, const char *discriminator,
                 char out[RW_ALERT_ID_LEN + 1]);

/* Typed accessors over a built (or parsed-back) alert, for sinks and routes.
 * Strings are borrowed from ALERT; NULL when the key is missing or null. */
const char *rw_alert_str(const json_t *alert, const char *key);
/* A number key, or NAN when missing or null. */
double rw_alert_num(const json_t *alert, const char *key);

#endif
