/* labelled_book.h - a seeded synthetic book with known outcomes, written to files for
 * `renewald backtest` (loadgen --book-out). */
#ifndef RENEWALD_TOOLS_LABELLED_BOOK_H
#define RENEWALD_TOOLS_LABELLED_BOOK_H

#include <stdbool.h>
#include <stdint.h>

struct book_options {
    const char *dir;            /* existing or new directory; its three files are replaced */
    const char *account_prefix; /* account ids are PREFIX%06u */
    int64_t start_ms;           /* start of day 0 */
    long accounts, days;
    uint64_t seed;
    bool quiet; /* no progress on stderr */
};

/* Writes DIR/events.jsonl (every event with an integer ts, in time order), DIR/labels.csv
 * (account,outcome,date) and DIR/patterns.csv (account,pattern,first_seen,onset,renewal_date),
 * then a JSON summary on stdout.  Returns the exit status (0, or 1 after a message on stderr). */
int labelled_book_write(const struct book_options *o);

#endif
