/*
 * api.h - the HTTP endpoint on evhttp (SPEC §7): /healthz, /metrics,
 * /v1/accounts/ID and the worklist /v1/accounts.  Bounded request sizes and
 * header counts, idle timeouts, and a bearer token on /v1/... when configured.
 */
#ifndef RENEWALD_API_H
#define RENEWALD_API_H

#include "renewald/common.h"

struct renewald;
struct rw_api;

/* Listens on LISTEN ("IP:PORT" or "[V6]:PORT"); NULL (logged) when it cannot. */
struct rw_api *rw_api_new(struct renewald *d, const char *listen) RW_NODISCARD;
void rw_api_free(struct rw_api *api);

/* Query parsing of the worklist, exposed for tests and fuzzing. */
struct rw_worklist_query {
    unsigned bands;  /* bit (1u << enum rw_band); 0 = any */
    int within_days; /* -1 = any */
    size_t limit;    /* 1..10000, default 100 */
};
/* Parses a query string (without '?', may be NULL); on error returns false with a reason in ERR. */
bool rw_api_parse_worklist_query(const char *query, struct rw_worklist_query *q, char *err,
                                 size_t errcap) RW_NODISCARD;

#endif
