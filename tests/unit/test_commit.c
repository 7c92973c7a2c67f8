/* test_commit.c - the one fenced write per batch (commit.h): the staged blob and the
 * EVAL argument layout documented in daemon/commit.c, the hooks a reply calls, the
 * acknowledgements sent once a write landed, sequence numbers, a reset, and a script
 * that checks everything before its first write.  A fake command sink
 * records what would go to Redis; the test answers with hand-made replies. */
#include "config_test.h"

#include <jansson.h>

#include "renewald/commit.h"
#include "renewald/core/account_store.h"
#include "renewald/core/score.h"

#define DAY  INT64_C(86400000)
#define T0   INT64_C(1795132800000) /* 2026-11-20T00:00:00Z */
#define DAY0 20777                  /* its day number */

#define CONF                                                                                       \
    "[redis]\nstreams = ev:a, ev:b, ev:c\nprefix = rw:\ngroup = grp\n"                             \
    "[alerts]\nkeep = 500\n" SIG WEB "[sink \"l\"]\ntype = log\n"

/* ---- the fake sink ---- */

struct sent {
    int argc;
    char **argv;
    size_t *len;
    rw_link_reply_cb cb;
    void *arg;
};

static struct sent sent[16];
static int nsent;
static bool link_down;

static bool fake_send(void *ctx, rw_link_reply_cb cb, void *arg, int64_t block_ms, int argc,
                      const char **argv, const size_t *argvlen)
{
    assert_ptr_equal(ctx, sent);
    assert_true(block_ms == 0);
    if (link_down)
        return false;
    assert_true(nsent < 16);
    struct sent *s = &sent[nsent++];
    s->argc = argc;
    s->argv = calloc((size_t)argc, sizeof(*s->argv));
    s->len = calloc((size_t)argc, sizeof(*s->len));
    for (int i = 0; i < argc; i++) { /* copied: the caller's buffers are reused */
        s->argv[i] = malloc(argvlen[i] + 1);
        memcpy(s->argv[i], argv[i], argvlen[i]);
        s->argv[i][argvlen[i]] = '\0';
        s->len[i] = argvlen[i];
    }
    s->cb = cb;
    s->arg = arg;
    return true;
}

static void free_sent(void)
{
    for (int k = 0; k < nsent; k++) {
        for (int i = 0; i < sent[k].argc; i++)
            free(sent[k].argv[i]);
        free(sent[k].argv);
        free(sent[k].len);
    }
    nsent = 0;
}

/* Answers command K with an integer, an error, or nothing (REPLY_NONE: connection lost). */
enum { REPLY_OK, REPLY_ERROR, REPLY_NONE };
static void answer(int k, int kind)
{
    redisReply r = {0};
    if (kind == REPLY_OK) {
        r.type = REDIS_REPLY_INTEGER;
        r.integer = 1;
    } else {
        r.type = REDIS_REPLY_ERROR;
        r.str = (char *)"FENCED lease not held";
        r.len = strlen(r.str);
    }
    rw_link_reply_cb cb = sent[k].cb;
    assert_non_null(cb); /* each command ends once */
    sent[k].cb = NULL;
    cb(NULL, kind == REPLY_NONE ? NULL : &r, sent[k].arg);
}

/* ---- hooks ---- */

static int nlanded, nfailed;
static uint64_t landed_seq[8];
static uint64_t landed_events;
static size_t landed_njobs;
static char landed_jobs[2][2][1024]; /* the first two jobs: id, text */
static char failed_error[256];
static bool failed_null;

static void on_landed(void *arg, uint64_t seq, const struct rw_counts *counts,
                      const struct rw_job_list *jobs)
{
    assert_ptr_equal(arg, &nlanded);
    landed_seq[nlanded++] = seq;
    landed_events = counts->events;
    landed_njobs = jobs->n;
    /* Copied now: they are the commit's, valid during the call only (ASan checks that
     * they still are: commit.c once freed them before calling this hook). */
    for (size_t i = 0; i < jobs->n && i < 2; i++) {
        assert_true(jobs->id_lens[i] < 1024 && jobs->text_lens[i] < 1024);
        memcpy(landed_jobs[i][0], jobs->ids[i], jobs->id_lens[i]);
        landed_jobs[i][0][jobs->id_lens[i]] = '\0';
        memcpy(landed_jobs[i][1], jobs->texts[i], jobs->text_lens[i]);
        landed_jobs[i][1][jobs->text_lens[i]] = '\0';
    }
}

static void on_failed(void *arg, const char *error)
{
    assert_ptr_equal(arg, &nlanded);
    nfailed++;
    failed_null = error == NULL;
    snprintf(failed_error, sizeof(failed_error), "%s", error ? error : "");
}

/* ---- fixture ---- */

static struct rw_config *cfg;
static struct rw_scorer *sc;
static struct rw_store *st;
static struct rw_commit *c;

static int fx_setup(void **state)
{
    if (setup(state) != 0)
        return -1;
    cfg = load_ok(CONF);
    sc = rw_scorer_new(cfg);
    st = rw_store_new(rw_scorer_nslots(sc));
    struct rw_commit_hooks hooks = {on_landed, on_failed};
    struct rw_cmd_sink sink = {fake_send, sent};
    c = rw_commit_new(sink, cfg, &hooks, &nlanded);
    nlanded = nfailed = 0;
    link_down = false;
    return 0;
}

static int fx_teardown(void **state)
{
    rw_commit_free(c);
    /* Replies of writes still in flight come after (as a link ends them): ignored. */
    for (int k = 0; k < nsent; k++)
        if (sent[k].cb)
            answer(k, REPLY_NONE);
    free_sent();
    rw_store_free(st);
    rw_scorer_free(sc);
    rw_config_free(cfg);
    return teardown(state);
}

static struct rw_commit_state cstate(void)
{
    struct rw_commit_state s = {st, sc, {0}, "host/cons/1/abc"};
    s.clock.now_ms = T0 + 5;
    s.clock.last_sweep_ms = T0;
    s.clock.history_day = DAY0 - 1;
    s.clock.sweep_ms = RW_NO_TIME;
    s.clock.target_ms = RW_NO_TIME;
    return s;
}

/* Sends the pending write; returns the index of its EVAL (STAGED: the SETs
 * of staged blobs expected before it). */
static int flush_staged(int staged)
{
    struct rw_commit_state s = cstate();
    int before = nsent;
    assert_true(rw_commit_flush(c, &s));
    assert_int_equal(nsent, before + staged + 1);
    for (int i = before; i < before + staged; i++) {
        assert_string_equal(sent[i].argv[0], "SET");
        assert_null(sent[i].cb); /* the script's checks tell whether it arrived */
    }
    return before + staged; /* answered later by the test */
}

static int flush(void)
{
    return flush_staged(0);
}

/* Command K is XACK STREAM grp IDS... (N of them). */
static void expect_xack(int k, const char *stream, const char *const *ids, int n)
{
    assert_true(k < nsent);
    assert_int_equal(sent[k].argc, 3 + n);
    assert_string_equal(sent[k].argv[0], "XACK");
    assert_string_equal(sent[k].argv[1], stream);
    assert_string_equal(sent[k].argv[2], "grp");
    for (int i = 0; i < n; i++)
        assert_string_equal(sent[k].argv[3 + i], ids[i]);
}

/* A cursor over one recorded command's arguments. */
struct cur {
    const struct sent *s;
    int i;
};

static const char *next(struct cur *k)
{
    if (k->i >= k->s->argc)
        fail_msg("argument %d missing (argc %d)", k->i, k->s->argc);
    return k->s->argv[k->i++];
}

static size_t next_len(struct cur *k)
{
    assert_true(k->i < k->s->argc);
    return k->s->len[k->i];
}

static long long next_int(struct cur *k)
{
    const char *s = next(k);
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*s == '\0' || *end != '\0')
        fail_msg("argument %d is not an integer: '%s'", k->i - 1, s);
    return v;
}

static void expect_arg(struct cur *k, const char *want)
{
    const char *got = next(k);
    if (strcmp(got, want) != 0)
        fail_msg("argument %d is '%s', want '%s'", k->i - 1, got, want);
}

/* Walks KEYS and the fixed ARGV head; leaves K at the first section. MOVES:
 * the staged blob, destination pairs (2 * NMOVES keys). Returns numkeys. */
static int head(struct cur *k, const char *expected_seq, const char *const *history_keys, int nhist,
                const char *const *moves, int nmoves)
{
    expect_arg(k, "EVAL");
    expect_arg(k, rw_commit_script);
    int nkeys = (int)next_int(k);
    assert_int_equal(nkeys, 7 + 3 + nhist + 2 * nmoves);
    static const char *const fixed[] = {"rw:lease",  "rw:meta",   "rw:applied", "rw:dead",
                                        "rw:alerts", "rw:outbox", "rw:state"};
    for (int i = 0; i < 7; i++)
        expect_arg(k, fixed[i]);
    expect_arg(k, "ev:a");
    expect_arg(k, "ev:b");
    expect_arg(k, "ev:c");
    for (int i = 0; i < nhist; i++)
        expect_arg(k, history_keys[i]);
    for (int i = 0; i < 2 * nmoves; i++)
        expect_arg(k, moves[i]);
    expect_arg(k, "host/cons/1/abc"); /* the lease token */
    expect_arg(k, expected_seq);
    expect_arg(k, "grp");
    expect_arg(k, "500");
    expect_arg(k, "3");
    assert_int_equal(next_int(k), 11);                      /* first history key */
    assert_int_equal(next_int(k), 11 + nhist);              /* first move */
    assert_int_equal(next_int(k), 11 + nhist + 2 * nmoves); /* first deletion */
    expect_arg(k, "0");                                     /* no legacy hash to unlink */
    return nkeys;
}

/* Walks the meta section (last): its seq is SEQ. */
static void meta(struct cur *k, const char *seq)
{
    assert_int_equal(next_int(k), 11);
    static const char *const fields[] = {"now",          "last_sweep",     "history_day", "sweep",
                                         "sweep_target", "sweep_alerting", "log_from",    "chunks",
                                         "catch_up",     "version"};
    for (int i = 0; i < 10; i++) {
        expect_arg(k, fields[i]);
        (void)next(k);
    }
    expect_arg(k, "seq");
    expect_arg(k, seq);
    assert_int_equal(k->i, k->s->argc); /* nothing after it */
}

/* Empty sections from dead letters to applied ids. */
static void empty_sections(struct cur *k, int n)
{
    for (int i = 0; i < n; i++)
        assert_int_equal(next_int(k), 0);
}

static void test_layout(void **state)
{
    (void)state;
    assert_false(rw_commit_pending(c, st));
    /* Dead letters: the event cut at 64 KiB, or empty without one. */
    size_t big = RW_DEAD_EVENT_MAX + 100;
    char *ev = malloc(big);
    memset(ev, 'e', big);
    rw_commit_dead(c, 1, "5-0", 3, "bad_ts", ev, big);
    rw_commit_dead(c, 2, "6-1", 3, "missing_event", NULL, 0);
    free(ev);
    /* An alert for both sinks. */
    struct rw_account *a = rw_store_upsert(st, "acme", 4, NULL);
    rw_scorer_reset(sc, rw_account_agg(a));
    a->arr = 1000;
    a->score = 31.4f;
    a->band = RW_BAND_AT_RISK;
    const char *json = "{\"id\":\"abc\",\"kind\":\"band_change\"}";
    struct rw_alert al = {.id = "0123456789abcdef0123456789abcdef",
                          .kind = RW_ALERT_BAND_CHANGE,
                          .ts_ms = T0,
                          .account = a,
                          .json = json,
                          .json_len = strlen(json)};
    rw_commit_alert(c, &al, 0x3);
    /* History: two segments of one day, one of another; a dropped day. */
    uint16_t h1[3] = {0x8123, 0x0001, 0xffff}, h2[1] = {0x8abc};
    rw_commit_history(c, DAY0, 0, h1, 3);
    rw_commit_history(c, DAY0 - 1, 10, h2, 1);
    rw_commit_history(c, DAY0, 5, h2, 1);
    rw_commit_history_drop(c, DAY0 - 90);
    /* A changed account, acks of two streams (interleaved), applied ids. */
    rw_store_mark_dirty(st, a);
    rw_commit_ack(c, 0, "1-0", 3);
    rw_commit_ack(c, 2, "3-0", 3);
    rw_commit_ack(c, 0, "2-0", 3);
    rw_commit_applied(c, 0, "1-0", 3);
    rw_commit_applied(c, 2, "3-0", 3);
    rw_commit_applied(c, 0, "2-0", 3); /* only the last of a stream is written */
    rw_commit_counts(c)->events = 5;
    assert_true(rw_commit_pending(c, st));

    int idx = flush_staged(1);
    assert_false(rw_commit_pending(c, st)); /* everything went, the dirty set too */
    size_t nd;
    rw_store_dirty(st, &nd);
    assert_int_equal(nd, 0);
    assert_int_equal(rw_commit_counts(c)->events, 0);
    assert_int_equal(rw_commit_in_flight(c), 1);

    /* The changed account: one log blob, staged with an expiry, moved by the script. */
    const struct sent *set = &sent[idx - 1];
    assert_int_equal(set->argc, 5);
    assert_string_equal(set->argv[1], "rw:stage:host/cons/1/abc:1:log");
    assert_string_equal(set->argv[3], "PX");
    assert_true(atoll(set->argv[4]) > 0);
    struct rw_blob_reader br;
    struct rw_blob_entry be;
    assert_true(rw_blob_open(&br, set->argv[2], set->len[2]));
    assert_int_equal(br.kind, RW_BLOB_LOG);
    assert_int_equal(br.seq, 1);
    assert_int_equal(br.count, 1);
    assert_int_equal(rw_blob_next(&br, &be), 1);
    assert_true(be.id_len == 4 && memcmp(be.id, "acme", 4) == 0 && be.ordinal == a->ordinal);
    struct rw_store *st2 = rw_store_new(rw_scorer_nslots(sc));
    int reset = -1;
    struct rw_account *b = rw_account_decode(st2, sc, "acme", 4, be.rec, be.rec_len, &reset);
    assert_non_null(b);
    assert_int_equal(reset, 0);
    assert_true(b->arr == 1000 && b->score == 31.4f && b->band == RW_BAND_AT_RISK);
    rw_store_free(st2);
    assert_int_equal(rw_blob_next(&br, &be), 0);

    struct cur k = {&sent[idx], 0};
    static const char *const hk[] = {"rw:history:2026-11-20", "rw:history:2026-11-19",
                                     "rw:history:2026-08-22"};
    static const char *const mv[] = {"rw:stage:host/cons/1/abc:1:log", "rw:log:1"};
    head(&k, "0", hk, 3, mv, 1);
    /* dead letters */
    assert_int_equal(next_int(&k), 2);
    expect_arg(&k, "ev:b");
    expect_arg(&k, "5-0");
    expect_arg(&k, "bad_ts");
    assert_int_equal(next_len(&k), RW_DEAD_EVENT_MAX);
    (void)next(&k);
    expect_arg(&k, "ev:c");
    expect_arg(&k, "6-1");
    expect_arg(&k, "missing_event");
    expect_arg(&k, "");
    /* alerts */
    assert_int_equal(next_int(&k), 1);
    expect_arg(&k, json);
    /* jobs: one per sink, in the config's sink order */
    assert_int_equal(next_int(&k), 2);
    static const char *const sinks[] = {"w", "l"};
    char job_l[1024] = "";
    for (int i = 0; i < 2; i++) {
        char want[64];
        snprintf(want, sizeof(want), "%s:%s", al.id, sinks[i]);
        expect_arg(&k, want);
        json_error_t e;
        const char *text = next(&k);
        if (i == 1)
            snprintf(job_l, sizeof(job_l), "%s", text);
        json_t *job = json_loads(text, 0, &e);
        assert_non_null(job);
        assert_string_equal(json_string_value(json_object_get(job, "sink")), sinks[i]);
        assert_int_equal(json_integer_value(json_object_get(job, "attempts")), 0);
        assert_true(json_integer_value(json_object_get(job, "ts")) == T0);
        assert_string_equal(json_string_value(json_object_get(job, "account")), "acme");
        assert_string_equal(json_string_value(json_object_get(json_object_get(job, "alert"), "id")),
                            "abc");
        json_decref(job);
    }
    /* history writes: KEYS index, byte offset, little-endian entries */
    assert_int_equal(next_int(&k), 3);
    assert_int_equal(next_int(&k), 11);
    assert_int_equal(next_int(&k), 0);
    assert_int_equal(next_len(&k), 6);
    assert_memory_equal(next(&k), "\x23\x81\x01\x00\xff\xff", 6);
    assert_int_equal(next_int(&k), 12);
    assert_int_equal(next_int(&k), 20);
    assert_memory_equal(next(&k), "\xbc\x8a", 2);
    assert_int_equal(next_int(&k), 11); /* the same day: the same key */
    assert_int_equal(next_int(&k), 10);
    assert_memory_equal(next(&k), "\xbc\x8a", 2);
    /* history drops */
    assert_int_equal(next_int(&k), 1);
    assert_int_equal(next_int(&k), 13);
    /* applied: stream name, id */
    assert_int_equal(next_int(&k), 2);
    expect_arg(&k, "ev:a");
    expect_arg(&k, "2-0");
    expect_arg(&k, "ev:c");
    expect_arg(&k, "3-0");
    meta(&k, "1");

    /* It lands: the acknowledgements go (one XACK per stream, ids in order), and the
     * hook gets the sequence number, the counts and the jobs. */
    assert_int_equal(nsent, idx + 1); /* nothing acknowledged before */
    answer(idx, REPLY_OK);
    static const char *const acks_a[] = {"1-0", "2-0"}, *const acks_c[] = {"3-0"};
    assert_int_equal(nsent, idx + 3);
    expect_xack(idx + 1, "ev:a", acks_a, 2);
    expect_xack(idx + 2, "ev:c", acks_c, 1);
    assert_int_equal(nlanded, 1);
    assert_int_equal(landed_seq[0], 1);
    assert_int_equal(landed_events, 5);
    assert_int_equal(landed_njobs, 2);
    assert_string_equal(landed_jobs[0][0], "0123456789abcdef0123456789abcdef:w");
    assert_string_equal(landed_jobs[1][0], "0123456789abcdef0123456789abcdef:l");
    assert_string_equal(landed_jobs[1][1], job_l); /* the text the write carried */
    assert_int_equal(rw_commit_in_flight(c), 0);
    assert_int_equal(nfailed, 0);
}

static void test_sequence_and_failure(void **state)
{
    (void)state;
    struct rw_commit_state s = cstate();
    assert_true(rw_commit_flush(c, &s)); /* nothing pending: nothing sent */
    assert_int_equal(nsent, 0);
    rw_commit_ack(c, 1, "1-0", 3);
    int a = flush();
    rw_commit_ack(c, 1, "2-0", 3);
    int b = flush();
    assert_int_equal(rw_commit_in_flight(c), 2);
    struct cur k = {&sent[a], 0};
    head(&k, "0", NULL, 0, NULL, 0);
    empty_sections(&k, 6);
    meta(&k, "1");
    k = (struct cur){&sent[b], 0};
    head(&k, "1", NULL, 0, NULL, 0); /* each write requires the previous one */
    empty_sections(&k, 6);
    meta(&k, "2");
    answer(a, REPLY_OK);
    static const char *const ack1[] = {"1-0"}, *const ack2[] = {"2-0"};
    expect_xack(nsent - 1, "ev:b", ack1, 1);
    answer(b, REPLY_OK);
    expect_xack(nsent - 1, "ev:b", ack2, 1);
    assert_int_equal(nlanded, 2);
    assert_int_equal(landed_seq[0], 1);
    assert_int_equal(landed_seq[1], 2);
    assert_int_equal(landed_njobs, 0);

    /* A refused write calls failed with Redis' message; a lost one with NULL. */
    rw_commit_ack(c, 0, "3-0", 3);
    int e = flush();
    rw_commit_ack(c, 0, "4-0", 3);
    int f = flush();
    int before = nsent;
    answer(e, REPLY_ERROR);
    assert_int_equal(nsent, before); /* a refused write acknowledges nothing */
    assert_int_equal(nfailed, 1);
    assert_false(failed_null);
    assert_string_equal(failed_error, "FENCED lease not held");
    answer(f, REPLY_NONE);
    assert_int_equal(nfailed, 2);
    assert_true(failed_null);
    assert_int_equal(nlanded, 2);
    assert_int_equal(rw_commit_in_flight(c), 0);

    /* A link that is down: false, nothing in flight. */
    link_down = true;
    rw_commit_ack(c, 0, "5-0", 3);
    assert_false(rw_commit_flush(c, &s));
    assert_int_equal(rw_commit_in_flight(c), 0);
}

/* A reset drops what is pending and in flight; late replies are ignored. */
static void test_reset(void **state)
{
    (void)state;
    rw_commit_ack(c, 0, "1-0", 3);
    rw_commit_counts(c)->events = 7;
    int a = flush();
    rw_commit_ack(c, 0, "2-0", 3);
    int b = flush();
    rw_commit_counts(c)->events = 1;
    rw_commit_ack(c, 0, "3-0", 3); /* pending, never sent */
    rw_commit_reset(c, 41);
    assert_int_equal(rw_commit_in_flight(c), 0);
    assert_false(rw_commit_pending(c, st));
    answer(a, REPLY_OK);
    answer(b, REPLY_ERROR);
    assert_int_equal(nlanded, 0);
    assert_int_equal(nfailed, 0);
    /* Redis says write 1 landed (its reply was lost): its counts reach the metrics now. */
    struct rw_metrics metrics = {0};
    rw_commit_settle(c, 1, &metrics);
    assert_int_equal(metrics.events_total, 7);
    rw_commit_settle(c, 2, &metrics); /* settled once only */
    assert_int_equal(metrics.events_total, 7);
    /* The next write follows the number given. */
    rw_commit_ack(c, 0, "4-0", 3);
    int n = flush();
    struct cur k = {&sent[n], 0};
    head(&k, "41", NULL, 0, NULL, 0);
    empty_sections(&k, 6);
    meta(&k, "42");
    answer(n, REPLY_OK);
    assert_int_equal(nlanded, 1);
    assert_int_equal(landed_seq[0], 42);
    assert_int_equal(landed_events, 0);
}

/* Redis does not roll a script back: every check comes before the first write. */
static void test_script_checks_first(void **state)
{
    (void)state;
    const char *s = rw_commit_script;
    assert_true(strncmp(s, "#!lua", 5) == 0);
    static const char *const writes[] = {"redis.call('XADD'",     "redis.call('HSET'",
                                         "redis.call('SETRANGE'", "redis.call('DEL'",
                                         "redis.call('RENAME'",   "redis.call('UNLINK'"};
    const char *first = NULL;
    for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
        const char *p = strstr(s, writes[i]);
        assert_non_null(p); /* each write the layout needs is there */
        if (!first || p < first)
            first = p;
    }
    static const char *const checks[] = {"'TYPE'", "acl_check_cmd", "redis.call('GET', lease)",
                                         "'HGET', meta, 'seq'", "redis.call('EXISTS'"};
    int found = 0;
    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
        for (const char *p = strstr(s, checks[i]); p; p = strstr(p + 1, checks[i])) {
            if (p > first)
                fail_msg("'%s' at %td comes after the first write at %td", checks[i], p - s,
                         first - s);
            found++;
        }
    }
    assert_true(found >= 5);
    /* The sequence number is written last. */
    const char *meta_w = strstr(s, "hset(meta");
    assert_non_null(meta_w);
    assert_null(strstr(meta_w + 1, "redis.call("));
    assert_null(strstr(meta_w + 1, "hset("));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_layout, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sequence_and_failure, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_reset, fx_setup, fx_teardown),
        cmocka_unit_test(test_script_checks_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
