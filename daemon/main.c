/* main.c - the command line (SPEC §7). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renewald/backtest.h"
#include "renewald/config.h"
#include "renewald/daemon.h"

#define EX_USAGE       64
#define EX_CONFIG      78
#define DEFAULT_CONFIG "/etc/renewald/renewald.conf"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: renewald [-c FILE]                 run in the foreground\n"
            "       renewald --check-config [-c FILE]  validate the configuration\n"
            "       renewald backtest -c FILE ...       replay history (renewald backtest --help)\n"
            "       renewald --version | --help\n"
            "\n"
            "  -c, --config FILE   configuration file (default %s)\n"
            "      --check-config  print \"FILE: ok\" and exit 0, or every error and exit 1\n"
            "  -V, --version       print the version\n"
            "  -h, --help          print this help\n"
            "\n"
            "Signals: SIGHUP reloads the configuration; SIGTERM and SIGINT stop gracefully.\n",
            DEFAULT_CONFIG);
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", no_argument, NULL, 'k'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    if (argc >= 2 && strcmp(argv[1], "backtest") == 0)
        return rw_backtest_main(argc - 1, argv + 1);
    const char *path = DEFAULT_CONFIG;
    bool check = false;
    int opt;
    while ((opt = getopt_long(argc, argv, "c:Vh", options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 'k':
            check = true;
            break;
        case 'V':
            printf("renewald %s\n", RENEWALD_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return EX_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "renewald: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return EX_USAGE;
    }

    struct rw_diag diag = {0};
    struct rw_config *cfg = rw_config_load(path, &diag);
    if (!cfg) {
        for (int i = 0; i < diag.n; i++)
            fprintf(stderr, "%s\n", diag.msgs[i]);
        rw_diag_free(&diag);
        if (check)
            return 1;
        fprintf(stderr, "renewald: cannot start: invalid configuration %s\n", path);
        return EX_CONFIG;
    }
    rw_diag_free(&diag);
    if (check) {
        printf("%s: ok\n", path);
        rw_config_free(cfg);
        return 0;
    }
    return rw_daemon_run(path, cfg);
}
