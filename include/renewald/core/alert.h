/*
 * alert.h - the alert of SPEC §3: what the rules decided (struct rw_alert), its
 * JSON text rendered once, and its deterministic id.  Sinks read a delivered
 * alert back with jansson through the accessors at the end.
 *
 * Ownership: everything a struct rw_alert points to is borrowed from its
 * creator for the duration of the call that hands it over.
 */
#ifndef RENEWALD_CORE_ALERT_H
#define RENEWALD_CORE_ALERT_H

#include <jansson.h>

#include "renewald/core/common.h"
#include "renewald/core/jsonw.h"

#define RW_ALERT_ID_LEN  32 /* hex characters of an alert id */
#define RW_ALERT_DRIVERS 3  /* signal names in `drivers` at most */
#define RW_NO_TENTHS     (-1)

struct rw_account;

/* One signal as the scorer evaluated it. */
struct rw_alert_signal {
    const char *name; /* not NULL */
    bool present;     /* false: x and score are null */
    double x;         /* non-finite (infinite recency) is written as null */
    double score;     /* 0..100; written rounded to 1 decimal */
    double weight;
    const char *text; /* readable value with its unit (rw_readable_signal), or NULL */
};

struct rw_alert {
    char id[RW_ALERT_ID_LEN + 1];
    enum rw_alert_kind kind;
    enum rw_band band;
    enum rw_band previous_band; /* band_change */
    int window;                 /* renewal_window: the window in days */
    int64_t ts_ms;
    const struct rw_account *account;
    int32_t days_to_renewal; /* INT32_MIN without a renewal date */
    int score;               /* tenths, RW_NO_TENTHS when null */
    int score_7d, score_30d; /* tenths, RW_NO_TENTHS when unknown */
    const struct rw_alert_signal *signals;
    int nsignals;
    const char *json; /* the rendered alert (rw_alert_render), NUL-terminated */
    size_t json_len;
};

/*
 * Writes the alert object into W (appended).  Keys, in this order: id, kind,
 * ts, account, name, owner, tier, arr, score, band, previous_band
 * (band_change), signals, renewal_date, days_to_renewal, window
 * (renewal_window), score_7d, score_30d, drivers, url.  URL_TEMPLATE is
 * [alerts] account_url (NULL: url is null).
 */
void rw_alert_render(struct rw_jsonw *w, const struct rw_alert *al, const char *url_template);

/* The `signals` object alone (also used by the HTTP API): {NAME: {"x", "score",
 * "weight", "text"}}, text the readable value ("0.02 per seat/day"; null when absent). */
void rw_alert_render_signals(struct rw_jsonw *w, const struct rw_alert_signal *sig, int n);

/*
 * The names of up to RW_ALERT_DRIVERS signals that pull the score down most
 * (largest weight·(100 − score) among present signals that pull at all; ties in
 * config order).  Returns how many were stored in OUT (indexes into SIG).
 */
int rw_alert_drivers(const struct rw_alert_signal *sig, int n, int out[RW_ALERT_DRIVERS]);

/* TEMPLATE with {account} replaced by the percent-encoded ID into W (as a JSON string). */
void rw_alert_render_url(struct rw_jsonw *w, const char *tmpl, const char *id, size_t id_len);

/*
 * An id from N byte strings: lowercase hex of the first RW_ALERT_ID_LEN / 2
 * bytes of SHA-256 over PARTS[0..N) (LENS bytes each, concatenated as given:
 * callers put their own separators in).  Alerts and digests share it.
 */
void rw_hash_id(const void *const *parts, const size_t *lens, int n, char out[RW_ALERT_ID_LEN + 1]);

/*
 * The deterministic id of an alert: lowercase hex of the first 16 bytes of
 * SHA-256 over ACCOUNT, NUL, the kind's name, NUL, DISCRIMINATOR (a band
 * transition counter, or the renewal date and window).
 */
void rw_alert_id(const char *account, enum rw_alert_kind kind, const char *discriminator,
                 char out[RW_ALERT_ID_LEN + 1]);

/* A jansson value as compact text, reals with 15 significant digits (as alerts are
 * written).  A heap string the caller frees; never NULL. */
char *rw_alert_dumps(const json_t *v) RW_NODISCARD;

/* Typed accessors over an alert parsed back with jansson, for sinks and routes.
 * Strings are borrowed from ALERT; NULL when the key is missing or null. */
const char *rw_alert_str(const json_t *alert, const char *key);
/* A number key, or NAN when missing or null. */
double rw_alert_num(const json_t *alert, const char *key);

#endif
