/* api_snooze.c - POST/DELETE /v1/accounts/ID/snooze: checked, applied through the
 * daemon's hook, and answered only once the commit that carries it has landed, so
 * that a 200 is durable (it survives a kill -9 right after it). */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "renewald/log.h"

#define BUSY_RETRY_MS 5 /* a sweep in progress: the next look */

struct wait {
    struct wait *next;
    struct rw_snoozes *sz;
    struct evhttp_request *req; /* NULL once its connection closed */
    char id[RW_ACCOUNT_MAX + 1];
    size_t len;
    bool remove, applied;
    uint64_t seq; /* once applied: the commit that carries it */
    struct rw_snooze_req body;
    struct event *retry;
};

struct rw_snoozes {
    struct event_base *base;
    struct rw_api_hooks hooks;
    void *arg;
    struct wait *waits;
};

struct rw_snoozes *rw_snoozes_new(struct event_base *base, const struct rw_api_hooks *hooks,
                                  void *arg)
{
    struct rw_snoozes *sz = rw_xcalloc(1, sizeof *sz);
    sz->base = base;
    sz->hooks = *hooks;
    sz->arg = arg;
    return sz;
}

static void wait_free(struct wait *w)
{
    for (struct wait **p = &w->sz->waits; *p; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            break;
        }
    }
    if (w->req)
        evhttp_connection_set_closecb(evhttp_request_get_connection(w->req), NULL, NULL);
    if (w->retry)
        event_free(w->retry);
    free(w);
}

static void on_closed(struct evhttp_connection *conn, void *arg)
{
    (void)conn;
    struct wait *w = arg;
    w->req = NULL; /* evhttp frees the request; the snooze itself still lands */
}

/* The answer of a landed snooze: the account document as it is now. */
static void answer(struct wait *w)
{
    struct evhttp_request *req = w->req;
    if (req)
        evhttp_connection_set_closecb(evhttp_request_get_connection(req), NULL, NULL);
    w->req = NULL;
    if (!req)
        return;
    struct rw_api_state s;
    w->sz->hooks.state(w->sz->arg, &s);
    struct rw_account *a = s.store ? rw_store_find(s.store, w->id, w->len) : NULL;
    if (!a) {
        rw_api_reply_error(req, 503, "Service Unavailable", "state reloading");
        return;
    }
    struct rw_jsonw jw;
    rw_jsonw_init(&jw);
    rw_api_account_doc(&jw, &s, a);
    rw_api_reply_json(req, 200, "OK", &jw);
    rw_jsonw_free(&jw);
}

static void fail_wait(struct wait *w, int code, const char *reason, const char *msg)
{
    struct evhttp_request *req = w->req;
    if (req) {
        evhttp_connection_set_closecb(evhttp_request_get_connection(req), NULL, NULL);
        w->req = NULL;
        rw_api_reply_error(req, code, reason, msg);
    }
    wait_free(w);
}

/* Applies W through the hook, or looks again on a later loop turn. */
static void try_apply(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct wait *w = arg;
    struct rw_api_state s;
    w->sz->hooks.state(w->sz->arg, &s);
    if (!s.store) {
        fail_wait(w, s.standby ? 403 : 503, s.standby ? "Forbidden" : "Service Unavailable",
                  s.standby ? "standby: not holding the lease" : "not active");
        return;
    }
    enum rw_snooze_result r =
        w->sz->hooks.snooze(w->sz->arg, w->id, w->len, w->remove ? NULL : &w->body, &w->seq);
    if (r == RW_SNOOZE_UNKNOWN) {
        fail_wait(w, 404, "Not Found", "unknown account");
    } else if (r == RW_SNOOZE_BUSY) {
        struct timeval tv = {0, BUSY_RETRY_MS * 1000};
        event_add(w->retry, &tv);
    } else {
        w->applied = true;
        rw_info("snooze %s account=%.*s until_ms=%lld seq=%llu", w->remove ? "removed" : "set",
                (int)w->len, w->id, (long long)(w->remove ? 0 : w->body.until_ms),
                (unsigned long long)w->seq);
    }
}

/* The request body, NUL-free, or NULL with *LEN 0 when empty. */
static const char *body_of(struct evhttp_request *req, size_t *len)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    *len = in ? evbuffer_get_length(in) : 0;
    return *len ? (const char *)evbuffer_pullup(in, -1) : NULL;
}

/* Checks the request; false when it was answered. */
static bool check(struct rw_snoozes *sz, struct evhttp_request *req, struct wait *w)
{
    struct rw_api_state s;
    sz->hooks.state(sz->arg, &s);
    if (s.standby) {
        rw_api_reply_error(req, 403, "Forbidden", "standby: not holding the lease");
        return false;
    }
    if (!s.store) {
        rw_api_reply_error(req, 503, "Service Unavailable",
                           s.unhealthy ? s.unhealthy : "not active");
        return false;
    }
    if (!rw_store_find(s.store, w->id, w->len)) {
        rw_api_reply_error(req, 404, "Not Found", "unknown account");
        return false;
    }
    if (w->remove)
        return true;
    size_t len;
    const char *body = body_of(req, &len);
    char err[160];
    if (!rw_snooze_parse(body, len, s.now_ms, &w->body, err, sizeof err)) {
        rw_api_reply_error(req, 400, "Bad Request", err);
        return false;
    }
    return true;
}

void rw_snoozes_handle(struct rw_snoozes *sz, struct evhttp_request *req, const char *id_enc,
                       size_t len)
{
    struct wait *w = rw_xcalloc(1, sizeof *w);
    w->sz = sz;
    w->remove = evhttp_request_get_command(req) == EVHTTP_REQ_DELETE;
    char *enc = rw_xstrndup(id_enc, len);
    size_t n = 0;
    char *id = evhttp_uridecode(enc, 0, &n);
    free(enc);
    if (!id || n == 0 || n > RW_ACCOUNT_MAX) {
        free(id);
        free(w);
        rw_api_reply_error(req, 400, "Bad Request", "account id must be 1-128 bytes");
        return;
    }
    memcpy(w->id, id, n);
    w->len = n;
    free(id);
    if (!check(sz, req, w)) {
        free(w);
        return;
    }
    w->retry = evtimer_new(sz->base, try_apply, w);
    if (!w->retry) {
        rw_error("cannot create a timer for a snooze account=%.*s", (int)w->len, w->id);
        free(w);
        rw_api_reply_error(req, 500, "Internal Server Error", "out of resources");
        return;
    }
    w->req = req;
    w->next = sz->waits;
    sz->waits = w;
    evhttp_connection_set_closecb(evhttp_request_get_connection(req), on_closed, w);
    try_apply(-1, 0, w);
}

void rw_snoozes_landed(struct rw_snoozes *sz, uint64_t seq)
{
    struct wait *w = sz->waits, *next;
    for (; w; w = next) {
        next = w->next;
        if (w->applied && w->seq <= seq) {
            answer(w);
            wait_free(w);
        }
    }
}

void rw_snoozes_gone(struct rw_snoozes *sz)
{
    struct wait *w = sz->waits, *next;
    sz->waits = NULL; /* taken whole: wait_free finds none of them in the list */
    for (; w; w = next) {
        next = w->next;
        fail_wait(w, 503, "Service Unavailable",
                  "state reloading; the snooze may not have been saved: read the account");
    }
}

void rw_snoozes_free(struct rw_snoozes *sz)
{
    if (!sz)
        return;
    struct wait *w = sz->waits, *next;
    sz->waits = NULL;
    for (; w; w = next) {
        next = w->next;
        wait_free(w);
    }
    free(sz);
}
