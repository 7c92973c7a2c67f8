/* test_lease.c - one active instance per group (SPEC §8): acquire, renew, lose, release
 * through a fake command sink, and the local lock that allows taking over the lease of a
 * dead predecessor on this host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "renewald/lease.h"

#define TTL 10000

/* ---- the fake sink: the last commands sent, answered by the test ---- */

struct sent {
    int argc;
    char *argv[8];
    rw_link_reply_cb cb;
    void *arg;
};

static struct sent sent[8];
static int nsent;
static bool link_down;

static bool fake_send(void *ctx, rw_link_reply_cb cb, void *arg, int64_t block_ms, int argc,
                      const char **argv, const size_t *argvlen)
{
    assert_ptr_equal(ctx, sent);
    assert_true(block_ms == 0);
    if (link_down)
        return false;
    assert_true(nsent < 8 && argc <= 8);
    struct sent *s = &sent[nsent++];
    s->argc = argc;
    for (int i = 0; i < argc; i++)
        s->argv[i] = strndup(argv[i], argvlen[i]);
    s->cb = cb;
    s->arg = arg;
    return true;
}

enum { R_INT0, R_INT1, R_ERROR, R_NONE };

/* Ends command K with a reply of KIND. */
static void answer(int k, int kind)
{
    redisReply r = {0};
    r.type = kind == R_ERROR ? REDIS_REPLY_ERROR : REDIS_REPLY_INTEGER;
    r.integer = kind == R_INT1;
    if (kind == R_ERROR) {
        r.str = (char *)"NOPERM this user has no permissions to run the 'eval' command";
        r.len = strlen(r.str);
    }
    rw_link_reply_cb cb = sent[k].cb;
    assert_non_null(cb); /* each command ends once */
    sent[k].cb = NULL;
    cb(NULL, kind == R_NONE ? NULL : &r, sent[k].arg);
}

/* ---- hooks ---- */

static int acquired, standby, lost, errors, released;
static char why[256];

static void on_acquired(void *arg)
{
    assert_ptr_equal(arg, &acquired);
    acquired++;
}

static void on_standby(void *arg)
{
    (void)arg;
    standby++;
}

static void on_lost(void *arg, const char *w)
{
    (void)arg;
    lost++;
    snprintf(why, sizeof(why), "%s", w);
}

static void on_error(void *arg, const char *e)
{
    (void)arg;
    errors++;
    snprintf(why, sizeof(why), "%s", e);
}

static void on_released(void *arg)
{
    (void)arg;
    released++;
}

static struct rw_lease *l;

static int setup(void **state)
{
    (void)state;
    static const struct rw_lease_hooks hooks = {on_acquired, on_standby, on_lost, on_error,
                                                on_released};
    struct rw_cmd_sink sink = {fake_send, sent};
    l = rw_lease_new(sink, "rw:lease", TTL, "host-1", "cons", &hooks, &acquired);
    acquired = standby = lost = errors = released = 0;
    link_down = false;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    /* A link ends what is still in flight (with a NULL reply) before the lease is
     * freed; a reply after rw_lease_free would touch freed memory. */
    for (int k = 0; k < nsent; k++) {
        if (sent[k].cb)
            answer(k, R_NONE);
        for (int i = 0; i < sent[k].argc; i++)
            free(sent[k].argv[i]);
    }
    nsent = 0;
    rw_lease_free(l);
    return 0;
}

static void test_token(void **state)
{
    (void)state;
    const char *t = rw_lease_token(l);
    assert_true(strncmp(t, "host-1/cons/", 12) == 0);
    char pid[32];
    snprintf(pid, sizeof(pid), "%ld/", (long)getpid());
    assert_true(strncmp(t + 12, pid, strlen(pid)) == 0);
    assert_true(strlen(t + 12 + strlen(pid)) >= 8); /* a nonce */
}

/* Checks acquire command K: EVAL script 1 key token ttl takeover-prefix. */
static void expect_acquire(int k, const char *prefix)
{
    assert_int_equal(sent[k].argc, 7);
    assert_string_equal(sent[k].argv[0], "EVAL");
    assert_string_equal(sent[k].argv[1], rw_lease_acquire_script);
    assert_string_equal(sent[k].argv[2], "1");
    assert_string_equal(sent[k].argv[3], "rw:lease");
    assert_string_equal(sent[k].argv[4], rw_lease_token(l));
    assert_string_equal(sent[k].argv[5], "10000");
    assert_string_equal(sent[k].argv[6], prefix);
}

static void test_acquire(void **state)
{
    (void)state;
    assert_true(strncmp(rw_lease_acquire_script, "#!lua", 5) == 0);
    rw_lease_try_acquire(l);
    rw_lease_try_acquire(l); /* one request at a time */
    assert_int_equal(nsent, 1);
    expect_acquire(0, ""); /* no takeover unless allowed */
    answer(0, R_INT0);
    assert_int_equal(standby, 1);
    assert_int_equal(acquired, 0);

    rw_lease_allow_takeover(l, true);
    rw_lease_try_acquire(l);
    expect_acquire(1, "host-1/cons/");
    int64_t before = rw_mono_ms();
    answer(1, R_INT1);
    assert_int_equal(acquired, 1);
    assert_true(rw_lease_renewed_at(l) >= before && rw_lease_renewed_at(l) <= rw_mono_ms());

    rw_lease_allow_takeover(l, false);
    rw_lease_try_acquire(l);
    expect_acquire(2, "");
    answer(2, R_ERROR);
    assert_int_equal(errors, 1);
    assert_non_null(strstr(why, "NOPERM"));
    /* A lost connection: no verdict, and the next attempt may go. */
    rw_lease_try_acquire(l);
    answer(3, R_NONE);
    assert_int_equal(acquired + standby + errors + lost, 3);
    rw_lease_try_acquire(l);
    assert_int_equal(nsent, 5);
    answer(4, R_INT1);
    assert_int_equal(acquired, 2);
}

/* Becomes active: an acquire answered with 1. */
static int64_t activate(void)
{
    rw_lease_try_acquire(l);
    answer(nsent - 1, R_INT1);
    assert_int_equal(acquired, 1);
    return rw_lease_renewed_at(l);
}

static void test_renew(void **state)
{
    (void)state;
    int64_t at = activate();
    rw_lease_renew(l, at + TTL); /* just in time: renewed, not lost */
    assert_int_equal(lost, 0);
    int k = nsent - 1;
    assert_int_equal(sent[k].argc, 6);
    assert_string_equal(sent[k].argv[0], "EVAL");
    assert_true(strncmp(sent[k].argv[1], "#!lua", 5) == 0);
    assert_string_equal(sent[k].argv[3], "rw:lease");
    assert_string_equal(sent[k].argv[4], rw_lease_token(l));
    assert_string_equal(sent[k].argv[5], "10000");
    rw_lease_renew(l, at + TTL); /* one in flight: nothing more sent */
    assert_int_equal(nsent, k + 1);
    answer(k, R_INT1);
    assert_true(rw_lease_renewed_at(l) >= at);
    assert_int_equal(lost, 0);
    /* Redis says it is not ours any more. */
    rw_lease_renew(l, rw_lease_renewed_at(l) + 1);
    answer(nsent - 1, R_INT0);
    assert_int_equal(lost, 1);
    /* An error is an error, not a loss. */
    rw_lease_renew(l, rw_lease_renewed_at(l) + 1);
    answer(nsent - 1, R_ERROR);
    assert_int_equal(errors, 1);
    assert_int_equal(lost, 1);
    /* Not renewed within its TTL: lost at once, nothing sent. */
    int before = nsent;
    rw_lease_renew(l, rw_lease_renewed_at(l) + TTL + 1);
    assert_int_equal(lost, 2);
    assert_non_null(strstr(why, "not renewed in time"));
    assert_int_equal(nsent, before);
}

static void test_stop_and_release(void **state)
{
    (void)state;
    activate();
    rw_lease_renew(l, rw_lease_renewed_at(l));
    int k = nsent - 1;
    rw_lease_stop(l);
    answer(k, R_INT0); /* late: ignored */
    assert_int_equal(lost, 0);
    rw_lease_try_acquire(l); /* and a new request may go */
    rw_lease_stop(l);
    answer(nsent - 1, R_INT1);
    assert_int_equal(acquired, 1);
    assert_int_equal(standby, 0);

    /* Release: a renewal in flight no longer matters; released follows the reply. */
    rw_lease_renew(l, rw_lease_renewed_at(l));
    int renewal = nsent - 1;
    rw_lease_release(l);
    int rel = nsent - 1;
    assert_int_equal(sent[rel].argc, 5);
    assert_string_equal(sent[rel].argv[3], "rw:lease");
    assert_string_equal(sent[rel].argv[4], rw_lease_token(l));
    answer(renewal, R_INT0);
    assert_int_equal(lost, 0);
    assert_int_equal(released, 0);
    answer(rel, R_INT1);
    assert_int_equal(released, 1);
    /* A link that is down: released at once. */
    link_down = true;
    rw_lease_release(l);
    assert_int_equal(released, 2);
    /* So is a release whose connection went. */
    link_down = false;
    rw_lease_release(l);
    answer(nsent - 1, R_NONE);
    assert_int_equal(released, 3);
}

/* ---- the local lock ---- */

static char dir[64];

static void test_lock_local(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/test_lease.XXXXXX");
    assert_non_null(mkdtemp(dir));
    char env[128];
    snprintf(env, sizeof(env), "%s:/elsewhere", dir); /* the first of a list */
    setenv("RUNTIME_DIRECTORY", env, 1);
    long held = 99;
    char path[256];
    int fd = rw_lease_lock_local("redis|rw:|grp|cons", &held, path, sizeof(path));
    assert_true(fd >= 0);
    assert_int_equal(held, 0);
    assert_true(strncmp(path, dir, strlen(dir)) == 0 && path[strlen(dir)] == '/');

    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        /* Another process: the same identity is refused and names its holder. */
        long h = 0;
        char p[256];
        int r = rw_lease_lock_local("redis|rw:|grp|cons", &h, p, sizeof(p));
        if (r != -1)
            _exit(10);
        if (h != (long)getppid())
            _exit(11);
        if (strcmp(p, path) != 0)
            _exit(12);
        /* Another identity (another consumer) is free. */
        if (rw_lease_lock_local("redis|rw:|grp|other", &h, p, sizeof(p)) < 0)
            _exit(13);
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    /* The child's lock died with it: this process may take that identity now. */
    int fd2 = rw_lease_lock_local("redis|rw:|grp|other", &held, path, sizeof(path));
    assert_true(fd2 >= 0);
    /* No directory to put the lock in. */
    setenv("RUNTIME_DIRECTORY", "/nonexistent/renewald-test", 1);
    assert_int_equal(rw_lease_lock_local("x", &held, path, sizeof(path)), -2);
    assert_non_null(strstr(path, "/nonexistent/renewald-test/"));
    unsetenv("RUNTIME_DIRECTORY");
    close(fd);
    close(fd2);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_acquire, setup, teardown),
        cmocka_unit_test_setup_teardown(test_renew, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_and_release, setup, teardown),
        cmocka_unit_test(test_lock_local),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
