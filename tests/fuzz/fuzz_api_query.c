/*
 * fuzz_api_query.c - the HTTP request path and query (SPEC §7).
 *
 * The input is taken twice: as a worklist query string for
 * rw_api_parse_worklist_query, and as the request-URI of a request line, parsed
 * the way evhttp parses it (evhttp_uri_parse_with_flags with
 * EVHTTP_URI_NONCONFORMANT, libevent 2.1) and routed the way daemon/api.c's
 * on_request routes it: /v1/accounts gets the query parsed, /v1/accounts/ID
 * gets ID percent-decoded with evhttp_uridecode and checked for 1..128 bytes.
 * The routing below mirrors on_request; keep the two in step.
 */
#include <event2/http.h>
#include <stdlib.h>
#include <string.h>

#include "renewald/core/worklist.h"

static void check(int ok)
{
    if (!ok)
        abort();
}

/* Parses QUERY with an error buffer of exactly ERRCAP bytes (so that ASan sees
 * a write past it) and checks the result against api.h. */
static void parse_query(const char *query, size_t errcap)
{
    char *err = malloc(errcap);
    if (!err)
        return;
    memset(err, 0x7f, errcap);
    struct rw_worklist_query q;
    if (rw_worklist_parse(query, &q, err, errcap)) {
        check((q.bands & ~((1u << RW_BAND_COUNT) - 1)) == 0);
        check(q.within_days >= -1 && q.within_days <= 36500);
        check(q.limit >= 1 && q.limit <= RW_WORKLIST_MAX);
        check(q.snoozed >= -1 && q.snoozed <= 1);
        check(!q.owner || strlen(q.owner) <= strlen(query));
        rw_worklist_query_free(&q);
    } else if (errcap > 0) {
        check(memchr(err, '\0', errcap) != NULL);
        check(errcap == 1 || err[0] != '\0');
    }
    free(err);
}

/* What on_request does with the path and query of a GET. */
static void route(const char *path, const char *query)
{
    if (strcmp(path, "/healthz") == 0 || strcmp(path, "/metrics") == 0)
        return;
    if (strcmp(path, "/v1/accounts") == 0) {
        parse_query(query, 128);
        return;
    }
    if (strncmp(path, "/v1/accounts/", 13) == 0 && path[13] && !strchr(path + 13, '/')) {
        size_t len = 0;
        char *id = evhttp_uridecode(path + 13, 0, &len);
        if (id) {
            check(len <= strlen(path + 13) && id[len] == '\0');
            /* get_account looks up 1..RW_ACCOUNT_MAX bytes; touch them all. */
            volatile unsigned char sum = 0;
            for (size_t i = 0; i < len; i++)
                sum += (unsigned char)id[i];
            (void)sum;
        }
        free(id);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';

    parse_query(s, 128);
    parse_query(s, 8); /* messages are cut, never overflow */
    parse_query(s, 1);

    struct evhttp_uri *uri = evhttp_uri_parse_with_flags(s, EVHTTP_URI_NONCONFORMANT);
    if (uri) {
        const char *path = evhttp_uri_get_path(uri);
        const char *query = evhttp_uri_get_query(uri);
        if (path)
            route(path, query);
        evhttp_uri_free(uri);
    }
    free(s);
    return 0;
}
