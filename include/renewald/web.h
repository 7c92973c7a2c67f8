/*
 * web.h - the renewal team's page (SPEC §7 GET /): daemon/web/index.html,
 * embedded in the binary at build time, served with a Content-Security-Policy
 * that lets it load nothing from anywhere but this daemon (its one inline
 * script and style are allowed by their SHA-256, computed once at start).
 *
 * struct rw_web owns the header text; the page bytes are static.
 */
#ifndef RENEWALD_WEB_H
#define RENEWALD_WEB_H

#include "renewald/core/common.h"

struct evhttp_request;
struct rw_web;

/* The embedded page (generated from daemon/web/index.html by CMake). */
extern const unsigned char rw_web_page[]; /* NUL-terminated */
extern const size_t rw_web_page_len;

struct rw_web *rw_web_new(void) RW_NODISCARD;
void rw_web_free(struct rw_web *web);
/* Answers REQ with the page (200, text/html, the CSP and no-cache headers). */
void rw_web_serve(const struct rw_web *web, struct evhttp_request *req);
/* The Content-Security-Policy header value the page is served with. */
const char *rw_web_csp(const struct rw_web *web);

#endif
