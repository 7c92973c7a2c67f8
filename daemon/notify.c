/* notify.c - sd_notify wrappers. */
#include "renewald/notify.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <systemd/sd-daemon.h>

/* READY=1 was sent: the service is up; a reload may say RELOADING=1 from now on. */
static bool ready_sent;

void rw_notify_ready(void)
{
    if (ready_sent)
        return; /* once: standby and a reload after a failure are still the same start */
    ready_sent = true;
    sd_notify(0, "READY=1");
}

void rw_notify_reloaded(void)
{
    if (ready_sent)
        sd_notify(0, "READY=1");
}

void rw_notify_reloading(void)
{
    if (!ready_sent)
        return; /* still starting: systemd has no reload to track */
    /* systemd's Type=notify-reload wants the monotonic time of the request. */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
               (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000);
}

void rw_notify_stopping(void)
{
    sd_notify(0, "STOPPING=1");
}

void rw_notify_status(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    sd_notifyf(0, "STATUS=%s", buf);
}

void rw_notify_watchdog(void)
{
    sd_notify(0, "WATCHDOG=1");
}

int64_t rw_notify_watchdog_ms(void)
{
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0)
        return 0;
    return (int64_t)(usec / 1000);
}
