"""Helpers of the reliability tests (test_reliability*.py, issue 13): a
/healthz sampler that keeps status, text and latency of every answer, what
a commit may change in Redis (meta seq, account state, alert ids) captured
for before/after comparisons, Redis INFO readers, the LD_PRELOAD shim whose
getaddrinfo never answers for one host name, and small log helpers.

Everything talks to 127.0.0.1 only.  Nothing here starts a long-lived
process (the shim is compiled with gcc, which runs to completion); every
thread is a daemon thread bounded by a count and a deadline."""

import http.client
import os
import re
import subprocess
import threading
import time

from conftest import EVENT_STREAMS, RENEWALD_BIN

PREFIX = "renewald:"
META = PREFIX + "meta"
STATE = PREFIX + "state"
ALERTS = PREFIX + "alerts"


# ---------------------------------------------------------------------------
# /healthz


class Sample:
    __slots__ = ("t", "status", "text", "elapsed", "error")

    def __init__(self, t, status, text, elapsed, error):
        self.t = t  # time.monotonic() at the start of the request
        self.status = status  # HTTP status, or None without an answer
        self.text = text  # the body (str), "" without an answer
        self.elapsed = elapsed  # seconds
        self.error = error  # None, or why there was no answer in time

    def __repr__(self):
        return "Sample(t=%.3f %s %r %.3fs%s)" % (
            self.t, self.status, self.text[:120], self.elapsed,
            "" if self.error is None else " ERROR " + self.error)


def get_once(port, path="/healthz", timeout=1.0):
    """One GET on a new connection: a Sample."""
    t0 = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    status, text, error = None, "", None
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        text = resp.read().decode("utf-8", "replace")
        status = resp.status
    except Exception as e:  # socket.timeout, ConnectionRefusedError, ...
        error = "%s: %s" % (type(e).__name__, e)
    finally:
        conn.close()
    elapsed = time.monotonic() - t0
    if error is None and elapsed > timeout:
        error = "answered after %.3f s" % elapsed
    return Sample(t0, status, text, elapsed, error)


class HealthSampler(threading.Thread):
    """GET PATH every INTERVAL s (new connection each, TIMEOUT s) until stop();
    bounded by MAX_SECONDS and MAX_SAMPLES.  Keeps every Sample."""

    def __init__(self, port, path="/healthz", interval=0.05, timeout=1.0, max_seconds=120,
                 max_samples=20000):
        super().__init__(daemon=True)
        self.port = port
        self.path = path
        self.interval = interval
        self.timeout = timeout
        self.max_seconds = max_seconds
        self.max_samples = max_samples
        self._lock = threading.Lock()
        self._samples = []
        self._stop_ev = threading.Event()

    def run(self):
        deadline = time.monotonic() + self.max_seconds
        while (not self._stop_ev.is_set() and time.monotonic() < deadline
               and len(self._samples) < self.max_samples):
            s = get_once(self.port, self.path, self.timeout)
            with self._lock:
                self._samples.append(s)
            self._stop_ev.wait(self.interval)

    def samples(self):
        with self._lock:
            return list(self._samples)

    def stop(self):
        self._stop_ev.set()
        self.join(self.timeout + 10)
        return self.samples()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


def summarize_samples(samples):
    by = {}
    for s in samples:
        key = (s.status, s.text.strip()[:100]) if s.error is None else ("no answer", s.error[:60])
        by[key] = by.get(key, 0) + 1
    lat = sorted(s.elapsed for s in samples) or [0.0]
    return "%d samples, max %.3f s, p99 %.3f s, answers %r" % (
        len(samples), lat[-1], percentile(lat, 99), by)


def percentile(sorted_vals, p):
    if not sorted_vals:
        return 0.0
    k = min(len(sorted_vals) - 1, max(0, int(round(p / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[k]


def healthz(d, timeout=2.0):
    """(status, text) of one GET /healthz, (None, error) without an answer."""
    s = get_once(d.port, "/healthz", timeout)
    return (s.status, s.text) if s.error is None else (None, s.error)


def wait_unhealthy_naming(d, word, timeout=30):
    """Waits until /healthz answers 503 with WORD in its text; returns the text."""
    from conftest import wait_until

    last = {}

    def pred():
        if not d.alive():
            raise AssertionError("daemon exited (%s):\n%s" % (d.proc.returncode, d.log_tail()))
        st, text = healthz(d)
        last["v"] = (st, text)
        return text if st == 503 and word in text else None

    try:
        return wait_until(pred, timeout=timeout, interval=0.05,
                          what="/healthz 503 naming %s" % word)
    except AssertionError as e:
        raise AssertionError("%s; last answer %r\n--- daemon log tail ---\n%s"
                             % (e, last.get("v"), d.log_tail(30))) from None


# ---------------------------------------------------------------------------
# what a commit writes


class Committed:
    """A consistent capture of what a commit changes: meta, the whole account
    state (every log entry and chunk key, name -> bytes), the alerts key
    (type, and entry ids when it is a stream).  The key names come from SCAN,
    their values from one MULTI; repeated until meta's seq is the same before
    and after (no commit landed in between)."""

    def __init__(self, r, prefix=PREFIX):
        r = raw_client(r)
        for _ in range(50):
            seq0 = r.hget(prefix + "meta", "seq")
            names = sorted(set(r.scan_iter(match=prefix + "log:*", count=1000)) |
                           set(r.scan_iter(match=prefix + "chunk:*", count=1000)))
            p = r.pipeline(transaction=True)
            p.hgetall(prefix + "meta")
            p.type(prefix + "alerts")
            for k in names:
                p.get(k)
            res = p.execute()
            if res[0].get(b"seq") == seq0:
                break
        self.meta = {k.decode(): v.decode("utf-8", "replace") for k, v in res[0].items()}
        self.state = dict(zip(names, res[2:]))  # key name (bytes) -> blob (bytes)
        self.alerts_type = res[1].decode()
        self.alert_ids = None
        if self.alerts_type == "stream":
            self.alert_ids = [eid.decode() for eid, _ in r.xrange(prefix + "alerts", "-", "+")]
        elif self.alerts_type == "string":
            self.alert_ids = r.get(prefix + "alerts")

    @property
    def seq(self):
        return self.meta.get("seq")

    def diff(self, other):
        """What changed from SELF to OTHER (a list of strings; empty = nothing)."""
        out = []
        if self.meta.get("seq") != other.meta.get("seq"):
            out.append("meta seq %r -> %r" % (self.meta.get("seq"), other.meta.get("seq")))
        if self.meta != other.meta:
            out.append("meta %r -> %r" % (self.meta, other.meta))
        if self.state != other.state:
            changed = [k for k in set(self.state) | set(other.state)
                       if self.state.get(k) != other.state.get(k)]
            out.append("state: %d of %d log/chunk keys changed, e.g. %r" % (
                len(changed), len(other.state), sorted(changed)[:5]))
        if (self.alerts_type, self.alert_ids) != (other.alerts_type, other.alert_ids):
            out.append("alerts key %s %r -> %s %r" % (
                self.alerts_type, _short(self.alert_ids), other.alerts_type,
                _short(other.alert_ids)))
        return out


def raw_client(r):
    """A client of R's server without decoding (account records are binary);
    made once per client R."""
    import redis

    raw = getattr(r, "_rl_raw", None)
    if raw is None:
        kw = dict(r.connection_pool.connection_kwargs)
        kw["decode_responses"] = False
        raw = redis.Redis(connection_pool=redis.ConnectionPool(**kw))
        r._rl_raw = raw
    return raw


def _short(v):
    if isinstance(v, list):
        return "%d entries, last %r" % (len(v), v[-1] if v else None)
    return v


def alert_ids_in(alerts):
    return [a.get("id") for a in alerts]


def duplicates(ids):
    seen, dup = set(), []
    for i in ids:
        if i in seen:
            dup.append(i)
        seen.add(i)
    return dup


# ---------------------------------------------------------------------------
# the daemon's environment, the group, the end of a test


def runtime_env(tmp_path, name="run"):
    """RUNTIME_DIRECTORY of our own: the instance lock files stay in the test's
    directory (and two tests never share one)."""
    d = os.path.join(str(tmp_path), name)
    os.makedirs(d, exist_ok=True)
    return {"RUNTIME_DIRECTORY": d}


def pending_total(r, streams=EVENT_STREAMS, group="renewald"):
    n = 0
    for s in streams:
        if r.exists(s) and r.type(s) == "stream":
            n += r.xpending(s, group)["pending"]
    return n


def acked_total(r, streams=EVENT_STREAMS, group="renewald"):
    """Entries the group has acknowledged (Redis 7: entries-read - pending)."""
    total = 0
    for s in streams:
        if not r.exists(s) or r.type(s) != "stream":
            continue
        g = next((g for g in r.xinfo_groups(s) if g["name"] == group), None)
        if g is not None:
            total += int(g["entries-read"] or 0) - int(g["pending"])
    return total


def finish(d):
    assert d.alive(), "the daemon exited (%s):\n%s" % (d.proc.returncode, d.log_tail())
    rc = d.stop()
    assert rc == 0, "exit code %s on SIGTERM:\n%s" % (rc, d.log_tail())


# ---------------------------------------------------------------------------
# redis INFO


def connections_received(r):
    return int(r.info("stats")["total_connections_received"])


# ---------------------------------------------------------------------------
# logs


def lines_matching(text, pattern):
    rx = re.compile(pattern)
    return [ln for ln in text.splitlines() if rx.search(ln)]


def error_lines(text):
    return lines_matching(text, r"(^|\s)level=error\b|\"level\":\"error\"")


# ---------------------------------------------------------------------------
# the getaddrinfo shim

SHIM_C = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int (*gai_fn)(const char *, const char *, const struct addrinfo *,
                      struct addrinfo **);

static void note(const char *what)
{
    const char *path = getenv("SHIM_LOG");
    if (!path || !*path)
        return;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    (void)!write(fd, what, strlen(what));
    close(fd);
}

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                struct addrinfo **res)
{
    gai_fn real = (gai_fn)dlsym(RTLD_NEXT, "getaddrinfo");
    if (node && strcmp(node, "stuck.invalid") == 0) {
        note("stuck\n");
        sleep(30); /* a resolver that never answers (as far as the daemon can wait) */
        note("unstuck\n");
        return EAI_AGAIN;
    }
    return real(node, service, hints, res);
}
"""


def build_shim(directory):
    """Compiles the shim into DIRECTORY/shim.so; returns its path."""
    src = os.path.join(directory, "shim.c")
    so = os.path.join(directory, "shim.so")
    with open(src, "w") as f:
        f.write(SHIM_C)
    res = subprocess.run(["gcc", "-shared", "-fPIC", "-o", so, src, "-ldl"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    assert res.returncode == 0, "cannot build the getaddrinfo shim:\n%s" % res.stdout.decode()
    return so


def binary_uses_asan(binary=RENEWALD_BIN):
    try:
        out = subprocess.run(["ldd", binary], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             timeout=60).stdout.decode("utf-8", "replace")
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "libasan" in out


def preload_value(shim, binary=RENEWALD_BIN):
    """LD_PRELOAD for the daemon: libasan first when the binary uses AddressSanitizer."""
    if binary_uses_asan(binary):
        asan = subprocess.run(["gcc", "-print-file-name=libasan.so"], stdout=subprocess.PIPE,
                              timeout=60).stdout.decode().strip()
        return "%s:%s" % (asan, shim)
    return shim
