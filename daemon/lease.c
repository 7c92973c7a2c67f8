/* lease.c - the active-instance lease: take, renew by script, release; the local lock. */
#include "renewald/lease.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "renewald/log.h"

/* Takes a free lease, keeps one this instance already holds, or takes over one
 * left by a dead process of this host and consumer (ARGV[3], "" = never). */
const char rw_lease_acquire_script[] =
    "#!lua\n"
    "local v = redis.call('GET', KEYS[1])\n"
    "if v == false or (ARGV[3] ~= '' and string.sub(v, 1, #ARGV[3]) == ARGV[3]) then\n"
    "  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end\n"
    "if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end\n"
    "return 0\n";
static const char renew_script[] =
    "#!lua\n"
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
    "  return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end\n";
static const char release_script[] =
    "#!lua\n"
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1])\n"
    "else return 0 end\n";

enum req { REQ_NONE, REQ_ACQUIRE, REQ_RENEW, REQ_RELEASE };

struct rw_lease {
    struct rw_cmd_sink sink;
    struct rw_lease_hooks hooks;
    void *arg;
    char *key;
    int64_t ttl_ms;
    char token[200];
    char prefix[140]; /* "HOST/CONSUMER/" */
    bool takeover;
    enum req in_flight;
    uint64_t gen;
    int64_t renewed_ms; /* monotonic: last acquire or renew that succeeded */
};

struct call {
    struct rw_lease *l;
    uint64_t gen;
};

struct rw_lease *rw_lease_new(struct rw_cmd_sink sink, const char *key, int64_t ttl_ms,
                              const char *host, const char *consumer,
                              const struct rw_lease_hooks *hooks, void *arg)
{
    struct rw_lease *l = rw_xcalloc(1, sizeof(*l));
    l->sink = sink;
    l->hooks = *hooks;
    l->arg = arg;
    l->key = rw_xstrdup(key);
    l->ttl_ms = ttl_ms;
    unsigned long long nonce = 0;
    FILE *f = fopen("/dev/urandom", "rbe");
    if (!f || fread(&nonce, sizeof nonce, 1, f) != 1)
        nonce = (unsigned long long)rw_mono_ms() ^ ((unsigned long long)getpid() << 32);
    if (f)
        fclose(f);
    snprintf(l->prefix, sizeof l->prefix, "%.60s/%.60s/", host, consumer);
    snprintf(l->token, sizeof l->token, "%s%ld/%016llx", l->prefix, (long)getpid(), nonce);
    return l;
}

void rw_lease_free(struct rw_lease *l)
{
    if (!l)
        return;
    free(l->key);
    free(l);
}

const char *rw_lease_token(const struct rw_lease *l)
{
    return l->token;
}

void rw_lease_allow_takeover(struct rw_lease *l, bool allow)
{
    l->takeover = allow;
}

int64_t rw_lease_renewed_at(const struct rw_lease *l)
{
    return l->renewed_ms;
}

void rw_lease_stop(struct rw_lease *l)
{
    l->gen++;
    l->in_flight = REQ_NONE;
}

static struct rw_lease *take(void *arg, const redisReply *reply)
{
    struct call *c = arg;
    struct rw_lease *l = c->l;
    bool current = c->gen == l->gen;
    free(c);
    if (!current)
        return NULL;
    enum req r = l->in_flight;
    l->in_flight = REQ_NONE;
    if (!reply) {
        if (r == REQ_RELEASE)
            l->hooks.released(l->arg);
        return NULL; /* the connection went: the owner hears of it from the link */
    }
    return l;
}

static void on_acquire(struct rw_link *link, redisReply *reply, void *arg)
{
    (void)link;
    struct rw_lease *l = take(arg, reply);
    if (!l)
        return;
    if (reply->type == REDIS_REPLY_INTEGER && reply->integer == 1) {
        l->renewed_ms = rw_mono_ms();
        l->hooks.acquired(l->arg);
    } else if (reply->type == REDIS_REPLY_ERROR) {
        l->hooks.error(l->arg, reply->str);
    } else {
        l->hooks.standby(l->arg);
    }
}

static void on_renew(struct rw_link *link, redisReply *reply, void *arg)
{
    (void)link;
    struct rw_lease *l = take(arg, reply);
    if (!l)
        return;
    if (reply->type == REDIS_REPLY_INTEGER && reply->integer == 1)
        l->renewed_ms = rw_mono_ms();
    else if (reply->type == REDIS_REPLY_ERROR)
        l->hooks.error(l->arg, reply->str);
    else
        l->hooks.lost(l->arg, "lease lost (expired or taken over)");
}

static void on_release(struct rw_link *link, redisReply *reply, void *arg)
{
    (void)link;
    struct rw_lease *l = take(arg, reply);
    if (l)
        l->hooks.released(l->arg);
}

static bool send(struct rw_lease *l, enum req r, const char *script, rw_link_reply_cb cb,
                 bool with_ttl)
{
    char px[24];
    snprintf(px, sizeof px, "%lld", (long long)l->ttl_ms);
    const char *argv[] = {"EVAL", script, "1", l->key, l->token, px, l->takeover ? l->prefix : ""};
    int argc = r == REQ_ACQUIRE ? 7 : with_ttl ? 6 : 5;
    size_t lens[7];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    struct call *c = rw_xmalloc(sizeof(*c));
    c->l = l;
    c->gen = l->gen;
    if (!rw_cmd_send(&l->sink, cb, c, 0, argc, argv, lens)) {
        free(c);
        return false;
    }
    l->in_flight = r;
    return true;
}

void rw_lease_try_acquire(struct rw_lease *l)
{
    if (l->in_flight != REQ_NONE)
        return;
    (void)send(l, REQ_ACQUIRE, rw_lease_acquire_script, on_acquire, true);
}

void rw_lease_renew(struct rw_lease *l, int64_t now_ms)
{
    if (now_ms - l->renewed_ms > l->ttl_ms) {
        /* Commits are fenced anyway; stop work that can no longer be committed. */
        l->hooks.lost(l->arg, "lease not renewed in time");
        return;
    }
    if (l->in_flight != REQ_NONE)
        return;
    (void)send(l, REQ_RENEW, renew_script, on_renew, true);
}

void rw_lease_release(struct rw_lease *l)
{
    l->gen++; /* a renewal in flight no longer matters */
    l->in_flight = REQ_NONE;
    if (!send(l, REQ_RELEASE, release_script, on_release, false))
        l->hooks.released(l->arg);
}

static uint64_t fnv64(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

int rw_lease_lock_local(const char *identity, long *held_by, char *path, size_t pathcap)
{
    const char *dir = getenv("RUNTIME_DIRECTORY");
    if (!dir || !*dir)
        dir = getenv("XDG_RUNTIME_DIR");
    if (!dir || !*dir)
        dir = "/tmp";
    /* RUNTIME_DIRECTORY may list several directories separated by ':'. */
    size_t dlen = strcspn(dir, ":");
    snprintf(path, pathcap, "%.*s/renewald-%016llx.lock", (int)dlen, dir,
             (unsigned long long)fnv64(identity));
    *held_by = 0;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -2;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        char buf[32] = {0};
        if (pread(fd, buf, sizeof buf - 1, 0) > 0)
            *held_by = strtol(buf, NULL, 10);
        close(fd);
        return err == EWOULDBLOCK ? -1 : -2;
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n)
        rw_debug("cannot write the pid into the instance lock path=%s", path);
    return fd;
}
