/* test_config.c - the configuration loader: every key type, bound, default,
 * cross-field check and error path, with exact line numbers. */
#include "config_test.h"

static void test_defaults(void **state)
{
    (void)state;
    struct rw_config *cfg = load_ok(BASE);
    char host[256] = "";
    assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
    assert_string_equal(cfg->path, conf_path);
    assert_int_equal(cfg->clock, RW_CLOCK_WALL);
    assert_true(cfg->sweep_interval_ms == 60000);
    assert_true(cfg->shutdown_timeout_ms == 10000);
    assert_int_equal(cfg->log_level, RW_LOG_INFO);
    assert_int_equal(cfg->log_format, RW_LOG_TEXT);
    assert_string_equal(cfg->redis_address, "127.0.0.1:6379");
    assert_null(cfg->redis_username);
    assert_null(cfg->redis_password);
    assert_int_equal(cfg->redis_db, 0);
    assert_int_equal(cfg->nstreams, 1);
    assert_string_equal(cfg->streams[0], "s");
    assert_string_equal(cfg->group, "renewald");
    assert_string_equal(cfg->consumer, host);
    assert_string_equal(cfg->prefix, "renewald:");
    assert_int_equal(cfg->batch, 1000);
    assert_true(cfg->block_ms == 2000);
    assert_true(cfg->lease_ms == 10000);
    assert_string_equal(cfg->http_listen, "127.0.0.1:9187");
    assert_null(cfg->http_token);
    assert_int_equal(cfg->nsignals, 0);
    assert_true(cfg->healthy == 70 && cfg->watch == 40 && cfg->hysteresis == 3);
    assert_true(cfg->confirm_ms == 2 * RW_MS_PER_DAY);
    assert_true(cfg->min_history_ms == 14 * RW_MS_PER_DAY);
    assert_int_equal(cfg->on_band_change, RW_ON_BAND_WORSE);
    assert_int_equal(cfg->nwindows, 3);
    assert_int_equal(cfg->renewal_windows[0], 90);
    assert_int_equal(cfg->renewal_windows[1], 60);
    assert_int_equal(cfg->renewal_windows[2], 30);
    assert_int_equal(cfg->keep, 100000);
    assert_int_equal(cfg->nsinks, 0);
    assert_int_equal(cfg->nroutes, 0);
    char *key = rw_config_key(cfg, "alerts");
    assert_string_equal(key, "renewald:alerts");
    free(key);
    rw_config_free(cfg);
}

static void test_named_defaults(void **state)
{
    (void)state;
    struct rw_config *cfg =
        load_ok(BASE "[signal \"a\"]\ntypes = login\naggregate = rate\nhalf_life = 7d\nlow = 0\n"
                     "high = 1\n[sink \"s\"]\ntype = slack\nurl = https://hooks.slack.com/x\n"
                     "[sink \"w\"]\ntype = webhook\nurl = http://127.0.0.1:8080/h\n"
                     "[route \"r\"]\nsinks = w\n");
    const struct rw_signal_conf *g = &cfg->signals[0];
    assert_string_equal(g->name, "a");
    assert_int_equal(g->ntypes, 1);
    assert_string_equal(g->types[0], "login");
    assert_true(g->weight == 1.0);
    assert_false(g->critical);
    assert_false(g->normalize_seats);
    assert_true(g->baseline_ms == 0);
    const struct rw_sink_conf *s = &cfg->sinks[0];
    assert_int_equal(s->type, RW_SINK_SLACK);
    assert_true(s->rate_per_s == 1.0); /* slack default 1/s */
    assert_true(s->timeout_ms == 10000 && s->retry_initial_ms == 1000);
    assert_true(s->retry_max_ms == 300000);
    assert_int_equal(s->max_attempts, 12);
    assert_int_equal(s->concurrency, 4);
    assert_int_equal(s->tls, RW_TLS_REQUIRED);
    assert_null(s->secret);
    assert_null(s->ca_file);
    assert_true(cfg->sinks[1].rate_per_s == 0); /* others unlimited */
    const struct rw_route_conf *r = &cfg->routes[0];
    assert_int_equal(r->kinds, 0);
    assert_int_equal(r->bands, 0);
    assert_int_equal(r->ntiers, 0);
    assert_false(r->has_min_arr);
    assert_false(r->has_within_days);
    assert_int_equal(r->nsinks, 1);
    assert_int_equal(r->sinks[0], 1);
    rw_config_free(cfg);
}

static void test_example_file(void **state)
{
    (void)state;
    /* TEST_DATA_DIR is <repo>/tests/unit/data, which need not exist */
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s", TEST_DATA_DIR);
    char *tail = strstr(path, "/tests/unit/data");
    assert_non_null(tail);
    snprintf(tail, sizeof(path) - (size_t)(tail - path), "/conf/renewald.conf");
    struct rw_diag d = {0};
    struct rw_config *cfg = rw_config_load(path, &d);
    for (int i = 0; i < d.n; i++)
        print_error("%s\n", d.msgs[i]);
    assert_int_equal(d.n, 0);
    assert_non_null(cfg);
    assert_int_equal(cfg->nstreams, 3);
    assert_string_equal(cfg->streams[0], "events:usage");
    assert_string_equal(cfg->streams[1], "events:support");
    assert_string_equal(cfg->streams[2], "events:accounts");
    assert_true(cfg->nsignals >= 4);
    assert_true(cfg->nsinks >= 2);
    assert_true(cfg->nroutes >= 1);
    rw_config_free(cfg);
}

static void test_all_keys(void **state)
{
    (void)state;
    struct rw_config *cfg = load_ok(
        "[daemon]\nclock = event\nsweep_interval = 5m\nshutdown_timeout = 0\n"
        "log_level = debug\nlog_format = json\n"
        "[redis]\naddress = [::1]:6380\nusername = ren\npassword = pw\ndb = 3\n"
        "streams = a, b ,c\ngroup = g1\nconsumer = c-%H-%%\nprefix = p:{x}:\nbatch = 10\n"
        "block = 500ms\nlease = 1m\n"
        "[http]\nlisten = [::]:9000\ntoken = tok\n"
        "[signal \"t\"]\ntypes = api_call, login\naggregate = trend\nhalf_life = 7d\n"
        "baseline = 60d\nlow = 0.5\nhigh = 1.0\nweight = 2.5\ncritical = yes\n"
        "[signal \"n\"]\ntypes = login\naggregate = rate\nhalf_life = 1h\nlow = 1\nhigh = 0\n"
        "normalize = seats\n"
        "[score]\nhealthy = 80\nwatch = 50.5\nhysteresis = 0\nconfirm = 0\nmin_history = 1d\n"
        "[alerts]\non_band_change = any\nrenewal_windows = 30, 120,7\nkeep = 5\n"
        "[sink \"m\"]\ntype = email\nsmtp_url = smtps://mail.example.com\ntls = none\n"
        "username = u\npassword = p\nca_file = /etc/ca.pem\nfrom = r@example.com\n"
        "to = a@example.com, b@example.org\ntimeout = 2s\nretry_initial = 100ms\n"
        "retry_max = 1h\nmax_attempts = 1000\nrate = 30/m\nconcurrency = 64\n"
        "[sink \"l\"]\ntype = log\n"
        "[route \"r\"]\nkinds = band_change, renewal_window\nbands = at_risk, watch, unknown\n"
        "tiers = gold, silver\nmin_arr = 1000.5\nwithin_days = 0\nsinks = l, m\n");
    assert_int_equal(cfg->clock, RW_CLOCK_EVENT);
    assert_true(cfg->sweep_interval_ms == 300000 && cfg->shutdown_timeout_ms == 0);
    assert_int_equal(cfg->log_level, RW_LOG_DEBUG);
    assert_int_equal(cfg->log_format, RW_LOG_JSON);
    assert_string_equal(cfg->redis_address, "[::1]:6380");
    assert_string_equal(cfg->redis_username, "ren");
    assert_string_equal(cfg->redis_password, "pw");
    assert_int_equal(cfg->redis_db, 3);
    assert_int_equal(cfg->nstreams, 3);
    assert_string_equal(cfg->streams[1], "b");
    assert_string_equal(cfg->group, "g1");
    char host[256] = "", want[300];
    assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
    snprintf(want, sizeof(want), "c-%s-%%", host);
    assert_string_equal(cfg->consumer, want);
    assert_string_equal(cfg->prefix, "p:{x}:");
    assert_int_equal(cfg->batch, 10);
    assert_true(cfg->block_ms == 500 && cfg->lease_ms == 60000);
    assert_string_equal(cfg->http_listen, "[::]:9000");
    assert_string_equal(cfg->http_token, "tok");
    assert_int_equal(cfg->nsignals, 2);
    const struct rw_signal_conf *t = &cfg->signals[0];
    assert_int_equal(t->aggregate, RW_AGG_TREND);
    assert_int_equal(t->ntypes, 2);
    assert_string_equal(t->types[1], "login");
    assert_true(t->baseline_ms == 60 * RW_MS_PER_DAY && t->half_life_ms == 7 * RW_MS_PER_DAY);
    assert_true(t->low == 0.5 && t->high == 1.0 && t->weight == 2.5 && t->critical);
    assert_true(cfg->signals[1].normalize_seats);
    assert_true(cfg->healthy == 80 && cfg->watch == 50.5 && cfg->hysteresis == 0);
    assert_true(cfg->confirm_ms == 0 && cfg->min_history_ms == RW_MS_PER_DAY);
    assert_int_equal(cfg->on_band_change, RW_ON_BAND_ANY);
    assert_int_equal(cfg->nwindows, 3);
    assert_int_equal(cfg->renewal_windows[0], 120);
    assert_int_equal(cfg->renewal_windows[1], 30);
    assert_int_equal(cfg->renewal_windows[2], 7);
    assert_int_equal(cfg->keep, 5);
    const struct rw_sink_conf *m = &cfg->sinks[0];
    assert_int_equal(m->type, RW_SINK_EMAIL);
    assert_string_equal(m->smtp_url, "smtps://mail.example.com");
    assert_int_equal(m->tls, RW_TLS_NONE);
    assert_string_equal(m->username, "u");
    assert_string_equal(m->password, "p");
    assert_string_equal(m->ca_file, "/etc/ca.pem");
    assert_string_equal(m->from, "r@example.com");
    assert_false(m->to_owner);
    assert_int_equal(m->nto, 2);
    assert_string_equal(m->to[1], "b@example.org");
    assert_true(m->timeout_ms == 2000 && m->retry_initial_ms == 100 && m->retry_max_ms == 3600000);
    assert_int_equal(m->max_attempts, 1000);
    assert_true(m->rate_per_s == 0.5);
    assert_int_equal(m->concurrency, 64);
    const struct rw_route_conf *r = &cfg->routes[0];
    assert_int_equal(r->kinds, (1u << RW_ALERT_BAND_CHANGE) | (1u << RW_ALERT_RENEWAL_WINDOW));
    assert_int_equal(r->bands, (1u << RW_BAND_AT_RISK) | (1u << RW_BAND_WATCH) | 1u);
    assert_int_equal(r->ntiers, 2);
    assert_string_equal(r->tiers[0], "gold");
    assert_true(r->has_min_arr && r->min_arr == 1000.5);
    assert_true(r->has_within_days && r->within_days == 0);
    assert_int_equal(r->nsinks, 2);
    assert_int_equal(r->sinks[0], 1);
    assert_int_equal(r->sinks[1], 0);
    rw_config_free(cfg);
}

/* Values checked one by one: SUB NULL means the file loads; else exactly one
 * error on the last line containing SUB. */
struct value_case {
    const char *text;
    const char *sub;
};

static const struct value_case value_cases[] = {
    /* enum */
    {BASE "[daemon]\nclock = event\n", NULL},
    {BASE "[daemon]\nclock = Wall\n", "bad value 'Wall' for key 'clock' in [daemon]: expected "
                                      "one of wall, event"},
    {BASE "[daemon]\nlog_level = verbose\n", "one of debug, info, warn, error"},
    {BASE "[daemon]\nlog_format = xml\n", "one of text, json"},
    {BASE "[alerts]\non_band_change = better\n", "one of worse, any, none"},
    /* duration and its bounds */
    {BASE "[daemon]\nsweep_interval = 1s\n", NULL},
    {BASE "[daemon]\nsweep_interval = 1d\n", NULL},
    {BASE "[daemon]\nsweep_interval = 999ms\n", "expected a duration in 1s..1d"},
    {BASE "[daemon]\nsweep_interval = 25h\n", "1s..1d"},
    {BASE "[daemon]\nsweep_interval = 60\n", "bad value '60' for key 'sweep_interval'"},
    {BASE "[daemon]\nsweep_interval = 60s5\n", "duration"},
    {BASE "[daemon]\nsweep_interval = 99999999999999999999w\n", "duration"},
    {BASE "[daemon]\nshutdown_timeout = 1h\n", NULL},
    {BASE "[daemon]\nshutdown_timeout = 61m\n", "0..1h"},
    {"[redis]\nstreams = s\nblock = 1ms\n", NULL},
    {"[redis]\nstreams = s\nblock = 60s\n", NULL},
    {"[redis]\nstreams = s\nblock = 0\n", "1ms..1m"},
    {"[redis]\nstreams = s\nblock = 61s\n", "1ms..1m"},
    {"[redis]\nstreams = s\nlease = 999ms\n", "1s..10m"},
    {"[redis]\nstreams = s\nlease = 11m\n", "1s..10m"},
    {BASE "[score]\nconfirm = 366d\n", "0..365d"},
    {BASE "[score]\nmin_history = 3651d\n", "0..3650d"},
    {BASE SIG "baseline = 1d\n", "baseline only applies to aggregate = trend"},
    {BASE "[signal \"g\"]\ntypes = x\naggregate = rate\nlow = 0\nhigh = 1\nhalf_life = 0\n",
     "1s..3650d"},
    {BASE WEB "timeout = 99ms\n", "100ms..10m"},
    {BASE WEB "timeout = 10m\n", NULL},
    {BASE WEB "retry_initial = 9ms\n", "10ms..1h"},
    {BASE WEB "retry_max = 8d\n", "10ms..7d"},
    {BASE WEB "retry_initial = 10s\nretry_max = 5s\n", "retry_max must not be shorter"},
    /* integers */
    {"[redis]\nstreams = s\nbatch = 1\n", NULL},
    {"[redis]\nstreams = s\nbatch = 100000\n", NULL},
    {"[redis]\nstreams = s\nbatch = 0\n", "expected an integer in 1..100000"},
    {"[redis]\nstreams = s\nbatch = 100001\n", "1..100000"},
    {"[redis]\nstreams = s\nbatch = 10x\n", "bad value '10x' for key 'batch'"},
    {"[redis]\nstreams = s\nbatch = ten\n", "1..100000"},
    {"[redis]\nstreams = s\nbatch = 99999999999999999999\n", "1..100000"},
    {"[redis]\nstreams = s\nbatch = 1.0\n", "1..100000"},
    {"[redis]\nstreams = s\ndb = 2147483647\n", NULL},
    {"[redis]\nstreams = s\ndb = -1\n", "0..2147483647"},
    {"[redis]\nstreams = s\ndb = 2147483648\n", "0..2147483647"},
    {BASE "[alerts]\nkeep = 0\n", "1..1000000000"},
    {BASE "[alerts]\nkeep = 1000000001\n", "1..1000000000"},
    {BASE WEB "max_attempts = 0\n", "1..1000"},
    {BASE WEB "max_attempts = 1001\n", "1..1000"},
    {BASE WEB "concurrency = 0\n", "1..64"},
    {BASE WEB "concurrency = 65\n", "1..64"},
    {BASE "[route \"r\"]\nsinks = w\nwithin_days = 3650\n" WEB, NULL},
    {BASE WEB "[route \"r\"]\nsinks = w\nwithin_days = 3651\n", "0..3650"},
    {BASE WEB "[route \"r\"]\nsinks = w\nwithin_days = -1\n", "0..3650"},
    /* doubles */
    {BASE "[score]\nhealthy = 100\nwatch = 0\n", NULL},
    {BASE "[score]\nhealthy = 100.5\n", "expected a number in 0..100"},
    {BASE "[score]\nwatch = -1\n", "0..100"},
    {BASE "[score]\nhysteresis = -0.5\n", "0..100"},
    {BASE "[score]\nhysteresis = nan\n", "0..100"},
    {BASE "[score]\nhealthy = 1e400\n", "0..100"},
    {BASE "[score]\nhealthy = 70%\n", "0..100"},
    {BASE SIG "weight = 0\n", NULL},
    {BASE SIG "weight = -1\n", "bad value '-1' for key 'weight'"},
    {BASE SIG "weight = inf\n", "weight"},
    {BASE WEB "[route \"r\"]\nsinks = w\nmin_arr = -5\n", "min_arr"},
    /* bool */
    {BASE SIG "critical = off\n", NULL},
    {BASE SIG "critical = maybe\n", "expected true or false"},
    /* rate */
    {BASE WEB "rate = 100/h\n", NULL},
    {BASE WEB "rate = 0\n", NULL},
    {BASE WEB "rate = 10001/s\n", "at most 10000/s"},
    {BASE WEB "rate = 5\n", "bad value '5' for key 'rate'"},
    {BASE WEB "rate = 5/d\n", "rate"},
    /* strings and their checks */
    {"[redis]\nstreams = s\naddress = 10.0.0.1:1\n", NULL},
    {"[redis]\nstreams = s\naddress = unix:/run/redis.sock\n", NULL},
    {"[redis]\nstreams = s\naddress = localhost:6379\n", "not a host name"},
    {"[redis]\nstreams = s\naddress = 10.0.0.1\n", "IPv4:PORT"},
    {"[redis]\nstreams = s\naddress = 10.0.0.1:0\n", "IPv4:PORT"},
    {"[redis]\nstreams = s\naddress = 10.0.0.1:65536\n", "IPv4:PORT"},
    {"[redis]\nstreams = s\naddress = 10.0.0.1:80x\n", "IPv4:PORT"},
    {"[redis]\nstreams = s\naddress = ::1:6379\n", "IPv4:PORT"},
    {"[redis]\nstreams = s\naddress = [::1]6379\n", "IPv4:PORT"},
    {"[redis]\nstreams = s\naddress = unix:run/redis.sock\n", "unix:/absolute/path"},
    {"[redis]\nstreams = s\naddress = unix:/a b\n", "unix:/absolute/path"},
    {"[redis]\nstreams = s\nprefix = a b\n", "must not contain spaces"},
    {"[redis]\nstreams = s\nprefix =\n", "must not be empty"},
    {"[redis]\nstreams = s\ngroup =\n", "must not be empty"},
    {"[redis]\nstreams = s\nusername = a b\n", "spaces"},
    {"[redis]\nstreams = a b\n", "without spaces"},
    {"[redis]\nstreams =\n", "at least one stream"},
    {"[redis]\nstreams = a,,b\n", "empty item"},
    {"[redis]\nstreams = a, a\n", "appears twice"},
    {"[redis]\nstreams = s\nconsumer = %x\n", "only %H"},
    {"[redis]\nstreams = s\nconsumer = a b\n", "spaces"},
    {BASE "[http]\nlisten = 0.0.0.0:80\n", NULL},
    {BASE "[http]\nlisten = localhost:80\n", "bad value 'localhost:80' for key 'listen'"},
    {BASE "[http]\nlisten = unix:/x\n", "listen"},
    {BASE "[http]\ntoken = a b\n", "bad value for key 'token' in [http]"},
    {BASE "[sink \"w\"]\ntype = webhook\nurl = ftp://x\n", "bad value for key 'url'"},
    {BASE "[sink \"w\"]\ntype = webhook\nurl = https://\n", "http:// or https://"},
    {BASE "[sink \"w\"]\ntype = webhook\nurl = https://a b\n", "http:// or https://"},
    {BASE "[sink \"w\"]\ntype = pager\n", "one of slack, webhook, email, log"},
    {BASE MAIL "smtp_url = http://x\n", "duplicate key 'smtp_url'"},
    {BASE "[sink \"m\"]\ntype = email\nfrom = a@b.c\nto = owner\nsmtp_url = imap://x\n",
     "smtp:// or smtps://"},
    {BASE "[sink \"m\"]\ntype = email\nsmtp_url = smtp://x\nto = owner\nfrom = nobody\n",
     "e-mail address"},
    {BASE "[sink \"m\"]\ntype = email\nsmtp_url = smtp://x\nfrom = a@b.c\nto = owner, a@b.c\n",
     "owner cannot be combined"},
    {BASE "[sink \"m\"]\ntype = email\nsmtp_url = smtp://x\nfrom = a@b.c\nto = a@b.c, x\n",
     "e-mail addresses"},
    {BASE "[sink \"m\"]\ntype = email\nsmtp_url = smtp://x\nfrom = a@b.c\nto = a@b.c\n"
          "fallback_to = c@d.e\n",
     "fallback_to only applies with to = owner"},
    {BASE MAIL "tls = maybe\n", "one of required, opportunistic, none"},
    {BASE MAIL "tls = opportunistic\nfallback_to = x@y.z\n", NULL},
    {BASE SIG "normalize = users\n", "expected seats or none"},
    {BASE "[signal \"g\"]\naggregate = rate\nhalf_life = 1d\nlow = 0\nhigh = 1\ntypes = a,a\n",
     "appears twice"},
    /* renewal windows */
    {BASE "[alerts]\nrenewal_windows =\n", NULL},
    {BASE "[alerts]\nrenewal_windows = 3650, 1\n", NULL},
    {BASE "[alerts]\nrenewal_windows = 0\n", "1..3650"},
    {BASE "[alerts]\nrenewal_windows = 3651\n", "1..3650"},
    {BASE "[alerts]\nrenewal_windows = 30, x\n", "1..3650"},
    {BASE "[alerts]\nrenewal_windows = 30, 60, 30\n", "a window appears twice"},
    {BASE "[alerts]\nrenewal_windows = 1,2,3,4,5,6,7,8,9\n", "too many items (at most 8)"},
    /* routes */
    {BASE WEB "[route \"r\"]\nsinks = w\nkinds = band_change, churn\n",
     "band_change, renewal_window"},
    {BASE WEB "[route \"r\"]\nsinks = w\nbands = red\n", "unknown, healthy, watch, at_risk"},
    {BASE WEB "[route \"r\"]\nsinks = w\ntiers = a,a\n", "appears twice"},
    {BASE WEB "[route \"r\"]\nsinks = w, nope\n", "unknown sink 'nope' in [route \"r\"]"},
    {BASE WEB "[route \"r\"]\nsinks =\n", "at least one sink"},
    /* keys that do not apply to a sink type */
    {BASE "[sink \"s\"]\ntype = slack\nurl = https://x\nsecret = k\n",
     "key 'secret' does not apply to a slack sink"},
    {BASE WEB "fallback_to = a@b.c\n", "key 'fallback_to' does not apply to a webhook sink"},
    {BASE "[sink \"l\"]\ntype = log\nurl = https://x\n", "key 'url' does not apply to a log"},
    {BASE "[sink \"l\"]\ntype = log\nrate = 1/s\n", NULL},
    /* unknown keys, sections, K_file on non-string keys */
    {BASE "[daemon]\nfoo = 1\n", "unknown key 'foo' in [daemon]"},
    {BASE WEB "[route \"r\"]\nsinks = w\nsinks_file = x\n", "unknown key 'sinks_file'"},
    {BASE "[daemon]\nclock_file = x\n", "unknown key 'clock_file'"},
    {"x = 1\n" BASE, "key 'x' outside of any section"},
};

static void test_values(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(value_cases) / sizeof(value_cases[0]); i++) {
        const struct value_case *c = &value_cases[i];
        if (!c->sub) {
            rw_config_free(load_ok(c->text));
            continue;
        }
        bool outside = strncmp(c->text, "x = 1", 5) == 0;
        expect_error(c->text, outside ? 1 : -1, c->sub);
    }
}

/* The example of the brief: every error is reported, each at its own line. */
static void test_multiple_errors(void **state)
{
    (void)state;
    struct rw_diag d;
    const char *text = "[redis]\n"            /* 1 */
                       "streams = s\n"        /* 2 */
                       "[nosuch]\n"           /* 3 */
                       "whatever = 1\n"       /* 4: ignored, section was reported */
                       "\n"                   /* 5 */
                       "[signal \"g\"]\n"     /* 6 */
                       "types = x\n"          /* 7 */
                       "half_life = 1d\n"     /* 8 */
                       "aggregate = median\n" /* 9 */
                       "low = 0\n"            /* 10 */
                       "high = 1\n";          /* 11 */
    assert_null(load(text, &d));
    assert_int_equal(d.n, 2);
    assert_string_equal(msg_at(&d, 0, 3), "unknown section [nosuch]");
    assert_non_null(strstr(msg_at(&d, 1, 9), "bad value 'median' for key 'aggregate'"));
    rw_diag_free(&d);

    /* more at once: syntax, keys, required keys at the header, cross checks */
    text = "; comment\n"                    /* 1 */
           "[daemon]\n"                     /* 2 */
           "clock = sometimes\n"            /* 3 */
           "this line has no equals sign\n" /* 4 */
           "[redis]\n"                      /* 5 */
           "batch = 0\n"                    /* 6 */
           "[sink \"w\"]\n"                 /* 7 */
           "type = webhook\n"               /* 8 */
           "[route \"r\"]\n"                /* 9 */
           "sinks = w, ghost\n"             /* 10 */
           "[signal \"g\"]\n"               /* 11 */
           "low = 1\n"                      /* 12 */
           "high = 1\n"                     /* 13 */
           "[score]\n"                      /* 14 */
           "watch = 80\n"                   /* 15 */
           "=x\n";                          /* 16 */
    assert_null(load(text, &d));
    int i = 0;
    assert_non_null(strstr(msg_at(&d, i++, 3), "'sometimes' for key 'clock'"));
    assert_non_null(strstr(msg_at(&d, i++, 4), "expected 'key = value'"));
    assert_string_equal(msg_at(&d, i++, 5), "missing required key 'streams' in [redis]");
    assert_non_null(strstr(msg_at(&d, i++, 6), "'0' for key 'batch'"));
    assert_non_null(strstr(msg_at(&d, i++, 7), "a webhook sink needs 'url'"));
    assert_string_equal(msg_at(&d, i++, 10), "unknown sink 'ghost' in [route \"r\"]");
    assert_non_null(strstr(msg_at(&d, i++, 11), "missing required key 'types'"));
    assert_non_null(strstr(msg_at(&d, i++, 11), "missing required key 'aggregate'"));
    assert_non_null(strstr(msg_at(&d, i++, 11), "missing required key 'half_life'"));
    assert_non_null(strstr(msg_at(&d, i++, 13), "low and high must differ"));
    assert_non_null(strstr(msg_at(&d, i++, 15), "watch (80) must be below healthy (70)"));
    assert_non_null(strstr(msg_at(&d, i++, 16), "missing key name"));
    assert_int_equal(d.n, i);
    rw_diag_free(&d);
}

static void test_missing(void **state)
{
    (void)state;
    struct rw_diag d;
    assert_null(load("[daemon]\nclock = wall\n", &d));
    assert_int_equal(d.n, 1);
    assert_string_equal(msg_at(&d, 0, 0), "missing section [redis] (key 'streams' is required)");
    rw_diag_free(&d);
    assert_null(load("", &d));
    assert_int_equal(d.n, 1);
    rw_diag_free(&d);

    memset(&d, 0, sizeof(d));
    assert_null(rw_config_load("/nonexistent/renewald.conf", &d));
    assert_int_equal(d.n, 1);
    assert_string_equal(d.msgs[0], "/nonexistent/renewald.conf: cannot open: No such file or "
                                   "directory");
    rw_diag_free(&d);

    expect_error(BASE "\n[sink \"e\"]\ntype = email\nfrom = a@b.c\n\nto = owner\n", 4,
                 "an email sink needs 'smtp_url'");
    assert_null(load(BASE "[sink \"e\"]\ntype = email\n", &d));
    assert_int_equal(d.n, 3); /* smtp_url, from, to */
    assert_non_null(strstr(msg_at(&d, 1, 3), "needs 'from'"));
    assert_non_null(strstr(msg_at(&d, 2, 3), "needs 'to'"));
    rw_diag_free(&d);
    expect_error(BASE "[sink \"s\"]\ntype = slack\n", 3,
                 "a slack sink needs 'url' (or 'url_file')");
    expect_error(BASE "[sink \"x\"]\nrate = 1/s\n", 3, "missing required key 'type'");
    expect_error(BASE "[route \"r\"]\nkinds = band_change\n", 3, "missing required key 'sinks'");
}

static void test_signal_checks(void **state)
{
    (void)state;
    expect_error(BASE "[signal \"t\"]\ntypes = x\naggregate = trend\nhalf_life = 7d\nlow = 0\n"
                      "high = 1\n",
                 3, "aggregate = trend and needs 'baseline'");
    expect_error(BASE "[signal \"t\"]\ntypes = x\naggregate = trend\nhalf_life = 7d\n"
                      "baseline = 7d\nlow = 0\nhigh = 1\n",
                 7, "baseline must be longer than half_life");
    rw_config_free(load_ok(BASE "[signal \"t\"]\ntypes = x\naggregate = trend\nhalf_life = 7d\n"
                                "baseline = 169h\nlow = 0\nhigh = 1\n"));
    expect_error(BASE "[signal \"m\"]\ntypes = x\naggregate = mean\nhalf_life = 7d\n"
                      "normalize = seats\nlow = 0\nhigh = 1\n",
                 7, "normalize = seats only applies to aggregate = rate");
    rw_config_free(load_ok(BASE "[signal \"m\"]\ntypes = x\naggregate = mean\nhalf_life = 7d\n"
                                "normalize = none\nlow = 0\nhigh = 1\n"));
    expect_error(BASE "[signal \"m\"]\ntypes = x\naggregate = recency\nhalf_life = 7d\n"
                      "high = -2.5\nlow = -2.5\n",
                 7, "low and high must differ");
    /* a bad aggregate does not cascade into the trend checks */
    expect_error(BASE "[signal \"m\"]\ntypes = x\naggregate = trendy\nhalf_life = 7d\n"
                      "baseline = 1d\nlow = 0\nhigh = 1\n",
                 5, "'trendy'");
    expect_error(BASE "[score]\nhealthy = 40\n", 4, "watch (40) must be below healthy (40)");
    expect_error(BASE "[score]\nhealthy = 50\nwatch = 60\n", 5, "must be below healthy");
}

static void test_comments_and_syntax(void **state)
{
    (void)state;
    struct rw_config *cfg = load_ok("# leading comment\n"
                                    "  ; indented comment\n"
                                    "[redis]   ; header comment\n"
                                    "streams = a,b   ; two streams\n"
                                    "prefix = x#y:    # kept: no blank before '#'\n"
                                    "group = g;h\n"
                                    "[daemon]\n"
                                    "clock = event\t# tab before comment\n"
                                    "   log_level = warn\n"
                                    "[sink \"w\"]\n"
                                    "type=webhook\n"
                                    "url = https://x.example.com/a#frag;x=1 ; comment\n");
    assert_int_equal(cfg->nstreams, 2);
    assert_string_equal(cfg->prefix, "x#y:");
    assert_string_equal(cfg->group, "g;h");
    assert_int_equal(cfg->clock, RW_CLOCK_EVENT);
    assert_int_equal(cfg->log_level, RW_LOG_WARN);
    assert_string_equal(cfg->sinks[0].url, "https://x.example.com/a#frag;x=1");
    rw_config_free(cfg);

    /* CRLF line ends and a UTF-8 byte order mark */
    cfg = load_ok("\xEF\xBB\xBF[redis]\r\nstreams = s\r\n[http]\r\nlisten =\r\n");
    assert_null(cfg->http_listen);
    rw_config_free(cfg);

    expect_error(BASE "[daemon]\nclock = wall\x01\n", 4, "control character");
    expect_error("[redis]\nstreams = s\n[daemon\n", 3, "malformed section header");
    expect_error(BASE "[daemon]\n = x\n", 4, "missing key name");
    expect_error(BASE "[daemon]\njunk\n", 4, "expected 'key = value' or a [section] header");
    /* a final line without a newline still counts */
    expect_error(BASE "[daemon]\nclock = x", 4, "'x' for key 'clock'");
}

static void test_long_lines(void **state)
{
    (void)state;
    char text[8192];
    int n = snprintf(text, sizeof(text), "[redis]\nstreams = ");
    for (int i = 0; i < RW_MAX_STREAMS; i++)
        n += snprintf(text + n, sizeof(text) - (size_t)n, "%sevents:{p%02d}:usage-stream",
                      i ? ", " : "", i);
    n += snprintf(text + n, sizeof(text) - (size_t)n,
                  "\n[sink \"w\"]\ntype = webhook\nurl = "
                  "https://h.example.com/");
    for (int i = 0; i < 500; i++)
        text[n++] = 'a';
    snprintf(text + n, sizeof(text) - (size_t)n, "   ; comment\n[daemon]\nclock = event\n");
    struct rw_config *cfg = load_ok(text);
    assert_int_equal(cfg->nstreams, RW_MAX_STREAMS);
    assert_string_equal(cfg->streams[31], "events:{p31}:usage-stream");
    assert_int_equal(strlen(cfg->sinks[0].url), strlen("https://h.example.com/") + 500);
    assert_int_equal(cfg->clock, RW_CLOCK_EVENT);
    rw_config_free(cfg);

    /* one stream too many */
    n = snprintf(text, sizeof(text), "[redis]\nstreams = ");
    for (int i = 0; i <= RW_MAX_STREAMS; i++)
        n += snprintf(text + n, sizeof(text) - (size_t)n, "%ss%d", i ? "," : "", i);
    snprintf(text + n, sizeof(text) - (size_t)n, "\n");
    expect_error(text, 2, "too many items (at most 32)");

    /* a key name too long for any table */
    memset(text, 0, sizeof(text));
    n = snprintf(text, sizeof(text), BASE "[daemon]\n");
    memset(text + n, 'k', 400);
    snprintf(text + n + 400, sizeof(text) - (size_t)n - 400, " = 1\n");
    expect_error(text, 4, "unknown key 'kkkk");
}

static void test_section_names(void **state)
{
    (void)state;
    char name[RW_CONF_NAME_MAX + 2];
    memset(name, 'n', sizeof(name));
    name[RW_CONF_NAME_MAX] = '\0';
    char text[512];
    snprintf(text, sizeof(text), BASE "[sink \"%s\"]\ntype = log\n", name);
    struct rw_config *cfg = load_ok(text);
    assert_string_equal(cfg->sinks[0].name, name);
    rw_config_free(cfg);
    cfg = load_ok(BASE "[ sink  \"A-z_0.9\" ]\ntype = log\n");
    assert_string_equal(cfg->sinks[0].name, "A-z_0.9");
    rw_config_free(cfg);

    name[RW_CONF_NAME_MAX] = 'n';
    name[RW_CONF_NAME_MAX + 1] = '\0';
    snprintf(text, sizeof(text), BASE "[sink \"%s\"]\ntype = log\n", name);
    expect_error(text, 3, "bad name");
    expect_error(BASE "[sink \"a b\"]\ntype = log\n", 3, "bad name \"a b\" for [sink]");
    expect_error(BASE "[sink \"a/b\"]\ntype = log\n", 3, "bad name");
    expect_error(BASE "[sink \"\"]\ntype = log\n", 3, "bad name");
    expect_error(BASE "[sink logs]\ntype = log\n", 3, "bad name");
    expect_error(BASE "[sink \"x]\ntype = log\n", 3, "bad name");
    expect_error(BASE "[sink]\ntype = log\n", 3, "section [sink] needs a name");
    expect_error(BASE "[daemon \"x\"]\nclock = wall\n", 3, "section [daemon] takes no name");
    expect_error(BASE "[Daemon]\nclock = wall\n", 3, "unknown section [Daemon]");
}

static void test_duplicates(void **state)
{
    (void)state;
    expect_error(BASE "[sink \"a\"]\ntype = log\n[sink \"a\"]\ntype = nonsense\n", 5,
                 "duplicate section [sink \"a\"] (first at line 3)");
    expect_error(BASE "[daemon]\n[score]\n[daemon]\nclock = x\n", 5,
                 "duplicate section [daemon] (first at line 3)");
    expect_error(BASE "[daemon]\nclock = wall\nclock = event\n", 5,
                 "duplicate key 'clock' in [daemon] (first at line 4)");
    /* the same name in different kinds is fine */
    rw_config_free(load_ok(BASE "[sink \"x\"]\ntype = log\n[route \"x\"]\nsinks = x\n" SIG));
}

static void test_too_many(void **state)
{
    (void)state;
    static const struct {
        const char *fmt;
        int max;
        const char *sub;
    } cases[] = {
        {"[signal \"s%d\"]\ntypes = x\naggregate = rate\nhalf_life = 1d\nlow = 0\nhigh = 1\n",
         RW_MAX_SIGNALS, "too many [signal] sections (at most 16)"},
        {"[sink \"s%d\"]\ntype = log\n", RW_MAX_SINKS, "too many [sink] sections (at most 32)"},
        {"[route \"r%d\"]\nsinks = l\n", RW_MAX_ROUTES, "too many [route] sections (at most 64)"},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        size_t size = 64 * 1024, n = 0;
        char *text = malloc(size);
        assert_non_null(text);
        n += (size_t)snprintf(text, size, BASE "[sink \"l\"]\ntype = log\n");
        int first = c == 1 ? 1 : 0; /* the sink "l" counts */
        for (int i = first; i < cases[c].max; i++)
            n += (size_t)snprintf(text + n, size - n, cases[c].fmt, i);
        rw_config_free(load_ok(text));
        int line = 1;
        for (size_t i = 0; i < n; i++)
            line += text[i] == '\n';
        snprintf(text + n, size - n, cases[c].fmt, 999);
        expect_error(text, line, cases[c].sub);
        free(text);
    }
    char text[2048];
    int n = snprintf(text, sizeof(text),
                     BASE "[signal \"g\"]\naggregate = rate\nhalf_life = 1d\n"
                          "low = 0\nhigh = 1\ntypes = t0");
    for (int i = 1; i <= RW_MAX_SIGNAL_TYPES; i++)
        n += snprintf(text + n, sizeof(text) - (size_t)n, ",t%d", i);
    snprintf(text + n, sizeof(text) - (size_t)n, "\n");
    expect_error(text, -1, "too many items (at most 16)");
    n = snprintf(text, sizeof(text), BASE MAIL);
    text[n - 6] = '\0'; /* drop "owner\n" */
    n -= 6;
    for (int i = 0; i <= RW_MAX_RECIPIENTS; i++)
        n += snprintf(text + n, sizeof(text) - (size_t)n, "%sa%d@x.y", i ? "," : "", i);
    snprintf(text + n, sizeof(text) - (size_t)n, "\n");
    expect_error(text, -1, "too many items (at most 16)");
    n = snprintf(text, sizeof(text),
                 BASE "[sink \"l\"]\ntype = log\n[route \"r\"]\nsinks = l\n"
                      "tiers = t0");
    for (int i = 1; i <= RW_MAX_TIERS; i++)
        n += snprintf(text + n, sizeof(text) - (size_t)n, ",t%d", i);
    snprintf(text + n, sizeof(text) - (size_t)n, "\n");
    expect_error(text, -1, "too many items (at most 16)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_named_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_example_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multiple_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signal_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_comments_and_syntax, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_section_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_many, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
