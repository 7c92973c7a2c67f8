/*
 * fuzz_config.c - the configuration loader (rw_config_load, SPEC §5) over
 * arbitrary file contents: libinih, the line filter, every key's parser and
 * the cross-checks.
 *
 * rw_config_load takes a path, so each input is written to one file in a
 * private temporary directory (created once per process).  CREDENTIALS_DIRECTORY
 * points at an empty directory so that relative K_file keys find nothing real.
 * Absolute K_file paths are read as the daemon would (regular files only).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "renewald/config.h"
#include "renewald/log.h"

static char tmpdir[64] = "/tmp/renewald-fuzz-config.XXXXXX";
static char creddir[96];
static char confpath[96];

static void check(int ok)
{
    if (!ok)
        abort();
}

static void cleanup(void)
{
    unlink(confpath);
    rmdir(creddir);
    rmdir(tmpdir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        exit(1);
    }
    snprintf(creddir, sizeof creddir, "%s/credentials", tmpdir);
    snprintf(confpath, sizeof confpath, "%s/renewald.conf", tmpdir);
    if (mkdir(creddir, 0700) != 0 || setenv("CREDENTIALS_DIRECTORY", creddir, 1) != 0) {
        perror("credentials directory");
        exit(1);
    }
    atexit(cleanup);
    rw_log_set_level(RW_LOG_ERROR);
    return 0;
}

static void check_config(const struct rw_config *cfg)
{
    check(cfg->nstreams >= 1 && cfg->nstreams <= RW_MAX_STREAMS);
    for (int i = 0; i < cfg->nstreams; i++)
        check(cfg->streams[i] && cfg->streams[i][0]);
    check(cfg->nsignals >= 0 && cfg->nsignals <= RW_MAX_SIGNALS);
    check(cfg->nsinks >= 0 && cfg->nsinks <= RW_MAX_SINKS);
    check(cfg->nroutes >= 0 && cfg->nroutes <= RW_MAX_ROUTES);
    check(cfg->nwindows >= 0 && cfg->nwindows <= RW_MAX_WINDOWS);
    check(cfg->batch >= 1 && cfg->redis_address && cfg->group && cfg->consumer && cfg->prefix);
    for (int i = 0; i < cfg->nwindows; i++)
        check(cfg->renewal_windows[i] > 0 &&
              (i == 0 || cfg->renewal_windows[i] < cfg->renewal_windows[i - 1]));
    for (int i = 0; i < cfg->nsignals; i++) {
        const struct rw_signal_conf *s = &cfg->signals[i];
        check(s->ntypes >= 1 && s->ntypes <= RW_MAX_SIGNAL_TYPES && s->half_life_ms > 0);
        check(s->low != s->high && s->weight >= 0);
    }
    for (int i = 0; i < cfg->nroutes; i++) {
        const struct rw_route_conf *r = &cfg->routes[i];
        check(r->nsinks >= 0 && r->nsinks <= RW_MAX_SINKS);
        for (int j = 0; j < r->nsinks; j++)
            check(r->sinks[j] >= 0 && r->sinks[j] < cfg->nsinks);
    }
    for (int i = 0; i < cfg->nsinks; i++) {
        const struct rw_sink_conf *s = &cfg->sinks[i];
        check(s->max_attempts >= 1 && s->concurrency >= 1 && s->nto >= 0 &&
              s->nto <= RW_MAX_RECIPIENTS);
    }
    /* A config compared with itself has no restart-only differences. */
    struct rw_diag d = {0};
    rw_config_restart_keys(cfg, cfg, &d);
    check(d.n == 0);
    rw_diag_free(&d);
    char *key = rw_config_key(cfg, "dead");
    check(strlen(key) == strlen(cfg->prefix) + 4);
    free(key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(confpath, "wb");
    if (!f) {
        perror(confpath);
        abort();
    }
    bool written = size == 0 || fwrite(data, 1, size, f) == size;
    if (fclose(f) != 0 || !written) {
        perror(confpath);
        abort();
    }
    struct rw_diag diag = {0};
    struct rw_config *cfg = rw_config_load(confpath, &diag);
    if (cfg) {
        check(diag.n == 0);
        check_config(cfg);
        rw_config_free(cfg);
    } else {
        /* Every error names the file. */
        check(diag.n > 0);
        for (int i = 0; i < diag.n; i++)
            check(strncmp(diag.msgs[i], confpath, strlen(confpath)) == 0);
    }
    rw_diag_free(&diag);
    return 0;
}
