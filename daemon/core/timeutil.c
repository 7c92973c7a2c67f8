/*
 * timeutil.c - RFC 3339 times, calendar dates and stream entry ids.
 *
 * Calendar arithmetic is Howard Hinnant's days_from_civil / civil_from_days
 * (proleptic Gregorian), so nothing depends on timegm, TZ or the locale.
 * Formatting clamps to the years 0000..9999 so the output always has the
 * fixed width the buffer sizes in timeutil.h promise.
 */
#include "renewald/core/timeutil.h"

#include <inttypes.h>
#include <stdio.h>

/* 0000-01-01 and 9999-12-31 as days since the epoch. */
#define DAY_MIN INT64_C(-719528)
#define DAY_MAX INT64_C(2932896)

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool is_leap(unsigned y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(unsigned y, unsigned m)
{
    static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* N decimal digits at S, no sign or space. */
static bool digits(const char *s, int n, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return true;
}

/* "YYYY-MM-DD" at S (10 bytes available) with a real month and day. */
static bool parse_ymd(const char *s, unsigned *y, unsigned *m, unsigned *d)
{
    if (!digits(s, 4, y) || s[4] != '-' || !digits(s + 5, 2, m) || s[7] != '-' ||
        !digits(s + 8, 2, d))
        return false;
    return *m >= 1 && *m <= 12 && *d >= 1 && *d <= days_in_month(*y, *m);
}

bool rw_parse_rfc3339(const char *s, size_t len, int64_t *out_ms)
{
    unsigned y, mo, d, h, mi, sec, frac = 0;
    size_t i = 19;

    if (len < 20 || !parse_ymd(s, &y, &mo, &d))
        return false;
    if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
        return false;
    if (!digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
        !digits(s + 17, 2, &sec))
        return false;
    if (h > 23 || mi > 59 || sec > 60)
        return false;
    if (s[i] == '.') {
        /* 1..9 digits; keep the first three (rounding down). */
        size_t n = 0;
        i++;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (n < 3)
                frac = frac * 10 + (unsigned)(s[i] - '0');
            n++;
            i++;
        }
        if (n < 1 || n > 9)
            return false;
        for (; n < 3; n++)
            frac *= 10;
    }
    if (sec == 60) { /* a leap second: the last instant of the minute before it */
        sec = 59;
        frac = 999;
    }

    int64_t offset_min = 0;
    if (i >= len)
        return false;
    if (s[i] == 'Z' || s[i] == 'z') {
        i++;
    } else if (s[i] == '+' || s[i] == '-') {
        unsigned oh, om;
        if (len - i < 6 || !digits(s + i + 1, 2, &oh) || s[i + 3] != ':' ||
            !digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
            return false;
        offset_min = (int64_t)oh * 60 + om;
        if (s[i] == '-')
            offset_min = -offset_min;
        i += 6;
    } else {
        return false;
    }
    if (i != len)
        return false;

    const int64_t day = days_from_civil(y, mo, d);
    *out_ms = day * RW_MS_PER_DAY + (int64_t)h * 3600000 + (int64_t)mi * 60000 +
              (int64_t)sec * 1000 + frac - offset_min * 60000;
    return true;
}

/* Writes N decimal digits of V (zero-padded) at P. */
static char *put_digits(char *p, unsigned v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + n;
}

/* Writes "YYYY-MM-DD" for DAY (already clamped) at P. */
static char *put_date(char *p, int64_t day)
{
    int64_t y;
    unsigned m, d;
    civil_from_days(day, &y, &m, &d);
    p = put_digits(p, (unsigned)y, 4);
    *p++ = '-';
    p = put_digits(p, m, 2);
    *p++ = '-';
    return put_digits(p, d, 2);
}

void rw_format_rfc3339(int64_t ms, char *buf)
{
    const int64_t lo = DAY_MIN * RW_MS_PER_DAY, hi = (DAY_MAX + 1) * RW_MS_PER_DAY - 1;
    if (ms < lo)
        ms = lo;
    if (ms > hi)
        ms = hi;
    int64_t day = ms / RW_MS_PER_DAY, rem = ms % RW_MS_PER_DAY;
    if (rem < 0) {
        day--;
        rem += RW_MS_PER_DAY;
    }
    char *p = put_date(buf, day);
    *p++ = 'T';
    p = put_digits(p, (unsigned)(rem / 3600000), 2);
    *p++ = ':';
    p = put_digits(p, (unsigned)(rem / 60000 % 60), 2);
    *p++ = ':';
    p = put_digits(p, (unsigned)(rem / 1000 % 60), 2);
    *p++ = '.';
    p = put_digits(p, (unsigned)(rem % 1000), 3);
    *p++ = 'Z';
    *p = '\0';
}

bool rw_parse_date(const char *s, size_t len, int32_t *out_day)
{
    unsigned y, m, d;
    if (len != 10 || !parse_ymd(s, &y, &m, &d) || y < 1)
        return false;
    *out_day = (int32_t)days_from_civil(y, m, d);
    return true;
}

void rw_format_date(int32_t day, char *buf)
{
    int64_t dd = day;
    if (dd < DAY_MIN)
        dd = DAY_MIN;
    if (dd > DAY_MAX)
        dd = DAY_MAX;
    *put_date(buf, dd) = '\0';
}

int32_t rw_day_of_ms(int64_t ms)
{
    int64_t day = ms / RW_MS_PER_DAY;
    if (ms % RW_MS_PER_DAY < 0)
        day--;
    if (day < INT32_MIN)
        return INT32_MIN;
    if (day > INT32_MAX)
        return INT32_MAX;
    return (int32_t)day;
}

/* A u64 in decimal digits only (leading zeros allowed, as Redis does), no overflow. */
static bool parse_u64(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        const unsigned c = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - c) / 10)
            return false;
        v = v * 10 + c;
    }
    *out = v;
    return true;
}

bool rw_parse_entry_id(const char *s, size_t len, struct rw_entry_id *out)
{
    size_t dash = 0;
    while (dash < len && s[dash] != '-')
        dash++;
    if (dash == len)
        return false;
    struct rw_entry_id id;
    if (!parse_u64(s, dash, &id.ms) || !parse_u64(s + dash + 1, len - dash - 1, &id.seq))
        return false;
    *out = id;
    return true;
}

void rw_format_entry_id(struct rw_entry_id id, char *buf)
{
    snprintf(buf, RW_ENTRY_ID_MAX, "%" PRIu64 "-%" PRIu64, id.ms, id.seq);
}

int rw_entry_id_cmp(struct rw_entry_id a, struct rw_entry_id b)
{
    if (a.ms != b.ms)
        return a.ms < b.ms ? -1 : 1;
    if (a.seq != b.seq)
        return a.seq < b.seq ? -1 : 1;
    return 0;
}
