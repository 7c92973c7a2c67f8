/* lease.c - the active-instance lease: SET NX PX, renew by script, release on exit. */
#include "renewald/lease.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "renewald/daemon.h"
#include "renewald/log.h"
#include "renewald/redis_link.h"
#include "renewald/state_load.h"

/* Takes a free lease, or keeps one this instance already holds (after a reset or
 * a Redis restart with AOF the key may still carry our token). */
static const char acquire_script[] =
    "local v = redis.call('GET', KEYS[1]) "
    "if v == false then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end "
    "if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end "
    "return 0";
static const char renew_script[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";
static const char release_script[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) "
    "else return 0 end";

void rw_lease_init(struct renewald *d)
{
    char host[64] = "unknown";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    unsigned long long nonce = 0;
    FILE *f = fopen("/dev/urandom", "rb");
    if (f) {
        if (fread(&nonce, sizeof nonce, 1, f) != 1)
            nonce = (unsigned long long)rw_mono_ms();
        fclose(f);
    }
    snprintf(d->lease_token, sizeof d->lease_token, "%.40s:%ld:%016llx", host, (long)getpid(),
             nonce);
}

static void on_acquire(struct rw_link *link, redisReply *reply, void *arg)
{
    (void)link;
    struct renewald *d = rw_call_take(arg, reply, NULL, NULL);
    if (!d)
        return;
    d->lease_renew_in_flight = false;
    if (reply->type == REDIS_REPLY_INTEGER && reply->integer == 1) {
        d->lease_renewed_mono_ms = rw_mono_ms();
        rw_info("lease acquired, becoming active group=%s", d->cfg->group);
        d->phase = RW_PHASE_LOADING;
        rw_state_load_start(d);
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        rw_log_rl(RW_LOG_ERROR, "lease: redis error=\"%.200s\"", reply->str);
        return;
    }
    if (d->phase != RW_PHASE_STANDBY)
        rw_info("another instance holds the lease; standing by group=%s", d->cfg->group);
    d->phase = RW_PHASE_STANDBY;
}

void rw_lease_try_acquire(struct renewald *d)
{
    if (d->lease_renew_in_flight ||
        (d->phase != RW_PHASE_CONNECTING && d->phase != RW_PHASE_STANDBY))
        return;
    char *key = rw_config_key(d->cfg, "lease");
    char px[24];
    snprintf(px, sizeof px, "%lld", (long long)d->cfg->lease_ms);
    const char *argv[] = {"EVAL", acquire_script, "1", key, d->lease_token, px};
    size_t lens[] = {4, strlen(acquire_script), 1, strlen(key), strlen(d->lease_token), strlen(px)};
    struct rw_call *call = rw_call_new(d, NULL, 0);
    if (rw_link_command(d->writer_link, on_acquire, call, 0, 6, argv, lens))
        d->lease_renew_in_flight = true;
    else
        rw_call_take(call, NULL, NULL, NULL);
    free(key);
}

static void on_renew(struct rw_link *link, redisReply *reply, void *arg)
{
    (void)link;
    struct renewald *d = rw_call_take(arg, reply, NULL, NULL);
    if (!d)
        return;
    d->lease_renew_in_flight = false;
    if (reply->type == REDIS_REPLY_INTEGER && reply->integer == 1) {
        d->lease_renewed_mono_ms = rw_mono_ms();
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        rw_log_rl(RW_LOG_ERROR, "lease renewal failed error=\"%.200s\"", reply->str);
        return;
    }
    rw_error("lease lost (expired or taken over); this instance stops processing group=%s",
             d->cfg->group);
    rw_daemon_reset(d, "lease lost");
}

void rw_lease_renew(struct renewald *d)
{
    if (d->lease_renew_in_flight)
        return;
    if (rw_mono_ms() - d->lease_renewed_mono_ms > d->cfg->lease_ms) {
        /* Commits are fenced anyway; stop work we can no longer commit. */
        rw_daemon_reset(d, "lease not renewed in time");
        return;
    }
    char *key = rw_config_key(d->cfg, "lease");
    char px[24];
    snprintf(px, sizeof px, "%lld", (long long)d->cfg->lease_ms);
    const char *argv[] = {"EVAL", renew_script, "1", key, d->lease_token, px};
    size_t lens[] = {4, strlen(renew_script), 1, strlen(key), strlen(d->lease_token), strlen(px)};
    struct rw_call *call = rw_call_new(d, NULL, 0);
    if (rw_link_command(d->writer_link, on_renew, call, 0, 6, argv, lens))
        d->lease_renew_in_flight = true;
    else
        rw_call_take(call, NULL, NULL, NULL);
    free(key);
}

static void on_release(struct rw_link *link, redisReply *reply, void *arg)
{
    (void)link;
    (void)reply;
    struct renewald *d = arg;
    event_base_loopexit(d->base, NULL);
}

void rw_lease_release(struct renewald *d)
{
    char *key = rw_config_key(d->cfg, "lease");
    const char *argv[] = {"EVAL", release_script, "1", key, d->lease_token};
    size_t lens[] = {4, strlen(release_script), 1, strlen(key), strlen(d->lease_token)};
    /* The loop ends when the reply (or the loss of the link) comes back. */
    if (!rw_link_command(d->writer_link, on_release, d, 0, 5, argv, lens))
        event_base_loopexit(d->base, NULL);
    free(key);
}
