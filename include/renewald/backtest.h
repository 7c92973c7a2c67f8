/*
 * backtest.h - `renewald backtest` (SPEC §10): a configuration replayed over
 * history in memory, with the report of what it would have alerted.
 */
#ifndef RENEWALD_BACKTEST_H
#define RENEWALD_BACKTEST_H

/* Runs the subcommand; ARGV[0] is "backtest".  Returns the exit code. */
int rw_backtest_main(int argc, char **argv);

#endif
