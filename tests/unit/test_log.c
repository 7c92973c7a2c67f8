/* test_log.c - the logger splits "sentence key=value ..." into fields, in logfmt and JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "renewald/log.h"

/* The sentence and "key=value|key=value" of MSG, as rw_log_split sees them. */
static void split(const char *msg, char *sentence, char *pairs)
{
    struct rw_log_field f[RW_LOG_MAX_FIELDS];
    int n = -1;
    size_t s = rw_log_split(msg, strlen(msg), f, &n);
    memcpy(sentence, msg, s);
    sentence[s] = '\0';
    pairs[0] = '\0';
    for (int i = 0; i < n; i++) {
        size_t at = strlen(pairs);
        sprintf(pairs + at, "%s%.*s=%.*s", i ? "|" : "", (int)f[i].key_len, msg + f[i].key,
                (int)f[i].value_len, msg + f[i].value);
    }
}

static void test_split(void **state)
{
    (void)state;
    char s[512], p[512];
    split("delivery failed, will retry id=a1:hook sink=hook attempts=2 error=\"HTTP 500\"", s, p);
    assert_string_equal(s, "delivery failed, will retry");
    assert_string_equal(p, "id=a1:hook|sink=hook|attempts=2|error=HTTP 500");

    split("stopped", s, p);
    assert_string_equal(s, "stopped");
    assert_string_equal(p, "");

    /* A pair in the middle of the sentence stays there: only the tail splits. */
    split("a=b is not at the end", s, p);
    assert_string_equal(s, "a=b is not at the end");
    assert_string_equal(p, "");

    /* A raw quote inside a quoted value, and an escaped one. */
    split("commit refused error=\"ERR \"x\" is bad\" retry_ms=100", s, p);
    assert_string_equal(s, "commit refused");
    assert_string_equal(p, "error=ERR \"x\" is bad|retry_ms=100");
    split("x error=\"say \\\"hi\\\"\"", s, p);
    assert_string_equal(p, "error=say \\\"hi\\\"");

    /* An unterminated quote: no pairs at all rather than a wrong split. */
    split("x error=\"open k=v", s, p);
    assert_string_equal(s, "x error=\"open");
    assert_string_equal(p, "k=v");

    /* Empty values, a message that is all pairs, keys with digits. */
    split("reloading error=\"\" why=", s, p);
    assert_string_equal(s, "reloading");
    assert_string_equal(p, "error=|why=");
    split("k1=v1 k_2=v2", s, p);
    assert_string_equal(s, "");
    assert_string_equal(p, "k1=v1|k_2=v2");
    /* Upper-case words and a value with '=' inside. */
    split("Foo=bar baz", s, p);
    assert_string_equal(p, "");
    split("x url=a=b", s, p);
    assert_string_equal(p, "url=a=b");
}

static char *capture(enum rw_log_format fmt, void (*fn)(void))
{
    fflush(stderr);
    int saved = dup(2);
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    assert_true(dup2(fileno(tmp), 2) >= 0);
    unsetenv("JOURNAL_STREAM");
    rw_log_init(RW_LOG_DEBUG, fmt);
    fn();
    fflush(stderr);
    assert_true(dup2(saved, 2) >= 0);
    close(saved);
    long n = ftell(tmp);
    if (n < 0)
        n = 0;
    fseek(tmp, 0, SEEK_SET);
    char *buf = calloc(1, (size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, tmp), (size_t)n);
    fclose(tmp);
    return buf;
}

static void log_some(void)
{
    rw_warn("delivery failed id=%s sink=%s error=\"%s\"", "a:b", "hook", "HTTP 503 \"busy\"");
    rw_info("stopped");
    rw_log_json_field(RW_LOG_INFO, "alert", "{\"id\":\"x\",\"name\":\"A B\"}", "alert sink=%s",
                      "log");
    rw_info("odd keys msg=shadow level=x");
}

static void test_json_lines(void **state)
{
    (void)state;
    char *out = capture(RW_LOG_JSON, log_some);
    char *save = NULL;
    int lines = 0;
    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_error_t e;
        json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, &e);
        assert_non_null(o);
        assert_non_null(json_object_get(o, "ts"));
        const char *msg = json_string_value(json_object_get(o, "msg"));
        assert_non_null(msg);
        assert_null(strchr(msg, '='));
        if (lines == 0) {
            assert_string_equal(msg, "delivery failed");
            assert_string_equal(json_string_value(json_object_get(o, "level")), "warn");
            assert_string_equal(json_string_value(json_object_get(o, "sink")), "hook");
            assert_string_equal(json_string_value(json_object_get(o, "id")), "a:b");
            assert_string_equal(json_string_value(json_object_get(o, "error")),
                                "HTTP 503 \"busy\"");
        } else if (lines == 2) {
            json_t *al = json_object_get(o, "alert");
            assert_true(json_is_object(al));
            assert_string_equal(json_string_value(json_object_get(al, "name")), "A B");
            assert_string_equal(json_string_value(json_object_get(o, "sink")), "log");
        } else if (lines == 3) {
            assert_string_equal(msg, "odd keys");
            assert_string_equal(json_string_value(json_object_get(o, "_msg")), "shadow");
            assert_string_equal(json_string_value(json_object_get(o, "_level")), "x");
        }
        json_decref(o);
        lines++;
    }
    assert_int_equal(lines, 4);
    free(out);
}

static void test_logfmt_lines(void **state)
{
    (void)state;
    char *out = capture(RW_LOG_TEXT, log_some);
    assert_non_null(strstr(out, "level=warn msg=\"delivery failed\" id=a:b sink=hook "
                                "error=\"HTTP 503 \\\"busy\\\"\"\n"));
    assert_non_null(strstr(out, "level=info msg=\"stopped\"\n"));
    assert_non_null(
        strstr(out, "msg=\"alert\" sink=log alert=\"{\\\"id\\\":\\\"x\\\",\\\"name\\\":\\\"A "
                    "B\\\"}\"\n"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_json_lines),
        cmocka_unit_test(test_logfmt_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
