/*
 * jsonw.h - writing JSON text straight into a growable buffer: escaped strings
 * (invalid UTF-8 replaced, never passed through), numbers that are always
 * valid JSON (non-finite -> null), and the punctuation in between.  Used for
 * alerts and API answers, which are written once and never parsed back.
 *
 * The buffer owns its bytes (free with rw_jsonw_free); it is always
 * NUL-terminated.  Running out of memory is fatal, like every rw_x* helper.
 */
#ifndef RENEWALD_CORE_JSONW_H
#define RENEWALD_CORE_JSONW_H

#include "renewald/core/common.h"

struct rw_jsonw {
    char *buf;
    size_t len, cap;
    bool first; /* no member or element yet at the current nesting level */
};

void rw_jsonw_init(struct rw_jsonw *w);
void rw_jsonw_free(struct rw_jsonw *w);
/* Empties the text, keeps the memory. */
void rw_jsonw_reset(struct rw_jsonw *w);
/* Hands the text over (heap, NUL-terminated) and empties the writer. */
char *rw_jsonw_take(struct rw_jsonw *w, size_t *len) RW_NODISCARD;

/* Raw bytes, no escaping. */
void rw_jsonw_raw(struct rw_jsonw *w, const char *s, size_t n);

void rw_jsonw_obj_open(struct rw_jsonw *w);
void rw_jsonw_obj_close(struct rw_jsonw *w);
void rw_jsonw_arr_open(struct rw_jsonw *w);
void rw_jsonw_arr_close(struct rw_jsonw *w);
/* A member's key (with the comma before it when needed); then one value call. */
void rw_jsonw_key(struct rw_jsonw *w, const char *key);
/* Separates array elements; call before each element. */
void rw_jsonw_elem(struct rw_jsonw *w);

/* Values. */
void rw_jsonw_null(struct rw_jsonw *w);
void rw_jsonw_bool(struct rw_jsonw *w, bool v);
void rw_jsonw_int(struct rw_jsonw *w, int64_t v);
/* A double with 15 significant digits (31.4, not 31.399999999999999); null if not finite. */
void rw_jsonw_num(struct rw_jsonw *w, double v);
/* Tenths as a one-decimal number ("40.0"). */
void rw_jsonw_tenths(struct rw_jsonw *w, int tenths);
/* A string of N bytes, escaped; S NULL writes null. */
void rw_jsonw_strn(struct rw_jsonw *w, const char *s, size_t n);
void rw_jsonw_str(struct rw_jsonw *w, const char *s);
/* An RFC 3339 time (ms, UTC) or null for RW_NO_TIME; a date (days) or null for RW_NO_DAY. */
void rw_jsonw_time(struct rw_jsonw *w, int64_t ms);
void rw_jsonw_date(struct rw_jsonw *w, int32_t day);

#endif
