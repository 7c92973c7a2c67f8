/*
 * test_oom_fatal.c - running out of memory stops the daemon: the rw_x* helpers,
 * the account store and the record codec abort with "out of memory" when an
 * allocation fails, and never return NULL or crash some other way.
 *
 * Death tests: a child process makes malloc fail and calls the function; the
 * parent checks that it died by SIGABRT and what it wrote to stderr.  malloc,
 * calloc and realloc are wrapped at link time (-Wl,--wrap=..., see the end of
 * CMakeLists.txt), which covers the calls made from renewald_core too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "renewald/core/account_store.h"
#include "renewald/core/common.h"
#include "renewald/core/score.h"
#include "scorer_test.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

/* Allocations that still succeed; after those every one fails.  < 0: never fail. */
static long fail_after = -1;
static long failed; /* allocations refused */

static bool refuse(void)
{
    if (fail_after < 0)
        return false;
    if (fail_after == 0) {
        failed++;
        return true;
    }
    fail_after--;
    return false;
}

void *__wrap_malloc(size_t n)
{
    return refuse() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return refuse() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    return refuse() ? NULL : __real_realloc(p, n);
}

/* Child exit statuses besides 0 (the call completed and its result checked out). */
#define CHILD_GOT_NULL  2 /* the function returned NULL */
#define CHILD_BAD       3 /* returned something wrong */
#define CHILD_SWALLOWED 4 /* an allocation failed, yet the function returned */

struct death {
    int status; /* from waitpid */
    char err[4096];
};

/*
 * Runs FN(ARG) in a child in which the first AFTER allocations succeed and the
 * rest fail (AFTER < 0: none fails).  FN returns 0 or a CHILD_* status.
 */
static void run_child(int (*fn)(void *), void *arg, long after, struct death *out)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        if (dup2(fds[1], STDERR_FILENO) < 0)
            _exit(126);
        close(fds[1]);
        failed = 0;
        fail_after = after;
        int rc = fn(arg);
        fail_after = -1;
        _exit(rc != 0 ? rc : failed ? CHILD_SWALLOWED : 0);
    }
    close(fds[1]);
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fds[0], out->err + len, sizeof out->err - 1 - len);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    out->err[len] = '\0';
    close(fds[0]);
    assert_int_equal(waitpid(pid, &out->status, 0), pid);
}

static bool completed(const struct death *d)
{
    return WIFEXITED(d->status) && WEXITSTATUS(d->status) == 0;
}

/* The child died by SIGABRT after saying it ran out of memory. */
static void assert_oom_abort(const char *what, long after, const struct death *d)
{
    if (WIFEXITED(d->status))
        fail_msg("%s, allocation %ld failing: exited %d, stderr: %s", what, after + 1,
                 WEXITSTATUS(d->status), d->err);
    if (!WIFSIGNALED(d->status) || WTERMSIG(d->status) != SIGABRT)
        fail_msg("%s, allocation %ld failing: killed by signal %d, stderr: %s", what, after + 1,
                 WIFSIGNALED(d->status) ? WTERMSIG(d->status) : -1, d->err);
    if (strstr(d->err, "out of memory") == NULL)
        fail_msg("%s, allocation %ld failing: no \"out of memory\" on stderr: %s", what, after + 1,
                 d->err);
}

/*
 * Fails allocation 1, 2, ... of FN(ARG) in turn: each run must abort with the
 * message, until one completes without reaching the failure.  Returns how many
 * runs aborted, i.e. how many allocations FN makes (not pinned down here: the
 * store's layout changes).
 */
static long sweep(const char *what, int (*fn)(void *), void *arg)
{
    for (long after = 0; after < 64; after++) {
        struct death d;
        run_child(fn, arg, after, &d);
        if (completed(&d)) {
            assert_true(after > 0); /* FN allocates: at least one failure was injected */
            return after;
        }
        assert_oom_abort(what, after, &d);
    }
    fail_msg("%s: still aborting after 64 allocations", what);
    return -1;
}

/* --- the rw_x* helpers --- */

static int call_xmalloc(void *arg)
{
    (void)arg;
    char *p = rw_xmalloc(64);
    if (!p)
        return CHILD_GOT_NULL;
    memset(p, 1, 64);
    free(p);
    return 0;
}

static int call_xcalloc(void *arg)
{
    (void)arg;
    char *p = rw_xcalloc(8, 16);
    if (!p)
        return CHILD_GOT_NULL;
    free(p);
    return 0;
}

static int call_xrealloc(void *arg)
{
    char *p = rw_xrealloc(arg, 4096);
    if (!p)
        return CHILD_GOT_NULL;
    free(p);
    return 0;
}

static int call_xstrdup(void *arg)
{
    (void)arg;
    char *p = rw_xstrdup("hello");
    if (!p)
        return CHILD_GOT_NULL;
    int rc = strcmp(p, "hello") == 0 ? 0 : CHILD_BAD;
    free(p);
    return rc;
}

static int call_xasprintf(void *arg)
{
    (void)arg;
    char *p = rw_xasprintf("%s-%d", "acme", 42);
    if (!p)
        return CHILD_GOT_NULL;
    int rc = strcmp(p, "acme-42") == 0 ? 0 : CHILD_BAD;
    free(p);
    return rc;
}

static void expect_message(int (*fn)(void *), void *arg, const char *want)
{
    struct death d;
    run_child(fn, arg, 0, &d);
    assert_oom_abort(want, 0, &d);
    assert_string_equal(d.err, want);
}

static void test_harness(void **state)
{
    (void)state;
    struct death d;
    run_child(call_xmalloc, NULL, -1, &d); /* nothing fails: the child completes */
    assert_true(completed(&d));
    assert_string_equal(d.err, "");
}

static void test_x_helpers(void **state)
{
    (void)state;
    expect_message(call_xmalloc, NULL, "renewald: out of memory allocating 64 bytes\n");
    expect_message(call_xcalloc, NULL, "renewald: out of memory allocating 128 bytes\n");
    expect_message(call_xstrdup, NULL, "renewald: out of memory allocating 6 bytes\n");
    expect_message(call_xasprintf, NULL, "renewald: out of memory allocating 8 bytes\n");

    /* realloc of a live block: the child aborts instead of returning NULL (and leaking). */
    char *p = malloc(16);
    assert_non_null(p);
    expect_message(call_xrealloc, p, "renewald: out of memory allocating 4096 bytes\n");
    free(p);
    expect_message(call_xrealloc, NULL, "renewald: out of memory allocating 4096 bytes\n");
}

/* --- the store --- */

static int call_store_new(void *arg)
{
    (void)arg;
    struct rw_store *st = rw_store_new(4);
    if (!st)
        return CHILD_GOT_NULL;
    int rc = rw_store_count(st) == 0 && rw_store_nslots(st) == 4 ? 0 : CHILD_BAD;
    rw_store_free(st);
    return rc;
}

static int call_upsert(void *arg)
{
    struct rw_store *st = arg;
    const size_t before = rw_store_count(st);
    bool created = false;
    struct rw_account *a = rw_store_upsert(st, "acme-corporation-international", 30, &created);
    if (!a)
        return CHILD_GOT_NULL;
    if (!created || a->id_len != 30 || rw_store_count(st) != before + 1 ||
        rw_store_find(st, "acme-corporation-international", 30) != a)
        return CHILD_BAD;
    rw_account_agg(a)[rw_store_nslots(st) - 1] = 1; /* the slots are there */
    rw_store_mark_dirty(st, a);
    size_t n;
    struct rw_account *const *dirty = rw_store_dirty(st, &n);
    return n == 1 && dirty[0] == a ? 0 : CHILD_BAD;
}

static int call_intern(void *arg)
{
    struct rw_store *st = arg;
    const char *s = rw_store_intern(st, "enterprise-plus", 15);
    if (!s)
        return CHILD_GOT_NULL;
    if (strcmp(s, "enterprise-plus") != 0 || rw_store_intern(st, "enterprise-plus", 15) != s)
        return CHILD_BAD;
    return 0;
}

static void test_store_new(void **state)
{
    (void)state;
    sweep("rw_store_new", call_store_new, NULL);
}

static void test_store_upsert(void **state)
{
    (void)state;
    /* A fresh store: the account, then the dirty set. */
    struct rw_store *st = rw_store_new(5);
    const long fresh = sweep("rw_store_upsert", call_upsert, st);
    assert_int_equal(rw_store_count(st), 0); /* the children's work stayed in them */

    assert_true(fresh > 0);

    /* A store about to grow its table: the new table too (more allocations
     * than the same store a few accounts earlier, its chunks already there). */
    char id[16];
    for (int i = 0; i < 40; i++) {
        snprintf(id, sizeof id, "account-%d", i);
        assert_non_null(rw_store_upsert(st, id, strlen(id), NULL));
    }
    const long settled = sweep("rw_store_upsert (settled)", call_upsert, st);
    for (int i = 40; i < 48; i++) {
        snprintf(id, sizeof id, "account-%d", i);
        assert_non_null(rw_store_upsert(st, id, strlen(id), NULL));
    }
    assert_true(sweep("rw_store_upsert (grow)", call_upsert, st) > settled);
    rw_store_free(st);
}

static void test_store_intern(void **state)
{
    (void)state;
    struct rw_store *st = rw_store_new(1);
    const long fresh = sweep("rw_store_intern", call_intern, st);

    /* A set about to grow. */
    char s[16];
    for (int i = 0; i < 12; i++) {
        snprintf(s, sizeof s, "tier-%d", i);
        assert_non_null(rw_store_intern(st, s, strlen(s)));
    }
    assert_true(sweep("rw_store_intern (grow)", call_intern, st) > fresh);
    rw_store_free(st);
}

/* --- the codec --- */

struct decode_arg {
    struct rw_store *st; /* fresh: the child decodes into it */
    const struct rw_scorer *sc;
    uint8_t buf[RW_ACCOUNT_RECORD_MAX];
    size_t len;
};

static int call_decode(void *arg)
{
    struct decode_arg *da = arg;
    int reset = -1;
    struct rw_account *a = rw_account_decode(da->st, da->sc, "acme", 4, da->buf, da->len, &reset);
    if (!a)
        return CHILD_GOT_NULL;
    if (reset != 0 || !a->name || strcmp(a->name, "Acme Corporation") != 0 || !a->owner ||
        strcmp(a->owner, "csm@example.com") != 0 || !a->tier ||
        strcmp(a->tier, "enterprise") != 0 || rw_account_agg(a)[2] != 2.5 ||
        !rw_store_ext(da->st, a) || strcmp(rw_store_ext(da->st, a)->snooze_reason, "holiday") != 0)
        return CHILD_BAD;
    return 0;
}

static void test_account_decode(void **state)
{
    (void)state;
    struct decode_arg da;
    /* A rate (1 slot) and a mean (2 slots): 3 slots. */
    struct rw_config *cfg = new_config();
    add_signal(cfg, "logins", "login", RW_AGG_RATE, 7, 0, 0, 1);
    add_signal(cfg, "csat", "csat", RW_AGG_MEAN, 30, 0, 2, 4.5);
    struct rw_scorer *sc = rw_scorer_new(cfg);
    assert_non_null(sc);
    assert_int_equal(rw_scorer_nslots(sc), 3);
    da.sc = sc;
    struct rw_store *src = rw_store_new(3);
    struct rw_account *a = rw_store_upsert(src, "acme", 4, NULL);
    assert_non_null(a);
    rw_scorer_reset(sc, rw_account_agg(a));
    rw_store_set_name(src, a, "Acme Corporation", 16);
    a->owner = rw_store_intern(src, "csm@example.com", 15);
    a->tier = rw_store_intern(src, "enterprise", 10);
    /* Strings in buffers of RW_SNOOZE_TEXT_MAX bytes: rw_store_set_snooze reads that
     * many whatever their length (rw_xstrndup does not stop at the NUL). */
    char reason[RW_SNOOZE_TEXT_MAX + 1] = "holiday", by[RW_SNOOZE_TEXT_MAX + 1] = "jane";
    rw_store_set_snooze(src, a, INT64_C(1795132800000), reason, by);
    rw_account_agg(a)[2] = 2.5;
    da.len = rw_account_encode(sc, src, a, da.buf, sizeof da.buf);
    assert_true(da.len > 0 && da.len <= sizeof da.buf);
    rw_store_free(src);

    /* Every allocation of decoding: the account, its ordinal, name, owner, tier, snooze. */
    da.st = rw_store_new(3);
    sweep("rw_account_decode", call_decode, &da);
    assert_int_equal(rw_store_count(da.st), 0);
    rw_store_free(da.st);
    rw_scorer_free(sc);
    free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_harness),      cmocka_unit_test(test_x_helpers),
        cmocka_unit_test(test_store_new),    cmocka_unit_test(test_store_upsert),
        cmocka_unit_test(test_store_intern), cmocka_unit_test(test_account_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
