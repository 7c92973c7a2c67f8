/* test_config_files.c - the config loader's K_file keys, secrets kept out of
 * messages, %H expansion and the restart-keys comparison. */
#include "config_test.h"

#define SLACK "[sink \"s\"]\ntype = slack\n"

static struct rw_diag diag;

static void test_file_relative_to_config(void **state)
{
    (void)state;
    write_in(tmpdir, "hook", "https://hooks.slack.com/services/T/B/X\n");
    write_in(tmpdir, "pw", "p@ss word\r\n");
    write_in(tmpdir, "tok", "tok");     /* no newline at all */
    write_in(tmpdir, "two", "two\n\n"); /* only one newline is stripped */
    struct rw_config *cfg = load_ok("[redis]\nstreams = s\npassword_file = pw\n"
                                    "[http]\ntoken_file = tok\n" SLACK "url_file = hook\n");
    assert_string_equal(cfg->sinks[0].url, "https://hooks.slack.com/services/T/B/X");
    assert_string_equal(cfg->redis_password, "p@ss word");
    assert_string_equal(cfg->http_token, "tok");
    rw_config_free(cfg);

    assert_null(load(BASE "[http]\ntoken_file = two\n", &diag));
    assert_int_equal(diag.n, 1);
    assert_non_null(strstr(msg_at(&diag, 0, 4), "holds more than one line"));
    assert_null(strstr(diag.msgs[0], "two\n"));
    rw_diag_free(&diag);

    /* an absolute path */
    char text[PATH_MAX + 128];
    snprintf(text, sizeof(text), BASE "[http]\ntoken_file = %s/tok\n", tmpdir);
    cfg = load_ok(text);
    assert_string_equal(cfg->http_token, "tok");
    rw_config_free(cfg);

    /* ca_file is a string key too: ca_file_file reads the path from a file */
    write_in(tmpdir, "ca", "/etc/ssl/ca.pem\n");
    cfg = load_ok(BASE "[sink \"w\"]\ntype = webhook\nurl = https://x\nca_file_file = ca\n");
    assert_string_equal(cfg->sinks[0].ca_file, "/etc/ssl/ca.pem");
    rw_config_free(cfg);
}

static void test_file_credentials_directory(void **state)
{
    (void)state;
    char cred[PATH_MAX + 16];
    snprintf(cred, sizeof(cred), "%s/cred", tmpdir);
    assert_int_equal(mkdir(cred, 0700), 0);
    write_in(cred, "secret", "from-credentials\n");
    write_in(tmpdir, "secret", "from-config-dir\n");
    setenv("CREDENTIALS_DIRECTORY", cred, 1);
    struct rw_config *cfg =
        load_ok(BASE "[sink \"w\"]\ntype = webhook\nurl = https://x\nsecret_file = secret\n");
    assert_string_equal(cfg->sinks[0].secret, "from-credentials");
    rw_config_free(cfg);
    unsetenv("CREDENTIALS_DIRECTORY");
    cfg = load_ok(BASE "[sink \"w\"]\ntype = webhook\nurl = https://x\nsecret_file = secret\n");
    assert_string_equal(cfg->sinks[0].secret, "from-config-dir");
    rw_config_free(cfg);
}

static void test_file_errors(void **state)
{
    (void)state;
    write_in(tmpdir, "hook", "https://hooks.slack.com/services/T/B/SECRETVALUE\n");
    expect_error(BASE SLACK "url = https://a\nurl_file = hook\n", 6,
                 "both 'url' and 'url_file' given in [sink \"s\"]");
    expect_error(BASE SLACK "url_file = hook\nurl = https://a\n", 6, "both 'url' and 'url_file'");
    expect_error(BASE SLACK "url_file = hook\nurl_file = hook\n", 6, "duplicate key 'url_file'");
    char want[PATH_MAX + 64];
    snprintf(want, sizeof(want), "cannot read '%s/missing' for key 'url_file': No such file",
             tmpdir);
    expect_error(BASE SLACK "url_file = missing\n", 5, want);
    expect_error(BASE SLACK "url_file =\n", 5, "empty file name for key 'url_file'");
    snprintf(want, sizeof(want), "'%s/dir' for key 'url_file' is not a regular file", tmpdir);
    char dir[PATH_MAX + 16];
    snprintf(dir, sizeof(dir), "%s/dir", tmpdir);
    assert_int_equal(mkdir(dir, 0700), 0);
    expect_error(BASE SLACK "url_file = dir\n", 5, want);

    /* too large, NUL, more lines: the key and file are named, never the contents */
    char *big = malloc(64 * 1024 + 2);
    assert_non_null(big);
    memset(big, 'S', 64 * 1024 + 1);
    big[64 * 1024 + 1] = '\0';
    write_in(tmpdir, "big", big);
    expect_error(BASE SLACK "url_file = big\n", 5, "is larger than 64 KiB");
    big[64 * 1024] = '\n'; /* exactly 64 KiB plus a newline is too large as well */
    write_in(tmpdir, "big", big);
    expect_error(BASE SLACK "url_file = big\n", 5, "is larger than 64 KiB");
    free(big);
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/nul", tmpdir);
    write_bytes(path, "SECRET\0VALUE\n", 13);
    expect_error(BASE SLACK "url_file = nul\n", 5, "contains a NUL byte");
    write_in(tmpdir, "lines", "SECRET\nVALUE\n");
    expect_error(BASE SLACK "url_file = lines\n", 5, "holds more than one line");
    write_in(tmpdir, "bad", "ftp://SECRETVALUE\n");
    expect_error(BASE SLACK "url_file = bad\n", 5,
                 "bad value in the file of key 'url_file' in [sink \"s\"]: expected an http");
    write_in(tmpdir, "lines", "SECRETVALUE\n");
    assert_null(load(BASE SLACK "url_file = lines\n[sink \"s\"]\ntype = log\n", &diag));
    for (int i = 0; i < diag.n; i++)
        assert_null(strstr(diag.msgs[i], "SECRET"));
    rw_diag_free(&diag);
}

/* Secrets given inline are not echoed either; other values are. */
static void test_secrets_not_echoed(void **state)
{
    (void)state;
    static const char *const texts[] = {
        BASE SLACK "url = hxxps://SECRETVALUE\n",
        BASE "[sink \"w\"]\ntype = webhook\nurl = https://SECRETVALUE x\n",
        BASE "[sink \"w\"]\ntype = webhook\nurl = https://x\nsecret = SECRETVALUE\x02\n",
        BASE "[sink \"m\"]\ntype = email\nsmtp_url = smtp://x\nfrom = a@b.c\nto = owner\n"
             "password = SECRETVALUE\x7f\n",
        BASE "[sink \"m\"]\ntype = email\nfrom = a@b.c\nto = owner\nsmtp_url = SECRETVALUE\n",
        BASE "[http]\ntoken = SECRET VALUE\n",
        "[redis]\nstreams = s\npassword = SECRETVALUE\x01\n",
        BASE SLACK "url = https://SECRETVALUE\n[sink \"s\"]\n",
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        assert_null(load(texts[i], &diag));
        assert_int_equal(diag.n, 1);
        assert_null(strstr(diag.msgs[0], "SECRET"));
        rw_diag_free(&diag);
    }
    expect_error(BASE "[redis]\n", 3, "duplicate section [redis]");
    expect_error(BASE "[sink \"w\"]\ntype = webhook\nurl = ftp://x\n", 5,
                 "bad value for key 'url' in [sink \"w\"]: expected an http:// or https:// URL");
    expect_error(BASE "[daemon]\nlog_level = loud\n", 4, "bad value 'loud' for key 'log_level'");
}

static void test_consumer(void **state)
{
    (void)state;
    char host[256] = "", want[600];
    assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
    struct rw_config *cfg = load_ok(BASE "consumer = %H:%H-1\n");
    snprintf(want, sizeof(want), "%s:%s-1", host, host);
    assert_string_equal(cfg->consumer, want);
    rw_config_free(cfg);
    cfg = load_ok(BASE "consumer = worker-7\n");
    assert_string_equal(cfg->consumer, "worker-7");
    rw_config_free(cfg);
    cfg = load_ok(BASE "consumer = 100%%\n");
    assert_string_equal(cfg->consumer, "100%");
    rw_config_free(cfg);
    expect_error(BASE "consumer = %\n", 3, "only %H");
    expect_error(BASE "consumer = a%d\n", 3, "bad value 'a%d' for key 'consumer'");
    char text[700];
    memset(want, 'c', 300);
    want[300] = '\0';
    snprintf(text, sizeof(text), BASE "consumer = %s\n", want);
    expect_error(text, 3, "at most 255 bytes");
}

static void test_restart_keys(void **state)
{
    (void)state;
    struct rw_config *a = load_ok("[redis]\nstreams = a, b\n[http]\nlisten = 127.0.0.1:1\n");
    struct rw_config *b = load_ok("[redis]\nstreams = a, b\n[http]\nlisten = 127.0.0.1:1\n"
                                  "[daemon]\nclock = event\n[score]\nhealthy = 90\n");
    memset(&diag, 0, sizeof(diag));
    rw_config_restart_keys(a, b, &diag);
    assert_int_equal(diag.n, 0); /* clock and score apply on reload */
    rw_config_free(b);
    b = load_ok("[redis]\naddress = unix:/tmp/r.sock\nusername = u\npassword = p\ndb = 1\n"
                "streams = a, c\ngroup = g\nconsumer = c\nprefix = p:\n[http]\nlisten =\n");
    rw_config_restart_keys(a, b, &diag);
    static const char *const want[] = {
        "redis.address", "redis.username", "redis.password", "redis.db",    "redis.streams",
        "redis.group",   "redis.consumer", "redis.prefix",   "http.listen",
    };
    assert_int_equal(diag.n, 9);
    for (int i = 0; i < 9; i++)
        assert_string_equal(diag.msgs[i], want[i]);
    rw_diag_free(&diag);
    rw_config_free(b);
    b = load_ok("[redis]\nstreams = a\n[http]\nlisten = 127.0.0.1:1\n");
    rw_config_restart_keys(a, b, &diag);
    assert_int_equal(diag.n, 1);
    assert_string_equal(diag.msgs[0], "redis.streams");
    rw_diag_free(&diag);
    rw_config_free(b);
    rw_config_free(a);
}

static void test_diag(void **state)
{
    (void)state;
    struct rw_diag d = {0};
    for (int i = 0; i < 100; i++)
        rw_diag_add(&d, "msg %d %s", i, "x");
    assert_int_equal(d.n, 100);
    assert_string_equal(d.msgs[99], "msg 99 x");
    rw_diag_free(&d);
    assert_int_equal(d.n, 0);
    assert_null(d.msgs);
    rw_config_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_file_relative_to_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_credentials_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secrets_not_echoed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_consumer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diag, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
