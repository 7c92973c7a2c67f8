/* digest.c - members of digest windows grouped in memory, each digest written once by a
 * fenced script that also deletes its members. */
#include "renewald/digest.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renewald/core/digest.h"
#include "renewald/core/jsonw.h"
#include "renewald/log.h"

/* KEYS: lease, outbox.  ARGV: token, the digest job id, its JSON, then the member ids.
 * Returns 1 when written, 0 when its members were gone (written before). */
const char rw_digest_close_script[] =
    "#!lua\n"
    "if redis.call('GET', KEYS[1]) ~= ARGV[1] then\n"
    "  return redis.error_reply('FENCED lease not held') end\n"
    "local t = redis.call('TYPE', KEYS[2])['ok']\n"
    "if t ~= 'none' and t ~= 'hash' then\n"
    "  return redis.error_reply('WRONGTYPE outbox holds a ' .. t) end\n"
    "if redis.acl_check_cmd and not (redis.acl_check_cmd('HSET', KEYS[2], 'f', 'v') and\n"
    "    redis.acl_check_cmd('HDEL', KEYS[2], 'f')) then\n"
    "  return redis.error_reply('NOPERM this user may not write the outbox') end\n"
    "if #ARGV < 4 or redis.call('HEXISTS', KEYS[2], ARGV[4]) == 0 then return 0 end\n"
    "redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])\n"
    "for i = 4, #ARGV, 200 do\n"
    "  redis.call('HDEL', KEYS[2], unpack(ARGV, i, math.min(i + 199, #ARGV)))\n"
    "end\n"
    "return 1\n";

struct group {
    struct group *next;
    char *sink;
    int64_t start_ms, end_ms;
    char *recipient; /* the owner (e-mail to = owner), or NULL */
    bool by_owner;   /* the sink writes to owners: the digest names one */
    char **members;  /* job ids */
    size_t n, cap;
    json_t *alerts; /* array, in the order added */
    uint64_t seq;   /* the smallest member seq */
    bool closing;   /* its script is on the way */
};

struct rw_digests {
    struct rw_cmd_sink sink;
    const struct rw_config *cfg;
    rw_digest_job_fn add;
    void *arg;
    struct group *groups;
    size_t nmembers;
    uint64_t generation; /* bumped by a reset: older replies are discarded */
};

/* A close on its way to Redis. */
struct closing {
    struct rw_digests *g;
    uint64_t generation;
    struct group *grp;
    char *job_id, *job;
};

struct rw_digests *rw_digests_new(struct rw_cmd_sink sink, const struct rw_config *cfg,
                                  rw_digest_job_fn add, void *arg)
{
    struct rw_digests *g = rw_xcalloc(1, sizeof *g);
    g->sink = sink;
    g->cfg = cfg;
    g->add = add;
    g->arg = arg;
    return g;
}

static void group_free(struct group *grp)
{
    for (size_t i = 0; i < grp->n; i++)
        free(grp->members[i]);
    free(grp->members);
    json_decref(grp->alerts);
    free(grp->sink);
    free(grp->recipient);
    free(grp);
}

static void unlink_group(struct rw_digests *g, struct group *grp)
{
    for (struct group **p = &g->groups; *p; p = &(*p)->next) {
        if (*p == grp) {
            *p = grp->next;
            g->nmembers -= grp->n;
            return;
        }
    }
}

void rw_digests_reset(struct rw_digests *g)
{
    struct group *grp;
    while ((grp = g->groups) != NULL) {
        g->groups = grp->next;
        group_free(grp);
    }
    g->nmembers = 0;
    g->generation++;
}

void rw_digests_free(struct rw_digests *g)
{
    if (!g)
        return;
    rw_digests_reset(g);
    free(g);
}

void rw_digests_set_config(struct rw_digests *g, const struct rw_config *cfg)
{
    g->cfg = cfg;
}

size_t rw_digests_members(const struct rw_digests *g)
{
    return g->nmembers;
}

static const struct rw_sink_conf *sink_conf(const struct rw_config *cfg, const char *name)
{
    for (int i = 0; i < cfg->nsinks; i++)
        if (strcmp(cfg->sinks[i].name, name) == 0)
            return &cfg->sinks[i];
    return NULL;
}

static bool same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static struct group *group_for(struct rw_digests *g, const char *sink, int64_t start, int64_t end,
                               const char *recipient, bool by_owner)
{
    for (struct group *grp = g->groups; grp; grp = grp->next)
        if (!grp->closing && grp->start_ms == start && grp->end_ms == end &&
            strcmp(grp->sink, sink) == 0 && same(grp->recipient, recipient))
            return grp;
    struct group *grp = rw_xcalloc(1, sizeof *grp);
    grp->sink = rw_xstrdup(sink);
    grp->start_ms = start;
    grp->end_ms = end;
    grp->recipient = recipient ? rw_xstrdup(recipient) : NULL;
    grp->by_owner = by_owner;
    grp->alerts = json_array();
    grp->seq = UINT64_MAX;
    if (!grp->alerts) {
        fputs("renewald: out of memory\n", stderr);
        abort();
    }
    grp->next = g->groups;
    g->groups = grp;
    return grp;
}

void rw_digests_add(struct rw_digests *g, const char *job_id, const char *sink, int64_t start_ms,
                    int64_t end_ms, json_t *alert, uint64_t seq)
{
    const struct rw_sink_conf *sc = sink_conf(g->cfg, sink);
    bool by_owner = sc && sc->type == RW_SINK_EMAIL && sc->to_owner;
    const char *owner = by_owner ? rw_alert_str(alert, "owner") : NULL;
    struct group *grp = group_for(g, sink, start_ms, end_ms, owner, by_owner);
    if (grp->n == grp->cap) {
        grp->cap = grp->cap ? grp->cap * 2 : 16;
        grp->members = rw_xrealloc(grp->members, grp->cap * sizeof *grp->members);
    }
    grp->members[grp->n++] = rw_xstrdup(job_id);
    json_array_append(grp->alerts, alert);
    if (seq < grp->seq)
        grp->seq = seq;
    g->nmembers++;
}

static void on_closed(struct rw_link *link, redisReply *reply, void *arg)
{
    (void)link;
    struct closing *cl = arg;
    struct rw_digests *g = cl->g;
    if (cl->generation == g->generation) {
        struct group *grp = cl->grp;
        if (reply && reply->type == REDIS_REPLY_INTEGER) {
            if (reply->integer == 1) {
                rw_info("digest written id=%s sink=%s alerts=%zu", cl->job_id, grp->sink, grp->n);
                g->add(g->arg, cl->job_id, strlen(cl->job_id), cl->job, strlen(cl->job));
            }
            unlink_group(g, grp);
            group_free(grp);
        } else {
            rw_log_rl(RW_LOG_ERROR,
                      "digest not written; tried again later sink=%s error=\"%.200s\"", grp->sink,
                      reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "no reply");
            grp->closing = false;
        }
    }
    free(cl->job_id);
    free(cl->job);
    free(cl);
}

/* The delivery job of GRP's digest into a new closing record. */
static struct closing *digest_job(struct rw_digests *g, struct group *grp)
{
    json_t *d =
        rw_digest_build(grp->sink, grp->start_ms, grp->end_ms,
                        grp->by_owner ? (grp->recipient ? grp->recipient : "") : NULL, grp->alerts);
    if (grp->by_owner && !grp->recipient)
        json_object_del(d, "owner"); /* no owner: the sink's fallback_to */
    const char *id = rw_alert_str(d, "id");
    char *text = rw_alert_dumps(d);
    struct rw_jsonw w;
    rw_jsonw_init(&w);
    rw_jsonw_obj_open(&w);
    rw_jsonw_key(&w, "sink");
    rw_jsonw_str(&w, grp->sink);
    rw_jsonw_key(&w, "attempts");
    rw_jsonw_int(&w, 0);
    rw_jsonw_key(&w, "due");
    rw_jsonw_int(&w, 0);
    rw_jsonw_key(&w, "seq");
    rw_jsonw_int(&w, (int64_t)grp->seq);
    rw_jsonw_key(&w, "ts");
    rw_jsonw_int(&w, grp->end_ms);
    rw_jsonw_key(&w, "account");
    rw_jsonw_str(&w, id);
    rw_jsonw_key(&w, "alert");
    rw_jsonw_raw(&w, text, strlen(text));
    rw_jsonw_obj_close(&w);
    struct closing *cl = rw_xcalloc(1, sizeof *cl);
    cl->g = g;
    cl->generation = g->generation;
    cl->grp = grp;
    cl->job_id = rw_xasprintf("%s:%s", id, grp->sink);
    cl->job = rw_xstrndup(w.buf, w.len);
    rw_jsonw_free(&w);
    free(text);
    json_decref(d);
    return cl;
}

static void close_group(struct rw_digests *g, struct group *grp, const char *lease_token)
{
    struct closing *cl = digest_job(g, grp);
    char *lease = rw_config_key(g->cfg, "lease"), *outbox = rw_config_key(g->cfg, "outbox");
    size_t argc = 8 + grp->n;
    const char **argv = rw_xcalloc(argc, sizeof *argv);
    size_t *lens = rw_xcalloc(argc, sizeof *lens);
    const char *head[] = {"EVAL", rw_digest_close_script,         "2",        lease,
                          outbox, lease_token ? lease_token : "", cl->job_id, cl->job};
    memcpy(argv, head, sizeof head);
    for (size_t i = 0; i < grp->n; i++)
        argv[8 + i] = grp->members[i];
    for (size_t i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    grp->closing = true;
    if (!rw_cmd_send(&g->sink, on_closed, cl, 0, (int)argc, argv, lens)) {
        grp->closing = false; /* the link is down: a reset follows */
        free(cl->job_id);
        free(cl->job);
        free(cl);
    }
    free(argv);
    free(lens);
    free(lease);
    free(outbox);
}

void rw_digests_close(struct rw_digests *g, int64_t now_ms, const char *lease_token)
{
    struct group *grp = g->groups, *next;
    for (; grp; grp = next) {
        next = grp->next;
        if (!grp->closing && rw_digest_window_over(grp->start_ms, grp->end_ms, now_ms))
            close_group(g, grp, lease_token);
    }
}
