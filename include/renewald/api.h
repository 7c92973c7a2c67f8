/*
 * api.h - the HTTP endpoint on evhttp (SPEC §7): /healthz, /metrics, the
 * renewal team's page at /, /v1/accounts/ID, /v1/accounts/ID/history, the
 * worklist /v1/accounts, /v1/summary and the one write, POST/DELETE
 * /v1/accounts/ID/snooze (api_snooze.c), answered once the commit that
 * carries it has landed.  Bounded request sizes and header
 * counts, idle timeouts, and a bearer token on /v1/... when configured.
 * Worklist and summary requests are answered after a walk over the accounts
 * done in slices, one per loop turn, so that no request holds the loop for
 * more than a few milliseconds; a history request reads the day keys from
 * Redis on the link the state gives (at most 16 such requests at once).
 *
 * The API reads the daemon through a hook that describes its state at the
 * moment of each request; it owns only its listener and its scans in progress.
 */
#ifndef RENEWALD_API_H
#define RENEWALD_API_H

#include "renewald/config.h"
#include "renewald/core/history.h"
#include "renewald/core/score.h"
#include "renewald/core/snooze.h"
#include "renewald/redis_link.h"

struct event_base;
struct evbuffer;
struct rw_store;

/* What a request may read, valid until the callback that filled it returns. */
struct rw_api_state {
    const struct rw_config *cfg;
    const struct rw_scorer *scorer;
    struct rw_store *store;           /* NULL unless the state is loaded */
    const struct rw_history *history; /* NULL when the store is */
    int64_t now_ms;                   /* the `now` answers are evaluated at */
    const char *unhealthy;            /* NULL when healthy, else why (the /healthz text) */
    struct rw_cmd_sink redis;         /* where history reads go (.send NULL: nowhere) */
    bool standby;                     /* another instance holds the lease: writes get 403 */
};

struct rw_api_hooks {
    void (*state)(void *arg, struct rw_api_state *out);
    void (*metrics)(void *arg, struct evbuffer *out);
    /* Snoozes account ID (REQ) or removes its snooze (REQ NULL) with the store
     * the state gave; on RW_SNOOZE_DONE *SEQ is the commit that will carry it
     * (rw_api_landed reports it).  Called only while the state has a store. */
    enum rw_snooze_result (*snooze)(void *arg, const char *id, size_t len,
                                    const struct rw_snooze_req *req, uint64_t *seq);
};

struct rw_api;

/* Listens on LISTEN ("IP:PORT" or "[V6]:PORT"); NULL (logged) when it cannot. */
struct rw_api *rw_api_new(struct event_base *base, const char *listen,
                          const struct rw_api_hooks *hooks, void *arg) RW_NODISCARD;
void rw_api_free(struct rw_api *api);
/* The store is about to be freed: scans in progress and snoozes waiting for
 * their commit answer 503 (a snooze may or may not have landed). */
void rw_api_store_gone(struct rw_api *api);
/* Every commit up to SEQ landed: the snoozes it carried are answered. */
void rw_api_landed(struct rw_api *api, uint64_t seq);

#endif
