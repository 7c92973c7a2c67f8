/* api.c - evhttp: /healthz, /metrics, the page, /v1/accounts/ID, its history, the worklist
 * and the summary (the last two in slices). */
#include "renewald/api.h"

#include "api_internal.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "renewald/core/account_store.h"
#include "renewald/core/alert.h"
#include "renewald/core/jsonw.h"
#include "renewald/core/parse.h"
#include "renewald/core/readable.h"
#include "renewald/core/summary.h"
#include "renewald/core/timeutil.h"
#include "renewald/core/worklist.h"
#include "renewald/history_read.h"
#include "renewald/log.h"
#include "renewald/web.h"

#define MAX_HEADERS_SIZE  8192
#define MAX_BODY_SIZE     4096
#define IDLE_TIMEOUT_S    30
#define SCAN_CHUNK        4096 /* accounts looked at between two looks at the clock */
#define SCAN_TURN_US      2000 /* loop time one walk may take per turn */
#define MAX_HISTORY_READS 16   /* history requests waiting for Redis at once */

struct scan;
struct hist;

struct rw_api {
    struct event_base *base;
    struct evhttp *http;
    struct rw_api_hooks hooks;
    void *arg;
    struct scan *scans; /* worklist and summary requests in progress */
    struct hist *hists; /* history requests waiting for Redis */
    size_t nhists;
    struct rw_web *web;
    struct rw_snoozes *snoozes;
};

/* A worklist or a summary: a walk over the accounts, a slice per loop turn. */
struct scan {
    struct scan *next;
    struct rw_api *api;
    struct evhttp_request *req; /* NULL once its connection closed */
    struct rw_worklist *w;      /* one of these two */
    struct rw_summary *sum;
    struct event *ev;
};

/* A history request: the reads of its day keys are on their way. */
struct hist {
    struct hist *next;
    struct rw_api *api;
    struct evhttp_request *req;
    struct rw_history_read *read;
    char *account; /* decoded id */
    size_t len;
};

static void reply_body(struct evhttp_request *req, int code, const char *reason, const char *type,
                       const char *body, size_t len)
{
    struct evbuffer *out = evbuffer_new();
    if (!out) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    evbuffer_add(out, body, len);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", type);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
    evhttp_send_reply(req, code, reason, out);
    evbuffer_free(out);
}

static void reply_text(struct evhttp_request *req, int code, const char *reason, const char *text)
{
    char buf[512];
    int n = snprintf(buf, sizeof buf, "%s\n", text);
    reply_body(req, code, reason, "text/plain; charset=utf-8", buf,
               (size_t)(n < (int)sizeof buf ? n : (int)sizeof buf - 1));
}

void rw_api_reply_json(struct evhttp_request *req, int code, const char *reason, struct rw_jsonw *w)
{
    rw_jsonw_raw(w, "\n", 1);
    reply_body(req, code, reason, "application/json", w->buf, w->len);
}

void rw_api_reply_error(struct evhttp_request *req, int code, const char *reason, const char *msg)
{
    struct rw_jsonw w;
    rw_jsonw_init(&w);
    rw_jsonw_obj_open(&w);
    rw_jsonw_key(&w, "error");
    rw_jsonw_str(&w, msg);
    rw_jsonw_obj_close(&w);
    rw_api_reply_json(req, code, reason, &w);
    rw_jsonw_free(&w);
}

static void days_value(struct rw_jsonw *w, const struct rw_account *a, int64_t now)
{
    int32_t days = rw_account_days_to_renewal(a, now);
    if (days == INT32_MIN)
        rw_jsonw_null(w);
    else
        rw_jsonw_int(w, days);
}

static void snooze_members(struct rw_jsonw *w, const struct rw_store *st,
                           const struct rw_account *a, int64_t now, bool all)
{
    const struct rw_account_ext *ext = rw_store_ext(st, a);
    int64_t until = ext ? ext->snoozed_until_ms : RW_NO_TIME;
    bool on = until != RW_NO_TIME && until > now;
    rw_jsonw_key(w, "snoozed_until");
    rw_jsonw_time(w, on ? until : RW_NO_TIME);
    if (!all)
        return;
    rw_jsonw_key(w, "snooze_reason");
    rw_jsonw_str(w, on ? ext->snooze_reason : NULL);
    rw_jsonw_key(w, "snoozed_by");
    rw_jsonw_str(w, on ? ext->snoozed_by : NULL);
}

static void delta_value(struct rw_jsonw *w, const struct rw_history *h, const struct rw_account *a,
                        int64_t now, int days)
{
    int d;
    if (rw_worklist_delta(h, a, now, days, &d))
        rw_jsonw_tenths(w, d);
    else
        rw_jsonw_null(w);
}

void rw_api_account_doc(struct rw_jsonw *w, const struct rw_api_state *s,
                        const struct rw_account *a)
{
    int64_t now = s->now_ms;
    struct rw_score_input in = {rw_account_agg(a), a->ref_ms, a->first_seen_ms, a->seats};
    struct rw_score_eval ev;
    rw_scorer_eval(s->scorer, &in, now, &ev);
    struct rw_alert_signal sigs[RW_MAX_SIGNALS];
    char texts[RW_MAX_SIGNALS][RW_READABLE_MAX];
    int n = rw_scorer_nsignals(s->scorer);
    for (int i = 0; i < n; i++) {
        const struct rw_signal_conf *c = rw_scorer_signal(s->scorer, i);
        rw_readable_signal(c, !ev.sig[i].absent, ev.sig[i].x, texts[i], sizeof texts[i]);
        sigs[i] = (struct rw_alert_signal){c->name,         !ev.sig[i].absent, ev.sig[i].x,
                                           ev.sig[i].score, c->weight,         texts[i]};
    }
    rw_jsonw_obj_open(w);
    rw_jsonw_key(w, "account");
    rw_jsonw_strn(w, a->id, a->id_len);
    rw_jsonw_key(w, "as_of");
    rw_jsonw_time(w, now);
    rw_jsonw_key(w, "score");
    if (ev.has_score)
        rw_jsonw_tenths(w, ev.tenths);
    else
        rw_jsonw_null(w);
    rw_jsonw_key(w, "band");
    rw_jsonw_str(w, rw_band_name((enum rw_band)a->band));
    rw_jsonw_key(w, "signals");
    rw_alert_render_signals(w, sigs, n);
    rw_jsonw_key(w, "drivers");
    int drivers[RW_ALERT_DRIVERS];
    int nd = rw_alert_drivers(sigs, n, drivers);
    rw_jsonw_arr_open(w);
    for (int i = 0; i < nd; i++) {
        rw_jsonw_elem(w);
        rw_jsonw_str(w, sigs[drivers[i]].name);
    }
    rw_jsonw_arr_close(w);
    rw_jsonw_key(w, "first_seen");
    rw_jsonw_time(w, a->first_seen_ms);
    rw_jsonw_key(w, "last_event");
    rw_jsonw_time(w, a->last_event_ms);
    rw_jsonw_key(w, "name");
    rw_jsonw_str(w, a->name);
    rw_jsonw_key(w, "owner");
    rw_jsonw_str(w, a->owner);
    rw_jsonw_key(w, "tier");
    rw_jsonw_str(w, a->tier);
    rw_jsonw_key(w, "arr");
    rw_jsonw_num(w, a->arr);
    rw_jsonw_key(w, "seats");
    rw_jsonw_num(w, a->seats);
    rw_jsonw_key(w, "renewal_date");
    rw_jsonw_date(w, a->renewal_day);
    rw_jsonw_key(w, "days_to_renewal");
    days_value(w, a, now);
    rw_jsonw_key(w, "delta_7d");
    delta_value(w, s->history, a, now, 7);
    rw_jsonw_key(w, "delta_30d");
    delta_value(w, s->history, a, now, 30);
    snooze_members(w, s->store, a, now, true);
    rw_jsonw_obj_close(w);
}

static bool ready(struct rw_api *api, struct evhttp_request *req, struct rw_api_state *s)
{
    api->hooks.state(api->arg, s);
    if (!s->store) {
        rw_api_reply_error(req, 503, "Service Unavailable",
                           s->unhealthy ? s->unhealthy : "not active");
        return false;
    }
    return true;
}

static void get_account(struct rw_api *api, struct evhttp_request *req, const char *id_enc)
{
    size_t len = 0;
    char *id = evhttp_uridecode(id_enc, 0, &len);
    if (!id || len == 0 || len > RW_ACCOUNT_MAX) {
        free(id);
        rw_api_reply_error(req, 400, "Bad Request", "account id must be 1-128 bytes");
        return;
    }
    struct rw_api_state s;
    if (!ready(api, req, &s)) {
        free(id);
        return;
    }
    struct rw_account *a = rw_store_find(s.store, id, len);
    free(id);
    if (!a) {
        rw_api_reply_error(req, 404, "Not Found", "unknown account");
        return;
    }
    struct rw_jsonw w;
    rw_jsonw_init(&w);
    rw_api_account_doc(&w, &s, a);
    rw_api_reply_json(req, 200, "OK", &w);
    rw_jsonw_free(&w);
}

static void worklist_row(struct rw_jsonw *w, const struct rw_api_state *s,
                         const struct rw_account *a)
{
    rw_jsonw_elem(w);
    rw_jsonw_obj_open(w);
    rw_jsonw_key(w, "account");
    rw_jsonw_strn(w, a->id, a->id_len);
    rw_jsonw_key(w, "name");
    rw_jsonw_str(w, a->name);
    rw_jsonw_key(w, "owner");
    rw_jsonw_str(w, a->owner);
    rw_jsonw_key(w, "tier");
    rw_jsonw_str(w, a->tier);
    rw_jsonw_key(w, "arr");
    rw_jsonw_num(w, a->arr);
    rw_jsonw_key(w, "score");
    if (isnan(a->score))
        rw_jsonw_null(w);
    else
        rw_jsonw_tenths(w, rw_score_tenths(a->score));
    rw_jsonw_key(w, "band");
    rw_jsonw_str(w, rw_band_name((enum rw_band)a->band));
    rw_jsonw_key(w, "renewal_date");
    rw_jsonw_date(w, a->renewal_day);
    rw_jsonw_key(w, "days_to_renewal");
    days_value(w, a, s->now_ms);
    rw_jsonw_key(w, "delta_7d");
    delta_value(w, s->history, a, s->now_ms, 7);
    rw_jsonw_key(w, "delta_30d");
    delta_value(w, s->history, a, s->now_ms, 30);
    snooze_members(w, s->store, a, s->now_ms, false);
    rw_jsonw_obj_close(w);
}

static void scan_free(struct scan *sc)
{
    struct rw_api *api = sc->api;
    for (struct scan **p = &api->scans; *p; p = &(*p)->next) {
        if (*p == sc) {
            *p = sc->next;
            break;
        }
    }
    event_free(sc->ev);
    rw_worklist_free(sc->w);
    rw_summary_free(sc->sum);
    free(sc);
}

/* Stops watching the client's connection: call before answering. */
static void detach(struct scan *sc)
{
    if (sc->req)
        evhttp_connection_set_closecb(evhttp_request_get_connection(sc->req), NULL, NULL);
}

static void scan_answer(struct scan *sc, const struct rw_api_state *s)
{
    size_t n;
    struct rw_account *const *page = rw_worklist_page(sc->w, &n);
    struct rw_jsonw w;
    rw_jsonw_init(&w);
    rw_jsonw_obj_open(&w);
    rw_jsonw_key(&w, "as_of");
    rw_jsonw_time(&w, rw_worklist_now(sc->w));
    rw_jsonw_key(&w, "total");
    rw_jsonw_int(&w, (int64_t)rw_worklist_total(sc->w));
    rw_jsonw_key(&w, "arr_total");
    rw_jsonw_num(&w, rw_worklist_arr_total(sc->w));
    rw_jsonw_key(&w, "accounts");
    rw_jsonw_arr_open(&w);
    for (size_t i = 0; i < n; i++)
        worklist_row(&w, s, page[i]);
    rw_jsonw_arr_close(&w);
    rw_jsonw_obj_close(&w);
    rw_api_reply_json(sc->req, 200, "OK", &w);
    rw_jsonw_free(&w);
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void summary_answer(struct scan *sc, const struct rw_api_state *s)
{
    struct rw_jsonw w;
    rw_jsonw_init(&w);
    rw_summary_render(sc->sum, s->store, &w);
    rw_api_reply_json(sc->req, 200, "OK", &w);
    rw_jsonw_free(&w);
}

static void on_scan(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct scan *sc = arg;
    if (!sc->req) { /* the client went away */
        scan_free(sc);
        return;
    }
    struct rw_api_state s;
    sc->api->hooks.state(sc->api->arg, &s);
    if (!s.store) {
        detach(sc);
        rw_api_reply_error(sc->req, 503, "Service Unavailable", "not active");
        scan_free(sc);
        return;
    }
    /* As much as fits in SCAN_TURN_US: a walk over a million accounts then takes a few
     * turns, not fifty, however busy the other events of the loop are. */
    int64_t t0 = mono_us();
    bool done;
    do {
        done = sc->w ? rw_worklist_step(sc->w, s.store, s.history, SCAN_CHUNK)
                     : rw_summary_step(sc->sum, s.store, SCAN_CHUNK);
    } while (!done && mono_us() - t0 < SCAN_TURN_US);
    if (!done) {
        struct timeval zero = {0, 0};
        event_add(sc->ev, &zero);
        return;
    }
    detach(sc);
    if (sc->w)
        scan_answer(sc, &s);
    else
        summary_answer(sc, &s);
    scan_free(sc);
}

static void on_client_closed(struct evhttp_connection *conn, void *arg)
{
    (void)conn;
    struct scan *sc = arg;
    sc->req = NULL; /* evhttp frees the request: never answer it */
}

/* Starts the walk of W or SUM (taken over) for REQ; the first slice runs now. */
static void start_scan(struct rw_api *api, struct evhttp_request *req, struct rw_worklist *w,
                       struct rw_summary *sum)
{
    struct scan *sc = rw_xcalloc(1, sizeof(*sc));
    sc->api = api;
    sc->req = req;
    sc->w = w;
    sc->sum = sum;
    sc->ev = evtimer_new(api->base, on_scan, sc);
    if (!sc->ev) {
        rw_worklist_free(w);
        rw_summary_free(sum);
        free(sc);
        rw_api_reply_error(req, 500, "Internal Server Error", "out of resources");
        return;
    }
    sc->next = api->scans;
    api->scans = sc;
    evhttp_connection_set_closecb(evhttp_request_get_connection(req), on_client_closed, sc);
    on_scan(-1, 0, sc);
}

static void get_worklist(struct rw_api *api, struct evhttp_request *req, const char *query)
{
    struct rw_worklist_query q;
    char err[128];
    if (!rw_worklist_parse(query, &q, err, sizeof err)) {
        rw_api_reply_error(req, 400, "Bad Request", err);
        return;
    }
    struct rw_api_state s;
    if (!ready(api, req, &s)) {
        rw_worklist_query_free(&q);
        return;
    }
    start_scan(api, req, rw_worklist_begin(&q, s.now_ms), NULL);
}

static void get_summary(struct rw_api *api, struct evhttp_request *req, const char *query)
{
    int within_days;
    char err[128];
    if (!rw_summary_parse(query, &within_days, err, sizeof err)) {
        rw_api_reply_error(req, 400, "Bad Request", err);
        return;
    }
    struct rw_api_state s;
    if (!ready(api, req, &s))
        return;
    start_scan(api, req, NULL, rw_summary_begin(within_days, s.now_ms));
}

/* ---- history: read from Redis, never from memory ---- */

static void hist_free(struct hist *h)
{
    struct rw_api *api = h->api;
    for (struct hist **p = &api->hists; *p; p = &(*p)->next) {
        if (*p == h) {
            *p = h->next;
            api->nhists--;
            break;
        }
    }
    free(h->account);
    free(h);
}

static void on_hist_client_closed(struct evhttp_connection *conn, void *arg)
{
    (void)conn;
    struct hist *h = arg;
    rw_history_read_cancel(h->read);
    hist_free(h);
}

/* {"account", "days": [{"date", "score", "band"}…]}: the days with an entry, oldest first. */
static void history_answer(struct evhttp_request *req, const char *id, size_t len,
                           int32_t first_day, const uint16_t *entries, int ndays)
{
    struct rw_jsonw w;
    rw_jsonw_init(&w);
    rw_jsonw_obj_open(&w);
    rw_jsonw_key(&w, "account");
    rw_jsonw_strn(&w, id, len);
    rw_jsonw_key(&w, "days");
    rw_jsonw_arr_open(&w);
    for (int i = 0; i < ndays; i++) {
        int band = rw_history_band(entries[i]);
        if (band < 0)
            continue;
        rw_jsonw_elem(&w);
        rw_jsonw_obj_open(&w);
        rw_jsonw_key(&w, "date");
        rw_jsonw_date(&w, first_day + i);
        rw_jsonw_key(&w, "score");
        int t = rw_history_tenths(entries[i]);
        if (t < 0)
            rw_jsonw_null(&w);
        else
            rw_jsonw_tenths(&w, t);
        rw_jsonw_key(&w, "band");
        rw_jsonw_str(&w, rw_band_name((enum rw_band)band));
        rw_jsonw_obj_close(&w);
    }
    rw_jsonw_arr_close(&w);
    rw_jsonw_obj_close(&w);
    rw_api_reply_json(req, 200, "OK", &w);
    rw_jsonw_free(&w);
}

static void on_history_read(void *arg, bool ok, const char *why, int32_t first_day,
                            const uint16_t *entries, int ndays)
{
    struct hist *h = arg;
    evhttp_connection_set_closecb(evhttp_request_get_connection(h->req), NULL, NULL);
    if (ok)
        history_answer(h->req, h->account, h->len, first_day, entries, ndays);
    else
        rw_api_reply_error(h->req, 503, "Service Unavailable", why);
    hist_free(h);
}

static void get_history(struct rw_api *api, struct evhttp_request *req, const char *id_enc,
                        size_t enc_len)
{
    char *enc = rw_xstrndup(id_enc, enc_len);
    size_t len = 0;
    char *id = evhttp_uridecode(enc, 0, &len);
    free(enc);
    if (!id || len == 0 || len > RW_ACCOUNT_MAX) {
        free(id);
        rw_api_reply_error(req, 400, "Bad Request", "account id must be 1-128 bytes");
        return;
    }
    struct rw_api_state s;
    if (!ready(api, req, &s)) {
        free(id);
        return;
    }
    const struct rw_account *a = rw_store_find(s.store, id, len);
    if (!a) {
        free(id);
        rw_api_reply_error(req, 404, "Not Found", "unknown account");
        return;
    }
    /* The keys the daemon keeps: today and `history` whole days before it. */
    int keep = (int)(s.cfg->history_ms / RW_MS_PER_DAY);
    if (s.cfg->history_ms <= 0) { /* [score] history = 0s: none kept */
        history_answer(req, id, len, 0, NULL, 0);
        free(id);
        return;
    }
    if (api->nhists >= MAX_HISTORY_READS) {
        free(id);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
        rw_api_reply_error(req, 503, "Service Unavailable", "too many history requests at once");
        return;
    }
    struct hist *h = rw_xcalloc(1, sizeof(*h));
    h->api = api;
    h->req = req;
    h->account = id;
    h->len = len;
    h->next = api->hists;
    api->hists = h;
    api->nhists++;
    int32_t today = rw_day_of_ms(s.now_ms);
    h->read = rw_history_read_start(&s.redis, s.cfg->prefix, a->ordinal, today - keep, keep + 1,
                                    on_history_read, h);
    if (!h->read) {
        hist_free(h);
        rw_api_reply_error(req, 503, "Service Unavailable", "redis unreachable");
        return;
    }
    evhttp_connection_set_closecb(evhttp_request_get_connection(req), on_hist_client_closed, h);
}

static bool authorized(const struct rw_config *cfg, struct evhttp_request *req)
{
    const char *token = cfg->http_token;
    if (!token)
        return true;
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    if (!h || strncmp(h, "Bearer ", 7) != 0)
        return false;
    const char *given = h + 7;
    size_t tl = strlen(token), gl = strlen(given);
    /* Constant time in the token's contents; only the length can be learnt. */
    return tl == gl && CRYPTO_memcmp(token, given, tl) == 0;
}

/* Answers go out at once: without TCP_NODELAY a reply written in two parts waits for the
 * client's delayed ACK (40 ms per request on a kept-alive connection). */
static void no_delay(struct evhttp_request *req)
{
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
    evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
    int one = 1;
    if (fd >= 0)
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* The length of ID in "/v1/accounts/ID/snooze", 0 for another path. */
static size_t snooze_path(const char *path)
{
    static const char suffix[] = "/snooze";
    size_t n = strlen(path), sl = sizeof suffix - 1;
    if (strncmp(path, "/v1/accounts/", 13) != 0 || n <= 13 + sl ||
        strcmp(path + n - sl, suffix) != 0 || memchr(path + 13, '/', n - 13 - sl))
        return 0;
    return n - 13 - sl;
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct rw_api *api = arg;
    no_delay(req);
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    size_t snooze_id = path ? snooze_path(path) : 0;
    bool get = cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD;
    if (snooze_id ? get || (cmd != EVHTTP_REQ_POST && cmd != EVHTTP_REQ_DELETE) : !get) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
                          snooze_id ? "POST, DELETE" : "GET, HEAD");
        rw_api_reply_error(req, 405, "Method Not Allowed",
                           snooze_id ? "POST or DELETE" : "only GET");
        return;
    }
    if (!path) {
        rw_api_reply_error(req, 400, "Bad Request", "no path");
        return;
    }
    struct rw_api_state s;
    api->hooks.state(api->arg, &s);
    if (strcmp(path, "/healthz") == 0) {
        if (!s.unhealthy)
            reply_text(req, 200, "OK", "ok");
        else
            reply_text(req, 503, "Service Unavailable", s.unhealthy);
        return;
    }
    if (strcmp(path, "/metrics") == 0) {
        struct evbuffer *out = evbuffer_new();
        if (!out) {
            evhttp_send_error(req, 500, NULL);
            return;
        }
        api->hooks.metrics(api->arg, out);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                          "text/plain; version=0.0.4; charset=utf-8");
        evhttp_send_reply(req, 200, "OK", out);
        evbuffer_free(out);
        return;
    }
    if (strncmp(path, "/v1/", 4) == 0 && !authorized(s.cfg, req)) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                          "Bearer realm=\"renewald\"");
        rw_api_reply_error(req, 401, "Unauthorized", "missing or wrong bearer token");
        return;
    }
    if (snooze_id) {
        rw_snoozes_handle(api->snoozes, req, path + 13, snooze_id);
        return;
    }
    if (strcmp(path, "/") == 0) {
        rw_web_serve(api->web, req);
        return;
    }
    if (strcmp(path, "/v1/accounts") == 0) {
        get_worklist(api, req, query);
        return;
    }
    if (strcmp(path, "/v1/summary") == 0) {
        get_summary(api, req, query);
        return;
    }
    if (strncmp(path, "/v1/accounts/", 13) == 0 && path[13]) {
        const char *id = path + 13, *slash = strchr(id, '/');
        if (!slash) {
            get_account(api, req, id);
            return;
        }
        if (slash > id && strcmp(slash, "/history") == 0) {
            get_history(api, req, id, (size_t)(slash - id));
            return;
        }
    }
    rw_api_reply_error(req, 404, "Not Found", "no such endpoint");
}

struct rw_api *rw_api_new(struct event_base *base, const char *listen,
                          const struct rw_api_hooks *hooks, void *arg)
{
    char host[64];
    int port;
    if (!rw_split_host_port(listen, host, sizeof host, 0, &port)) {
        rw_error("bad http listen address listen=%s", listen);
        return NULL;
    }
    struct rw_api *api = rw_xcalloc(1, sizeof *api);
    api->web = rw_web_new();
    api->base = base;
    api->hooks = *hooks;
    api->arg = arg;
    api->snoozes = rw_snoozes_new(base, hooks, arg);
    api->http = evhttp_new(base);
    if (!api->http || evhttp_bind_socket(api->http, host, (ev_uint16_t)port) != 0) {
        rw_error("cannot listen for http listen=%s", listen);
        rw_api_free(api);
        return NULL;
    }
    evhttp_set_max_headers_size(api->http, MAX_HEADERS_SIZE);
    evhttp_set_max_body_size(api->http, MAX_BODY_SIZE);
    evhttp_set_timeout(api->http, IDLE_TIMEOUT_S);
    evhttp_set_allowed_methods(api->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                              EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
    evhttp_set_gencb(api->http, on_request, api);
    rw_info("http listening listen=%s", listen);
    return api;
}

void rw_api_landed(struct rw_api *api, uint64_t seq)
{
    rw_snoozes_landed(api->snoozes, seq);
}

void rw_api_store_gone(struct rw_api *api)
{
    rw_snoozes_gone(api->snoozes);
    /* Answer now: the accounts the scans hold are about to be freed. */
    struct scan *sc;
    while ((sc = api->scans) != NULL) {
        api->scans = sc->next;
        sc->next = NULL;
        detach(sc);
        if (sc->req)
            rw_api_reply_error(sc->req, 503, "Service Unavailable", "state reloading");
        scan_free(sc);
    }
}

void rw_api_free(struct rw_api *api)
{
    if (!api)
        return;
    struct scan *sc;
    while ((sc = api->scans) != NULL) {
        api->scans = sc->next;
        sc->next = NULL;
        detach(sc);
        scan_free(sc);
    }
    struct hist *h;
    while ((h = api->hists) != NULL) {
        api->hists = h->next;
        evhttp_connection_set_closecb(evhttp_request_get_connection(h->req), NULL, NULL);
        rw_history_read_cancel(h->read); /* it frees itself when Redis answers */
        free(h->account);
        free(h);
    }
    rw_snoozes_free(api->snoozes); /* first: their requests are still there */
    if (api->http)
        evhttp_free(api->http);
    rw_web_free(api->web);
    free(api);
}
