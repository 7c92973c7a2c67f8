/* config_test.h - helpers shared by the config loader's unit tests: a
 * temporary directory, writing a file, loading it, checking diagnostics. */
#ifndef RENEWALD_CONFIG_TEST_H
#define RENEWALD_CONFIG_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "renewald/config.h"

#define UNUSED __attribute__((unused))

#define BASE "[redis]\nstreams = s\n"

#define SIG "[signal \"g\"]\ntypes = x\naggregate = rate\nhalf_life = 1d\nlow = 0\nhigh = 1\n"
#define WEB "[sink \"w\"]\ntype = webhook\nurl = https://h.example.com/x\n"
#define MAIL                                                                                       \
    "[sink \"m\"]\ntype = email\nsmtp_url = smtp://m.example.com\nfrom = a@b.c\nto = owner\n"

static char tmpdir[PATH_MAX];
static char conf_path[PATH_MAX + 32];

UNUSED static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_config.XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(conf_path, sizeof(conf_path), "%s/renewald.conf", tmpdir);
    unsetenv("CREDENTIALS_DIRECTORY");
    return 0;
}

UNUSED static int teardown(void **state)
{
    (void)state;
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

UNUSED static void write_bytes(const char *path, const char *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

UNUSED static void write_in(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    write_bytes(path, text, strlen(text));
}

UNUSED static struct rw_config *load(const char *text, struct rw_diag *d)
{
    write_bytes(conf_path, text, strlen(text));
    memset(d, 0, sizeof(*d));
    return rw_config_load(conf_path, d);
}

UNUSED static struct rw_config *load_ok(const char *text)
{
    struct rw_diag d;
    struct rw_config *cfg = load(text, &d);
    for (int i = 0; i < d.n; i++)
        print_error("unexpected: %s\n", d.msgs[i]);
    assert_int_equal(d.n, 0);
    assert_non_null(cfg);
    rw_diag_free(&d);
    return cfg;
}

/* The message of error I without "PATH:"; asserts it starts with "LINE: ". */
UNUSED static const char *msg_at(const struct rw_diag *d, int i, int line)
{
    size_t n = strlen(conf_path);
    assert_true(i < d->n);
    assert_memory_equal(d->msgs[i], conf_path, n);
    const char *rest = d->msgs[i] + n;
    char want[32];
    if (line > 0)
        snprintf(want, sizeof(want), ":%d: ", line);
    else
        snprintf(want, sizeof(want), ": ");
    if (strncmp(rest, want, strlen(want)) != 0)
        fail_msg("expected line %d in '%s'", line, d->msgs[i]);
    return rest + strlen(want);
}

/* Exactly one error, at LINE (or the last line when LINE < 0), containing SUB. */
UNUSED static void expect_error(const char *text, int line, const char *sub)
{
    struct rw_diag d;
    struct rw_config *cfg = load(text, &d);
    assert_null(cfg);
    if (d.n != 1) {
        for (int i = 0; i < d.n; i++)
            print_error("got: %s\n", d.msgs[i]);
        fail_msg("expected one error containing '%s', got %d", sub, d.n);
    }
    if (line < 0) {
        line = 0;
        for (const char *p = text; *p; p++)
            line += *p == '\n';
    }
    const char *m = msg_at(&d, 0, line);
    if (!strstr(m, sub))
        fail_msg("'%s' does not contain '%s'", d.msgs[0], sub);
    rw_diag_free(&d);
}

#endif
