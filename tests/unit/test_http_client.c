/* test_http_client.c - libcurl multi on libevent against an evhttp server on loopback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "renewald/http_client.h"
#include "renewald/sink.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_RESULTS 8

struct result {
    bool called;
    long status;
    CURLcode code;
    int64_t retry_after_ms;
    size_t body_len, body_total;
    char body[160];
    bool cancelled;
};

struct fixture {
    struct event_base *base;
    struct evhttp *http;
    struct event *guard;
    struct rw_http_client *client;
    int port;
    int expected, done;
    bool timed_out, hang_seen;
    struct result res[MAX_RESULTS];
};

static void handler(struct evhttp_request *req, void *arg)
{
    struct fixture *f = arg;
    const char *uri = evhttp_request_get_uri(req);
    struct evbuffer *out = evbuffer_new();
    struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
    if (strcmp(uri, "/ok") == 0) {
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t n = evbuffer_get_length(in);
        char got[16] = {0};
        evbuffer_copyout(in, got, n < sizeof got - 1 ? n : sizeof got - 1);
        bool post = evhttp_request_get_command(req) == EVHTTP_REQ_POST;
        evbuffer_add_printf(out, "%s", post && strcmp(got, "hello") == 0 ? "ok" : "bad body");
        evhttp_send_reply(req, 200, "OK", out);
    } else if (strcmp(uri, "/fail") == 0) {
        evbuffer_add_printf(out, "boom");
        evhttp_send_reply(req, 500, "Internal Server Error", out);
    } else if (strcmp(uri, "/busy") == 0) {
        evhttp_add_header(oh, "Retry-After", "2");
        evhttp_send_reply(req, 429, "Too Many Requests", out);
    } else if (strcmp(uri, "/busy-bad") == 0) {
        evhttp_add_header(oh, "Retry-After", "soon");
        evhttp_send_reply(req, 503, "Service Unavailable", out);
    } else if (strcmp(uri, "/big") == 0) {
        char chunk[1000];
        memset(chunk, 'x', sizeof chunk);
        for (int i = 0; i < 10; i++)
            evbuffer_add(out, chunk, sizeof chunk);
        evhttp_send_reply(req, 200, "OK", out);
    } else if (strcmp(uri, "/hook") == 0) {
        /* Echo what a webhook receiver checks. */
        struct evkeyvalq *ih = evhttp_request_get_input_headers(req);
        const char *ua = evhttp_find_header(ih, "User-Agent");
        const char *sig = evhttp_find_header(ih, "X-Renewald-Signature");
        const char *ts = evhttp_find_header(ih, "X-Renewald-Timestamp");
        evbuffer_add_printf(out, "%s|%s|%s|%zu", ua ? ua : "-", ts ? ts : "-", sig ? sig : "-",
                            evbuffer_get_length(evhttp_request_get_input_buffer(req)));
        evhttp_send_reply(req, 202, "Accepted", out);
    } else if (strcmp(uri, "/hang") == 0) {
        f->hang_seen = true; /* never answered: the client must time out or cancel */
        event_base_loopbreak(f->base);
    } else {
        evhttp_send_reply(req, 404, "Not Found", out);
    }
    evbuffer_free(out);
}

static void on_guard(evutil_socket_t fd, short what, void *arg)
{
    struct fixture *f = arg;
    (void)fd;
    (void)what;
    f->timed_out = true;
    event_base_loopbreak(f->base);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->base = event_base_new();
    f->http = evhttp_new(f->base);
    evhttp_set_gencb(f->http, handler, f);
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(f->http, "127.0.0.1", 0);
    assert_non_null(bs);
    evutil_socket_t fd = evconnlistener_get_fd(evhttp_bound_socket_get_listener(bs));
    struct sockaddr_in sin;
    socklen_t len = sizeof sin;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    f->port = ntohs(sin.sin_port);
    f->guard = evtimer_new(f->base, on_guard, f);
    f->client = rw_http_client_new(f->base);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    rw_http_client_free(f->client);
    evhttp_free(f->http);
    event_free(f->guard);
    event_base_free(f->base);
    free(f);
    return 0;
}

/* The callback argument: a slot and its fixture. */
struct slot {
    struct fixture *f;
    int i;
};
static struct slot slots[MAX_RESULTS];

static void on_done_slot(const struct rw_http_result *res, void *arg)
{
    struct slot *s = arg;
    struct result *r = &s->f->res[s->i];
    assert_false(r->called); /* exactly once */
    r->called = true;
    r->status = res->status;
    r->code = res->code;
    r->retry_after_ms = res->retry_after_ms;
    r->body_len = res->body_len;
    r->body_total = res->body_total;
    r->cancelled = res->cancelled;
    assert_non_null(res->error);
    assert_int_equal(strlen(res->body), res->body_len);
    snprintf(r->body, sizeof r->body, "%s", res->body);
    if (++s->f->done == s->f->expected)
        event_base_loopbreak(s->f->base);
}

static void start(struct fixture *f, int i, const char *path, int port, long timeout_ms,
                  const char *body)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    struct rw_http_request req = {0};
    req.easy = curl_easy_init();
    curl_easy_setopt(req.easy, CURLOPT_URL, url);
    curl_easy_setopt(req.easy, CURLOPT_PROXY, ""); /* ignore any http_proxy of the environment */
    curl_easy_setopt(req.easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(req.easy, CURLOPT_TIMEOUT_MS, timeout_ms);
    req.headers = curl_slist_append(NULL, "Content-Type: text/plain");
    if (body) {
        req.body = strdup(body);
        req.body_len = strlen(body);
    }
    slots[i] = (struct slot){f, i};
    assert_int_equal(rw_http_client_start(f->client, &req, on_done_slot, &slots[i]), 0);
    assert_null(req.easy);          /* ownership taken */
    assert_false(f->res[i].called); /* never from inside start */
}

static void run(struct fixture *f, int expected)
{
    struct timeval tv = {10, 0};
    f->expected = expected;
    evtimer_add(f->guard, &tv);
    event_base_dispatch(f->base);
    evtimer_del(f->guard);
    assert_false(f->timed_out);
}

static void test_statuses(void **state)
{
    struct fixture *f = *state;
    start(f, 0, "/ok", f->port, 5000, "hello");
    start(f, 1, "/fail", f->port, 5000, "x");
    start(f, 2, "/busy", f->port, 5000, "x");
    start(f, 3, "/busy-bad", f->port, 5000, NULL);
    start(f, 4, "/big", f->port, 5000, "x");
    assert_int_equal(rw_http_client_inflight(f->client), 5);
    run(f, 5);
    assert_int_equal(f->done, 5);
    assert_int_equal(rw_http_client_inflight(f->client), 0);

    assert_int_equal(f->res[0].code, CURLE_OK);
    assert_int_equal(f->res[0].status, 200);
    assert_string_equal(f->res[0].body, "ok");
    assert_int_equal(f->res[0].retry_after_ms, -1);
    assert_int_equal(f->res[1].status, 500);
    assert_string_equal(f->res[1].body, "boom");
    assert_int_equal(f->res[2].status, 429);
    assert_int_equal(f->res[2].retry_after_ms, 2000);
    assert_int_equal(f->res[3].status, 503);
    assert_int_equal(f->res[3].retry_after_ms, -1); /* unparseable: none */
    assert_int_equal(f->res[4].status, 200);
    assert_int_equal(f->res[4].body_len, RW_HTTP_BODY_CAP);
    assert_int_equal(f->res[4].body_total, 10000);
    for (int i = 0; i < 5; i++)
        assert_false(f->res[i].cancelled);
}

static void test_refused_and_timeout(void **state)
{
    struct fixture *f = *state;
    /* A port nobody listens on: bind, learn the port, close. */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sin;
    assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof sin), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&sin, &len), 0);
    close(s);
    start(f, 0, "/ok", ntohs(sin.sin_port), 5000, "hello");
    start(f, 1, "/hang", f->port, 300, "x");
    f->expected = 2;
    while (f->done < 2 && !f->timed_out)
        run(f, 2); /* /hang's handler breaks the loop once; go on */
    assert_int_equal(f->res[0].code, CURLE_COULDNT_CONNECT);
    assert_int_equal(f->res[0].status, 0);
    assert_int_equal(f->res[1].code, CURLE_OPERATION_TIMEDOUT);
    assert_true(f->hang_seen);
}

static void test_cancel_on_free(void **state)
{
    struct fixture *f = *state;
    start(f, 0, "/hang", f->port, 60000, "x");
    f->expected = 1;
    struct timeval tv = {10, 0};
    evtimer_add(f->guard, &tv);
    while (!f->hang_seen && !f->timed_out)
        event_base_dispatch(f->base);
    evtimer_del(f->guard);
    assert_true(f->hang_seen);
    assert_false(f->res[0].called);
    assert_int_equal(rw_http_client_inflight(f->client), 1);
    rw_http_client_free(f->client);
    f->client = NULL;
    assert_true(f->res[0].called);
    assert_true(f->res[0].cancelled);
    assert_int_equal(f->res[0].code, CURLE_ABORTED_BY_CALLBACK);
}

/* A webhook delivery prepared by the sink module, end to end over loopback. */
static void test_webhook_end_to_end(void **state)
{
    struct fixture *f = *state;
    char url[64], secret[] = "secret";
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", f->port);
    struct rw_sink_conf sink = {
        .name = "crm", .type = RW_SINK_WEBHOOK, .url = url, .secret = secret, .timeout_ms = 5000};
    const char *body = "{\"id\":\"abc\",\"kind\":\"band_change\"}";
    json_t *alert = json_loads(body, 0, NULL);
    struct rw_http_request req;
    char err[RW_SINK_ERROR_MAX];
    assert_int_equal(rw_sink_prepare(&sink, alert, body, INT64_C(1700000000000), &req, err),
                     RW_SINK_TRANSFER);
    json_decref(alert);
    curl_easy_setopt(req.easy, CURLOPT_PROXY, "");
    slots[0] = (struct slot){f, 0};
    assert_int_equal(rw_http_client_start(f->client, &req, on_done_slot, &slots[0]), 0);
    run(f, 1);
    assert_int_equal(f->res[0].status, 202);
    char want[200];
    snprintf(want, sizeof want, "renewald/%s|1700000000|sha256=%s|%zu", RENEWALD_VERSION,
             "414bea339eb5ba51501c2095225e81b5e83369886c6fc82d87488980cd9aa898", strlen(body));
    assert_string_equal(f->res[0].body, want);
    struct rw_delivery_result d;
    struct rw_http_result r = {.status = 202, .code = CURLE_OK, .error = ""};
    rw_sink_classify(&sink, &r, &d);
    assert_int_equal(d.outcome, RW_DELIVERY_SUCCESS);
}

static void test_start_refused(void **state)
{
    struct fixture *f = *state;
    struct rw_http_request req = {.body = strdup("x"), .body_len = 1};
    assert_int_equal(rw_http_client_start(f->client, &req, on_done_slot, NULL), -1); /* no easy */
    assert_null(req.body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_statuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_and_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_on_free, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webhook_end_to_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
