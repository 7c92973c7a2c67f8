/*
 * notify.h - systemd's notification protocol through libsystemd's sd_notify:
 * READY, STATUS, RELOADING, STOPPING and WATCHDOG.  Does nothing when
 * NOTIFY_SOCKET is unset.  Remembers whether READY=1 was sent (process-wide,
 * as the protocol is).
 */
#ifndef RENEWALD_NOTIFY_H
#define RENEWALD_NOTIFY_H

#include "renewald/core/common.h"

/* READY=1, once: connected to Redis and active with the state loaded, or on standby. */
void rw_notify_ready(void);
/* RELOADING=1 with MONOTONIC_USEC=, then READY=1 when the reload is done;
 * both say nothing before the first READY=1. */
void rw_notify_reloading(void);
void rw_notify_reloaded(void);
void rw_notify_stopping(void);
void rw_notify_status(const char *fmt, ...) RW_PRINTF(1, 2);
/* Pings the watchdog when WatchdogSec= is set. */
void rw_notify_watchdog(void);
/* The watchdog interval systemd asked for, in ms, or 0. */
int64_t rw_notify_watchdog_ms(void);

#endif
