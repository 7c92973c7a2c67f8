/* sink_webhook.c - POST of the alert JSON, signed with HMAC-SHA256 when a secret is set. */
#include "sink_internal.h"
#include "renewald/core/alert.h"

#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rw_sink_webhook_signature(const char *secret, int64_t ts_s, const char *body, size_t len,
                               char out[65])
{
    static const char hex[] = "0123456789abcdef";
    char ts[24];
    int tslen = snprintf(ts, sizeof ts, "%lld.", (long long)ts_s);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    /* EVP_MAC: OpenSSL 3's non-deprecated HMAC interface. */
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *mctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end()};
    size_t outl = 0;
    bool ok = mctx && EVP_MAC_init(mctx, (const unsigned char *)secret, strlen(secret), params) &&
              EVP_MAC_update(mctx, (const unsigned char *)ts, (size_t)tslen) &&
              EVP_MAC_update(mctx, (const unsigned char *)body, len) &&
              EVP_MAC_final(mctx, md, &outl, sizeof md);
    EVP_MAC_CTX_free(mctx);
    EVP_MAC_free(mac);
    mdlen = (unsigned int)outl;
    if (!ok || mdlen != 32) {
        fprintf(stderr, "renewald: HMAC-SHA256 unavailable\n");
        abort();
    }
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

static struct curl_slist *add_header(struct curl_slist *list, const char *name, const char *value)
{
    struct rw_sbuf b = {0};
    rw_sbuf_printf(&b, "%s: ", name);
    rw_sbuf_put_line(&b, value);
    char *line = rw_sbuf_take(&b);
    list = curl_slist_append(list, line);
    free(line);
    return list;
}

enum rw_sink_prep rw_sink_webhook_prepare(const struct rw_sink_conf *sink, const json_t *alert,
                                          const char *body, int64_t now_ms,
                                          struct rw_http_request *out, char *err)
{
    if (!sink->url) {
        snprintf(err, RW_SINK_ERROR_MAX, "sink %s has no url", sink->name);
        return RW_SINK_FAILED;
    }
    /* Floor division: a timestamp is the whole second the request was signed in. */
    int64_t ts_s = now_ms >= 0 ? now_ms / 1000 : -((-now_ms + 999) / 1000);
    char ts[24];
    snprintf(ts, sizeof ts, "%lld", (long long)ts_s);
    size_t len = strlen(body);

    struct curl_slist *h = NULL;
    h = add_header(h, "Content-Type", "application/json");
    h = add_header(h, "X-Renewald-Alert-Id",
                   rw_alert_str(alert, "id") ? rw_alert_str(alert, "id") : "");
    h = add_header(h, "X-Renewald-Timestamp", ts);
    if (sink->secret && *sink->secret) {
        char sig[65], val[72];
        rw_sink_webhook_signature(sink->secret, ts_s, body, len, sig);
        snprintf(val, sizeof val, "sha256=%s", sig);
        h = add_header(h, "X-Renewald-Signature", val);
    }
    h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip */

    out->easy = rw_sink_easy(sink, sink->url, "http,https");
    out->headers = h;
    out->body = rw_xstrndup(body, len);
    out->body_len = len;
    return RW_SINK_TRANSFER;
}

/* A version 4 UUID from OpenSSL's generator; a clock and counter if it fails. */
static void delivery_id(char out[37])
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1) {
        static uint64_t counter;
        uint64_t t = (uint64_t)rw_wall_ms(), c = ++counter;
        for (int i = 0; i < 8; i++) {
            b[i] = (unsigned char)(t >> (8 * i));
            b[8 + i] = (unsigned char)(c >> (8 * i));
        }
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    static const char hex[] = "0123456789abcdef";
    size_t p = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[p++] = '-';
        out[p++] = hex[b[i] >> 4];
        out[p++] = hex[b[i] & 15];
    }
    out[p] = '\0';
}

void rw_sink_attempt_headers(const struct rw_sink_conf *sink, struct rw_http_request *req,
                             int attempt)
{
    if (sink->type != RW_SINK_WEBHOOK)
        return;
    char id[37], n[16];
    delivery_id(id);
    snprintf(n, sizeof n, "%d", attempt > 0 ? attempt : 1);
    req->headers = add_header(req->headers, "X-Renewald-Delivery", id);
    req->headers = add_header(req->headers, "X-Renewald-Attempt", n);
}
