/* redis_link.c - one hiredis async connection with AUTH/SELECT, watchdog and reconnects. */
#include "renewald/redis_link.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <hiredis/async.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "renewald/cluster.h"
#include "renewald/log.h"
#include "renewald/core/parse.h"
#include "renewald/reply_arena.h"

#define RECONNECT_MIN_MS 100
#define RECONNECT_MAX_MS 5000
#define WATCHDOG_TICK_MS 500
#define STABLE_MS        5000 /* up this long: the next reconnect starts from the minimum */
#define READS_PER_WAKE   64   /* hiredis reads (16 KiB each) while the socket holds more */

/* One command in flight; a doubly linked list in send order. */
struct pending {
    struct pending *prev, *next;
    struct rw_link *link;
    rw_link_reply_cb cb;
    void *arg;
    int64_t deadline_ms; /* monotonic */
    bool handshake;      /* AUTH/SELECT sent by the link itself */
    /* Cluster mode: the command as sent, for an ASK redirection (sent there once). */
    sds cmd;
    bool asked;    /* answered by the cluster's side connection, not by this one */
    bool detached; /* asked, then given up by the link: the side answer only frees it */
};

struct rw_link {
    struct event_base *base;
    struct rw_cluster *cluster;               /* cluster mode: where the master is; else NULL */
    char addr[RW_CLUSTER_ADDR_MAX], host[64]; /* of the connection made or being made */
    /* Copies of [redis]: a reload frees the config but never changes these. */
    char *address, *username, *password;
    int db;
    char name[32];
    int64_t reply_timeout_ms;
    rw_link_state_cb state_cb;
    void *state_arg;

    redisAsyncContext *ac;        /* NULL while disconnected */
    struct rw_reply_arena *arena; /* where ac's replies are built; outlives every ac */
    bool up;                      /* connected and handshake done */
    int handshake_left;
    int64_t backoff_ms;
    struct event *reconnect_timer;
    struct event *watchdog_timer;
    int64_t connect_started_ms; /* monotonic, of the attempt in progress */
    int64_t up_since_ms;        /* monotonic, when the handshake completed */
    struct pending head;        /* sentinel */
    size_t in_flight;
    uint64_t conn_gen; /* counts connections made: tells a new ac from a freed one */
    bool freeing;
};

static void schedule_reconnect(struct rw_link *link);
static void do_connect(struct rw_link *link);
static bool attach(struct rw_link *link, redisAsyncContext *ac);

static void pending_unlink(struct pending *p)
{
    p->prev->next = p->next;
    p->next->prev = p->prev;
    p->link->in_flight--;
}

static void pending_free(struct pending *p)
{
    if (p->cmd)
        sdsfree(p->cmd);
    free(p);
}

/* The side connection answered a command redirected by ASK (NULL: it went). */
static void on_ask_done(redisReply *reply, void *arg)
{
    struct pending *p = arg;
    if (p->detached) {
        pending_free(p);
        return;
    }
    struct rw_link *link = p->link;
    pending_unlink(p);
    rw_link_reply_cb cb = p->cb;
    void *cb_arg = p->arg;
    pending_free(p);
    if (cb)
        cb(link, reply, cb_arg);
}

/* Commands handed to the side connection end for their owners now (NULL replies). */
static void drop_asked(struct rw_link *link)
{
    size_t n = 0, k = 0;
    for (struct pending *p = link->head.next; p != &link->head; p = p->next)
        n += p->asked;
    if (n == 0)
        return;
    struct {
        rw_link_reply_cb cb;
        void *arg;
    } *calls = rw_xcalloc(n, sizeof *calls);
    struct pending *next;
    for (struct pending *p = link->head.next; p != &link->head; p = next) {
        next = p->next;
        if (!p->asked)
            continue;
        pending_unlink(p);
        p->detached = true;
        calls[k].cb = p->cb;
        calls[k++].arg = p->arg;
        p->cb = NULL;
    }
    /* The side connection may be what is stuck; its answers now only free. */
    rw_cluster_ask_close(link->cluster);
    for (size_t i = 0; i < k; i++)
        if (calls[i].cb)
            calls[i].cb(link, NULL, calls[i].arg);
    free(calls);
}

/* Cluster mode: a cluster error in REPLY; true when the command went on to an ASK target. */
static bool cluster_reply(struct rw_link *link, struct pending *p, const redisReply *reply)
{
    struct rw_redirect rd;
    enum rw_cluster_error kind =
        rw_cluster_on_error(link->cluster, reply->str, reply->len, link->host, &rd);
    if (kind != RW_CERR_ASK || !rd.addr_ok || !p->cmd || p->asked)
        return false;
    if (!rw_cluster_ask(link->cluster, rd.addr, p->cmd, sdslen(p->cmd), on_ask_done, p))
        return false;
    p->asked = true; /* stays in the list (the watchdog covers it) until the answer */
    return true;
}

/* The cluster's master changed: connect there. */
static void on_master_changed(void *arg)
{
    struct rw_link *link = arg;
    const char *master = rw_cluster_master(link->cluster);
    link->backoff_ms = RECONNECT_MIN_MS;
    if (!master || link->freeing)
        return;
    if (link->ac) {
        if (strcmp(link->addr, master) != 0)
            rw_link_reset(link, "the cluster's master moved");
        return;
    }
    evtimer_del(link->reconnect_timer);
    do_connect(link);
}

static void set_up(struct rw_link *link, bool up)
{
    if (link->up == up)
        return;
    link->up = up;
    if (!link->freeing && link->state_cb)
        link->state_cb(link, up, link->state_arg);
}

static void on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    struct pending *p = privdata;
    struct rw_link *link = p->link;
    redisReply *reply = r;
    if (link->cluster && !p->handshake && reply && reply->type == REDIS_REPLY_ERROR &&
        !link->freeing && cluster_reply(link, p, reply))
        return;
    pending_unlink(p);
    if (p->handshake) {
        if (reply && reply->type == REDIS_REPLY_ERROR) {
            rw_log_rl(RW_LOG_ERROR, "redis handshake failed link=%s error=\"%.200s\"", link->name,
                      reply->str);
            pending_free(p);
            rw_link_reset(link, "handshake failed");
            return;
        }
        if (reply && --link->handshake_left == 0) {
            link->up_since_ms = rw_mono_ms();
            rw_info("redis connected link=%s", link->name);
            pending_free(p);
            set_up(link, true);
            return;
        }
        pending_free(p);
        return;
    }
    rw_link_reply_cb cb = p->cb;
    void *arg = p->arg;
    pending_free(p);
    if (cb)
        cb(link, reply, arg);
}

static bool send_raw(struct rw_link *link, bool handshake, rw_link_reply_cb cb, void *arg,
                     int64_t block_ms, int argc, const char **argv, const size_t *argvlen)
{
    struct pending *p = rw_xcalloc(1, sizeof *p);
    p->link = link;
    p->cb = cb;
    p->arg = arg;
    p->handshake = handshake;
    p->deadline_ms = rw_mono_ms() + link->reply_timeout_ms + block_ms;
    int rc;
    if (link->cluster) {
        /* Kept until the answer, to be sent again after an ASK. */
        if (redisFormatSdsCommandArgv(&p->cmd, argc, argv, argvlen) < 0) {
            free(p);
            return false;
        }
        rc = redisAsyncFormattedCommand(link->ac, on_reply, p, p->cmd, sdslen(p->cmd));
    } else {
        rc = redisAsyncCommandArgv(link->ac, on_reply, p, argc, argv, argvlen);
    }
    if (rc != REDIS_OK) {
        pending_free(p);
        return false;
    }
    p->prev = link->head.prev;
    p->next = &link->head;
    link->head.prev->next = p;
    link->head.prev = p;
    link->in_flight++;
    return true;
}

static void handshake(struct rw_link *link)
{
    link->handshake_left = 0;
    if (link->password) {
        const char *argv[3] = {"AUTH", NULL, NULL};
        size_t lens[3] = {4, 0, 0};
        int argc = 2;
        if (link->username) {
            argv[1] = link->username;
            lens[1] = strlen(link->username);
            argv[2] = link->password;
            lens[2] = strlen(link->password);
            argc = 3;
        } else {
            argv[1] = link->password;
            lens[1] = strlen(link->password);
        }
        if (send_raw(link, true, NULL, NULL, 0, argc, argv, lens))
            link->handshake_left++;
    }
    char db[16];
    snprintf(db, sizeof db, "%d", link->db);
    const char *argv[2] = {"SELECT", db};
    size_t lens[2] = {6, strlen(db)};
    if (send_raw(link, true, NULL, NULL, 0, 2, argv, lens))
        link->handshake_left++;
    if (link->handshake_left == 0)
        rw_link_reset(link, "cannot send handshake");
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct rw_link *link = ac->data;
    if (status != REDIS_OK) {
        rw_log_rl(RW_LOG_WARN, "redis connect failed link=%s address=%s error=\"%s\"", link->name,
                  link->addr, ac->errstr);
        link->ac = NULL; /* hiredis frees the context after this callback */
        if (link->cluster)
            rw_cluster_trouble(link->cluster, "connect failed");
        schedule_reconnect(link);
        return;
    }
    if (ac->c.connection_type == REDIS_CONN_TCP)
        redisEnableKeepAlive((redisContext *)&ac->c);
    handshake(link);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct rw_link *link = ac->data;
    /* A connection that held for a while was healthy: start reconnecting fast.
     * One that drops right after its handshake keeps backing off. */
    if (link->up && rw_mono_ms() - link->up_since_ms >= STABLE_MS)
        link->backoff_ms = RECONNECT_MIN_MS;
    if (status != REDIS_OK && !link->freeing)
        rw_log_rl(RW_LOG_WARN, "redis connection lost link=%s error=\"%s\"", link->name,
                  ac->errstr);
    link->ac = NULL;
    if (link->cluster) {
        drop_asked(link);
        if (status != REDIS_OK && !link->freeing)
            rw_cluster_trouble(link->cluster, "connection lost");
    }
    set_up(link, false);
    if (!link->freeing)
        schedule_reconnect(link);
}

static void do_connect(struct rw_link *link)
{
    const char *addr = link->cluster ? rw_cluster_master(link->cluster) : link->address;
    if (!addr)
        return; /* the cluster is looking for the master; on_master_changed connects */
    snprintf(link->addr, sizeof link->addr, "%s", addr);
    link->host[0] = '\0';
    redisAsyncContext *ac;
    if (strncmp(addr, "unix:", 5) == 0) {
        ac = redisAsyncConnectUnix(addr + 5);
    } else {
        int port;
        if (!rw_split_host_port(addr, link->host, sizeof link->host, 1, &port)) {
            rw_error("bad redis address link=%s", link->name);
            schedule_reconnect(link);
            return;
        }
        ac = redisAsyncConnect(link->host, port);
    }
    if (!ac) {
        rw_log_rl(RW_LOG_ERROR, "redis: out of memory creating context link=%s", link->name);
        schedule_reconnect(link);
        return;
    }
    if (ac->err) {
        rw_log_rl(RW_LOG_WARN, "redis connect failed link=%s error=\"%s\"", link->name, ac->errstr);
        redisAsyncFree(ac);
        schedule_reconnect(link);
        return;
    }
    ac->data = link;
    rw_reply_arena_attach(link->arena, ac->c.reader);
    link->ac = ac;
    link->conn_gen++;
    link->connect_started_ms = rw_mono_ms();
    if (!attach(link, ac)) {
        rw_error("redis: cannot attach to the event loop link=%s", link->name);
        link->ac = NULL;
        redisAsyncFree(ac);
        schedule_reconnect(link);
        return;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
}

/* ---- the loop's events of a connection ----
 * hiredis's libevent adapter, but for reading: a readable socket is read until
 * drained (READS_PER_WAKE reads at most), not 16 KiB per loop turn.  A read of
 * 1000 entries is ~200 KB, and the turns between two reads may each hold a
 * slice of a sweep: read 16 KiB at a time, the reply took ~45 ms to arrive. */

struct link_events {
    struct rw_link *link;
    redisAsyncContext *ac;
    uint64_t gen;
    struct event *rev, *wev;
};

static void ev_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct link_events *e = arg;
    struct rw_link *link = e->link;
    redisAsyncContext *ac = e->ac;
    uint64_t gen = e->gen;
    for (int i = 0; i < READS_PER_WAKE; i++) {
        redisAsyncHandleRead(ac);
        /* A reply callback may have dropped the connection (E and AC freed). */
        int avail = 0;
        if (link->ac != ac || link->conn_gen != gen || ioctl(fd, FIONREAD, &avail) != 0 ||
            avail <= 0)
            return;
    }
}

static void ev_writable(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    redisAsyncHandleWrite(((struct link_events *)arg)->ac);
}

static void ev_add_read(void *arg)
{
    event_add(((struct link_events *)arg)->rev, NULL);
}

static void ev_del_read(void *arg)
{
    event_del(((struct link_events *)arg)->rev);
}

static void ev_add_write(void *arg)
{
    event_add(((struct link_events *)arg)->wev, NULL);
}

static void ev_del_write(void *arg)
{
    event_del(((struct link_events *)arg)->wev);
}

static void ev_cleanup(void *arg)
{
    struct link_events *e = arg;
    event_free(e->rev);
    event_free(e->wev);
    free(e);
}

/* Puts AC's socket in the loop; false when out of memory. */
static bool attach(struct rw_link *link, redisAsyncContext *ac)
{
    struct link_events *e = calloc(1, sizeof(*e));
    if (!e)
        return false;
    *e = (struct link_events){link, ac, link->conn_gen, NULL, NULL};
    e->rev = event_new(link->base, ac->c.fd, EV_READ, ev_readable, e);
    e->wev = event_new(link->base, ac->c.fd, EV_WRITE, ev_writable, e);
    if (!e->rev || !e->wev) {
        if (e->rev)
            event_free(e->rev);
        if (e->wev)
            event_free(e->wev);
        free(e);
        return false;
    }
    ac->ev.addRead = ev_add_read;
    ac->ev.delRead = ev_del_read;
    ac->ev.addWrite = ev_add_write;
    ac->ev.delWrite = ev_del_write;
    ac->ev.cleanup = ev_cleanup;
    ac->ev.data = e;
    event_add(e->rev, NULL);
    event_add(e->wev, NULL);
    return true;
}

static void on_reconnect_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    do_connect(arg);
}

static void schedule_reconnect(struct rw_link *link)
{
    if (link->freeing)
        return;
    /* Full jitter keeps a fleet of daemons from reconnecting in lockstep. */
    int64_t delay = link->backoff_ms / 2 + (int64_t)(random() % (link->backoff_ms / 2 + 1));
    struct timeval tv = {(time_t)(delay / 1000), (suseconds_t)((delay % 1000) * 1000)};
    evtimer_add(link->reconnect_timer, &tv);
    link->backoff_ms =
        link->backoff_ms * 2 > RECONNECT_MAX_MS ? RECONNECT_MAX_MS : link->backoff_ms * 2;
}

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct rw_link *link = arg;
    struct pending *oldest = link->head.next;
    if (link->ac && !(link->ac->c.flags & REDIS_CONNECTED) &&
        rw_mono_ms() - link->connect_started_ms > link->reply_timeout_ms) {
        rw_log_rl(RW_LOG_WARN, "redis connect timed out link=%s", link->name);
        if (link->cluster)
            rw_cluster_trouble(link->cluster, "connect timeout");
        rw_link_reset(link, "connect timeout");
        return;
    }
    if (link->ac && oldest != &link->head && rw_mono_ms() > oldest->deadline_ms) {
        rw_log_rl(RW_LOG_WARN, "redis reply overdue, dropping connection link=%s in_flight=%zu",
                  link->name, link->in_flight);
        if (link->cluster)
            rw_cluster_trouble(link->cluster, "reply timeout");
        rw_link_reset(link, "reply timeout");
    }
}

struct rw_link *rw_link_new(struct event_base *base, const struct rw_config *cfg,
                            struct rw_cluster *cluster, const char *name, int64_t reply_timeout_ms,
                            rw_link_state_cb state_cb, void *state_arg)
{
    struct rw_link *link = rw_xcalloc(1, sizeof *link);
    link->arena = rw_reply_arena_new();
    link->base = base;
    link->cluster = cluster;
    link->address = rw_xstrdup(cfg->redis_address);
    link->username = cfg->redis_username ? rw_xstrdup(cfg->redis_username) : NULL;
    link->password = cfg->redis_password ? rw_xstrdup(cfg->redis_password) : NULL;
    link->db = cfg->redis_db;
    snprintf(link->name, sizeof link->name, "%s", name);
    link->reply_timeout_ms = reply_timeout_ms;
    link->state_cb = state_cb;
    link->state_arg = state_arg;
    link->backoff_ms = RECONNECT_MIN_MS;
    link->head.next = link->head.prev = &link->head;
    link->reconnect_timer = evtimer_new(base, on_reconnect_timer, link);
    link->watchdog_timer = event_new(base, -1, EV_PERSIST, on_watchdog, link);
    if (!link->reconnect_timer || !link->watchdog_timer) {
        rw_error("cannot create timers for redis link %s", name);
        rw_link_free(link);
        return NULL;
    }
    struct timeval tick = {0, WATCHDOG_TICK_MS * 1000};
    event_add(link->watchdog_timer, &tick);
    if (cluster)
        rw_cluster_watch(cluster, on_master_changed, link);
    do_connect(link);
    return link;
}

void rw_link_free(struct rw_link *link)
{
    if (!link)
        return;
    link->freeing = true;
    if (link->cluster)
        rw_cluster_unwatch(link->cluster, link);
    if (link->ac) {
        redisAsyncContext *ac = link->ac;
        link->ac = NULL;
        redisAsyncFree(ac); /* runs pending callbacks with NULL replies */
    }
    if (link->cluster)
        drop_asked(link);
    if (link->reconnect_timer)
        event_free(link->reconnect_timer);
    if (link->watchdog_timer)
        event_free(link->watchdog_timer);
    rw_reply_arena_free(link->arena); /* after the last reader */
    free(link->address);
    free(link->username);
    free(link->password);
    free(link);
}

bool rw_link_up(const struct rw_link *link)
{
    return link->up;
}

const char *rw_link_name(const struct rw_link *link)
{
    return link->name;
}

bool rw_link_command(struct rw_link *link, rw_link_reply_cb cb, void *arg, int64_t block_ms,
                     int argc, const char **argv, const size_t *argvlen)
{
    if (!link->up || !link->ac)
        return false;
    return send_raw(link, false, cb, arg, block_ms, argc, argv, argvlen);
}

void rw_link_flush(struct rw_link *link)
{
    if (link->ac && (link->ac->c.flags & REDIS_CONNECTED))
        redisAsyncHandleWrite(link->ac);
}

void rw_link_reset(struct rw_link *link, const char *why)
{
    if (!link->ac)
        return;
    rw_debug("redis link reset link=%s why=\"%s\"", link->name, why);
    redisAsyncContext *ac = link->ac;
    if (!(ac->c.flags & REDIS_CONNECTED)) {
        /* hiredis calls no disconnect callback for a connection never made. */
        link->ac = NULL;
        redisAsyncFree(ac);
        set_up(link, false);
        schedule_reconnect(link);
        return;
    }
    /* Freeing runs every pending callback with a NULL reply, then on_disconnect. */
    redisAsyncFree(ac);
}

void rw_link_cancel_all(struct rw_link *link)
{
    /* Each command ends now for its owner; its reply, when it comes, is dropped.
     * Commands the callbacks send meanwhile are new: the walk stops at the old tail. */
    struct pending *last = link->head.prev;
    if (last == &link->head)
        return;
    for (struct pending *p = link->head.next;; p = p->next) {
        if (!p->handshake && p->cb) {
            rw_link_reply_cb cb = p->cb;
            void *arg = p->arg;
            p->cb = NULL;
            p->arg = NULL;
            cb(link, NULL, arg);
        }
        if (p == last)
            break;
    }
}

size_t rw_link_in_flight(const struct rw_link *link)
{
    return link->in_flight;
}

static bool link_send(void *ctx, rw_link_reply_cb cb, void *arg, int64_t block_ms, int argc,
                      const char **argv, const size_t *argvlen)
{
    return rw_link_command(ctx, cb, arg, block_ms, argc, argv, argvlen);
}

struct rw_cmd_sink rw_link_sink(struct rw_link *link)
{
    struct rw_cmd_sink s = {link_send, link};
    return s;
}

bool rw_cmd_send(const struct rw_cmd_sink *sink, rw_link_reply_cb cb, void *arg, int64_t block_ms,
                 int argc, const char **argv, const size_t *argvlen)
{
    return sink->send && sink->send(sink->ctx, cb, arg, block_ms, argc, argv, argvlen);
}
