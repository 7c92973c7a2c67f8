"""Helpers of the durability tests (issue 4, SPEC §8): a big deterministic
book with a final "tick" per account, the test configuration, snapshots of
every account over the API and their field-by-field comparison, a producer
thread that XADDs the book in chunks while the daemon runs, and metrics."""

import http.client
import json
import math
import threading
import time

import gen
from apicheck import account_path
from conftest import base_config, metric_values, parse_metrics

TICK_TYPE = "tick"  # in no signal's types: it changes no x, only last_event


class BigBook:
    """gen.generate() over N_ACCOUNTS accounts plus one tick per account.

    Ticks: after the whole book, events:usage gets one entry per account,
    type `tick`, ts = the book's newest event time.  Entries of a stream are
    processed in id order, so every tick is processed after the book's
    newest event (the last entry of events:usage, ts = END_MS): whatever
    the batching, every account is evaluated one last time at
    now = max_ts, and its stored band is the band of its score at max_ts.
    Without them the band of an account would be the one of its last
    evaluation -- at its last batch or at the last sweep -- which lies at a
    different `now` in runs batched differently."""

    def __init__(self, n_accounts=300, seed=20261120):
        self.book = gen.generate(seed=seed, n_accounts=n_accounts)
        self.accounts = list(self.book.accounts)
        self.max_ts = self.book.max_ts
        usage_last = [e.id for e in self.book.entries if e.stream == gen.STREAM_USAGE][-1]
        ms = int(usage_last.split("-")[0]) + 1
        self.entries = [(e.stream, e.id, e.fields) for e in self.book.entries]
        for k, acct in enumerate(self.accounts):
            ev = {"account": acct, "type": TICK_TYPE, "ts": self.max_ts}
            self.entries.append((gen.STREAM_USAGE, "%d-%d" % (ms, k), {"event": json.dumps(ev)}))

    def __len__(self):
        return len(self.entries)


# Band bounds exactly where the book's round scores fall: a critical csat whose
# events all have the same value c scores exactly 40 * (c - 2), i.e. 40 or 80
# in exact arithmetic, +- 1 ulp after the decayed sums of a particular
# batching.  SPEC v2 decides bands on the score rounded to one decimal, so such
# an account is watch (40.0 >= 40) in every run, however it was batched.
HEALTHY = 70.0
WATCH = 40.0


def durability_config(redis_port, http_port, redis=None, **overrides):
    """base_config with clock = event, batch 1000, and bands that depend on
    the score alone: confirm = 0 and hysteresis = 0 make the band of an
    evaluation band_of_score(S) whatever the account's earlier bands were
    (no waits in progress, no "recovered but not enough"), so the band does
    not depend on the history of evaluation points, only on the last one --
    and the ticks (see BigBook) put that one at max_ts in every run.
    min_history stays 14d: the onboarding accounts of the book (3-12 days
    old) are far from it and stay `unknown`, the others (~95 days) far past it."""
    # compact_records = 1: a compaction round once the log holds as many records
    # as there are accounts (300 here: every few commits), so that the kills
    # and crashes below also land in the middle of rounds and deletions.
    red = {"batch": 1000, "block": "100ms", "compact_records": 1, "compact_idle": "1s"}
    red.update(redis or {})
    cfg = base_config(redis_port, http_port,
                      daemon={"clock": "event", "sweep_interval": "1h", "log_level": "info"},
                      redis=red,
                      score={"confirm": "0", "hysteresis": 0, "min_history": "14d",
                             "healthy": HEALTHY, "watch": WATCH},
                      **overrides)
    return cfg


# ---------------------------------------------------------------------------
# snapshots


def _get_json(conn, path):
    conn.request("GET", path)
    resp = conn.getresponse()
    data = resp.read()
    try:
        body = json.loads(data.decode("utf-8"))
    except ValueError:
        body = data.decode("utf-8", "replace")
    return resp.status, body


def snapshot(daemon, accounts, timeout=30):
    """{account id: GET /v1/accounts/ID document} for every id of ACCOUNTS;
    fails on any non-200 answer."""
    out = {}
    conn = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=timeout)
    try:
        for acct in accounts:
            path = account_path(acct)
            try:
                status, body = _get_json(conn, path)
            except (http.client.HTTPException, OSError):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=timeout)
                status, body = _get_json(conn, path)
            assert status == 200, "%s: GET %s -> %s %r" % (daemon.name, path, status, body)
            out[acct] = body
    finally:
        conn.close()
    return out


X_REL = 1e-9   # float summation order may differ between batchings
X_ABS = 1e-12  # for x values that are (about) 0


def _x_equal(a, b):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return False
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
        return a == b
    return math.isclose(float(a), float(b), rel_tol=X_REL, abs_tol=X_ABS)


def compare_docs(acct, got, want, exact_x=False):
    """Field-by-field differences between two /v1/accounts/ID documents:
    `x` of each signal within X_REL (exactly with EXACT_X), everything else
    (score, band, signal scores and weights, as_of, first_seen, last_event,
    metadata, days_to_renewal) exactly."""
    errs = []
    if not isinstance(got, dict) or not isinstance(want, dict):
        return ["%s: %r vs %r" % (acct, got, want)]
    keys = set(got) | set(want)
    for k in sorted(keys - {"signals"}):
        if k not in got or k not in want:
            errs.append("%s: key %s only in %s" % (acct, k, "got" if k in got else "want"))
        elif got[k] != want[k] or type(got[k]) is not type(want[k]):
            errs.append("%s: %s %r, want %r" % (acct, k, got[k], want[k]))
    gs, ws = got.get("signals"), want.get("signals")
    if not isinstance(gs, dict) or not isinstance(ws, dict):
        if gs != ws:
            errs.append("%s: signals %r, want %r" % (acct, gs, ws))
        return errs
    if set(gs) != set(ws):
        errs.append("%s: signal names %r, want %r" % (acct, sorted(gs), sorted(ws)))
    for name in sorted(set(gs) & set(ws)):
        g, w = gs[name], ws[name]
        if not isinstance(g, dict) or not isinstance(w, dict):
            if g != w:
                errs.append("%s: signal %s %r, want %r" % (acct, name, g, w))
            continue
        for k in sorted(set(g) | set(w)):
            if k not in g or k not in w:
                errs.append("%s: signal %s key %s missing on one side" % (acct, name, k))
            elif k == "x" and not exact_x:
                if not _x_equal(g[k], w[k]):
                    errs.append("%s: signal %s x %r, want %r" % (acct, name, g[k], w[k]))
            elif g[k] != w[k]:
                errs.append("%s: signal %s %s %r, want %r" % (acct, name, k, g[k], w[k]))
    return errs


def compare_snapshots(got, want, exact_x=False):
    """Every difference between two snapshots (list of strings; empty = equal)."""
    errs = []
    for acct in sorted(set(got) | set(want)):
        if acct not in got:
            errs.append("%s: missing" % acct)
        elif acct not in want:
            errs.append("%s: unexpected" % acct)
        else:
            errs += compare_docs(acct, got[acct], want[acct], exact_x=exact_x)
    return errs


# ---------------------------------------------------------------------------
# metrics


def events_total(daemon):
    """renewald_events_total of DAEMON (summed over label sets, if any)."""
    return sum(metric_values(parse_metrics(daemon.metrics()), "renewald_events_total"))


def try_events_total(daemon):
    try:
        return events_total(daemon)
    except Exception:
        return None


# ---------------------------------------------------------------------------
# the producer


def feed_resumable(client, entries, attempts=10):
    """gen.feed(ENTRIES) that survives a Redis restart between two calls: on
    a connection error it waits (bounded) and XADDs again only the entries
    above each stream's last id (ids are explicit, so nothing is added twice)."""
    import redis

    for attempt in range(attempts):
        try:
            if attempt == 0:
                todo = entries
            else:
                last = {}
                for s in {e[0] for e in entries}:
                    last[s] = (_id_key(client.xinfo_stream(s)["last-generated-id"])
                               if client.exists(s) else (-1, -1))
                todo = [e for e in entries if _id_key(e[1]) > last[e[0]]]
            return gen.feed(client, todo)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
                redis.exceptions.BusyLoadingError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)


class Producer(threading.Thread):
    """XADDs ENTRIES ((stream, id, fields) with explicit ids) in CHUNKs, one
    pipeline each, sleeping PAUSE s between chunks.

    Holding `lock` excludes a chunk in flight (the tests take Redis down
    between chunks only).  With HOLD_FROM (an index), entries from there on
    wait for release(): the tests' crashes then all happen mid-stream, with
    entries still to come.  `fed` counts the entries XADDed."""

    def __init__(self, client, entries, chunk=1000, pause=0.1, hold_from=None):
        super().__init__(daemon=True)
        self.client = client
        self.entries = entries
        self.chunk = chunk
        self.pause = pause
        self.hold_from = hold_from
        self.lock = threading.Lock()
        self.fed = 0
        self.error = None
        self._stop_ev = threading.Event()
        self._release = threading.Event()
        self.waiting = threading.Event()  # set while held at HOLD_FROM
        self.chunks = 0  # chunks XADDed so far
        self._cond = threading.Condition()

    def run(self):
        try:
            k = 0
            n = len(self.entries)
            while k < n:
                if self._stop_ev.is_set():
                    return
                end = min(n, k + self.chunk)
                if self.hold_from is not None and not self._release.is_set():
                    if k >= self.hold_from:
                        self.waiting.set()
                        self._release.wait(600)
                        self.waiting.clear()
                        continue
                    end = min(end, self.hold_from)
                with self.lock:
                    feed_resumable(self.client, self.entries[k:end])
                    self.fed = end
                with self._cond:
                    self.chunks += 1
                    self._cond.notify_all()
                k = end
                time.sleep(self.pause)
        except Exception as e:  # reported by finish()
            self.error = e

    def release(self):
        self._release.set()

    def wait_next_chunk(self, timeout=30):
        """Waits (bounded) until one more chunk has been XADDed; True if so."""
        with self._cond:
            start = self.chunks
            return self._cond.wait_for(
                lambda: (self.chunks > start or not self.is_alive()
                         or self.waiting.is_set()), timeout) and self.chunks > start

    def done(self):
        """True once every entry was XADDed (or the thread ended)."""
        return not self.is_alive() or self.fed == len(self.entries)

    def cancel(self):
        self._stop_ev.set()
        self._release.set()

    def finish(self, timeout=180):
        """Releases, waits for the thread; fails when not every entry was XADDed."""
        self.release()
        self.join(timeout)
        assert not self.is_alive(), "producer still running after %ss" % timeout
        assert self.error is None, "producer failed: %r" % (self.error,)
        assert self.fed == len(self.entries), (self.fed, len(self.entries))


def lease_holder(r, prefix="renewald:"):
    return r.get(prefix + "lease")


def _id_key(eid):
    ms, seq = eid.split("-")
    return int(ms), int(seq)


def applied_count(r, entries, prefix="renewald:"):
    """How many of ENTRIES ((stream, id, fields)) the daemon's committed state
    has applied: per stream, those at or below the last applied id it wrote
    (its acknowledgements follow the commit, so they may lag behind)."""
    applied = {k.decode() if isinstance(k, bytes) else k: _id_key(v.decode() if isinstance(v, bytes) else v)
               for k, v in r.hgetall(prefix + "applied").items()}
    return sum(1 for s, eid, _ in entries if s in applied and _id_key(eid) <= applied[s])


def acked_count(r, entries, group="renewald"):
    """How many of ENTRIES ((stream, id, fields)) the group has acknowledged:
    per stream, the entries at or below its last-delivered-id minus those
    still pending."""
    by_stream = {}
    for s, eid, _ in entries:
        by_stream.setdefault(s, []).append(_id_key(eid))
    total = 0
    for s, ids in by_stream.items():
        if not r.exists(s):
            continue
        g = next((g for g in r.xinfo_groups(s) if g["name"] == group), None)
        if g is None:
            continue
        last = _id_key(g["last-delivered-id"])
        total += sum(1 for k in ids if k <= last) - int(g["pending"])
    return total
