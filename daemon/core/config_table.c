/*
 * config_table.c - the table of every configuration key (type, bounds,
 * default, destination), the value checks and setters it names, and the
 * cross-field checks run once the whole file has been read.
 */
#include "config_impl.h"

#include "renewald/core/parse.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <float.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

_Static_assert(sizeof(enum rw_clock_mode) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(enum rw_sink_type) == sizeof(int), "enums are stored as int");

#define SEC_MS    INT64_C(1000)
#define MIN_MS    (60 * SEC_MS)
#define DAY_MS    RW_MS_PER_DAY
#define ALL_SINKS 0xfu
#define S_SLACK   (1u << RW_SINK_SLACK)
#define S_WEBHOOK (1u << RW_SINK_WEBHOOK)
#define S_EMAIL   (1u << RW_SINK_EMAIL)
#define NUM_ANY   -DBL_MAX, DBL_MAX

/* ---- value checks (KT_STR) ---- */

static bool has_ctl(const char *v)
{
    for (; *v; v++) {
        if ((unsigned char)*v < 0x20 || *v == 0x7f)
            return true;
    }
    return false;
}

static const char *check_nonempty(const char *v)
{
    if (*v == '\0')
        return "must not be empty";
    return has_ctl(v) ? "must not contain control characters" : NULL;
}

/* One word: no blanks, as Redis key parts, group names and tokens need. */
static const char *check_word(const char *v)
{
    if (*v == '\0')
        return "must not be empty";
    for (; *v; v++) {
        if ((unsigned char)*v <= 0x20 || *v == 0x7f)
            return "must not contain spaces or control characters";
    }
    return NULL;
}

/* "IPv4:PORT" or "[IPv6]:PORT" with a literal address: resolving would block. */
static bool ip_port_ok(const char *v)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *colon;
    int af = AF_INET;
    if (*v == '[') {
        const char *close = strchr(v, ']');
        if (!close || close[1] != ':' || (size_t)(close - v - 1) >= sizeof(host))
            return false;
        memcpy(host, v + 1, (size_t)(close - v - 1));
        host[close - v - 1] = '\0';
        colon = close + 1;
        af = AF_INET6;
    } else {
        colon = strrchr(v, ':');
        if (!colon || (size_t)(colon - v) >= sizeof(host))
            return false;
        memcpy(host, v, (size_t)(colon - v));
        host[colon - v] = '\0';
    }
    unsigned char addr[sizeof(struct in6_addr)];
    int64_t port;
    return inet_pton(af, host, addr) == 1 && rw_parse_int64(colon + 1, 1, 65535, &port);
}

static const char *check_one_address(const char *v)
{
    if (strncmp(v, "unix:", 5) == 0) {
        const char *p = v + 5;
        if (*p != '/' || strlen(p) > 107 || check_word(p))
            return "expected unix:/absolute/path (at most 107 bytes, no spaces)";
        return NULL;
    }
    if (!ip_port_ok(v))
        return "expected IPv4:PORT, [IPv6]:PORT (an IP address, not a host name) or "
               "unix:/absolute/path";
    return NULL;
}

/* One address, or (for cluster = true, checked with the other keys) a list of seed nodes. */
static const char *check_redis_address(const char *v)
{
    char copy[1100], *items[RW_MAX_SEEDS];
    if (strlen(v) >= sizeof(copy))
        return "too long";
    strcpy(copy, v);
    int n = rw_split_list(copy, items, RW_MAX_SEEDS);
    if (n <= 0)
        return n == 0 ? "must not be empty" : "expected at most 16 comma-separated addresses";
    for (int i = 0; i < n; i++) {
        const char *err = check_one_address(items[i]);
        if (err)
            return err;
    }
    return NULL;
}

static bool url_ok(const char *v, const char *const *schemes)
{
    for (; *schemes; schemes++) {
        size_t n = strlen(*schemes);
        if (strncasecmp(v, *schemes, n) == 0)
            return v[n] != '\0' && v[n] != '/' && !check_word(v);
    }
    return false;
}

static const char *check_http_url(const char *v)
{
    static const char *const schemes[] = {"http://", "https://", NULL};
    return url_ok(v, schemes) ? NULL : "expected an http:// or https:// URL";
}

/* A link template: an http(s) URL with at most one {account} placeholder. */
static const char *check_account_url(const char *v)
{
    static const char *const schemes[] = {"http://", "https://", NULL};
    if (!url_ok(v, schemes))
        return "expected an http:// or https:// URL (with {account} where the id goes)";
    const char *p = strstr(v, "{account}");
    if (p && strstr(p + 1, "{account}"))
        return "{account} may appear only once";
    return NULL;
}

static const char *check_smtp_url(const char *v)
{
    static const char *const schemes[] = {"smtp://", "smtps://", NULL};
    return url_ok(v, schemes) ? NULL : "expected an smtp:// or smtps:// URL";
}

/* A plain address local@domain; no display names, quotes or lists. */
static bool email_ok(const char *v)
{
    const char *at = strchr(v, '@');
    size_t n = strlen(v);
    if (!at || at == v || at[1] == '\0' || strchr(at + 1, '@') || n > RW_OWNER_MAX)
        return false;
    if (at[1] == '.' || v[n - 1] == '.')
        return false;
    for (const char *p = v; *p; p++) {
        if ((unsigned char)*p <= 0x20 || *p == 0x7f || strchr("<>,;\"()[]\\", *p))
            return false;
    }
    return true;
}

static const char *check_email(const char *v)
{
    return email_ok(v) ? NULL : "expected an e-mail address such as cs@example.com";
}

/* ---- setters (KT_CUSTOM) ---- */

/* Splits a copy of V into ITEMS (pointing into *COPY); explains a failure. */
static int split(struct loader *ld, const char *v, char **copy, char **items, int max,
                 const char **err)
{
    *copy = rw_xstrdup(v);
    int n = rw_split_list(*copy, items, max);
    if (n < 0) {
        int commas = 0;
        for (const char *p = v; *p; p++)
            commas += *p == ',';
        if (commas + 1 > max)
            snprintf(ld->err, sizeof(ld->err), "too many items (at most %d)", max);
        else
            snprintf(ld->err, sizeof(ld->err), "empty item in the list");
        *err = ld->err;
    }
    return n;
}

static const char *find_dup(char **items, int n)
{
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < i; j++) {
            if (strcmp(items[i], items[j]) == 0)
                return "an item appears twice";
        }
    }
    return NULL;
}

static const char *set_streams(struct loader *ld, void *obj, const char *v)
{
    struct rw_config *cfg = obj;
    char *copy, *items[RW_MAX_STREAMS];
    const char *err = NULL;
    int n = split(ld, v, &copy, items, RW_MAX_STREAMS, &err);
    if (n == 0)
        err = "at least one stream is needed";
    for (int i = 0; i < n && !err; i++) {
        if (check_word(items[i]) || strlen(items[i]) > 512)
            err = "stream keys are 1..512 bytes without spaces";
    }
    if (!err)
        err = find_dup(items, n);
    if (!err) {
        for (int i = 0; i < n; i++)
            cfg->streams[i] = rw_xstrdup(items[i]);
        cfg->nstreams = n;
    }
    free(copy);
    return err;
}

/* "%H" becomes the host name, "%%" a percent sign. */
static const char *set_consumer(struct loader *ld, void *obj, const char *v)
{
    struct rw_config *cfg = obj;
    char out[512];
    size_t n = 0;
    for (const char *p = v; *p; p++) {
        char host[256] = "";
        const char *add = p;
        size_t len = 1;
        if (*p == '%') {
            if (p[1] == 'H') {
                if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0')
                    return "cannot get the host name for %H";
                add = host;
                len = strlen(host);
            } else if (p[1] != '%') {
                return "only %H (host name) and %% may follow a percent sign";
            }
            p++;
        }
        if (n + len >= 256)
            return "must be at most 255 bytes once %H is replaced";
        memcpy(out + n, add, len);
        n += len;
    }
    out[n] = '\0';
    const char *err = check_word(out);
    if (err)
        return err;
    (void)ld;
    free(cfg->consumer);
    cfg->consumer = rw_xstrdup(out);
    return NULL;
}

static const char *set_listen(struct loader *ld, void *obj, const char *v)
{
    struct rw_config *cfg = obj;
    (void)ld;
    if (*v != '\0' && !ip_port_ok(v))
        return "expected IPv4:PORT or [IPv6]:PORT with an IP address, or empty to disable";
    free(cfg->http_listen);
    cfg->http_listen = *v ? rw_xstrdup(v) : NULL;
    return NULL;
}

static const char *set_types(struct loader *ld, void *obj, const char *v)
{
    struct rw_signal_conf *sig = obj;
    char *copy, *items[RW_MAX_SIGNAL_TYPES];
    const char *err = NULL;
    int n = split(ld, v, &copy, items, RW_MAX_SIGNAL_TYPES, &err);
    if (n == 0)
        err = "at least one event type is needed";
    for (int i = 0; i < n && !err; i++) {
        if (strlen(items[i]) > RW_TYPE_MAX || check_nonempty(items[i]))
            err = "event types are 1..64 bytes without control characters";
    }
    if (!err)
        err = find_dup(items, n);
    if (!err) {
        for (int i = 0; i < n; i++)
            snprintf(sig->types[i], sizeof(sig->types[i]), "%s", items[i]);
        sig->ntypes = n;
    }
    free(copy);
    return err;
}

static const char *set_normalize(struct loader *ld, void *obj, const char *v)
{
    struct rw_signal_conf *sig = obj;
    (void)ld;
    if (strcmp(v, "seats") == 0)
        sig->normalize_seats = true;
    else if (strcmp(v, "none") == 0)
        sig->normalize_seats = false;
    else
        return "expected seats or none";
    return NULL;
}

static int cmp_desc(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x < y) - (x > y);
}

static const char *set_windows(struct loader *ld, void *obj, const char *v)
{
    struct rw_config *cfg = obj;
    char *copy, *items[RW_MAX_WINDOWS];
    const char *err = NULL;
    int days[RW_MAX_WINDOWS];
    int n = split(ld, v, &copy, items, RW_MAX_WINDOWS, &err);
    for (int i = 0; i < n && !err; i++) {
        int64_t d;
        if (!rw_parse_int64(items[i], 1, 3650, &d))
            err = "expected a list of whole days in 1..3650, such as 90, 60, 30";
        else
            days[i] = (int)d;
    }
    free(copy);
    if (err)
        return err;
    qsort(days, (size_t)n, sizeof(days[0]), cmp_desc);
    for (int i = 1; i < n; i++) {
        if (days[i] == days[i - 1])
            return "a window appears twice";
    }
    memcpy(cfg->renewal_windows, days, sizeof(days[0]) * (size_t)n);
    cfg->nwindows = n;
    return NULL;
}

static const char *set_to(struct loader *ld, void *obj, const char *v)
{
    struct rw_sink_conf *sink = obj;
    char *copy, *items[RW_MAX_RECIPIENTS];
    const char *err = NULL;
    int n = split(ld, v, &copy, items, RW_MAX_RECIPIENTS, &err);
    if (n == 0)
        err = "expected owner or a list of e-mail addresses";
    for (int i = 0; i < n && !err; i++) {
        if (strcmp(items[i], "owner") == 0 && n > 1)
            err = "owner cannot be combined with addresses";
        else if (strcmp(items[i], "owner") != 0 && !email_ok(items[i]))
            err = "expected owner or a list of e-mail addresses";
    }
    if (!err)
        err = find_dup(items, n);
    if (!err) {
        sink->to_owner = strcmp(items[0], "owner") == 0;
        for (int i = 0; i < n && !sink->to_owner; i++)
            sink->to[sink->nto++] = rw_xstrdup(items[i]);
    }
    free(copy);
    return err;
}

/* A list of names turned into a bit mask through PARSE. */
static const char *set_mask(struct loader *ld, unsigned *mask, const char *v, int max,
                            bool (*parse)(const char *, unsigned *), const char *what)
{
    char *copy, *items[8];
    const char *err = NULL;
    unsigned m = 0;
    int n = split(ld, v, &copy, items, max, &err);
    for (int i = 0; i < n && !err; i++) {
        unsigned bit;
        if (!parse(items[i], &bit))
            err = what;
        else
            m |= bit;
    }
    free(copy);
    if (!err)
        *mask = m;
    return err;
}

static bool parse_kind_bit(const char *s, unsigned *bit)
{
    enum rw_alert_kind k;
    if (!rw_alert_kind_parse(s, &k))
        return false;
    *bit = 1u << k;
    return true;
}

static bool parse_band_bit(const char *s, unsigned *bit)
{
    enum rw_band b;
    if (!rw_band_parse(s, &b))
        return false;
    *bit = 1u << b;
    return true;
}

static const char *set_kinds(struct loader *ld, void *obj, const char *v)
{
    return set_mask(ld, &((struct rw_route_conf *)obj)->kinds, v, RW_ALERT_KIND_COUNT,
                    parse_kind_bit, "expected alert kinds: band_change, renewal_window");
}

static const char *set_bands(struct loader *ld, void *obj, const char *v)
{
    return set_mask(ld, &((struct rw_route_conf *)obj)->bands, v, RW_BAND_COUNT, parse_band_bit,
                    "expected bands: unknown, healthy, watch, at_risk");
}

static const char *set_tiers(struct loader *ld, void *obj, const char *v)
{
    struct rw_route_conf *route = obj;
    char *copy, *items[RW_MAX_TIERS];
    const char *err = NULL;
    int n = split(ld, v, &copy, items, RW_MAX_TIERS, &err);
    for (int i = 0; i < n && !err; i++) {
        if (strlen(items[i]) > RW_TIER_MAX || check_nonempty(items[i]))
            err = "tiers are 1..64 bytes without control characters";
    }
    if (!err)
        err = find_dup(items, n);
    if (!err) {
        for (int i = 0; i < n; i++)
            route->tiers[i] = rw_xstrdup(items[i]);
        route->ntiers = n;
    }
    free(copy);
    return err;
}

/* Sink names are kept by name and resolved once every sink is known. */
static const char *set_route_sinks(struct loader *ld, void *obj, const char *v)
{
    int r = (int)((struct rw_route_conf *)obj - ld->cfg->routes);
    char *copy, *items[RW_MAX_SINKS];
    const char *err = NULL;
    int n = split(ld, v, &copy, items, RW_MAX_SINKS, &err);
    if (n == 0)
        err = "at least one sink is needed";
    if (!err)
        err = find_dup(items, n);
    if (!err) {
        for (int i = 0; i < n; i++)
            ld->route_sinks[r][i] = rw_xstrdup(items[i]);
        ld->route_nsinks[r] = n;
    }
    free(copy);
    return err;
}

/* ---- the tables ---- */

static const char *const clock_names[] = {"wall", "event", NULL};
static const char *const level_names[] = {"debug", "info", "warn", "error", NULL};
static const char *const format_names[] = {"text", "json", NULL};
static const char *const aggregate_names[] = {"rate", "mean", "trend", "recency", NULL};
static const char *const sink_names[] = {"slack", "webhook", "email", "log", NULL};
static const char *const tls_names[] = {"required", "opportunistic", "none", NULL};
static const char *const policy_names[] = {"worse", "any", "none", NULL};

#define C(f) offsetof(struct rw_config, f)
#define G(f) offsetof(struct rw_signal_conf, f)
#define K(f) offsetof(struct rw_sink_conf, f)
#define R(f) offsetof(struct rw_route_conf, f)

static const struct key_def daemon_keys[] = {
    {"clock", KT_ENUM, 0, .def = "wall", .off = C(clock), .names = clock_names},
    {"sweep_interval", KT_DURATION, 0, SEC_MS, DAY_MS, .def = "60s", .off = C(sweep_interval_ms)},
    {"shutdown_timeout", KT_DURATION, 0, 0, 3600 * SEC_MS, .def = "10s",
     .off = C(shutdown_timeout_ms)},
    {"log_level", KT_ENUM, 0, .def = "info", .off = C(log_level), .names = level_names},
    {"log_format", KT_ENUM, 0, .def = "text", .off = C(log_format), .names = format_names},
};

static const struct key_def redis_keys[] = {
    {"address", KT_STR, 0, 0, 1024, .def = "127.0.0.1:6379", .off = C(redis_address),
     .check = check_redis_address},
    {"cluster", KT_BOOL, 0, .def = "false", .off = C(redis_cluster)},
    {"password", KT_STR, KF_SECRET, 0, 4096, .off = C(redis_password), .check = check_nonempty},
    {"username", KT_STR, 0, 0, 256, .off = C(redis_username), .check = check_word},
    {"db", KT_INT, 0, 0, INT_MAX, .def = "0", .off = C(redis_db)},
    {"streams", KT_CUSTOM, KF_REQUIRED, .set = set_streams},
    {"group", KT_STR, 0, 0, 256, .def = "renewald", .off = C(group), .check = check_word},
    {"consumer", KT_CUSTOM, 0, .def = "%H", .set = set_consumer},
    {"prefix", KT_STR, 0, 0, 256, .def = "renewald:", .off = C(prefix), .check = check_word},
    {"batch", KT_INT, 0, 1, 100000, .def = "1000", .off = C(batch)},
    {"block", KT_DURATION, 0, 1, 60 * SEC_MS, .def = "2s", .off = C(block_ms)},
    {"lease", KT_DURATION, 0, SEC_MS, 10 * MIN_MS, .def = "10s", .off = C(lease_ms)},
    {"compact_records", KT_INT, 0, 1, 100000000, .def = "65536", .off = C(compact_records)},
    {"compact_idle", KT_DURATION, 0, 0, DAY_MS, .def = "1m", .off = C(compact_idle_ms)},
};

static const struct key_def http_keys[] = {
    {"listen", KT_CUSTOM, 0, .def = "127.0.0.1:9187", .set = set_listen},
    {"token", KT_STR, KF_SECRET, 0, 4096, .off = C(http_token), .check = check_word},
};

static const struct key_def score_keys[] = {
    {"healthy", KT_DOUBLE, 0, .dmin = 0, .dmax = 100, .def = "70", .off = C(healthy)},
    {"watch", KT_DOUBLE, 0, .dmin = 0, .dmax = 100, .def = "40", .off = C(watch)},
    {"hysteresis", KT_DOUBLE, 0, .dmin = 0, .dmax = 100, .def = "3", .off = C(hysteresis)},
    {"confirm", KT_DURATION, 0, 0, 365 * DAY_MS, .def = "2d", .off = C(confirm_ms)},
    {"min_history", KT_DURATION, 0, 0, 3650 * DAY_MS, .def = "14d", .off = C(min_history_ms)},
    {"confirm_at_risk", KT_DURATION, 0, 0, 365 * DAY_MS, .off = C(confirm_at_risk_ms)},
    {"history", KT_DURATION, 0, 0, 400 * DAY_MS, .def = "90d", .off = C(history_ms)},
};

static const struct key_def alerts_keys[] = {
    {"on_band_change", KT_ENUM, 0, .def = "worse", .off = C(on_band_change), .names = policy_names},
    {"renewal_windows", KT_CUSTOM, 0, .def = "90, 60, 30", .set = set_windows},
    {"keep", KT_LONG, 0, 1, 1000000000, .def = "100000", .off = C(keep)},
    {"band_change_within", KT_INT, 0, 0, 3650, .off = C(band_change_within)},
    {"account_url", KT_STR, 0, 0, 2048, .off = C(account_url), .check = check_account_url},
};

static const struct key_def signal_keys[] = {
    {"types", KT_CUSTOM, KF_REQUIRED, .set = set_types},
    {"aggregate", KT_ENUM, KF_REQUIRED, .off = G(aggregate), .names = aggregate_names},
    {"half_life", KT_DURATION, KF_REQUIRED, SEC_MS, 3650 * DAY_MS, .off = G(half_life_ms)},
    {"baseline", KT_DURATION, 0, SEC_MS, 3650 * DAY_MS, .off = G(baseline_ms)},
    {"low", KT_DOUBLE, KF_REQUIRED, .dmin = -1e15, .dmax = 1e15, .off = G(low)},
    {"high", KT_DOUBLE, KF_REQUIRED, .dmin = -1e15, .dmax = 1e15, .off = G(high)},
    {"weight", KT_DOUBLE, 0, .dmin = 0, .dmax = 1e6, .def = "1", .off = G(weight)},
    {"normalize", KT_CUSTOM, 0, .set = set_normalize},
    {"critical", KT_BOOL, 0, .def = "false", .off = G(critical)},
    {"min_samples", KT_DOUBLE, 0, .dmin = 0, .dmax = 1e9, .def = "0", .off = G(min_samples)},
};

static const struct key_def sink_keys[] = {
    {"type", KT_ENUM, KF_REQUIRED, .off = K(type), .names = sink_names, .sink_types = ALL_SINKS},
    {"url", KT_STR, KF_SECRET, 0, 8192, .off = K(url), .check = check_http_url,
     .sink_types = S_SLACK | S_WEBHOOK},
    {"secret", KT_STR, KF_SECRET, 0, 4096, .off = K(secret), .check = check_nonempty,
     .sink_types = S_WEBHOOK},
    {"smtp_url", KT_STR, KF_SECRET, 0, 8192, .off = K(smtp_url), .check = check_smtp_url,
     .sink_types = S_EMAIL},
    {"username", KT_STR, 0, 0, 1024, .off = K(username), .check = check_nonempty,
     .sink_types = S_EMAIL},
    {"password", KT_STR, KF_SECRET, 0, 4096, .off = K(password), .check = check_nonempty,
     .sink_types = S_EMAIL},
    {"tls", KT_ENUM, 0, .def = "required", .off = K(tls), .names = tls_names,
     .sink_types = S_EMAIL},
    {"ca_file", KT_STR, 0, 0, 4096, .off = K(ca_file), .check = check_nonempty,
     .sink_types = S_SLACK | S_WEBHOOK | S_EMAIL},
    {"from", KT_STR, 0, 0, RW_OWNER_MAX, .off = K(from), .check = check_email,
     .sink_types = S_EMAIL},
    {"to", KT_CUSTOM, 0, .set = set_to, .sink_types = S_EMAIL},
    {"fallback_to", KT_STR, 0, 0, RW_OWNER_MAX, .off = K(fallback_to), .check = check_email,
     .sink_types = S_EMAIL},
    {"timeout", KT_DURATION, 0, 100, 10 * MIN_MS, .def = "10s", .off = K(timeout_ms),
     .sink_types = ALL_SINKS},
    {"retry_initial", KT_DURATION, 0, 10, 3600 * SEC_MS, .def = "1s", .off = K(retry_initial_ms),
     .sink_types = ALL_SINKS},
    {"retry_max", KT_DURATION, 0, 10, 7 * DAY_MS, .def = "5m", .off = K(retry_max_ms),
     .sink_types = ALL_SINKS},
    {"max_attempts", KT_INT, 0, 1, 1000, .def = "12", .off = K(max_attempts),
     .sink_types = ALL_SINKS},
    {"rate", KT_RATE, 0, .dmin = 0, .dmax = 10000, .off = K(rate_per_s), .sink_types = ALL_SINKS},
    {"concurrency", KT_INT, 0, 1, 64, .def = "4", .off = K(concurrency), .sink_types = ALL_SINKS},
    {"digest", KT_DURATION, 0, 0, 31 * DAY_MS, .def = "0s", .off = K(digest_ms),
     .sink_types = ALL_SINKS},
    {"digest_offset", KT_DURATION, 0, 0, 31 * DAY_MS, .def = "0s", .off = K(digest_offset_ms),
     .sink_types = ALL_SINKS},
    {"catch_up_digest", KT_BOOL, 0, .off = K(catch_up_digest), .sink_types = ALL_SINKS},
};

static const struct key_def route_keys[] = {
    {"kinds", KT_CUSTOM, 0, .set = set_kinds},
    {"bands", KT_CUSTOM, 0, .set = set_bands},
    {"tiers", KT_CUSTOM, 0, .set = set_tiers},
    {"min_arr", KT_DOUBLE, 0, .dmin = 0, .dmax = 1e15, .off = R(min_arr)},
    {"within_days", KT_INT, 0, 0, 3650, .off = R(within_days)},
    {"sinks", KT_CUSTOM, KF_REQUIRED, .set = set_route_sinks},
};

#define N(a) (int)(sizeof(a) / sizeof((a)[0]))
_Static_assert(N(sink_keys) <= CONF_MAX_KEYS, "CONF_MAX_KEYS too small");

const struct section_def rw_conf_sections[SEC_COUNT] = {
    [SEC_DAEMON] = {"daemon", false, daemon_keys, N(daemon_keys)},
    [SEC_REDIS] = {"redis", false, redis_keys, N(redis_keys)},
    [SEC_HTTP] = {"http", false, http_keys, N(http_keys)},
    [SEC_SCORE] = {"score", false, score_keys, N(score_keys)},
    [SEC_ALERTS] = {"alerts", false, alerts_keys, N(alerts_keys)},
    [SEC_SIGNAL] = {"signal", true, signal_keys, N(signal_keys)},
    [SEC_SINK] = {"sink", true, sink_keys, N(sink_keys)},
    [SEC_ROUTE] = {"route", true, route_keys, N(route_keys)},
};

/* ---- cross-field checks ---- */

/* The line of KEY in ST, or of the section header when it was not given. */
static int kline(const struct sect_state *st, enum section_kind kind, const char *key)
{
    int i = conf_key_index(kind, key);
    return (st->set_mask >> i) & 1 ? st->key_line[i] : st->line;
}

static bool kset(const struct sect_state *st, enum section_kind kind, const char *key)
{
    return (st->set_mask >> conf_key_index(kind, key)) & 1;
}

/* Given and well-formed. */
static bool kok(const struct sect_state *st, enum section_kind kind, const char *key)
{
    int i = conf_key_index(kind, key);
    return ((st->set_mask & ~st->bad_mask) >> i) & 1;
}

static void check_required(struct loader *ld, enum section_kind kind, const struct sect_state *st,
                           const char *title)
{
    const struct section_def *sd = &rw_conf_sections[kind];
    for (int i = 0; i < sd->nkeys; i++) {
        if (!(sd->keys[i].flags & KF_REQUIRED) || ((st->set_mask >> i) & 1))
            continue;
        if (st->line == 0)
            conf_error(ld, 0, "missing section %s (key '%s' is required)", title, sd->keys[i].name);
        else
            conf_error(ld, st->line, "missing required key '%s' in %s", sd->keys[i].name, title);
    }
}

static void check_signal(struct loader *ld, int idx)
{
    const struct sect_state *st = &ld->signal_st[idx];
    struct rw_signal_conf *sig = &ld->cfg->signals[idx];
    enum section_kind k = SEC_SIGNAL;
    char title[RW_CONF_NAME_MAX + 16];
    snprintf(title, sizeof(title), "[signal \"%s\"]", sig->name);
    check_required(ld, k, st, title);
    if (kok(st, k, "low") && kok(st, k, "high") && sig->low == sig->high)
        conf_error(ld, kline(st, k, "high"), "low and high must differ in %s", title);
    if (!kok(st, k, "aggregate"))
        return;
    if (sig->aggregate == RW_AGG_TREND) {
        if (!kset(st, k, "baseline"))
            conf_error(ld, st->line, "%s has aggregate = trend and needs 'baseline'", title);
        else if (kok(st, k, "baseline") && kok(st, k, "half_life") &&
                 sig->baseline_ms <= sig->half_life_ms)
            conf_error(ld, kline(st, k, "baseline"), "baseline must be longer than half_life in %s",
                       title);
    } else if (kset(st, k, "baseline")) {
        conf_error(ld, kline(st, k, "baseline"), "baseline only applies to aggregate = trend in %s",
                   title);
    }
    if (sig->aggregate != RW_AGG_MEAN && kset(st, k, "min_samples"))
        conf_error(ld, kline(st, k, "min_samples"),
                   "min_samples only applies to aggregate = mean in %s", title);
    if (sig->aggregate != RW_AGG_RATE && kok(st, k, "normalize") && sig->normalize_seats)
        conf_error(ld, kline(st, k, "normalize"),
                   "normalize = seats only applies to aggregate = rate in %s", title);
}

static void check_sink(struct loader *ld, int idx)
{
    const struct sect_state *st = &ld->sink_st[idx];
    struct rw_sink_conf *sink = &ld->cfg->sinks[idx];
    const struct section_def *sd = &rw_conf_sections[SEC_SINK];
    enum section_kind k = SEC_SINK;
    char title[RW_CONF_NAME_MAX + 16];
    snprintf(title, sizeof(title), "[sink \"%s\"]", sink->name);
    check_required(ld, k, st, title);
    if (kok(st, k, "retry_initial") && kok(st, k, "retry_max") &&
        sink->retry_initial_ms > sink->retry_max_ms)
        conf_error(ld, kline(st, k, "retry_max"),
                   "retry_max must not be shorter than retry_initial in %s", title);
    if (!kok(st, k, "type"))
        return;
    const char *tname = sink_names[sink->type];
    for (int i = 0; i < sd->nkeys; i++) {
        if (((st->set_mask >> i) & 1) && !(sd->keys[i].sink_types & (1u << sink->type)))
            conf_error(ld, st->key_line[i], "key '%s' does not apply to a %s sink in %s",
                       sd->keys[i].name, tname, title);
    }
    if ((sink->type == RW_SINK_SLACK || sink->type == RW_SINK_WEBHOOK) && !kset(st, k, "url"))
        conf_error(ld, st->line, "a %s sink needs 'url' (or 'url_file') in %s", tname, title);
    if (sink->type == RW_SINK_EMAIL) {
        static const char *const need[] = {"smtp_url", "from", "to"};
        for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
            if (!kset(st, k, need[i]))
                conf_error(ld, st->line, "an email sink needs '%s' in %s", need[i], title);
        }
        if (kok(st, k, "to") && kset(st, k, "fallback_to") && !sink->to_owner)
            conf_error(ld, kline(st, k, "fallback_to"),
                       "fallback_to only applies with to = owner in %s", title);
    }
    if (sink->type == RW_SINK_SLACK && !kset(st, k, "rate"))
        sink->rate_per_s = 1.0;
    if (!kset(st, k, "catch_up_digest"))
        sink->catch_up_digest = sink->type == RW_SINK_SLACK || sink->type == RW_SINK_EMAIL;
    if (kok(st, k, "digest") && sink->digest_ms > 0 && sink->digest_ms < 60 * SEC_MS)
        conf_error(ld, kline(st, k, "digest"), "digest must be 0 (none) or at least 1m in %s",
                   title);
    if (kok(st, k, "digest_offset") && sink->digest_offset_ms > 0 &&
        sink->digest_offset_ms >= sink->digest_ms)
        conf_error(ld, kline(st, k, "digest_offset"),
                   "digest_offset must be shorter than digest in %s", title);
}

static void check_route(struct loader *ld, int idx)
{
    const struct sect_state *st = &ld->route_st[idx];
    struct rw_route_conf *route = &ld->cfg->routes[idx];
    enum section_kind k = SEC_ROUTE;
    char title[RW_CONF_NAME_MAX + 16];
    snprintf(title, sizeof(title), "[route \"%s\"]", route->name);
    check_required(ld, k, st, title);
    route->has_min_arr = kok(st, k, "min_arr");
    route->has_within_days = kok(st, k, "within_days");
    for (int i = 0; i < ld->route_nsinks[idx]; i++) {
        const char *name = ld->route_sinks[idx][i];
        int found = -1;
        for (int s = 0; s < ld->cfg->nsinks && found < 0; s++) {
            if (strcmp(ld->cfg->sinks[s].name, name) == 0)
                found = s;
        }
        if (found < 0)
            conf_error(ld, kline(st, k, "sinks"), "unknown sink '%s' in %s", name, title);
        else
            route->sinks[route->nsinks++] = found;
    }
}

void conf_check_all(struct loader *ld)
{
    struct rw_config *cfg = ld->cfg;
    for (int s = 0; s < SEC_PLAIN_COUNT; s++) {
        char title[32];
        snprintf(title, sizeof(title), "[%s]", rw_conf_sections[s].name);
        check_required(ld, (enum section_kind)s, &ld->plain[s], title);
    }
    const struct sect_state *sc = &ld->plain[SEC_SCORE];
    bool bad = kset(sc, SEC_SCORE, "watch") != kok(sc, SEC_SCORE, "watch") ||
               kset(sc, SEC_SCORE, "healthy") != kok(sc, SEC_SCORE, "healthy");
    if (!bad && !(cfg->watch < cfg->healthy)) {
        int line = kset(sc, SEC_SCORE, "watch") ? kline(sc, SEC_SCORE, "watch")
                                                : kline(sc, SEC_SCORE, "healthy");
        conf_error(ld, line, "watch (%g) must be below healthy (%g) in [score]", cfg->watch,
                   cfg->healthy);
    }
    conf_check_redis(ld);
    if (!kset(sc, SEC_SCORE, "confirm_at_risk"))
        cfg->confirm_at_risk_ms = cfg->confirm_ms;
    if (!kset(&ld->plain[SEC_ALERTS], SEC_ALERTS, "band_change_within"))
        cfg->band_change_within = -1;
    for (int i = 0; i < cfg->nsignals; i++)
        check_signal(ld, i);
    for (int i = 0; i < cfg->nsinks; i++)
        check_sink(ld, i);
    for (int i = 0; i < cfg->nroutes; i++)
        check_route(ld, i);
}
