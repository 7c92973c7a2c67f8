/* test_jsonw.c - JSON written straight into a buffer: always valid JSON (jansson parses it
 * back to the same values), invalid UTF-8 replaced, numbers that stay numbers. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "renewald/core/account_store.h"
#include "renewald/core/jsonw.h"

static struct rw_jsonw w;

static int setup(void **state)
{
    (void)state;
    rw_jsonw_init(&w);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rw_jsonw_free(&w);
    return 0;
}

/* The text written so far equals WANT (and is NUL-terminated at len). */
static void expect_text(const char *want)
{
    assert_non_null(w.buf);
    if (w.len != strlen(want))
        fail_msg("got %s, want %s", w.buf, want);
    assert_int_equal(w.buf[w.len], '\0');
    assert_string_equal(w.buf, want);
}

/* The string S[0..N) written alone as a JSON string. */
static void str_is(const char *s, size_t n, const char *want)
{
    rw_jsonw_reset(&w);
    rw_jsonw_strn(&w, s, n);
    expect_text(want);
}

/* Parses the text with jansson (strict: a whole document, any value). */
static json_t *parsed(void)
{
    json_error_t e;
    json_t *j = json_loadb(w.buf, w.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    if (!j)
        fail_msg("not JSON (%s): %s", e.text, w.buf);
    return j;
}

static void test_escaping(void **state)
{
    (void)state;
    str_is("plain", 5, "\"plain\"");
    str_is("", 0, "\"\"");
    str_is("a\"b\\c/d", 7, "\"a\\\"b\\\\c/d\"");
    str_is("\n\t\r\b\f", 5, "\"\\u000a\\u0009\\u000d\\u0008\\u000c\"");
    str_is("\x01\x1f\x7f", 3, "\"\\u0001\\u001f\x7f\""); /* DEL is valid JSON as it is */
    str_is("a\0b", 3, "\"a\\u0000b\"");                  /* the length counts, not NUL */
    str_is("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14,
           "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""); /* valid UTF-8 passes */
    rw_jsonw_reset(&w);
    rw_jsonw_strn(&w, NULL, 3);
    expect_text("null");
    rw_jsonw_reset(&w);
    rw_jsonw_str(&w, NULL);
    expect_text("null");
    rw_jsonw_reset(&w);
    rw_jsonw_str(&w, "x\"y");
    expect_text("\"x\\\"y\"");
}

#define FFFD "\xef\xbf\xbd"

static void test_invalid_utf8(void **state)
{
    (void)state;
    str_is("Caf\xe9!", 5, "\"Caf" FFFD "!\"");           /* a stray Latin-1 byte */
    str_is("\x80", 1, "\"" FFFD "\"");                   /* a lone continuation byte */
    str_is("\xc3", 1, "\"" FFFD "\"");                   /* cut short at the end */
    str_is("\xe2\x82", 2, "\"" FFFD FFFD "\"");          /* cut short: each byte replaced */
    str_is("\xc0\xaf", 2, "\"" FFFD FFFD "\"");          /* overlong '/' */
    str_is("\xe0\x80\xaf", 3, "\"" FFFD FFFD FFFD "\""); /* overlong, 3 bytes */
    str_is("\xf0\x80\x80\xaf", 4, "\"" FFFD FFFD FFFD FFFD "\"");
    str_is("\xed\xa0\x80", 3, "\"" FFFD FFFD FFFD "\""); /* a UTF-16 surrogate */
    str_is("\xed\xbf\xbf", 3, "\"" FFFD FFFD FFFD "\"");
    str_is("\xf4\x90\x80\x80", 4, "\"" FFFD FFFD FFFD FFFD "\""); /* above U+10FFFF */
    str_is("\xfe\xff", 2, "\"" FFFD FFFD "\"");
    /* The edges that are valid. */
    str_is("\xed\x9f\xbf", 3, "\"\xed\x9f\xbf\"");         /* U+D7FF */
    str_is("\xee\x80\x80", 3, "\"\xee\x80\x80\"");         /* U+E000 */
    str_is("\xf4\x8f\xbf\xbf", 4, "\"\xf4\x8f\xbf\xbf\""); /* U+10FFFF */
    str_is("\xc2\x80", 2, "\"\xc2\x80\"");                 /* U+0080 */
    /* Whatever the bytes, jansson reads the result back (it rejects invalid UTF-8). */
    uint64_t x = 0x9e3779b97f4a7c15ull;
    char buf[64];
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = (size_t)(x % sizeof(buf));
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf[i] = (char)(x >> 24);
        }
        rw_jsonw_reset(&w);
        rw_jsonw_strn(&w, buf, n);
        json_t *j = parsed();
        assert_true(json_is_string(j));
        json_decref(j);
    }
}

static void test_numbers(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *text;
    } cases[] = {
        {0.0, "0.0"},        {-0.0, "-0.0"},     {5, "5.0"},         {120000, "120000.0"},
        {31.4, "31.4"},      {0.1 + 0.2, "0.3"}, {-2.5, "-2.5"},     {1e20, "1e+20"},
        {1.5e-7, "1.5e-07"}, {NAN, "null"},      {INFINITY, "null"}, {-INFINITY, "null"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rw_jsonw_reset(&w);
        rw_jsonw_num(&w, cases[i].v);
        expect_text(cases[i].text);
        json_t *j = parsed();
        if (isfinite(cases[i].v)) {
            assert_true(json_is_real(j)); /* a real stays a real */
            assert_true(fabs(json_real_value(j) - cases[i].v) <= 1e-14 * fabs(cases[i].v));
        } else {
            assert_true(json_is_null(j));
        }
        json_decref(j);
    }
    rw_jsonw_reset(&w);
    rw_jsonw_int(&w, INT64_MIN);
    expect_text("-9223372036854775808");
    rw_jsonw_reset(&w);
    rw_jsonw_int(&w, 42);
    expect_text("42");
    static const struct {
        int t;
        const char *text;
    } tenths[] = {{0, "0.0"}, {400, "40.0"}, {314, "31.4"},  {1000, "100.0"},
                  {5, "0.5"}, {-5, "-0.5"},  {-123, "-12.3"}};
    for (size_t i = 0; i < sizeof(tenths) / sizeof(tenths[0]); i++) {
        rw_jsonw_reset(&w);
        rw_jsonw_tenths(&w, tenths[i].t);
        expect_text(tenths[i].text);
    }
}

static void test_structure(void **state)
{
    (void)state;
    rw_jsonw_obj_open(&w);
    rw_jsonw_key(&w, "a");
    rw_jsonw_int(&w, 1);
    rw_jsonw_key(&w, "list");
    rw_jsonw_arr_open(&w);
    rw_jsonw_elem(&w);
    rw_jsonw_bool(&w, true);
    rw_jsonw_elem(&w);
    rw_jsonw_arr_open(&w);
    rw_jsonw_arr_close(&w);
    rw_jsonw_elem(&w);
    rw_jsonw_obj_open(&w);
    rw_jsonw_obj_close(&w);
    rw_jsonw_elem(&w);
    rw_jsonw_null(&w);
    rw_jsonw_arr_close(&w);
    rw_jsonw_key(&w, "k\"ey");
    rw_jsonw_bool(&w, false);
    rw_jsonw_key(&w, "t");
    rw_jsonw_time(&w, INT64_C(1795168800123));
    rw_jsonw_key(&w, "nt");
    rw_jsonw_time(&w, RW_NO_TIME);
    rw_jsonw_key(&w, "d");
    rw_jsonw_date(&w, 20833);
    rw_jsonw_key(&w, "nd");
    rw_jsonw_date(&w, RW_NO_DAY);
    rw_jsonw_key(&w, "raw");
    rw_jsonw_raw(&w, "{\"x\":[1]}", 9);
    rw_jsonw_obj_close(&w);
    expect_text("{\"a\":1,\"list\":[true,[],{},null],\"k\\\"ey\":false,"
                "\"t\":\"2026-11-20T10:00:00.123Z\",\"nt\":null,\"d\":\"2027-01-15\","
                "\"nd\":null,\"raw\":{\"x\":[1]}}");
    json_t *j = parsed();
    assert_int_equal(json_object_size(j), 8);
    assert_int_equal(json_array_size(json_object_get(j, "list")), 4);
    json_decref(j);

    /* take hands the text over and leaves an empty writer that works again. */
    size_t len = 0;
    char *s = rw_jsonw_take(&w, &len);
    assert_int_equal(len, strlen(s));
    assert_true(s[0] == '{');
    free(s);
    assert_null(w.buf);
    assert_int_equal(w.len, 0);
    assert_true(w.first);
    s = rw_jsonw_take(&w, NULL); /* nothing written: an empty string, not NULL */
    assert_non_null(s);
    assert_string_equal(s, "");
    free(s);
    rw_jsonw_arr_open(&w);
    rw_jsonw_elem(&w);
    rw_jsonw_int(&w, 1);
    rw_jsonw_elem(&w);
    rw_jsonw_int(&w, 2);
    rw_jsonw_arr_close(&w);
    expect_text("[1,2]");
    /* reset keeps the memory and starts over at the first element. */
    char *before = w.buf;
    rw_jsonw_reset(&w);
    expect_text("");
    assert_ptr_equal(w.buf, before);
    rw_jsonw_elem(&w);
    rw_jsonw_int(&w, 3);
    expect_text("3");
}

/* A long text grows the buffer and stays exact. */
static void test_growth(void **state)
{
    (void)state;
    rw_jsonw_arr_open(&w);
    for (int i = 0; i < 20000; i++) {
        rw_jsonw_elem(&w);
        rw_jsonw_str(&w, "\xe2\x82\xac\"\x01");
    }
    rw_jsonw_arr_close(&w);
    assert_true(w.cap > w.len);
    json_t *j = parsed();
    assert_int_equal(json_array_size(j), 20000);
    assert_string_equal(json_string_value(json_array_get(j, 19999)), "\xe2\x82\xac\"\x01");
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_escaping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_structure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_growth, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
