/* http_client.c - libcurl multi on libevent (curl's multi-event.c pattern). */
#include "renewald/http_client.h"
#include "renewald/retry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RETRY_AFTER_RAW_MAX 128

struct rw_http_transfer {
    struct rw_http_client *client;
    struct rw_http_transfer *prev, *next;
    struct rw_http_request req;
    size_t upload_pos;
    rw_http_done_fn done;
    void *arg;
    int64_t started_ms;
    char errbuf[CURL_ERROR_SIZE];
    char body[RW_HTTP_BODY_CAP + 1];
    size_t body_len, body_total;
    char retry_after[RETRY_AFTER_RAW_MAX];
    size_t retry_after_len; /* 0: none seen */
};

/* One per socket curl asked us to watch. */
struct rw_http_sock {
    struct rw_http_client *client;
    struct rw_http_sock *prev, *next;
    struct event *ev;
    curl_socket_t fd;
};

struct rw_http_client {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;
    struct rw_http_transfer *transfers;
    struct rw_http_sock *socks;
    size_t inflight;
    bool freeing;
};

static void fatal(const char *what)
{
    fprintf(stderr, "renewald: http client: %s\n", what);
    abort();
}

void rw_http_request_release(struct rw_http_request *req)
{
    if (req->easy)
        curl_easy_cleanup(req->easy);
    curl_slist_free_all(req->headers);
    curl_slist_free_all(req->recipients);
    free(req->body);
    memset(req, 0, sizeof *req);
}

static void finish(struct rw_http_transfer *t, CURLcode code, bool cancelled)
{
    struct rw_http_client *c = t->client;
    struct rw_http_result res = {0};

    curl_easy_getinfo(t->req.easy, CURLINFO_RESPONSE_CODE, &res.status);
    res.code = code;
    res.error = t->errbuf[0] ? t->errbuf : curl_easy_strerror(code);
    res.retry_after_ms = -1;
    if (t->retry_after_len > 0 && !rw_retry_after_parse(t->retry_after, t->retry_after_len,
                                                        rw_wall_ms(), &res.retry_after_ms))
        res.retry_after_ms = -1;
    t->body[t->body_len] = '\0';
    res.body = t->body;
    res.body_len = t->body_len;
    res.body_total = t->body_total;
    res.cancelled = cancelled;
    res.elapsed_ms = rw_mono_ms() - t->started_ms;

    curl_multi_remove_handle(c->multi, t->req.easy);
    if (t->prev)
        t->prev->next = t->next;
    else
        c->transfers = t->next;
    if (t->next)
        t->next->prev = t->prev;
    c->inflight--;

    if (t->done)
        t->done(&res, t->arg);
    rw_http_request_release(&t->req);
    free(t);
}

static void check_multi_info(struct rw_http_client *c)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(c->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct rw_http_transfer *t = NULL;
        CURLcode code = msg->data.result; /* msg is invalid after remove_handle */
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        if (t)
            finish(t, code, false);
    }
}

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
    struct rw_http_client *c = arg;
    int action =
        ((what & EV_READ) ? CURL_CSELECT_IN : 0) | ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
    int running;
    curl_multi_socket_action(c->multi, fd, action, &running);
    check_multi_info(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct rw_http_client *c = arg;
    int running;
    (void)fd;
    (void)what;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_multi_info(c);
}

/* CURLMOPT_TIMERFUNCTION: only arm the timer; socket_action runs from the loop. */
static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct rw_http_client *c = userp;
    (void)multi;
    if (timeout_ms < 0) {
        evtimer_del(c->timer);
        return 0;
    }
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    return evtimer_add(c->timer, &tv) == 0 ? 0 : -1;
}

static void sock_free(struct rw_http_client *c, struct rw_http_sock *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        c->socks = s->next;
    if (s->next)
        s->next->prev = s->prev;
    event_free(s->ev);
    free(s);
}

/* CURLMOPT_SOCKETFUNCTION: one persistent event per socket, re-armed on change. */
static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct rw_http_client *c = userp;
    struct rw_http_sock *s = socketp;
    (void)easy;

    if (what == CURL_POLL_REMOVE) {
        if (s) {
            curl_multi_assign(c->multi, fd, NULL);
            sock_free(c, s);
        }
        return 0;
    }
    short kind = (short)(((what & CURL_POLL_IN) ? EV_READ : 0) |
                         ((what & CURL_POLL_OUT) ? EV_WRITE : 0) | EV_PERSIST);
    if (!s) {
        s = rw_xcalloc(1, sizeof *s);
        s->client = c;
        s->fd = fd;
        s->ev = event_new(c->base, fd, kind, on_socket_event, c);
        if (!s->ev)
            fatal("event_new failed");
        s->next = c->socks;
        if (c->socks)
            c->socks->prev = s;
        c->socks = s;
        curl_multi_assign(c->multi, fd, s);
    } else {
        event_del(s->ev);
        if (event_assign(s->ev, c->base, fd, kind, on_socket_event, c) != 0)
            return -1;
    }
    return event_add(s->ev, NULL) == 0 ? 0 : -1;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userp)
{
    struct rw_http_transfer *t = userp;
    size_t n = size * nmemb;
    size_t room = RW_HTTP_BODY_CAP - t->body_len;
    size_t take = n < room ? n : room;
    memcpy(t->body + t->body_len, ptr, take);
    t->body_len += take;
    t->body_total += n;
    return n;
}

static bool header_is(const char *line, size_t n, const char *name)
{
    size_t k = strlen(name);
    return n > k && line[k] == ':' && strncasecmp(line, name, k) == 0;
}

static size_t header_cb(char *line, size_t size, size_t nmemb, void *userp)
{
    struct rw_http_transfer *t = userp;
    size_t n = size * nmemb;
    if (n >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        t->retry_after_len = 0; /* a new response (after 100 Continue): forget the old one */
    } else if (header_is(line, n, "retry-after")) {
        const char *v = line + sizeof "retry-after";
        size_t vlen = n - sizeof "retry-after";
        while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n'))
            vlen--;
        if (vlen > 0 && vlen < sizeof t->retry_after) {
            memcpy(t->retry_after, v, vlen);
            t->retry_after_len = vlen;
        }
    }
    return n;
}

static size_t read_cb(char *buf, size_t size, size_t nitems, void *userp)
{
    struct rw_http_transfer *t = userp;
    size_t room = size * nitems;
    size_t left = t->req.body_len - t->upload_pos;
    size_t n = left < room ? left : room;
    if (n > 0)
        memcpy(buf, t->req.body + t->upload_pos, n);
    t->upload_pos += n;
    return n;
}

struct rw_http_client *rw_http_client_new(struct event_base *base)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        fatal("curl_global_init failed");
    struct rw_http_client *c = rw_xcalloc(1, sizeof *c);
    c->base = base;
    c->multi = curl_multi_init();
    c->timer = evtimer_new(base, on_timer, c);
    if (!c->multi || !c->timer)
        fatal("cannot create the multi handle or its timer");
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    return c;
}

void rw_http_client_free(struct rw_http_client *c)
{
    if (!c)
        return;
    c->freeing = true;
    /* finish() unlinks the head before freeing it; the analyzer cannot follow
     * that through the unknown completion callback. */
    while (c->transfers)
        finish(c->transfers, CURLE_ABORTED_BY_CALLBACK, true); // NOLINT(clang-analyzer-unix.Malloc)
    curl_multi_cleanup(c->multi); /* may still report sockets as removed */
    while (c->socks)
        sock_free(c, c->socks); // NOLINT(clang-analyzer-unix.Malloc): it unlinks first
    event_free(c->timer);
    free(c);
    curl_global_cleanup();
}

int rw_http_client_start(struct rw_http_client *c, struct rw_http_request *req,
                         rw_http_done_fn done, void *arg)
{
    if (c->freeing || !req->easy) {
        rw_http_request_release(req);
        return -1;
    }
    struct rw_http_transfer *t = rw_xcalloc(1, sizeof *t);
    t->client = c;
    t->req = *req;
    memset(req, 0, sizeof *req);
    t->done = done;
    t->arg = arg;
    t->started_ms = rw_mono_ms();

    CURL *e = t->req.easy;
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_VERBOSE, 0L);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)t);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    if (t->req.headers)
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->req.headers);
    if (t->req.recipients)
        curl_easy_setopt(e, CURLOPT_MAIL_RCPT, t->req.recipients);
    if (t->req.upload) {
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, read_cb);
        curl_easy_setopt(e, CURLOPT_READDATA, t);
        curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)t->req.body_len);
    } else if (t->req.body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->req.body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)t->req.body_len);
    }

    if (curl_multi_add_handle(c->multi, e) != CURLM_OK) {
        rw_http_request_release(&t->req);
        free(t);
        return -1;
    }
    t->next = c->transfers;
    if (c->transfers)
        c->transfers->prev = t;
    c->transfers = t;
    c->inflight++;
    return 0;
}

size_t rw_http_client_inflight(const struct rw_http_client *c)
{
    return c->inflight;
}
