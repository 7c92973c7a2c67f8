/*
 * fuzz_account_record.c - the persisted account record (rw_account_decode),
 * any bytes, as read back from Redis at start-up.
 *
 * Input layout: one byte K, then K bytes of account id (fewer when the input
 * is shorter), then the record.  The store has 6 slots and the scorer's
 * fingerprint is 1234.  A record that decodes must survive the round trip: with
 * the same fingerprint, rw_account_encode gives back exactly the input; in any
 * case the re-encoded record decodes again.  What the daemon does next with a
 * decoded account (the API formats its dates, the worklist sorts it) is run too.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "renewald/config.h"
#include "renewald/core/account_store.h"
#include "renewald/core/score.h"
#include "renewald/core/timeutil.h"

static void check(int ok)
{
    if (!ok)
        abort();
}

/* A scorer of three signals (rate, mean, recency): 4 slots, named by fingerprint. */
static const struct rw_scorer *scorer(void)
{
    static struct rw_scorer *sc;
    static struct rw_config cfg;
    if (sc)
        return sc;
    static const struct {
        const char *name;
        enum rw_aggregate agg;
    } sigs[] = {{"logins", RW_AGG_RATE}, {"csat", RW_AGG_MEAN}, {"seen", RW_AGG_RECENCY}};
    cfg.nsignals = 3;
    for (int i = 0; i < 3; i++) {
        struct rw_signal_conf *c = &cfg.signals[i];
        strcpy(c->name, sigs[i].name);
        strcpy(c->types[0], sigs[i].name);
        c->ntypes = 1;
        c->aggregate = sigs[i].agg;
        c->half_life_ms = 7 * RW_MS_PER_DAY;
        c->low = 0;
        c->high = 1;
        c->weight = 1;
    }
    sc = rw_scorer_new(&cfg);
    check(sc != NULL);
    return sc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the API does with a decoded account: format its times and dates. */
static void use(const struct rw_store *st, const struct rw_account *a)
{
    char date[RW_DATE_MAX], time[RW_RFC3339_MAX];
    rw_format_date(a->renewal_day, date);
    check(strlen(date) == RW_DATE_MAX - 1);
    const int64_t times[] = {a->first_seen_ms,    a->last_event_ms,  a->ref_ms,
                             a->below_healthy_ms, a->below_watch_ms, rw_store_snoozed_until(st, a)};
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        rw_format_rfc3339(times[i], time);
        check(strlen(time) < RW_RFC3339_MAX);
    }
    const int64_t nows[] = {INT64_MIN, 0, INT64_C(1763632800000), INT64_MAX};
    for (size_t i = 0; i < sizeof nows / sizeof nows[0]; i++) {
        int32_t d = rw_account_days_to_renewal(a, nows[i]);
        check((d == INT32_MIN) == (a->renewal_day == RW_NO_DAY));
    }
    if (a->name)
        check(strlen(a->name) <= RW_NAME_MAX);
    if (a->owner)
        check(strlen(a->owner) <= RW_OWNER_MAX);
    if (a->tier)
        check(strlen(a->tier) <= RW_TIER_MAX);
    const struct rw_account_ext *ext = rw_store_ext(st, a);
    if (ext) {
        check(!ext->snooze_reason || strlen(ext->snooze_reason) <= RW_SNOOZE_TEXT_MAX);
        check(!ext->snoozed_by || strlen(ext->snoozed_by) <= RW_SNOOZE_TEXT_MAX);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t id_len = data[0] < size - 1 ? data[0] : size - 1;
    /* Separate copies so that ASan sees a read past either. */
    char *id = malloc(id_len ? id_len : 1);
    size_t len = size - 1 - id_len;
    uint8_t *rec = malloc(len ? len : 1);
    if (!id || !rec)
        abort();
    memcpy(id, data + 1, id_len);
    memcpy(rec, data + 1 + id_len, len);

    const struct rw_scorer *sc = scorer();
    struct rw_store *st = rw_store_new(rw_scorer_nslots(sc));
    int reset = 0;
    struct rw_account *a = rw_account_decode(st, sc, id, id_len, rec, len, &reset);
    if (!a) {
        check(rw_store_count(st) == 0);
        goto out;
    }
    check(id_len >= 1 && id_len <= RW_ACCOUNT_MAX);
    check(a->id_len == id_len && memcmp(a->id, id, id_len) == 0 && a->id[id_len] == '\0');
    check(rw_store_find(st, id, id_len) == a && rw_store_count(st) == 1);
    check(!isinf(a->arr) && !isinf(a->seats));
    check(isnan(a->score) || (a->score >= 0 && a->score <= 100));
    check(reset >= 0 && reset <= rw_scorer_nsignals(sc));
    use(st, a);

    uint8_t buf[RW_ACCOUNT_RECORD_MAX], again[RW_ACCOUNT_RECORD_MAX];
    size_t n = rw_account_encode(sc, st, a, NULL, 0);
    check(n <= sizeof buf);
    /* A short buffer is left untouched. */
    memset(buf, 0xee, sizeof buf);
    check(rw_account_encode(sc, st, a, buf, n - 1) == n);
    for (size_t i = 0; i < n; i++)
        check(buf[i] == 0xee);
    check(rw_account_encode(sc, st, a, buf, sizeof buf) == n);
    /* A record the daemon wrote always reads back, onto the same account, and
     * writes out the same bytes again. */
    int reset2 = -1;
    check(rw_account_decode(st, sc, id, id_len, buf, n, &reset2) == a);
    check(reset2 == 0 && rw_store_count(st) == 1);
    check(rw_account_encode(sc, st, a, again, sizeof again) == n && memcmp(again, buf, n) == 0);
out:
    rw_store_free(st);
    free(rec);
    free(id);
    return 0;
}
