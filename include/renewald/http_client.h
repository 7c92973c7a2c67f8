/*
 * http_client.h - libcurl's multi interface driven by a libevent event_base
 * (curl's multi-event pattern): one struct event per socket, one timer,
 * curl_multi_socket_action, completion callbacks.  Nothing here blocks; DNS
 * goes through curl's threaded resolver.
 *
 * Ownership: the client owns every transfer started on it, including the easy
 * handle, the header and recipient lists and the body handed over in
 * struct rw_http_request; they are freed after the transfer's callback
 * returns.  The event_base is borrowed and must outlive the client.
 */
#ifndef RENEWALD_HTTP_CLIENT_H
#define RENEWALD_HTTP_CLIENT_H

#include "renewald/core/common.h"

#include <curl/curl.h>
#include <event2/event.h>

#define RW_HTTP_BODY_CAP 4096 /* bytes of a response body kept; the rest is discarded */

struct rw_http_client;

/*
 * One transfer to start.  The sink sets the URL, protocols, timeouts and
 * transport options on EASY; the client sets CURLOPT_NOSIGNAL, PRIVATE,
 * ERRORBUFFER, WRITEFUNCTION, HEADERFUNCTION, turns verbose off, and sends
 * BODY: as the POST body (POSTFIELDS) or, with UPLOAD, through a read callback
 * (SMTP).  Every pointer may be NULL except EASY.
 */
struct rw_http_request {
    CURL *easy;
    struct curl_slist *headers;    /* freed after the transfer (CURLOPT_HTTPHEADER) */
    struct curl_slist *recipients; /* freed after the transfer (CURLOPT_MAIL_RCPT) */
    char *body;                    /* freed with free() after the transfer */
    size_t body_len;
    bool upload; /* true: BODY is uploaded (CURLOPT_UPLOAD + READFUNCTION) */
};

/* Frees whatever REQ still holds and clears it (for a request never started). */
void rw_http_request_release(struct rw_http_request *req);

struct rw_http_result {
    long status;            /* HTTP status or SMTP reply code; 0 if no response */
    CURLcode code;          /* libcurl's result */
    const char *error;      /* CURLOPT_ERRORBUFFER, else curl_easy_strerror(); never NULL */
    int64_t retry_after_ms; /* from Retry-After (rw_retry_after_parse); -1 if none */
    const char *body;   /* the first RW_HTTP_BODY_CAP bytes of the response body, NUL-terminated */
    size_t body_len;    /* bytes in BODY */
    size_t body_total;  /* bytes the server sent */
    bool cancelled;     /* the client was freed before the transfer finished */
    int64_t elapsed_ms; /* monotonic time from start to completion */
};

/*
 * Called once per transfer, when it completes or is cancelled.  RES and every
 * pointer in it are valid only during the call.  The callback may start new
 * transfers (except when RES->cancelled) but must not free the client.
 */
typedef void (*rw_http_done_fn)(const struct rw_http_result *res, void *arg);

/* A client on BASE; calls curl_global_init.  Never returns NULL (OOM is fatal,
 * as is a libcurl that cannot initialise). */
struct rw_http_client *rw_http_client_new(struct event_base *base) RW_NODISCARD;

/*
 * Aborts every in-flight transfer, calling its callback with cancelled = true
 * and code CURLE_ABORTED_BY_CALLBACK, then frees everything.  NULL is a no-op.
 */
void rw_http_client_free(struct rw_http_client *client);

/*
 * Starts REQ's transfer, taking ownership of everything in *REQ (cleared on
 * return, whatever the outcome).  Returns 0 when started: DONE(ARG) will be
 * called exactly once, from the event loop, never from inside this call.
 * Returns -1 if libcurl refuses the handle, REQ has no easy handle, or the
 * client is being freed (everything is freed, DONE is not called).
 */
int rw_http_client_start(struct rw_http_client *client, struct rw_http_request *req,
                         rw_http_done_fn done, void *arg) RW_NODISCARD;

/* Transfers started and not yet completed. */
size_t rw_http_client_inflight(const struct rw_http_client *client);

#endif
