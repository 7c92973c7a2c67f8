/*
 * fuzz_retry_after.c - the Retry-After header parser (rw_retry_after_parse,
 * SPEC §4): delta-seconds and the three HTTP-date forms, any bytes.
 *
 * The input is the header value.  It is parsed against several clocks,
 * including the extremes, and checked against retry.h: success gives
 * 0..RW_RETRY_AFTER_CAP_MS, failure leaves the output alone, the clock does
 * not change whether the value parses, and a later clock never gives a longer
 * delay (except for RFC 850 dates, whose century depends on the clock).
 */
#include <stdlib.h>
#include <string.h>

#include "renewald/retry.h"

static void check(int ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Increasing clocks: the extremes, the epoch, 1994 (the RFC's example), now-ish. */
    static const int64_t clocks[] = {INT64_MIN,
                                     -INT64_C(62135596800000),
                                     0,
                                     INT64_C(784111777000),
                                     INT64_C(1763632800000),
                                     INT64_C(253402300799999),
                                     INT64_MAX};
    enum { NCLOCKS = sizeof clocks / sizeof clocks[0] };
    /* Copied so that a read past SIZE is an ASan report. */
    char *s = malloc(size ? size : 1);
    if (!s)
        return 0;
    if (size)
        memcpy(s, data, size);

    /* RFC 850's two-digit year is read relative to the clock (up to 50 years
     * ahead), so a later clock can move the date a century later. */
    const bool two_digit_year = memchr(s, '-', size) != NULL;
    bool ok[NCLOCKS];
    int64_t out[NCLOCKS];
    for (int i = 0; i < NCLOCKS; i++) {
        out[i] = INT64_C(-12345);
        ok[i] = rw_retry_after_parse(s, size, clocks[i], &out[i]);
        if (ok[i])
            check(out[i] >= 0 && out[i] <= RW_RETRY_AFTER_CAP_MS);
        else
            check(out[i] == INT64_C(-12345));
        check(ok[i] == ok[0]);
        if (i > 0 && ok[i] && !two_digit_year)
            check(out[i] <= out[i - 1]);
    }
    /* Delta-seconds do not depend on the clock. */
    size_t p = 0;
    while (p < size && (s[p] == ' ' || s[p] == '\t'))
        p++;
    if (ok[0] && p < size && s[p] >= '0' && s[p] <= '9')
        for (int i = 1; i < NCLOCKS; i++)
            check(out[i] == out[0]);
    check(!rw_retry_after_parse(NULL, size, 0, &out[0]));
    free(s);
    return 0;
}
