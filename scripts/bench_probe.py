#!/usr/bin/python3
"""Loop-stall probe for scripts/bench: GET /healthz over one keep-alive connection every
~1 ms for --seconds; prints the response-time distribution as JSON.  A response that takes
long means the daemon's event loop was busy (a stall) for about that long."""

import argparse
import http.client
import json
import time

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--seconds", type=float, default=10)
a = ap.parse_args()

conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=10)
times = []
worst_at = 0.0
t_end = time.monotonic() + min(a.seconds, 600)
start = time.monotonic()
while time.monotonic() < t_end:
    t0 = time.monotonic()
    try:
        conn.request("GET", "/healthz")
        conn.getresponse().read()
    except (OSError, http.client.HTTPException):
        conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=10)
        continue
    dt = (time.monotonic() - t0) * 1000
    if not times or dt > max(times):
        worst_at = t0 - start
    times.append(dt)
    time.sleep(0.001)
times.sort()
n = len(times)
print(json.dumps({
    "n": n,
    "max_ms": times[-1] if n else None,
    "p50_ms": times[n // 2] if n else None,
    "p99_ms": times[min(n - 1, int(n * 0.99))] if n else None,
    "p999_ms": times[min(n - 1, int(n * 0.999))] if n else None,
    "worst_at_s": worst_at,
}))
