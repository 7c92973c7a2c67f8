/* cluster.c - finding the master of the instance's slot, again after each failover; ASK. */
#include "renewald/cluster.h"

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <stdlib.h>
#include <string.h>

#include "renewald/core/parse.h"
#include "renewald/log.h"

#define ATTEMPT_TIMEOUT_MS 1000 /* one node's answer, connection included */
#define ROUND_GAP_MS       200  /* between two rounds of asking */
#define ROUND_BACKOFF_MAX  2000 /* after rounds that found no master */
#define MAX_WATCHERS       4
#define MAX_REPLY_NODES    (1u << 20)
#define MAX_CANDIDATES     (RW_MAX_SEEDS + RW_CLUSTER_NODES_MAX)

struct watcher {
    rw_cluster_change_cb cb;
    void *arg;
};

struct ask_call {
    rw_cluster_reply_cb cb;
    void *arg;
};

struct rw_cluster {
    struct event_base *base;
    char *username, *password;
    int slot;
    char seeds[RW_MAX_SEEDS][RW_CLUSTER_ADDR_MAX];
    int nseeds;
    char known[RW_CLUSTER_NODES_MAX][RW_CLUSTER_ADDR_MAX]; /* from the last answer */
    int nknown;
    char master[RW_CLUSTER_ADDR_MAX]; /* "" until found */
    uint64_t changes;
    struct watcher watchers[MAX_WATCHERS];
    int nwatchers;
    struct event *notify_ev;

    /* Discovery: rounds of asking one candidate after the other. */
    struct event *timer; /* the attempt's timeout, or the wait for the next round */
    redisAsyncContext *dac;
    char dhost[64]; /* host of the node asked, for entries with an empty IP */
    char cand[MAX_CANDIDATES][RW_CLUSTER_ADDR_MAX];
    int ncand, tried, start;
    bool running, again, waiting;
    bool use_slots; /* a node did not know CLUSTER SHARDS */
    int64_t last_end_ms, backoff_ms;

    redisAsyncContext *ask_ac;
    char ask_addr[RW_CLUSTER_ADDR_MAX];
};

static void next_attempt(struct rw_cluster *cl);
static void start_round(struct rw_cluster *cl);

/* ---- replies as trees ---- */

static bool count_nodes(const redisReply *r, int depth, size_t max, size_t *n)
{
    if (depth > 8 || ++*n > max)
        return false;
    if (r->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i < r->elements; i++)
            if (!count_nodes(r->element[i], depth + 1, max, n))
                return false;
    return true;
}

static void fill_node(const redisReply *r, struct rw_rnode *out, struct rw_rnode *pool,
                      size_t *used)
{
    memset(out, 0, sizeof *out);
    switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
        out->type = r->type == REDIS_REPLY_ERROR ? RW_RT_ERROR : RW_RT_STRING;
        out->str = r->str;
        out->len = r->len;
        break;
    case REDIS_REPLY_INTEGER:
        out->type = RW_RT_INTEGER;
        out->integer = r->integer;
        break;
    case REDIS_REPLY_NIL:
        out->type = RW_RT_NIL;
        break;
    case REDIS_REPLY_ARRAY: {
        out->type = RW_RT_ARRAY;
        struct rw_rnode *kids = pool + *used;
        *used += r->elements;
        for (size_t i = 0; i < r->elements; i++)
            fill_node(r->element[i], &kids[i], pool, used);
        out->elem = kids;
        out->n = r->elements;
        break;
    }
    default:
        out->type = RW_RT_OTHER;
    }
}

struct rw_rnode *rw_cluster_rnode_from(const redisReply *reply, size_t max_nodes)
{
    size_t n = 0;
    if (!count_nodes(reply, 0, max_nodes, &n))
        return NULL;
    struct rw_rnode *pool = rw_xcalloc(n, sizeof *pool);
    size_t used = 1;
    fill_node(reply, &pool[0], pool, &used);
    return pool;
}

bool rw_cluster_master_sync(redisContext *c, const char *self_host, int slot,
                            char out[RW_CLUSTER_ADDR_MAX])
{
    redisReply *reply = redisCommand(c, "CLUSTER SLOTS");
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(reply);
        return false;
    }
    struct rw_rnode *tree = rw_cluster_rnode_from(reply, MAX_REPLY_NODES);
    struct rw_cluster_view *v = rw_xmalloc(sizeof *v);
    bool ok = tree && rw_cluster_parse_slots(tree, slot, self_host, v) && v->covered;
    if (ok)
        memcpy(out, v->master, RW_CLUSTER_ADDR_MAX);
    free(v);
    free(tree);
    freeReplyObject(reply);
    return ok;
}

/* ---- the master ---- */

static void on_notify(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct rw_cluster *cl = arg;
    for (int i = 0; i < cl->nwatchers; i++)
        cl->watchers[i].cb(cl->watchers[i].arg);
}

static void set_master(struct rw_cluster *cl, const char *addr, const char *how)
{
    if (strcmp(cl->master, addr) == 0)
        return;
    if (cl->master[0])
        rw_warn("redis cluster: slot %d moved from %s to %s (%s)", cl->slot, cl->master, addr, how);
    else
        rw_info("redis cluster: slot %d is served by %s", cl->slot, addr);
    snprintf(cl->master, sizeof cl->master, "%s", addr);
    cl->changes++;
    event_active(cl->notify_ev, 0, 0);
}

/* ---- discovery ---- */

static void add_candidate(struct rw_cluster *cl, const char *addr)
{
    for (int i = 0; i < cl->ncand; i++)
        if (strcmp(cl->cand[i], addr) == 0)
            return;
    if (cl->ncand < MAX_CANDIDATES)
        memcpy(cl->cand[cl->ncand++], addr, RW_CLUSTER_ADDR_MAX);
}

static void arm(struct rw_cluster *cl, int64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    evtimer_add(cl->timer, &tv);
}

/* Ends the attempt in progress: its connection goes (now, or once its callback returns);
 * callbacks of a context that is not cl->dac any more are ignored. */
static void close_attempt(struct rw_cluster *cl)
{
    if (cl->dac) {
        redisAsyncContext *ac = cl->dac;
        cl->dac = NULL;
        redisAsyncFree(ac);
    }
}

static void end_round(struct rw_cluster *cl, bool found)
{
    close_attempt(cl);
    evtimer_del(cl->timer); /* the attempt's timeout */
    cl->running = false;
    cl->last_end_ms = rw_mono_ms();
    if (found)
        cl->backoff_ms = ROUND_GAP_MS;
    if (found && !cl->again)
        return;
    int64_t delay = found ? ROUND_GAP_MS : cl->backoff_ms;
    if (!found) {
        rw_log_rl(RW_LOG_WARN,
                  "redis cluster: no node named a healthy master for slot %d; asking again in "
                  "%lld ms",
                  cl->slot, (long long)delay);
        cl->backoff_ms =
            cl->backoff_ms * 2 > ROUND_BACKOFF_MAX ? ROUND_BACKOFF_MAX : cl->backoff_ms * 2;
    }
    cl->again = false;
    cl->waiting = true;
    arm(cl, delay);
}

static void take_view(struct rw_cluster *cl, const redisReply *reply)
{
    struct rw_rnode *tree = rw_cluster_rnode_from(reply, MAX_REPLY_NODES);
    struct rw_cluster_view *v = rw_xmalloc(sizeof *v);
    bool ok = tree && (cl->use_slots ? rw_cluster_parse_slots(tree, cl->slot, cl->dhost, v)
                                     : rw_cluster_parse_shards(tree, cl->slot, cl->dhost, v));
    free(tree);
    if (!ok) {
        rw_log_rl(RW_LOG_WARN, "redis cluster: unexpected CLUSTER %s reply from %s",
                  cl->use_slots ? "SLOTS" : "SHARDS",
                  cl->cand[(cl->start + cl->tried - 1) % cl->ncand]);
        free(v);
        next_attempt(cl);
        return;
    }
    if (v->nnodes > 0) {
        for (int i = 0; i < v->nnodes; i++)
            memcpy(cl->known[i], v->nodes[i], RW_CLUSTER_ADDR_MAX);
        cl->nknown = v->nnodes;
    }
    if (!v->covered) {
        free(v);
        next_attempt(cl);
        return;
    }
    set_master(cl, v->master, "found by asking the cluster");
    free(v);
    end_round(cl, true);
}

static void send_view_query(struct rw_cluster *cl);

static void on_view(redisAsyncContext *ac, void *r, void *privdata)
{
    struct rw_cluster *cl = ac->data;
    redisReply *reply = r;
    (void)privdata;
    if (ac != cl->dac)
        return; /* an attempt that ended */
    if (!reply) {
        next_attempt(cl);
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        if (!cl->use_slots && strstr(reply->str, "nknown")) {
            cl->use_slots = true; /* before Redis 7 */
            send_view_query(cl);
            return;
        }
        rw_log_rl(RW_LOG_WARN, "redis cluster: node %s answered error=\"%.200s\"",
                  cl->cand[(cl->start + cl->tried - 1) % cl->ncand], reply->str);
        next_attempt(cl);
        return;
    }
    take_view(cl, reply);
}

static void on_auth(redisAsyncContext *ac, void *r, void *privdata)
{
    struct rw_cluster *cl = ac->data;
    redisReply *reply = r;
    (void)privdata;
    if (ac != cl->dac || !reply)
        return;
    if (reply->type == REDIS_REPLY_ERROR)
        rw_log_rl(RW_LOG_ERROR, "redis cluster: AUTH refused by %s error=\"%.200s\"",
                  cl->cand[(cl->start + cl->tried - 1) % cl->ncand], reply->str);
}

static void send_view_query(struct rw_cluster *cl)
{
    const char *argv[2] = {"CLUSTER", cl->use_slots ? "SLOTS" : "SHARDS"};
    size_t lens[2] = {7, strlen(argv[1])};
    if (redisAsyncCommandArgv(cl->dac, on_view, NULL, 2, argv, lens) != REDIS_OK)
        next_attempt(cl);
}

static void on_discovery_connect(const redisAsyncContext *ac, int status)
{
    struct rw_cluster *cl = ac->data;
    if (status == REDIS_OK || ac != cl->dac)
        return;
    rw_debug("redis cluster: cannot reach %s error=\"%s\"", cl->dhost, ac->errstr);
    cl->dac = NULL; /* hiredis frees it after this callback */
    next_attempt(cl);
}

static void on_discovery_disconnect(const redisAsyncContext *ac, int status)
{
    struct rw_cluster *cl = ac->data;
    (void)status;
    if (ac != cl->dac)
        return;
    cl->dac = NULL;
    next_attempt(cl);
}

/* A connection to ADDR (its host copied into HOST) on the loop, with these
 * callbacks and CL as its data; NULL when that failed at once. */
static redisAsyncContext *open_node(struct rw_cluster *cl, const char *addr, char *host,
                                    size_t hostcap, redisConnectCallback *on_connect,
                                    redisDisconnectCallback *on_disconnect)
{
    int port;
    if (!rw_split_host_port(addr, host, hostcap, 1, &port))
        return NULL;
    redisAsyncContext *ac = redisAsyncConnect(host, port);
    if (!ac || ac->err) {
        if (ac)
            redisAsyncFree(ac);
        return NULL;
    }
    ac->data = cl;
    if (redisLibeventAttach(ac, cl->base) != REDIS_OK) {
        redisAsyncFree(ac);
        return NULL;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    return ac;
}

/* Queues AUTH on AC when a password is set (its reply to CB); false when that failed. */
static bool send_auth(const struct rw_cluster *cl, redisAsyncContext *ac, redisCallbackFn *cb)
{
    if (!cl->password)
        return true;
    const char *argv[3] = {"AUTH", cl->username ? cl->username : cl->password, cl->password};
    size_t lens[3] = {4, strlen(argv[1]), strlen(cl->password)};
    return redisAsyncCommandArgv(ac, cb, NULL, cl->username ? 3 : 2, argv, lens) == REDIS_OK;
}

/* Connects to candidate ADDR and sends the query; false when that failed at once. */
static bool ask_node(struct rw_cluster *cl, const char *addr)
{
    redisAsyncContext *ac = open_node(cl, addr, cl->dhost, sizeof cl->dhost, on_discovery_connect,
                                      on_discovery_disconnect);
    if (!ac)
        return false;
    cl->dac = ac;
    if (!send_auth(cl, ac, on_auth)) {
        close_attempt(cl);
        return false;
    }
    send_view_query(cl);
    return cl->dac != NULL;
}

static void next_attempt(struct rw_cluster *cl)
{
    close_attempt(cl);
    while (cl->tried < cl->ncand) {
        const char *addr = cl->cand[(cl->start + cl->tried) % cl->ncand];
        cl->tried++;
        if (ask_node(cl, addr)) {
            arm(cl, ATTEMPT_TIMEOUT_MS);
            return;
        }
    }
    end_round(cl, false);
}

static void start_round(struct rw_cluster *cl)
{
    cl->running = true;
    cl->waiting = false;
    cl->ncand = 0;
    /* The nodes the last answer named, then the seeds; a different one first each round. */
    for (int i = 0; i < cl->nknown; i++)
        add_candidate(cl, cl->known[i]);
    for (int i = 0; i < cl->nseeds; i++)
        add_candidate(cl, cl->seeds[i]);
    cl->start = cl->ncand ? (cl->start + 1) % cl->ncand : 0;
    cl->tried = 0;
    next_attempt(cl);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct rw_cluster *cl = arg;
    if (cl->running) {
        rw_debug("redis cluster: no answer from %s in time", cl->dhost);
        next_attempt(cl);
    } else {
        start_round(cl);
    }
}

void rw_cluster_trouble(struct rw_cluster *cl, const char *why)
{
    rw_debug("redis cluster: looking for the master of slot %d again why=\"%s\"", cl->slot, why);
    if (cl->running) {
        cl->again = true;
        return;
    }
    if (cl->waiting)
        return; /* a round is due anyway */
    int64_t since = rw_mono_ms() - cl->last_end_ms;
    cl->waiting = true;
    arm(cl, since >= ROUND_GAP_MS ? 0 : ROUND_GAP_MS - since);
}

enum rw_cluster_error rw_cluster_on_error(struct rw_cluster *cl, const char *err, size_t len,
                                          const char *self_host, struct rw_redirect *out)
{
    enum rw_cluster_error kind = rw_cluster_parse_error(err, len, self_host, out);
    switch (kind) {
    case RW_CERR_MOVED:
        if (out->addr_ok && out->slot == cl->slot)
            set_master(cl, out->addr, "MOVED");
        else
            rw_cluster_trouble(cl, "MOVED");
        break;
    case RW_CERR_DOWN:
    case RW_CERR_STALE:
        rw_cluster_trouble(cl, err);
        break;
    default:
        break;
    }
    return kind;
}

/* ---- ASK ---- */

static void on_ask_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    struct ask_call *call = privdata;
    if (!call)
        return; /* the ASKING before it */
    rw_cluster_reply_cb cb = call->cb;
    void *arg = call->arg;
    free(call);
    cb(r, arg);
}

static void on_ask_connect(const redisAsyncContext *ac, int status)
{
    struct rw_cluster *cl = ac->data;
    if (status != REDIS_OK && cl->ask_ac == ac) {
        rw_log_rl(RW_LOG_WARN, "redis cluster: cannot reach %s for an ASK error=\"%s\"",
                  cl->ask_addr, ac->errstr);
        cl->ask_ac = NULL; /* hiredis frees it, running the callbacks with NULL */
    }
}

static void on_ask_disconnect(const redisAsyncContext *ac, int status)
{
    (void)status;
    struct rw_cluster *cl = ac->data;
    if (cl->ask_ac == ac)
        cl->ask_ac = NULL;
}

void rw_cluster_ask_close(struct rw_cluster *cl)
{
    if (!cl->ask_ac)
        return;
    redisAsyncContext *ac = cl->ask_ac;
    cl->ask_ac = NULL;
    redisAsyncFree(ac);
}

static bool ask_connect(struct rw_cluster *cl, const char *addr)
{
    char host[64];
    redisAsyncContext *ac =
        open_node(cl, addr, host, sizeof host, on_ask_connect, on_ask_disconnect);
    if (!ac)
        return false;
    cl->ask_ac = ac;
    snprintf(cl->ask_addr, sizeof cl->ask_addr, "%s", addr);
    if (!send_auth(cl, ac, on_ask_reply)) {
        rw_cluster_ask_close(cl);
        return false;
    }
    return true;
}

bool rw_cluster_ask(struct rw_cluster *cl, const char *addr, const char *cmd, size_t len,
                    rw_cluster_reply_cb cb, void *arg)
{
    if (cl->ask_ac && strcmp(cl->ask_addr, addr) != 0)
        rw_cluster_ask_close(cl);
    if (!cl->ask_ac && !ask_connect(cl, addr))
        return false;
    rw_debug("redis cluster: ASK redirection to %s", addr);
    struct ask_call *call = rw_xmalloc(sizeof *call);
    call->cb = cb;
    call->arg = arg;
    static const char asking[] = "*1\r\n$6\r\nASKING\r\n";
    if (redisAsyncFormattedCommand(cl->ask_ac, on_ask_reply, NULL, asking, sizeof asking - 1) !=
            REDIS_OK ||
        redisAsyncFormattedCommand(cl->ask_ac, on_ask_reply, call, cmd, len) != REDIS_OK) {
        free(call);
        return false;
    }
    return true;
}

/* ---- construction ---- */

struct rw_cluster *rw_cluster_new(struct event_base *base, const struct rw_config *cfg)
{
    struct rw_cluster *cl = rw_xcalloc(1, sizeof *cl);
    cl->base = base;
    cl->username = cfg->redis_username ? rw_xstrdup(cfg->redis_username) : NULL;
    cl->password = cfg->redis_password ? rw_xstrdup(cfg->redis_password) : NULL;
    cl->slot = rw_cluster_key_slot(cfg->prefix, strlen(cfg->prefix));
    cl->backoff_ms = ROUND_GAP_MS;
    cl->last_end_ms = rw_mono_ms() - ROUND_GAP_MS;
    char *copy = rw_xstrdup(cfg->redis_address), *items[RW_MAX_SEEDS];
    int n = rw_split_list(copy, items, RW_MAX_SEEDS);
    for (int i = 0; i < n; i++) {
        char host[64];
        int port;
        if (rw_split_host_port(items[i], host, sizeof host, 1, &port) &&
            rw_cluster_format_addr(host, strlen(host), port, cl->seeds[cl->nseeds]))
            cl->nseeds++;
    }
    free(copy);
    cl->timer = evtimer_new(base, on_timer, cl);
    cl->notify_ev = event_new(base, -1, 0, on_notify, cl);
    if (!cl->timer || !cl->notify_ev || cl->nseeds == 0) {
        rw_error("redis cluster: cannot start (no usable seed node, or no timer)");
        rw_cluster_free(cl);
        return NULL;
    }
    rw_info("redis cluster mode: slot %d, %d seed nodes", cl->slot, cl->nseeds);
    start_round(cl);
    return cl;
}

void rw_cluster_free(struct rw_cluster *cl)
{
    if (!cl)
        return;
    close_attempt(cl);
    rw_cluster_ask_close(cl);
    if (cl->timer)
        event_free(cl->timer);
    if (cl->notify_ev)
        event_free(cl->notify_ev);
    free(cl->username);
    free(cl->password);
    free(cl);
}

int rw_cluster_slot(const struct rw_cluster *cl)
{
    return cl->slot;
}

const char *rw_cluster_master(const struct rw_cluster *cl)
{
    return cl->master[0] ? cl->master : NULL;
}

uint64_t rw_cluster_changes(const struct rw_cluster *cl)
{
    return cl->changes;
}

void rw_cluster_watch(struct rw_cluster *cl, rw_cluster_change_cb cb, void *arg)
{
    if (cl->nwatchers < MAX_WATCHERS)
        cl->watchers[cl->nwatchers++] = (struct watcher){cb, arg};
}

void rw_cluster_unwatch(struct rw_cluster *cl, const void *arg)
{
    for (int i = 0; i < cl->nwatchers; i++) {
        if (cl->watchers[i].arg == arg) {
            cl->watchers[i] = cl->watchers[--cl->nwatchers];
            return;
        }
    }
}
