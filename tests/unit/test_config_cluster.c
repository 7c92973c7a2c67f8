/* test_config_cluster.c - [redis] cluster = true: seed lists, database 0, and one hash tag
 * shared by the prefix and every stream, refused with FILE:LINE otherwise. */
#include "config_test.h"

#include "renewald/core/cluster_proto.h"

#define SEEDS "address = 10.0.0.1:7000, 10.0.0.2:7000,[::1]:7001\n"

static void test_cluster_ok(void **state)
{
    (void)state;
    struct rw_config *cfg = load_ok("[redis]\ncluster = true\n" SEEDS "prefix = renewald:{p7}:\n"
                                    "streams = events:{p7}:usage, events:{p7}:support\n");
    assert_true(cfg->redis_cluster);
    assert_string_equal(cfg->redis_address, "10.0.0.1:7000, 10.0.0.2:7000,[::1]:7001");
    /* Every key the instance writes, and its streams, are in one slot. */
    char *state_key = rw_config_key(cfg, "state");
    int slot = rw_cluster_key_slot(state_key, strlen(state_key));
    for (int i = 0; i < cfg->nstreams; i++)
        assert_int_equal(rw_cluster_key_slot(cfg->streams[i], strlen(cfg->streams[i])), slot);
    free(state_key);
    rw_config_free(cfg);

    /* One seed is enough; without cluster, one plain address as before. */
    cfg = load_ok("[redis]\ncluster = yes\naddress = 127.0.0.1:7000\nprefix = {x}\n"
                  "streams = {x}a\n");
    assert_true(cfg->redis_cluster);
    rw_config_free(cfg);
    cfg = load_ok(BASE);
    assert_false(cfg->redis_cluster);
    rw_config_free(cfg);
    cfg = load_ok("[redis]\ncluster = false\naddress = unix:/run/r.sock\nstreams = s\ndb = 3\n");
    assert_false(cfg->redis_cluster);
    rw_config_free(cfg);
}

static void test_hash_tag_refused(void **state)
{
    (void)state;
    /* No prefix given: the default has no tag; named at the cluster line. */
    expect_error("[redis]\nstreams = events:{p0}:usage\ncluster = true\n", 3,
                 "prefix 'renewald:' has no hash tag");
    /* A prefix given without a tag, or with an empty one: its own line. */
    expect_error("[redis]\ncluster = true\nprefix = renewald:p0:\nstreams = events:{p0}:usage\n", 3,
                 "prefix 'renewald:p0:' has no hash tag");
    expect_error("[redis]\ncluster = true\nprefix = r:{}{p0}:\nstreams = events:{p0}:usage\n", 3,
                 "has no hash tag");
    /* A stream without the tag, or with another one: the streams line. */
    expect_error("[redis]\ncluster = true\nprefix = renewald:{p0}:\n\n"
                 "streams = events:{p0}:usage, events:support\n",
                 5, "stream 'events:support' does not share the hash tag {p0}");
    expect_error("[redis]\ncluster = true\nprefix = renewald:{p0}:\n"
                 "streams = events:{p1}:usage\n",
                 4, "stream 'events:{p1}:usage' does not share the hash tag {p0}");
    /* Same letters, other braces: "{p0" is no tag. */
    expect_error("[redis]\ncluster = true\nprefix = renewald:{p0}:\nstreams = events:{p0:usage\n",
                 4, "does not share");
    /* Each stream that is off is named. */
    struct rw_diag d;
    assert_null(load("[redis]\ncluster = true\nprefix = a{t}\nstreams = x, {t}y, z{u}\n", &d));
    assert_int_equal(d.n, 2);
    assert_non_null(strstr(msg_at(&d, 0, 4), "stream 'x'"));
    assert_non_null(strstr(msg_at(&d, 1, 4), "stream 'z{u}'"));
    rw_diag_free(&d);
    /* Without cluster the tags are the operator's business. */
    struct rw_config *cfg = load_ok("[redis]\nprefix = a{t}\nstreams = x, z{u}\n");
    rw_config_free(cfg);
}

static void test_seeds(void **state)
{
    (void)state;
    /* A list needs cluster = true. */
    expect_error("[redis]\nstreams = s\n" SEEDS, 3, "address lists 3 addresses");
    expect_error("[redis]\nstreams = s\ncluster = false\n" SEEDS, 4, "needs cluster = true");
    /* Every seed must be an IP address and a port. */
    expect_error("[redis]\ncluster = true\nprefix = {a}\nstreams = {a}\n"
                 "address = 10.0.0.1:7000, redis-2:7000\n",
                 5, "an IP address, not a host name");
    expect_error("[redis]\ncluster = true\nprefix = {a}\nstreams = {a}\n"
                 "address = 10.0.0.1:7000,,10.0.0.2:7000\n",
                 5, "comma-separated");
    expect_error("[redis]\ncluster = true\nprefix = {a}\nstreams = {a}\naddress = unix:/r.sock\n",
                 5, "seed nodes as IP:PORT");
    expect_error("[redis]\ncluster = true\nprefix = {a}\nstreams = {a}\naddress = \n", 5,
                 "must not be empty");
    char text[2048];
    int n = snprintf(text, sizeof text,
                     "[redis]\ncluster = true\nprefix = {a}\nstreams = {a}\n"
                     "address = ");
    for (int i = 0; i < 17; i++)
        n += snprintf(text + n, sizeof text - (size_t)n, "%s10.0.0.%d:7000", i ? "," : "", i);
    snprintf(text + n, sizeof text - (size_t)n, "\n");
    expect_error(text, 5, "at most 16");
    /* Only database 0 in a cluster. */
    expect_error("[redis]\ncluster = true\nprefix = {a}\nstreams = {a}\ndb = 1\n", 5,
                 "only database 0");
    struct rw_config *cfg = load_ok("[redis]\ncluster = true\nprefix = {a}\nstreams = {a}\n"
                                    "db = 0\n");
    rw_config_free(cfg);
}

static void test_restart_key(void **state)
{
    (void)state;
    struct rw_config *a = load_ok(BASE);
    struct rw_config *b = load_ok("[redis]\nstreams = {s}\ncluster = true\nprefix = {s}\n");
    struct rw_diag d = {0};
    rw_config_restart_keys(a, b, &d);
    bool seen = false;
    for (int i = 0; i < d.n; i++)
        seen = seen || strcmp(d.msgs[i], "redis.cluster") == 0;
    assert_true(seen);
    rw_diag_free(&d);
    rw_config_free(a);
    rw_config_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cluster_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hash_tag_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seeds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_key, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
