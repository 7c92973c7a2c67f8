/*
 * config_impl.h - private to config.c and config_table.c: the key tables and
 * the loader state they share.  Nothing outside the config loader includes it.
 */
#ifndef RENEWALD_CONFIG_IMPL_H
#define RENEWALD_CONFIG_IMPL_H

#include "renewald/config.h"

#define CONF_MAX_KEYS 32 /* rows of the largest table */

enum key_type {
    KT_STR,      /* char *; CHECK validates; MAX is the maximum length */
    KT_INT,      /* int within MIN..MAX */
    KT_LONG,     /* long within MIN..MAX */
    KT_DOUBLE,   /* double within DMIN..DMAX */
    KT_BOOL,     /* bool */
    KT_DURATION, /* int64_t ms within MIN..MAX */
    KT_ENUM,     /* an enum (int sized): index into NAMES */
    KT_RATE,     /* double events per second within DMIN..DMAX */
    KT_CUSTOM,   /* SET parses and stores */
};

enum {
    KF_REQUIRED = 1u << 0, /* reported at the section header when absent */
    KF_SECRET = 1u << 1,   /* never echo the value */
};

struct loader;

/* Returns NULL when V is good, else a short message (no value in it). */
typedef const char *(*key_check_fn)(const char *v);
typedef const char *(*key_set_fn)(struct loader *ld, void *obj, const char *v);

struct key_def {
    const char *name;
    enum key_type type;
    unsigned flags;
    int64_t min, max;         /* KT_INT, KT_LONG, KT_DURATION; KT_STR: max length */
    double dmin, dmax;        /* KT_DOUBLE, KT_RATE */
    const char *def;          /* default, parsed like a value; NULL = none */
    size_t off;               /* where the value lands in the section's struct */
    const char *const *names; /* KT_ENUM, NULL-terminated */
    key_check_fn check;       /* KT_STR, optional */
    key_set_fn set;           /* KT_CUSTOM */
    unsigned sink_types;      /* sink keys: bit (1u << rw_sink_type) where it applies */
};

enum section_kind {
    SEC_DAEMON,
    SEC_REDIS,
    SEC_HTTP,
    SEC_SCORE,
    SEC_ALERTS,
    SEC_PLAIN_COUNT,
    SEC_SIGNAL = SEC_PLAIN_COUNT,
    SEC_SINK,
    SEC_ROUTE,
    SEC_COUNT,
};

struct section_def {
    const char *name;
    bool named;
    const struct key_def *keys;
    int nkeys;
};

extern const struct section_def rw_conf_sections[SEC_COUNT];

/* What the loader knows about one section instance. */
struct sect_state {
    int line;           /* of the header; 0 when the section is absent */
    uint64_t set_mask;  /* rows given in the file (well-formed or not) */
    uint64_t bad_mask;  /* rows whose value was rejected */
    uint64_t file_mask; /* rows given as K_file */
    int key_line[CONF_MAX_KEYS];
};

struct loader {
    const char *path;
    char *dir; /* directory of PATH, for relative K_file paths */
    struct rw_diag *diag;
    struct rw_config *cfg;

    /* input, fed to inih line by line */
    const char *buf;
    size_t len, pos;
    int lineno;
    char *long_value; /* value of the current line when it is too long for inih */

    /* current section; SKIP when its header was bad */
    enum section_kind kind;
    bool in_section, skip;
    void *obj;
    struct sect_state *st;
    char title[RW_CONF_NAME_MAX + 32]; /* "[sink \"x\"]" for messages */

    struct sect_state plain[SEC_PLAIN_COUNT];
    struct sect_state signal_st[RW_MAX_SIGNALS];
    struct sect_state sink_st[RW_MAX_SINKS];
    struct sect_state route_st[RW_MAX_ROUTES];
    char *route_sinks[RW_MAX_ROUTES][RW_MAX_SINKS]; /* names, resolved at the end */
    int route_nsinks[RW_MAX_ROUTES];
    int nsignals_seen, nsinks_seen, nroutes_seen;

    char err[256]; /* room for a message built by a setter */
};

/* Loader helpers shared by both files. */
void conf_error(struct loader *ld, int line, const char *fmt, ...) RW_PRINTF(3, 4);
int conf_key_index(enum section_kind kind, const char *name);
/* Stores V (already validated for KT_STR) with the row's type; returns an error or NULL. */
const char *conf_apply(struct loader *ld, const struct key_def *k, void *obj, const char *v);
/* Describes what a row accepts ("an integer in 1..100000"), into BUF. */
const char *conf_expect(const struct key_def *k, char *buf, size_t size);
/* The cross-field checks, after every line has been read. */
void conf_check_all(struct loader *ld);
/* The [redis] checks of cluster mode and seed lists (config_cluster.c). */
void conf_check_redis(struct loader *ld);

#endif
