/*
 * sink.h - turning one alert into one delivery for one sink (SPEC §4):
 * rendering per sink type (slack, webhook, email, log), the libcurl easy
 * handle ready for rw_http_client_start(), and the classification of a
 * finished transfer into success / retry / permanent failure.
 *
 * Secrets (the Slack URL, the HMAC secret, the SMTP password) are never logged
 * and never appear in an error string made here: errors name the sink.
 *
 * Ownership: the sink config and the alert are borrowed for the duration of a
 * call.  Strings returned as char * are heap strings the caller frees with
 * free().  A prepared rw_http_request owns its handle, lists and body until
 * passed to rw_http_client_start() (or rw_http_request_release()).
 */
#ifndef RENEWALD_SINK_H
#define RENEWALD_SINK_H

#include "renewald/core/common.h"
#include "renewald/config.h"
#include "renewald/http_client.h"

#include <jansson.h>

#define RW_SINK_ERROR_MAX 512 /* bytes of a delivery error, with the NUL */

enum rw_sink_prep {
    RW_SINK_TRANSFER = 0,  /* *OUT holds a transfer to start */
    RW_SINK_DELIVERED = 1, /* done without a transfer (type log) */
    RW_SINK_FAILED = 2,    /* permanent failure; ERR says why (e.g. "no recipient") */
};

/*
 * Prepares the delivery of ALERT (rw_alert_build's object) to SINK at NOW_MS
 * (wall clock: the webhook timestamp, the mail's Date).  BODY is ALERT
 * serialised by rw_alert_dumps() (the exact bytes a webhook posts and signs);
 * NULL serialises it here.  On RW_SINK_FAILED, ERR (RW_SINK_ERROR_MAX bytes)
 * holds the reason; OUT is left empty unless RW_SINK_TRANSFER is returned.
 */
enum rw_sink_prep rw_sink_prepare(const struct rw_sink_conf *sink, const json_t *alert,
                                  const char *body, int64_t now_ms, struct rw_http_request *out,
                                  char err[RW_SINK_ERROR_MAX]) RW_NODISCARD;

/*
 * Adds the headers of one attempt to REQ, a transfer rw_sink_prepare() made
 * for SINK: for a webhook, X-Renewald-Delivery (a random UUID, new for every
 * attempt) and X-Renewald-Attempt (ATTEMPT: 1 for the first, 2 for the first
 * retry, ...).  Neither is signed.  Other sink types are left alone.
 */
void rw_sink_attempt_headers(const struct rw_sink_conf *sink, struct rw_http_request *req,
                             int attempt);

enum rw_delivery_outcome {
    RW_DELIVERY_SUCCESS = 0,
    RW_DELIVERY_RETRY = 1,     /* retry_after_ms: the server's wish, or -1 */
    RW_DELIVERY_PERMANENT = 2, /* to the dead letters with ERROR */
};

struct rw_delivery_result {
    enum rw_delivery_outcome outcome;
    int64_t retry_after_ms;        /* -1 if none */
    char error[RW_SINK_ERROR_MAX]; /* "" on success; never holds a secret */
};

/*
 * Classifies a finished transfer of SINK.  HTTP sinks: 2xx success; 408, 429,
 * 5xx, timeouts and connection errors retry; the rest is permanent.  Email:
 * see rw_retry_classify_smtp().  A cancelled transfer (client freed) is a
 * retry.  Error strings quote at most 200 bytes of the response body.
 */
void rw_sink_classify(const struct rw_sink_conf *sink, const struct rw_http_result *res,
                      struct rw_delivery_result *out);

/* "slack", "webhook", "email", "log". */
const char *rw_sink_type_name(enum rw_sink_type type);

/* ---- Rendering, exposed for tests and tools. ---- */

/* Slack: the fallback text, e.g. "Acme Corp (acct-1) is now at_risk (was watch)
 * — score 31.4 — renews 2027-01-15".  Heap string. */
char *rw_sink_slack_text(const json_t *alert) RW_NODISCARD;
/* Slack: the payload {"text", "blocks"} as a new json_t reference. */
json_t *rw_sink_slack_payload(const json_t *alert) RW_NODISCARD;

/* Webhook: lowercase hex of HMAC-SHA256(SECRET, "TS_S" "." BODY) into OUT. */
void rw_sink_webhook_signature(const char *secret, int64_t ts_s, const char *body, size_t len,
                               char out[65]);

/*
 * Email: the recipients of ALERT for SINK: the fixed `to` list, or the alert's
 * owner (when it is a plausible address) else fallback_to.  Returns the number
 * stored in OUT (borrowed pointers, at most RW_MAX_RECIPIENTS), 0 = no recipient.
 */
int rw_sink_email_recipients(const struct rw_sink_conf *sink, const json_t *alert,
                             const char *out[RW_MAX_RECIPIENTS]);
/* Email: the whole RFC 5322 message (CRLF line ends) for the given recipients. */
char *rw_sink_email_message(const struct rw_sink_conf *sink, const json_t *alert,
                            const char *const *rcpt, int nrcpt, int64_t now_ms) RW_NODISCARD;

#endif
