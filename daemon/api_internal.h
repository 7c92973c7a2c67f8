/*
 * api_internal.h - what the API's files share (api.c, api_snooze.c): replies,
 * the account document, and the snooze requests in progress.  Not a public
 * header: only the api module's own files include it.
 */
#ifndef RENEWALD_API_INTERNAL_H
#define RENEWALD_API_INTERNAL_H

#include "renewald/api.h"
#include "renewald/core/jsonw.h"

struct evhttp_request;
struct rw_account;

void rw_api_reply_json(struct evhttp_request *req, int code, const char *reason,
                       struct rw_jsonw *w);
void rw_api_reply_error(struct evhttp_request *req, int code, const char *reason, const char *msg);
/* The account document of SPEC §7 into W. */
void rw_api_account_doc(struct rw_jsonw *w, const struct rw_api_state *s,
                        const struct rw_account *a);

/* Snooze requests waiting for a sweep to end or for their commit to land.
 * They borrow the API's hooks; rw_snoozes_free answers none of them. */
struct rw_snoozes;
struct rw_snoozes *rw_snoozes_new(struct event_base *base, const struct rw_api_hooks *hooks,
                                  void *arg);
void rw_snoozes_free(struct rw_snoozes *sz);
/* POST or DELETE /v1/accounts/ID_ENC/snooze (ID_ENC: LEN bytes, percent-encoded);
 * the caller checked the bearer token. */
void rw_snoozes_handle(struct rw_snoozes *sz, struct evhttp_request *req, const char *id_enc,
                       size_t len);
void rw_snoozes_landed(struct rw_snoozes *sz, uint64_t seq);
/* The store is going: every waiting request answers 503. */
void rw_snoozes_gone(struct rw_snoozes *sz);

#endif
