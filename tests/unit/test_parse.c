/* test_parse.c - strict number, duration, rate and list parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "renewald/core/parse.h"

static void test_int64(void **state)
{
    (void)state;
    int64_t v = 42;
    assert_true(rw_parse_int64("0", 0, 10, &v));
    assert_int_equal(v, 0);
    assert_true(rw_parse_int64("-5", -10, 10, &v));
    assert_int_equal(v, -5);
    assert_true(rw_parse_int64("+7", 0, 10, &v));
    assert_int_equal(v, 7);
    assert_true(rw_parse_int64("9223372036854775807", 0, INT64_MAX, &v));
    assert_true(v == INT64_MAX);
    assert_true(rw_parse_int64("-9223372036854775808", INT64_MIN, 0, &v));
    assert_true(v == INT64_MIN);
    v = 42;
    const char *bad[] = {"",
                         "x",
                         "1x",
                         " 1",
                         "1 ",
                         "0x10",
                         "1.0",
                         "-",
                         "+",
                         "--1",
                         "1e3",
                         "9223372036854775808",
                         "-9223372036854775809",
                         "11",
                         "-11"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_false(rw_parse_int64(bad[i], -10, 10, &v));
        assert_int_equal(v, 42); /* untouched on failure */
    }
    assert_false(rw_parse_int64(NULL, 0, 10, &v));
    assert_true(rw_parse_int64("10", -10, 10, &v));
    assert_true(rw_parse_int64("-10", -10, 10, &v));
}

static void test_double(void **state)
{
    (void)state;
    double d = 0;
    assert_true(rw_parse_double("1.5", &d));
    assert_true(d == 1.5);
    assert_true(rw_parse_double("-0.25", &d));
    assert_true(d == -0.25);
    assert_true(rw_parse_double(".5", &d));
    assert_true(d == 0.5);
    assert_true(rw_parse_double("5.", &d));
    assert_true(d == 5.0);
    assert_true(rw_parse_double("1e3", &d));
    assert_true(d == 1000.0);
    assert_true(rw_parse_double("2E-2", &d));
    assert_true(d == 0.02);
    assert_true(rw_parse_double("1e-400", &d)); /* underflow to 0 is fine */
    d = 7;
    const char *bad[] = {"",      "nan",    "NaN",   "inf",  "-inf", "infinity",
                         "1e400", "-1e400", "0x1p3", "1.5x", " 1",   "1 ",
                         ".",     "e5",     "1e",    "1e+",  "--1",  "1..2"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_false(rw_parse_double(bad[i], &d));
        assert_true(d == 7);
    }
}

static void test_bool(void **state)
{
    (void)state;
    bool b = false;
    const char *yes[] = {"true", "yes", "on", "1", "TRUE", "Yes"};
    const char *no[] = {"false", "no", "off", "0", "False"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        b = false;
        assert_true(rw_parse_bool(yes[i], &b));
        assert_true(b);
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        b = true;
        assert_true(rw_parse_bool(no[i], &b));
        assert_false(b);
    }
    const char *bad[] = {"", "y", "2", "truee", " true", "enabled"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(rw_parse_bool(bad[i], &b));
}

static void test_duration(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int64_t ms;
    } good[] = {
        {"0", 0},          {"500ms", 500},     {"90s", 90000}, {"30m", 1800000}, {"12h", 43200000},
        {"7d", 604800000}, {"2w", 1209600000}, {"0s", 0},      {"1ms", 1},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        int64_t v = -1;
        assert_true(rw_parse_duration(good[i].s, &v));
        assert_true(v == good[i].ms);
    }
    const char *bad[] = {"",
                         "5",
                         "s",
                         "-1s",
                         "1.5s",
                         "10 s",
                         " 1s",
                         "1s ",
                         "1x",
                         "1S",
                         "1sec",
                         "1ss",
                         "ms",
                         "1d2h",
                         "99999999999999999999s",
                         "15250284453w",
                         "9223372036854775807s"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t v = 77;
        assert_false(rw_parse_duration(bad[i], &v));
        assert_true(v == 77);
    }
}

static void test_rate(void **state)
{
    (void)state;
    double r = -1;
    assert_true(rw_parse_rate("1/s", &r));
    assert_true(r == 1.0);
    assert_true(rw_parse_rate("30/m", &r));
    assert_true(r == 0.5);
    assert_true(rw_parse_rate("3600/h", &r));
    assert_true(r == 1.0);
    assert_true(rw_parse_rate("0.5/s", &r));
    assert_true(r == 0.5);
    assert_true(rw_parse_rate("0", &r));
    assert_true(r == 0);
    r = 3;
    assert_true(rw_parse_rate("none", &r));
    assert_true(r == 0);
    r = 9;
    const char *bad[] = {"",    "1",    "/s",   "1/",    "1/d",     "0/s",   "-1/s",
                         "x/s", "1/s ", "1 /s", "nan/s", "1e400/s", "1/s/s", "inf/m"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_false(rw_parse_rate(bad[i], &r));
        assert_true(r == 9);
    }
}

static void test_trim(void **state)
{
    (void)state;
    char a[] = "  a b \t\n";
    assert_string_equal(rw_trim(a), "a b");
    char b[] = "";
    assert_string_equal(rw_trim(b), "");
    char c[] = "   ";
    assert_string_equal(rw_trim(c), "");
    char d[] = "x";
    assert_string_equal(rw_trim(d), "x");
}

static void test_split_list(void **state)
{
    (void)state;
    char *items[3];
    char a[] = " a , b,c ";
    assert_int_equal(rw_split_list(a, items, 3), 3);
    assert_string_equal(items[0], "a");
    assert_string_equal(items[1], "b");
    assert_string_equal(items[2], "c");
    char b[] = "one";
    assert_int_equal(rw_split_list(b, items, 3), 1);
    assert_string_equal(items[0], "one");
    char c[] = "  ";
    assert_int_equal(rw_split_list(c, items, 3), 0);
    char d[] = "";
    assert_int_equal(rw_split_list(d, items, 3), 0);
    char e[] = "a,,b";
    assert_int_equal(rw_split_list(e, items, 3), -1);
    char f[] = "a,b,";
    assert_int_equal(rw_split_list(f, items, 3), -1);
    char g[] = ",a";
    assert_int_equal(rw_split_list(g, items, 3), -1);
    char h[] = "a,b,c,d";
    assert_int_equal(rw_split_list(h, items, 3), -1);
    char i[] = "a b, c";
    assert_int_equal(rw_split_list(i, items, 3), 2);
    assert_string_equal(items[0], "a b");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_int64),      cmocka_unit_test(test_double),
        cmocka_unit_test(test_bool),       cmocka_unit_test(test_duration),
        cmocka_unit_test(test_rate),       cmocka_unit_test(test_trim),
        cmocka_unit_test(test_split_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
