/* web.c - the embedded page and the policy that keeps it to this daemon. */
#include "renewald/web.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rw_web {
    char *csp;
};

/* 'sha256-BASE64' of the text between the first OPEN tag and its CLOSE, or "'none'". */
static char *inline_hash(const char *open, const char *close)
{
    const char *page = (const char *)rw_web_page;
    const char *a = strstr(page, open);
    const char *b = a ? strstr(a + strlen(open), close) : NULL;
    if (!a || !b)
        return rw_xstrdup("'none'");
    a += strlen(open);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(a, (size_t)(b - a), md, &n, EVP_sha256(), NULL) != 1) {
        fprintf(stderr, "renewald: SHA-256 unavailable\n");
        abort();
    }
    unsigned char b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
    EVP_EncodeBlock(b64, md, (int)n);
    return rw_xasprintf("'sha256-%s'", (const char *)b64);
}

struct rw_web *rw_web_new(void)
{
    struct rw_web *web = rw_xcalloc(1, sizeof(*web));
    char *script = inline_hash("<script>", "</script>");
    char *style = inline_hash("<style>", "</style>");
    /* Nothing from another host, no plugins, no framing; fetch() only to us. */
    web->csp = rw_xasprintf("default-src 'none'; script-src %s; style-src %s; "
                            "connect-src 'self'; img-src 'self' data:; base-uri 'none'; "
                            "form-action 'none'; frame-ancestors 'none'",
                            script, style);
    free(script);
    free(style);
    return web;
}

void rw_web_free(struct rw_web *web)
{
    if (!web)
        return;
    free(web->csp);
    free(web);
}

const char *rw_web_csp(const struct rw_web *web)
{
    return web->csp;
}

void rw_web_serve(const struct rw_web *web, struct evhttp_request *req)
{
    struct evbuffer *out = evbuffer_new();
    if (!out) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    evbuffer_add_reference(out, rw_web_page, rw_web_page_len, NULL, NULL);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "text/html; charset=utf-8");
    evhttp_add_header(h, "Content-Security-Policy", web->csp);
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "Referrer-Policy", "no-referrer");
    evhttp_add_header(h, "Cache-Control", "no-cache");
    evhttp_send_reply(req, 200, "OK", out);
    evbuffer_free(out);
}
