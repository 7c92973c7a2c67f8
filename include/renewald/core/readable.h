/*
 * readable.h - values as a person reads them in five seconds (SPEC §4): a
 * signal's x with its unit ("0.02 per seat/day", "0.45× its 60-day rate",
 * "12 days ago"), numbers with two significant digits and no exponent, ARR
 * in short form ("6,200", "145k", "1.5M"), the 7-day change of a score
 * ("▼ 12.6"), band labels and emoji, and a display name cut to a length
 * with "…" that keeps the account id.
 *
 * Everything writes into caller buffers (always NUL-terminated, cut when
 * short) or returns static strings; nothing allocates.
 */
#ifndef RENEWALD_CORE_READABLE_H
#define RENEWALD_CORE_READABLE_H

#include <jansson.h>

#include "renewald/config.h"
#include "renewald/core/common.h"

#define RW_READABLE_MAX 64 /* a buffer that holds any value written here */

/* X with about two significant digits, never an exponent ("0.02", "0.00005", "3.1", "1234"). */
void rw_readable_number(double x, char *buf, size_t n);

/* The value of signal C as a person reads it; "" for an absent signal (PRESENT false).
 * An infinite recency reads "never". */
void rw_readable_signal(const struct rw_signal_conf *c, bool present, double x, char *buf,
                        size_t n);

/* ARR in short form: "6,200", "14.5k", "145k", "1.5M", "2.1B"; "n/a" when not finite. */
void rw_readable_money(double arr, char *buf, size_t n);

/* The change of a score in tenths: "▼ 12.6", "▲ 3.0", "± 0.0". */
void rw_readable_change(int tenths_now, int tenths_before, char *buf, size_t n);

/* "at risk", "watch", "healthy", "unknown" (by band name; NULL or unknown names: "unknown"). */
const char *rw_readable_band(const char *band);
/* A coloured circle per band: 🔴 at_risk, 🟠 watch, 🟢 healthy, ⚪ unknown. */
const char *rw_readable_band_emoji(const char *band);

/*
 * "NAME (ID)" in at most MAX_CHARS characters (code points): a long name is
 * cut on a character boundary and ends with "…", the id always kept whole;
 * just ID without a name (an id too long for MAX_CHARS is itself cut).
 * BUF holds at least 4 * MAX_CHARS + 1 bytes.
 */
void rw_readable_who(const char *name, const char *id, size_t max_chars, char *buf, size_t n);

/*
 * What a message shows of an alert (the §3 JSON parsed back), read once:
 * strings are borrowed from ALERT (NULL when missing or null), tenths are
 * -1 when unknown.  Drivers come from `drivers` with each signal's `text`
 * (an alert without them: its worst present signals by score).
 */
#define RW_VIEW_DRIVERS 3
struct rw_alert_view {
    const char *id, *kind, *ts, *account, *name, *owner, *tier, *band, *previous_band;
    const char *renewal_date, *url;
    bool band_change; /* else a renewal_window */
    bool new_account; /* band_change from unknown */
    long long window; /* renewal_window: days */
    bool has_days;
    long long days_to_renewal;
    int score, score_7d, score_30d; /* tenths, -1 = unknown */
    double arr;                     /* NAN when unknown */
    int ndrivers;
    struct {
        const char *name;
        char text[RW_READABLE_MAX]; /* "0.02 per seat/day"; "" when unknown */
        int score;                  /* the signal's score in tenths, -1 = unknown */
    } drivers[RW_VIEW_DRIVERS];
};
void rw_alert_view(const json_t *alert, struct rw_alert_view *v);

/* The number of UTF-8 characters (code points) of S. */
size_t rw_utf8_chars(const char *s);
/* Cuts S in place to at most MAX characters, on a character boundary. */
void rw_utf8_cut(char *s, size_t max);

#endif
