/*
 * config.c - loading the configuration file: lines fed to libinih through a
 * reader that counts them, strips comments and catches syntax errors, so every
 * error carries an exact FILE:LINE and loading goes on to find the next one.
 * The key table and the cross-field checks live in config_table.c.
 */
#include "config_impl.h"

#include "renewald/core/parse.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONF_FILE_MAX   (1024 * 1024) /* bytes of the configuration file */
#define SECRET_FILE_MAX (64 * 1024)   /* bytes of a K_file */
#define LONG_VALUE      "\x01"        /* stands in for a value too long for inih's buffer */

/* ---- diagnostics ---- */

void rw_diag_add(struct rw_diag *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    char *msg = rw_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(msg, (size_t)n + 1, fmt, ap);
    va_end(ap);
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 8;
        d->msgs = rw_xrealloc(d->msgs, sizeof(d->msgs[0]) * (size_t)d->cap);
    }
    d->msgs[d->n++] = msg;
}

void rw_diag_free(struct rw_diag *d)
{
    for (int i = 0; i < d->n; i++)
        free(d->msgs[i]);
    free(d->msgs);
    d->msgs = NULL;
    d->n = d->cap = 0;
}

void conf_error(struct loader *ld, int line, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (line > 0)
        rw_diag_add(ld->diag, "%s:%d: %s", ld->path, line, msg);
    else
        rw_diag_add(ld->diag, "%s: %s", ld->path, msg);
}

/* ---- values ---- */

int conf_key_index(enum section_kind kind, const char *name)
{
    const struct section_def *sd = &rw_conf_sections[kind];
    for (int i = 0; i < sd->nkeys; i++) {
        if (strcmp(sd->keys[i].name, name) == 0)
            return i;
    }
    return -1;
}

/* "90s", "10m", "3650d": the largest unit that divides MS exactly. */
static void fmt_duration(int64_t ms, char *buf, size_t size)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"d", RW_MS_PER_DAY}, {"h", 3600000}, {"m", 60000}, {"s", 1000}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (ms != 0 && ms % units[i].ms == 0) {
            snprintf(buf, size, "%lld%s", (long long)(ms / units[i].ms), units[i].unit);
            return;
        }
    }
    snprintf(buf, size, ms == 0 ? "0" : "%lldms", (long long)ms);
}

const char *conf_expect(const struct key_def *k, char *buf, size_t size)
{
    char lo[32], hi[32];
    size_t n;
    switch (k->type) {
    case KT_INT:
    case KT_LONG:
        snprintf(buf, size, "expected an integer in %lld..%lld", (long long)k->min,
                 (long long)k->max);
        break;
    case KT_DOUBLE:
        snprintf(buf, size, "expected a number in %g..%g", k->dmin, k->dmax);
        break;
    case KT_BOOL:
        snprintf(buf, size, "expected true or false (yes/no, on/off, 1/0)");
        break;
    case KT_DURATION:
        fmt_duration(k->min, lo, sizeof(lo));
        fmt_duration(k->max, hi, sizeof(hi));
        snprintf(buf, size, "expected a duration in %s..%s (such as 500ms, 90s, 30m, 12h, 7d, 2w)",
                 lo, hi);
        break;
    case KT_RATE:
        snprintf(buf, size, "expected a rate such as 10/s, 30/m or 100/h, at most %g/s, or none",
                 k->dmax);
        break;
    case KT_ENUM:
        n = (size_t)snprintf(buf, size, "expected one of");
        for (int i = 0; k->names[i] && n < size; i++)
            n += (size_t)snprintf(buf + n, size - n, "%s %s", i ? "," : "", k->names[i]);
        break;
    default:
        snprintf(buf, size, "bad value");
        break;
    }
    return buf;
}

const char *conf_apply(struct loader *ld, const struct key_def *k, void *obj, const char *v)
{
    char *dst = (char *)obj + k->off;
    int64_t i;
    double d;
    bool b;
    switch (k->type) {
    case KT_STR: {
        if (k->max > 0 && strlen(v) > (size_t)k->max) {
            snprintf(ld->err, sizeof(ld->err), "must be at most %lld bytes", (long long)k->max);
            return ld->err;
        }
        const char *err = k->check ? k->check(v) : NULL;
        if (err)
            return err;
        char **sp = (char **)(void *)dst;
        free(*sp);
        *sp = rw_xstrdup(v);
        return NULL;
    }
    case KT_INT:
        if (!rw_parse_int64(v, k->min, k->max, &i))
            break;
        *(int *)(void *)dst = (int)i;
        return NULL;
    case KT_LONG:
        if (!rw_parse_int64(v, k->min, k->max, &i))
            break;
        *(long *)(void *)dst = (long)i;
        return NULL;
    case KT_DOUBLE:
        if (!rw_parse_double(v, &d) || d < k->dmin || d > k->dmax)
            break;
        *(double *)(void *)dst = d;
        return NULL;
    case KT_RATE:
        if (!rw_parse_rate(v, &d) || d < k->dmin || d > k->dmax)
            break;
        *(double *)(void *)dst = d;
        return NULL;
    case KT_BOOL:
        if (!rw_parse_bool(v, &b))
            break;
        *(bool *)(void *)dst = b;
        return NULL;
    case KT_DURATION:
        if (!rw_parse_duration(v, &i) || i < k->min || i > k->max)
            break;
        *(int64_t *)(void *)dst = i;
        return NULL;
    case KT_ENUM:
        for (int e = 0; k->names[e]; e++) {
            if (strcmp(v, k->names[e]) == 0) {
                *(int *)(void *)dst = e;
                return NULL;
            }
        }
        break;
    case KT_CUSTOM:
        return k->set(ld, obj, v);
    }
    return conf_expect(k, ld->err, sizeof(ld->err));
}

static void apply_defaults(struct loader *ld, enum section_kind kind, void *obj, int line)
{
    const struct section_def *sd = &rw_conf_sections[kind];
    for (int i = 0; i < sd->nkeys; i++) {
        if (!sd->keys[i].def)
            continue;
        const char *err = conf_apply(ld, &sd->keys[i], obj, sd->keys[i].def);
        if (err) /* only %H can fail here: gethostname() */
            conf_error(ld, line, "default of key '%s' in [%s]: %s", sd->keys[i].name, sd->name,
                       err);
    }
}

/* ---- K_file ---- */

/* Reads the value of KEY from FNAME; NULL after reporting an error.  The
 * contents are never quoted in a message: they are usually a secret. */
static char *read_value_file(struct loader *ld, const char *key, const char *fname)
{
    const char *cred = getenv("CREDENTIALS_DIRECTORY");
    const char *base = cred && *cred ? cred : ld->dir;
    char *path = fname[0] == '/' ? rw_xstrdup(fname) : rw_xasprintf("%s/%s", base, fname);
    char *buf = NULL, *out = NULL;
    int fd = -1;
    if (fname[0] == '\0') {
        conf_error(ld, ld->lineno, "empty file name for key '%s' in %s", key, ld->title);
        goto done;
    }
    /* O_NONBLOCK: a FIFO must not hang the loader (it is refused just below). */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        conf_error(ld, ld->lineno, "cannot read '%s' for key '%s': %s", path, key, strerror(errno));
        goto done;
    }
    if (!S_ISREG(sb.st_mode)) {
        conf_error(ld, ld->lineno, "'%s' for key '%s' is not a regular file", path, key);
        goto done;
    }
    buf = rw_xmalloc(SECRET_FILE_MAX + 2);
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, SECRET_FILE_MAX + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            conf_error(ld, ld->lineno, "cannot read '%s' for key '%s': %s", path, key,
                       strerror(errno));
            goto done;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > SECRET_FILE_MAX) {
            conf_error(ld, ld->lineno, "'%s' for key '%s' is larger than 64 KiB", path, key);
            goto done;
        }
    }
    if (memchr(buf, '\0', n)) {
        conf_error(ld, ld->lineno, "'%s' for key '%s' contains a NUL byte", path, key);
        goto done;
    }
    if (n > 0 && buf[n - 1] == '\n')
        n--;
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    if (memchr(buf, '\n', n) || memchr(buf, '\r', n)) {
        conf_error(ld, ld->lineno, "'%s' for key '%s' holds more than one line", path, key);
        goto done;
    }
    out = rw_xstrndup(buf, n);
done:
    if (fd >= 0)
        close(fd);
    if (buf)
        memset(buf, 0, SECRET_FILE_MAX + 2);
    free(buf);
    free(path);
    return out;
}

/* ---- sections and keys ---- */

static bool name_ok(const char *s, size_t n)
{
    if (n == 0 || n > RW_CONF_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

/* Where named section IDX of KIND lives, with its name field and counters. */
static void named_slot(struct loader *ld, enum section_kind kind, int idx, void **obj, char **name,
                       struct sect_state **st)
{
    struct rw_config *cfg = ld->cfg;
    if (kind == SEC_SIGNAL) {
        *obj = &cfg->signals[idx];
        *name = cfg->signals[idx].name;
        *st = &ld->signal_st[idx];
    } else if (kind == SEC_SINK) {
        *obj = &cfg->sinks[idx];
        *name = cfg->sinks[idx].name;
        *st = &ld->sink_st[idx];
    } else {
        *obj = &cfg->routes[idx];
        *name = cfg->routes[idx].name;
        *st = &ld->route_st[idx];
    }
}

static int *named_count(struct loader *ld, enum section_kind kind, int *max)
{
    *max = kind == SEC_SIGNAL ? RW_MAX_SIGNALS : kind == SEC_SINK ? RW_MAX_SINKS : RW_MAX_ROUTES;
    return kind == SEC_SIGNAL ? &ld->cfg->nsignals
           : kind == SEC_SINK ? &ld->cfg->nsinks
                              : &ld->cfg->nroutes;
}

static void open_named(struct loader *ld, enum section_kind kind, const char *name, size_t nlen)
{
    const char *kname = rw_conf_sections[kind].name;
    int max, *count = named_count(ld, kind, &max);
    void *obj;
    char *slot_name;
    struct sect_state *st;
    for (int i = 0; i < *count; i++) {
        named_slot(ld, kind, i, &obj, &slot_name, &st);
        if (strlen(slot_name) == nlen && memcmp(slot_name, name, nlen) == 0) {
            conf_error(ld, ld->lineno, "duplicate section [%s \"%s\"] (first at line %d)", kname,
                       slot_name, st->line);
            return;
        }
    }
    if (*count >= max) {
        conf_error(ld, ld->lineno, "too many [%s] sections (at most %d)", kname, max);
        return;
    }
    named_slot(ld, kind, (*count)++, &obj, &slot_name, &st);
    memcpy(slot_name, name, nlen);
    slot_name[nlen] = '\0';
    st->line = ld->lineno;
    snprintf(ld->title, sizeof(ld->title), "[%s \"%s\"]", kname, slot_name);
    ld->obj = obj;
    ld->st = st;
    ld->skip = false;
    apply_defaults(ld, kind, obj, ld->lineno);
}

/* TEXT is a trimmed "[...]" line without comments. */
static void open_section(struct loader *ld, char *text)
{
    size_t len = strlen(text);
    ld->in_section = true;
    ld->skip = true;
    if (len < 2 || text[len - 1] != ']') {
        conf_error(ld, ld->lineno, "malformed section header");
        return;
    }
    text[len - 1] = '\0';
    char *inner = rw_trim(text + 1);
    char *p = inner;
    while (*p && *p != ' ' && *p != '\t' && *p != '"')
        p++;
    char *rest = p;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    *p = '\0';
    int kind = -1;
    for (int s = 0; s < SEC_COUNT && kind < 0; s++) {
        if (strcmp(inner, rw_conf_sections[s].name) == 0)
            kind = s;
    }
    if (kind < 0) {
        conf_error(ld, ld->lineno, "unknown section [%.64s]", inner);
        return;
    }
    ld->kind = (enum section_kind)kind;
    if (!rw_conf_sections[kind].named) {
        if (*rest) {
            conf_error(ld, ld->lineno, "section [%s] takes no name", inner);
        } else if (ld->plain[kind].line) {
            conf_error(ld, ld->lineno, "duplicate section [%s] (first at line %d)", inner,
                       ld->plain[kind].line);
        } else {
            ld->plain[kind].line = ld->lineno;
            snprintf(ld->title, sizeof(ld->title), "[%s]", inner);
            ld->obj = ld->cfg;
            ld->st = &ld->plain[kind];
            ld->skip = false;
        }
        return;
    }
    size_t rlen = strlen(rest);
    if (rlen == 0) {
        conf_error(ld, ld->lineno, "section [%s] needs a name, as in [%s \"NAME\"]", inner, inner);
        return;
    }
    if (rlen < 2 || rest[0] != '"' || rest[rlen - 1] != '"' || !name_ok(rest + 1, rlen - 2)) {
        conf_error(ld, ld->lineno,
                   "bad name %.80s for [%s]: expected \"NAME\" with 1..%d of A-Z a-z 0-9 _ . -",
                   rest, inner, RW_CONF_NAME_MAX);
        return;
    }
    open_named(ld, ld->kind, rest + 1, rlen - 2);
}

static void set_key(struct loader *ld, const char *name, const char *value)
{
    if (!ld->in_section) {
        conf_error(ld, ld->lineno, "key '%.64s' outside of any section", name);
        return;
    }
    if (ld->skip)
        return; /* the bad section header was reported once */
    const struct section_def *sd = &rw_conf_sections[ld->kind];
    int idx = conf_key_index(ld->kind, name);
    bool via_file = false;
    size_t nlen = strlen(name);
    if (idx < 0 && nlen > 5 && strcmp(name + nlen - 5, "_file") == 0) {
        char base[64];
        if (nlen - 5 < sizeof(base)) {
            memcpy(base, name, nlen - 5);
            base[nlen - 5] = '\0';
            idx = conf_key_index(ld->kind, base);
            via_file = idx >= 0 && sd->keys[idx].type == KT_STR;
            if (!via_file)
                idx = -1;
        }
    }
    if (idx < 0) {
        conf_error(ld, ld->lineno, "unknown key '%.64s' in %s", name, ld->title);
        return;
    }
    const struct key_def *k = &sd->keys[idx];
    struct sect_state *st = ld->st;
    uint64_t bit = UINT64_C(1) << idx;
    if (st->set_mask & bit) {
        if (((st->file_mask & bit) != 0) != via_file)
            conf_error(ld, ld->lineno, "both '%s' and '%s_file' given in %s", k->name, k->name,
                       ld->title);
        else
            conf_error(ld, ld->lineno, "duplicate key '%s' in %s (first at line %d)", name,
                       ld->title, st->key_line[idx]);
        return;
    }
    st->set_mask |= bit;
    st->key_line[idx] = ld->lineno;
    char *from_file = NULL;
    if (via_file) {
        st->file_mask |= bit;
        from_file = read_value_file(ld, name, value);
        if (!from_file) {
            st->bad_mask |= bit;
            return;
        }
        value = from_file;
    }
    const char *err = conf_apply(ld, k, ld->obj, value);
    if (err) {
        st->bad_mask |= bit;
        if (via_file)
            conf_error(ld, ld->lineno, "bad value in the file of key '%s' in %s: %s", name,
                       ld->title, err);
        else if (k->flags & KF_SECRET)
            conf_error(ld, ld->lineno, "bad value for key '%s' in %s: %s", name, ld->title, err);
        else
            conf_error(ld, ld->lineno, "bad value '%.100s' for key '%s' in %s: %s", value, name,
                       ld->title, err);
    }
    if (from_file) {
        memset(from_file, 0, strlen(from_file));
        free(from_file);
    }
}

/* ---- the line filter in front of inih ---- */

static int handler(void *user, const char *section, const char *name, const char *value)
{
    struct loader *ld = user;
    (void)section; /* sections are tracked by the reader, with their line numbers */
    if (strcmp(value, LONG_VALUE) == 0 && ld->long_value)
        value = ld->long_value;
    set_key(ld, name, value);
    return 1;
}

/* Turns one physical line into what inih sees: comments stripped, section
 * headers handled here, syntax errors reported here (inih then sees a blank). */
static void filter_line(struct loader *ld, char *line, size_t n, char *out, int num)
{
    snprintf(out, (size_t)num, "\n");
    if (ld->lineno == 1 && n >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
        line += 3;
        n -= 3;
    }
    if (n > 0 && line[n - 1] == '\r')
        line[--n] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (((unsigned char)line[i] < 0x20 && line[i] != '\t') || line[i] == 0x7f) {
            conf_error(ld, ld->lineno, "control character in line");
            return;
        }
    }
    /* ';' or '#' at the start or after a blank begins a comment */
    for (size_t i = 0; i < n; i++) {
        if ((line[i] == ';' || line[i] == '#') &&
            (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) {
            line[i] = '\0';
            break;
        }
    }
    rw_trim(line);
    if (line[0] == '\0')
        return;
    if (line[0] == '[') {
        open_section(ld, line);
        return;
    }
    char *sep = strpbrk(line, "=:");
    if (!sep) {
        conf_error(ld, ld->lineno, "expected 'key = value' or a [section] header");
        return;
    }
    *sep = '\0';
    char *key = rw_trim(line), *value = rw_trim(sep + 1);
    if (*key == '\0') {
        conf_error(ld, ld->lineno, "missing key name before '='");
        return;
    }
    size_t room = (size_t)num - 8;
    if (strlen(key) > room / 2)
        key[room / 2] = '\0'; /* no key is that long: it is reported as unknown */
    if (strlen(key) + strlen(value) + 1 > room) {
        ld->long_value = rw_xstrdup(value);
        value = LONG_VALUE;
    }
    snprintf(out, (size_t)num, "%s=%s\n", key, value);
}

static char *reader(char *str, int num, void *stream)
{
    struct loader *ld = stream;
    if (ld->pos >= ld->len || num < 64)
        return NULL;
    const char *start = ld->buf + ld->pos;
    const char *nl = memchr(start, '\n', ld->len - ld->pos);
    size_t n = nl ? (size_t)(nl - start) : ld->len - ld->pos;
    ld->pos += n + (nl ? 1 : 0);
    ld->lineno++;
    free(ld->long_value);
    ld->long_value = NULL;
    char *line = rw_xstrndup(start, n);
    filter_line(ld, line, n, str, num);
    free(line);
    return str;
}

/* ---- load, free, compare ---- */

static char *read_conf(const char *path, size_t *len, struct rw_diag *diag)
{
    FILE *f = fopen(path, "rbe");
    if (!f) {
        rw_diag_add(diag, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = rw_xmalloc(CONF_FILE_MAX + 1);
    size_t n = fread(buf, 1, CONF_FILE_MAX + 1, f);
    bool err = ferror(f) != 0;
    int saved = errno;
    fclose(f);
    if (err || n > CONF_FILE_MAX) {
        if (err)
            rw_diag_add(diag, "%s: cannot read: %s", path, strerror(saved));
        else
            rw_diag_add(diag, "%s: larger than %d bytes", path, CONF_FILE_MAX);
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* The line of a "PATH:LINE: message", 0 for "PATH: message". */
static long diag_line(const char *msg, size_t plen)
{
    const char *p = msg + plen;
    long line = 0;
    if (*p++ != ':')
        return 0;
    while (*p >= '0' && *p <= '9' && line < 100000000)
        line = line * 10 + (*p++ - '0');
    return *p == ':' ? line : 0;
}

/* Orders the messages from FIRST on by line (stable: insertion sort), so the
 * checks run after parsing land among the others. */
static void sort_by_line(struct rw_diag *diag, int first, const char *path)
{
    size_t plen = strlen(path);
    for (int i = first + 1; i < diag->n; i++) {
        char *m = diag->msgs[i];
        long line = diag_line(m, plen);
        int j = i;
        while (j > first && diag_line(diag->msgs[j - 1], plen) > line) {
            diag->msgs[j] = diag->msgs[j - 1];
            j--;
        }
        diag->msgs[j] = m;
    }
}

struct rw_config *rw_config_load(const char *path, struct rw_diag *diag)
{
    int before = diag->n;
    size_t len = 0;
    char *buf = read_conf(path, &len, diag);
    if (!buf)
        return NULL;
    struct loader *ld = rw_xcalloc(1, sizeof(*ld));
    struct rw_config *cfg = rw_xcalloc(1, sizeof(*cfg));
    cfg->path = rw_xstrdup(path);
    const char *slash = strrchr(path, '/');
    ld->dir =
        slash ? rw_xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : rw_xstrdup(".");
    ld->path = path;
    ld->diag = diag;
    ld->cfg = cfg;
    ld->buf = buf;
    ld->len = len;
    for (int s = 0; s < SEC_PLAIN_COUNT; s++)
        apply_defaults(ld, (enum section_kind)s, cfg, 0);

    int rc = ini_parse_stream(reader, ld, handler, ld);
    if (rc == -2) {
        conf_error(ld, 0, "out of memory while parsing");
    } else if (rc > 0) { /* inih saw an error the line filter let through */
        char prefix[64];
        int plen = snprintf(prefix, sizeof(prefix), ":%d: ", rc);
        bool seen = false;
        for (int i = before; i < diag->n && !seen; i++)
            seen = strncmp(diag->msgs[i] + strlen(path), prefix, (size_t)plen) == 0;
        if (!seen)
            conf_error(ld, rc, "syntax error");
    }
    conf_check_all(ld);

    free(ld->long_value);
    for (int r = 0; r < RW_MAX_ROUTES; r++) {
        for (int i = 0; i < ld->route_nsinks[r]; i++)
            free(ld->route_sinks[r][i]);
    }
    free(ld->dir);
    free(ld);
    free(buf);
    if (diag->n > before) {
        sort_by_line(diag, before, path);
        rw_config_free(cfg);
        return NULL;
    }
    return cfg;
}

static void free_secret(char *s)
{
    if (s) {
        memset(s, 0, strlen(s));
        free(s);
    }
}

void rw_config_free(struct rw_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->path);
    free(cfg->redis_address);
    free(cfg->redis_username);
    free_secret(cfg->redis_password);
    for (int i = 0; i < cfg->nstreams; i++)
        free(cfg->streams[i]);
    free(cfg->group);
    free(cfg->consumer);
    free(cfg->prefix);
    free(cfg->http_listen);
    free_secret(cfg->http_token);
    free(cfg->account_url);
    for (int i = 0; i < cfg->nsinks; i++) {
        struct rw_sink_conf *s = &cfg->sinks[i];
        free_secret(s->url);
        free_secret(s->secret);
        free_secret(s->smtp_url);
        free(s->username);
        free_secret(s->password);
        free(s->ca_file);
        free(s->from);
        for (int j = 0; j < s->nto; j++)
            free(s->to[j]);
        free(s->fallback_to);
    }
    for (int i = 0; i < cfg->nroutes; i++) {
        for (int j = 0; j < cfg->routes[i].ntiers; j++)
            free(cfg->routes[i].tiers[j]);
    }
    free(cfg);
}

static bool str_differs(const char *a, const char *b)
{
    if (!a || !b)
        return a != b;
    return strcmp(a, b) != 0;
}

void rw_config_restart_keys(const struct rw_config *a, const struct rw_config *b,
                            struct rw_diag *diag)
{
    bool streams = a->nstreams != b->nstreams;
    for (int i = 0; i < a->nstreams && !streams; i++)
        streams = strcmp(a->streams[i], b->streams[i]) != 0;
    const struct {
        const char *name;
        bool differs;
    } keys[] = {
        {"redis.address", str_differs(a->redis_address, b->redis_address)},
        {"redis.cluster", a->redis_cluster != b->redis_cluster},
        {"redis.username", str_differs(a->redis_username, b->redis_username)},
        {"redis.password", str_differs(a->redis_password, b->redis_password)},
        {"redis.db", a->redis_db != b->redis_db},
        {"redis.streams", streams},
        {"redis.group", str_differs(a->group, b->group)},
        {"redis.consumer", str_differs(a->consumer, b->consumer)},
        {"redis.prefix", str_differs(a->prefix, b->prefix)},
        {"http.listen", str_differs(a->http_listen, b->http_listen)},
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (keys[i].differs)
            rw_diag_add(diag, "%s", keys[i].name);
    }
}

char *rw_config_key(const struct rw_config *cfg, const char *suffix)
{
    return rw_xasprintf("%s%s", cfg->prefix, suffix);
}

int rw_config_stream_index(const struct rw_config *cfg, const char *name, size_t len)
{
    for (int i = 0; i < cfg->nstreams; i++)
        if (strlen(cfg->streams[i]) == len && memcmp(cfg->streams[i], name, len) == 0)
            return i;
    return -1;
}
