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

#include "renewald/core/account_store.h"
#include "renewald/core/timeutil.h"

#define NSLOTS      6
#define FINGERPRINT 1234u

static void check(int ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The API's and the worklist's use of a decoded account. */
static void use(const struct rw_store *st, const struct rw_account *a)
{
    char date[RW_DATE_MAX], time[RW_RFC3339_MAX];
    rw_format_date(a->renewal_day, date);
    check(strlen(date) == RW_DATE_MAX - 1);
    const int64_t times[] = {a->first_seen_ms, a->last_event_ms, a->ref_ms, a->below_since_ms};
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        rw_format_rfc3339(times[i], time);
        check(strlen(time) < RW_RFC3339_MAX);
    }
    const int64_t nows[] = {INT64_MIN, 0, INT64_C(1763632800000), INT64_MAX};
    for (size_t i = 0; i < sizeof nows / sizeof nows[0]; i++) {
        int32_t d = rw_account_days_to_renewal(a, nows[i]);
        check((d == INT32_MIN) == (a->renewal_day == RW_NO_DAY));
        struct rw_account *out[2];
        size_t n = rw_store_worklist(st, 0, -1, nows[i], out, 2);
        check(n == 1 && out[0] == a);
        n = rw_store_worklist(st, 1u << a->band, 30, nows[i], out, 2);
        check(n == (d >= 0 && d <= 30 ? 1u : 0u));
    }
    if (a->name)
        check(strlen(a->name) <= RW_NAME_MAX);
    if (a->owner)
        check(strlen(a->owner) <= RW_OWNER_MAX);
    if (a->tier)
        check(strlen(a->tier) <= RW_TIER_MAX);
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

    struct rw_store *st = rw_store_new(NSLOTS);
    bool reset = false;
    struct rw_account *a = rw_account_decode(st, id, id_len, rec, len, FINGERPRINT, &reset);
    if (!a) {
        check(rw_store_count(st) == 0);
        goto out;
    }
    check(id_len >= 1 && id_len <= RW_ACCOUNT_MAX);
    check(a->id_len == id_len && memcmp(a->id, id, id_len) == 0 && a->id[id_len] == '\0');
    check(rw_store_find(st, id, id_len) == a && rw_store_count(st) == 1);
    check(a->band < RW_BAND_COUNT && a->notified_band < RW_BAND_COUNT);
    check(!isinf(a->arr) && !isinf(a->seats));
    check(isnan(a->score) || (a->score >= 0 && a->score <= 100));
    use(st, a);

    uint8_t buf[RW_ACCOUNT_RECORD_MAX];
    size_t n = rw_account_encode(st, a, FINGERPRINT, NULL, 0);
    check(n <= sizeof buf);
    /* A short buffer is left untouched. */
    memset(buf, 0xee, sizeof buf);
    check(rw_account_encode(st, a, FINGERPRINT, buf, n - 1) == n);
    for (size_t i = 0; i < n; i++)
        check(buf[i] == 0xee);
    check(rw_account_encode(st, a, FINGERPRINT, buf, sizeof buf) == n);
    if (!reset)
        check(n == len && memcmp(buf, rec, len) == 0);
    /* A record the daemon wrote always reads back, onto the same account. */
    bool reset2 = true;
    check(rw_account_decode(st, id, id_len, buf, n, FINGERPRINT, &reset2) == a);
    check(!reset2 && rw_store_count(st) == 1);
out:
    rw_store_free(st);
    free(rec);
    free(id);
    return 0;
}
