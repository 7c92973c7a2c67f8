/* api.c - evhttp: /healthz, /metrics, /v1/accounts/ID and the worklist. */
#include "renewald/api.h"

#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <math.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renewald/account_store.h"
#include "renewald/alert.h"
#include "renewald/daemon.h"
#include "renewald/log.h"
#include "renewald/parse.h"
#include "renewald/score.h"
#include "renewald/timeutil.h"

#define MAX_HEADERS_SIZE 8192
#define MAX_BODY_SIZE    1024
#define IDLE_TIMEOUT_S   30
#define WORKLIST_DEFAULT 100
#define WORKLIST_MAX     10000

struct rw_api {
    struct renewald *d;
    struct evhttp *http;
};

static void reply_text(struct evhttp_request *req, int code, const char *reason, const char *body)
{
    struct evbuffer *out = evbuffer_new();
    if (!out) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    evbuffer_add_printf(out, "%s\n", body);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; charset=utf-8");
    evhttp_send_reply(req, code, reason, out);
    evbuffer_free(out);
}

static void reply_json(struct evhttp_request *req, int code, const char *reason, json_t *body)
{
    char *text = body ? rw_alert_dumps(body) : NULL;
    json_decref(body);
    struct evbuffer *out = evbuffer_new();
    if (!text || !out) {
        free(text);
        if (out)
            evbuffer_free(out);
        evhttp_send_error(req, 500, NULL);
        return;
    }
    evbuffer_add(out, text, strlen(text));
    evbuffer_add(out, "\n", 1);
    free(text);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_send_reply(req, code, reason, out);
    evbuffer_free(out);
}

static void reply_error(struct evhttp_request *req, int code, const char *reason, const char *msg)
{
    reply_json(req, code, reason, json_pack("{s:s}", "error", msg));
}

/* The `now` an API answer is evaluated at. */
static int64_t api_now(const struct renewald *d)
{
    if (d->cfg->clock == RW_CLOCK_EVENT || d->catching_up)
        return d->event_now_ms != RW_NO_TIME ? d->event_now_ms : rw_wall_ms();
    return rw_wall_ms();
}

static json_t *time_or_null(int64_t ms)
{
    if (ms == RW_NO_TIME)
        return json_null();
    char buf[RW_RFC3339_MAX];
    rw_format_rfc3339(ms, buf);
    return json_string(buf);
}

static json_t *day_or_null(int32_t day)
{
    if (day == RW_NO_DAY)
        return json_null();
    char buf[RW_DATE_MAX];
    rw_format_date(day, buf);
    return json_string(buf);
}

static json_t *num_or_null(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *days_json(const struct rw_account *a, int64_t now)
{
    int32_t days = rw_account_days_to_renewal(a, now);
    return days == INT32_MIN ? json_null() : json_integer(days);
}

static void get_account(struct rw_api *api, struct evhttp_request *req, const char *id_enc)
{
    struct renewald *d = api->d;
    size_t len = 0;
    char *id = evhttp_uridecode(id_enc, 0, &len);
    if (!id || len == 0 || len > RW_ACCOUNT_MAX) {
        free(id);
        reply_error(req, 400, "Bad Request", "account id must be 1-128 bytes");
        return;
    }
    bool ready = d->store && (d->phase == RW_PHASE_ACTIVE || d->phase == RW_PHASE_STOPPING);
    struct rw_account *a = ready ? rw_store_find(d->store, id, len) : NULL;
    free(id);
    if (!ready) {
        reply_error(req, 503, "Service Unavailable", "not active");
        return;
    }
    if (!a) {
        reply_error(req, 404, "Not Found", "unknown account");
        return;
    }
    int64_t now = api_now(d);
    struct rw_score_eval ev;
    rw_scorer_eval(d->scorer, a->agg, a->ref_ms, a->seats, now, &ev);
    struct rw_alert_signal sigs[RW_MAX_SIGNALS];
    int n = rw_scorer_nsignals(d->scorer);
    for (int i = 0; i < n; i++) {
        const struct rw_signal_conf *sc = rw_scorer_signal(d->scorer, i);
        sigs[i] = (struct rw_alert_signal){sc->name, !ev.sig[i].absent, ev.sig[i].x,
                                           ev.sig[i].score, sc->weight};
    }
    json_t *o = json_object();
    json_object_set_new(o, "account", json_stringn(a->id, a->id_len));
    json_object_set_new(o, "as_of", time_or_null(now));
    json_object_set_new(o, "score", ev.has_score ? rw_alert_score_json(ev.score) : json_null());
    json_object_set_new(o, "band", json_string(rw_band_name((enum rw_band)a->band)));
    json_object_set_new(o, "signals", rw_alert_signals_json(sigs, n));
    json_object_set_new(o, "first_seen", time_or_null(a->first_seen_ms));
    json_object_set_new(o, "last_event", time_or_null(a->last_event_ms));
    json_object_set_new(o, "name", str_or_null(a->name));
    json_object_set_new(o, "owner", str_or_null(a->owner));
    json_object_set_new(o, "tier", str_or_null(a->tier));
    json_object_set_new(o, "arr", num_or_null(a->arr));
    json_object_set_new(o, "seats", num_or_null(a->seats));
    json_object_set_new(o, "renewal_date", day_or_null(a->renewal_day));
    json_object_set_new(o, "days_to_renewal", days_json(a, now));
    reply_json(req, 200, "OK", o);
}

bool rw_api_parse_worklist_query(const char *query, struct rw_worklist_query *q, char *err,
                                 size_t errcap)
{
    q->bands = 0;
    q->within_days = -1;
    q->limit = WORKLIST_DEFAULT;
    if (!query || !*query)
        return true;
    struct evkeyvalq params;
    TAILQ_INIT(&params);
    if (evhttp_parse_query_str(query, &params) != 0) {
        snprintf(err, errcap, "malformed query string");
        return false;
    }
    bool ok = true;
    struct evkeyval *kv;
    TAILQ_FOREACH(kv, &params, next)
    {
        int64_t v;
        if (strcmp(kv->key, "band") == 0) {
            char *list = rw_xstrdup(kv->value);
            char *items[RW_BAND_COUNT + 1];
            int n = rw_split_list(list, items, RW_BAND_COUNT);
            for (int i = 0; ok && i < n; i++) {
                enum rw_band b;
                if (!rw_band_parse(items[i], &b)) {
                    snprintf(err, errcap, "unknown band '%.32s'", items[i]);
                    ok = false;
                } else {
                    q->bands |= 1u << b;
                }
            }
            if (ok && n <= 0) {
                snprintf(err, errcap, "band must be a comma-separated list of bands");
                ok = false;
            }
            free(list);
        } else if (strcmp(kv->key, "within_days") == 0) {
            if (!rw_parse_int64(kv->value, 0, 36500, &v)) {
                snprintf(err, errcap, "within_days must be an integer 0..36500");
                ok = false;
            } else {
                q->within_days = (int)v;
            }
        } else if (strcmp(kv->key, "limit") == 0) {
            if (!rw_parse_int64(kv->value, 1, WORKLIST_MAX, &v)) {
                snprintf(err, errcap, "limit must be an integer 1..%d", WORKLIST_MAX);
                ok = false;
            } else {
                q->limit = (size_t)v;
            }
        } else {
            snprintf(err, errcap, "unknown parameter '%.32s'", kv->key);
            ok = false;
        }
        if (!ok)
            break;
    }
    evhttp_clear_headers(&params);
    return ok;
}

static void get_worklist(struct rw_api *api, struct evhttp_request *req, const char *query)
{
    struct renewald *d = api->d;
    struct rw_worklist_query q;
    char err[128];
    if (!rw_api_parse_worklist_query(query, &q, err, sizeof err)) {
        reply_error(req, 400, "Bad Request", err);
        return;
    }
    if (!d->store || (d->phase != RW_PHASE_ACTIVE && d->phase != RW_PHASE_STOPPING)) {
        reply_error(req, 503, "Service Unavailable", "not active");
        return;
    }
    int64_t now = api_now(d);
    struct rw_account **list = rw_xmalloc(q.limit * sizeof *list);
    size_t n = rw_store_worklist(d->store, q.bands, q.within_days, now, list, q.limit);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct rw_account *a = list[i];
        json_t *o = json_object();
        json_object_set_new(o, "account", json_stringn(a->id, a->id_len));
        json_object_set_new(o, "name", str_or_null(a->name));
        json_object_set_new(o, "owner", str_or_null(a->owner));
        json_object_set_new(o, "tier", str_or_null(a->tier));
        json_object_set_new(o, "arr", num_or_null(a->arr));
        json_object_set_new(o, "score",
                            isnan(a->score) ? json_null() : rw_alert_score_json(a->score));
        json_object_set_new(o, "band", json_string(rw_band_name((enum rw_band)a->band)));
        json_object_set_new(o, "renewal_date", day_or_null(a->renewal_day));
        json_object_set_new(o, "days_to_renewal", days_json(a, now));
        json_array_append_new(arr, o);
    }
    free(list);
    json_t *body = json_object();
    json_object_set_new(body, "as_of", time_or_null(now));
    json_object_set_new(body, "accounts", arr);
    reply_json(req, 200, "OK", body);
}

static bool authorized(const struct renewald *d, struct evhttp_request *req)
{
    const char *token = d->cfg->http_token;
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

static void on_request(struct evhttp_request *req, void *arg)
{
    struct rw_api *api = arg;
    struct renewald *d = api->d;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
        reply_error(req, 405, "Method Not Allowed", "only GET");
        return;
    }
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    if (!path) {
        reply_error(req, 400, "Bad Request", "no path");
        return;
    }
    if (strcmp(path, "/healthz") == 0) {
        if (d->phase == RW_PHASE_ACTIVE && d->metrics.redis_up)
            reply_text(req, 200, "OK", "ok");
        else if (d->phase == RW_PHASE_STANDBY)
            reply_text(req, 503, "Service Unavailable", "standby");
        else if (d->phase == RW_PHASE_STOPPING)
            reply_text(req, 503, "Service Unavailable", "stopping");
        else if (!d->metrics.redis_up)
            reply_text(req, 503, "Service Unavailable", "redis unreachable");
        else
            reply_text(req, 503, "Service Unavailable", "starting");
        return;
    }
    if (strcmp(path, "/metrics") == 0) {
        struct evbuffer *out = evbuffer_new();
        if (!out) {
            evhttp_send_error(req, 500, NULL);
            return;
        }
        rw_metrics_render(d, out);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                          "text/plain; version=0.0.4; charset=utf-8");
        evhttp_send_reply(req, 200, "OK", out);
        evbuffer_free(out);
        return;
    }
    if (strncmp(path, "/v1/", 4) == 0 && !authorized(d, req)) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                          "Bearer realm=\"renewald\"");
        reply_error(req, 401, "Unauthorized", "missing or wrong bearer token");
        return;
    }
    if (strcmp(path, "/v1/accounts") == 0) {
        get_worklist(api, req, query);
        return;
    }
    if (strncmp(path, "/v1/accounts/", 13) == 0 && path[13] && !strchr(path + 13, '/')) {
        get_account(api, req, path + 13);
        return;
    }
    reply_error(req, 404, "Not Found", "no such endpoint");
}

struct rw_api *rw_api_new(struct renewald *d, const char *listen)
{
    char host[64];
    int port;
    if (!rw_split_host_port(listen, host, sizeof host, 0, &port)) {
        rw_error("bad http listen address listen=%s", listen);
        return NULL;
    }
    struct rw_api *api = rw_xcalloc(1, sizeof *api);
    api->d = d;
    api->http = evhttp_new(d->base);
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

void rw_api_free(struct rw_api *api)
{
    if (!api)
        return;
    if (api->http)
        evhttp_free(api->http);
    free(api);
}
