"""Issue 13 acceptance, part 2: the service side of reliability (SPEC §7,
§8).  Cases 1-4 are in test_reliability.py.

5. A worklist flood over 200 000 accounts (8 clients asking for 10 000 rows
   each, in a loop) does not stall /healthz: the scan runs in slices.
6. SIGHUP reloads in place: a changed signal starts over, the others keep
   their aggregates exactly, no state reload from Redis, no new Redis
   connections; 50 reloads while events flow change the alerts by little.
7. Delivery metrics: a webhook answering 500 -> outcome "dead", the entry in
   `<prefix>alerts:dead`, and the "delivery failed for good" warning is
   rate-limited.

Everything is on 127.0.0.1; every process is started through the fixtures
and stopped by its PID; every wait is bounded.
"""

import http.client
import json
import multiprocessing
import queue
import random
import signal
import threading
import time

import pytest

import durability as du
import reliability as rl
from alerting import (ALERTS_DEAD, DAY_MS, HOUR_MS, SIMPLE_SIGNALS, Ev, day_start, login,
                      simple_config, stream_alerts, ticket, webhook_sink, xadd_events)
from conftest import (EVENT_STREAMS, base_config, free_port, metric_value, metric_values,
                      parse_metrics, wait_consumed, wait_until)
from reliability import finish, pending_total, runtime_env

pytestmark = pytest.mark.slow

T = day_start("2026-06-01") + 9 * HOUR_MS


# ---------------------------------------------------------------------------
# 5. worklist flood


N_FLOOD = 200_000
FLOOD_LIMIT = 10_000


def flood_value(k):
    """Login values 7.5..9.0: healthy scores (no alerts) spread over ~84..100."""
    return 7.5 + (k * 7919 % 1500) / 1000.0


def feed_logins(r, n, ts0, chunk=5000):
    for k0 in range(0, n, chunk):
        p = r.pipeline(transaction=False)
        for k in range(k0, min(n, k0 + chunk)):
            p.xadd("events:usage", {"event": json.dumps(
                {"account": "w%06d" % k, "type": "login", "ts": ts0 + k,
                 "value": flood_value(k)})})
        p.execute()


class WorklistClient:
    """GET /v1/accounts?limit=10000 in a loop until DEADLINE, in a process of its own (its
    JSON parsing must not hold this process's GIL while the /healthz sampler measures);
    checks every answer.  After join(): answers, errors, first_ids, elapsed (per answer)."""

    def __init__(self, port, deadline):
        self.port = port
        self.deadline = deadline
        self._q = multiprocessing.get_context("fork").Queue()
        self._p = multiprocessing.get_context("fork").Process(target=self._run, daemon=True)
        self.answers, self.errors, self.first_ids, self.elapsed = 0, [], None, []

    def start(self):
        self._p.start()

    def join(self, timeout):
        try:
            self.answers, self.errors, self.first_ids, self.elapsed = self._q.get(timeout=timeout)
        except queue.Empty:
            self.errors = ["no report from the client process"]
        self._p.join(5)
        if self._p.is_alive():
            self._p.kill()  # our own child, by its PID
            self._p.join(5)

    def is_alive(self):
        return self._p.is_alive()

    def _run(self):
        path = "/v1/accounts?limit=%d" % FLOOD_LIMIT
        answers, errors, first_ids, first_data, elapsed = 0, [], None, None, []
        while time.monotonic() < self.deadline and len(errors) < 5:
            t0 = time.monotonic()
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                conn.request("GET", path)
                resp = conn.getresponse()
                data = resp.read()
                status = resp.status
            except Exception as e:
                errors.append("no answer: %s: %s" % (type(e).__name__, e))
                continue
            finally:
                conn.close()
            elapsed.append(time.monotonic() - t0)
            if status != 200:
                errors.append("status %d: %r" % (status, data[:200]))
                continue
            if data == first_data:
                answers += 1  # the page checked below, byte for byte: little CPU taken from
                continue      # the daemon on these 2 cores
            body = json.loads(data)
            rows = body.get("accounts") or []
            err = check_page(body, rows)
            if err:
                errors.append(err)
                continue
            ids = [row["account"] for row in rows]
            if first_ids is None:
                first_ids, first_data = ids, data
            elif ids != first_ids:
                errors.append("a different page than the first one (no event arrived)")
            answers += 1
        self._q.put((answers, errors, first_ids, elapsed))


def check_page(body, rows):
    if body.get("total") != N_FLOOD:
        return "total %r, want %d" % (body.get("total"), N_FLOOD)
    if len(rows) != FLOOD_LIMIT:
        return "%d rows, want %d" % (len(rows), FLOOD_LIMIT)
    if any(row.get("score") is None for row in rows):
        return "a row without a score"
    # lowest score first; ties (no ARR anywhere): by id
    keys = [(row["score"], row["account"]) for row in rows]
    bad = next((k for k in range(1, len(keys)) if keys[k] < keys[k - 1]), None)
    if bad is not None:
        return "not sorted by score ascending at row %d: %r then %r" % (bad, keys[bad - 1],
                                                                        keys[bad])
    return None


def test_worklist_flood_does_not_stall_healthz(redis_server, daemon_factory, tmp_path):
    r = redis_server.client()
    t0 = time.monotonic()
    feed_logins(r, N_FLOOD, T)
    t_fed = time.monotonic() - t0
    cfg = base_config(redis_server.port, free_port(), signals=SIMPLE_SIGNALS,
                      extra={("sink", "log"): None},
                      daemon={"log_level": "info"}, redis={"batch": 1000},
                      score={"min_history": "0", "confirm": "0"})
    d = daemon_factory(cfg, env=runtime_env(tmp_path))
    d.wait_healthy()
    wait_consumed(r, EVENT_STREAMS, daemon=d, timeout=150)
    s = parse_metrics(d.metrics())
    assert sum(metric_values(s, "renewald_accounts")) == N_FLOOD
    print("%d accounts: fed in %.1f s, consumed %.1f s after the start" % (
        N_FLOOD, t_fed, time.monotonic() - t0 - t_fed))

    deadline = time.monotonic() + 8.0
    clients = [WorklistClient(d.port, deadline) for _ in range(8)]
    for c in clients:  # forked before the sampler starts: a fork stalls this process
        c.start()
    with rl.HealthSampler(d.port, interval=0.05, timeout=2.0, max_seconds=60) as hs:
        for c in clients:
            c.join(60)
    samples = hs.samples()
    lat = sorted(x.elapsed for x in samples)
    answers = sum(c.answers for c in clients)
    walks = sorted(e for c in clients for e in c.elapsed) or [0.0]
    print("worklist: %d answers of %d rows (median %.3f s, slowest %.3f s); /healthz: %d probes, "
          "max %.3f s, p99 %.3f s" % (answers, FLOOD_LIMIT, rl.percentile(walks, 50), walks[-1],
                                      len(samples), lat[-1] if lat else 0,
                                      rl.percentile(lat, 99)))
    assert all(not c.is_alive() for c in clients), "a worklist client is still running"
    errs = [e for c in clients for e in c.errors]
    assert not errs, "worklist answers: %r" % errs[:10]
    assert answers >= 8, "only %d worklist answers" % answers
    firsts = {tuple(c.first_ids) for c in clients if c.first_ids}
    assert len(firsts) == 1, "the clients got different pages"
    failed = [x for x in samples if x.error is not None or x.status != 200]
    assert not failed, "/healthz failed during the worklist flood: %d of %d, e.g. %r" % (
        len(failed), len(samples), failed[:5])
    assert len(samples) >= 10, rl.summarize_samples(samples)
    # No absolute time: relative to the worklist's own answers.  A loop held for a whole walk
    # keeps a probe waiting for the rest of it (8 clients: a queue of walks), and the probes'
    # p90 reaches the walks' median (measured with the walk made one slice: p90 1.06x the
    # median); walked in slices, a probe waits about one slice (0.25x here; the rest is the
    # 2 shared cores).
    p90, walk = rl.percentile(lat, 90), rl.percentile(walks, 50)
    assert p90 < walk / 2, (
        "/healthz waited like a worklist answer: p90 %.3f s against a median walk of %.3f s "
        "(%s)" % (p90, walk, rl.summarize_samples(samples)))
    finish(d)


# ---------------------------------------------------------------------------
# 6. reload in place


CSAT = {"types": "csat", "aggregate": "mean", "half_life": "30d", "low": 2, "high": 4.5,
        "weight": 1}


def reload_config(redis_port, http_port, csat_half_life):
    signals = dict(SIMPLE_SIGNALS)
    signals[("signal", "csat")] = dict(CSAT, half_life=csat_half_life)
    cfg = simple_config(redis_port, http_port, daemon={"log_level": "info"})
    # simple_config's signals plus csat, in the same order
    out = {}
    for k, v in cfg.items():
        if isinstance(k, tuple) and k[0] == "signal":
            continue
        out[k] = v
        if k == "http":
            out.update(signals)
    return out


def part1_events(n=20):
    """Logins, a ticket and csat answers for accounts p1-*, over 2 days."""
    rng = random.Random(61)
    evs = []
    for k in range(n):
        acct = "p1-%02d" % k
        for h in range(0, 48, 6):
            evs.append(login(T + h * HOUR_MS + k * 1000, acct, rng.choice([1, 2, 4, 8])))
        evs.append(Ev(T + 7 * HOUR_MS + k * 1000, acct, "csat", rng.choice([2, 3, 4, 5])))
        evs.append(Ev(T + 30 * HOUR_MS + k * 1000, acct, "csat", rng.choice([1, 3, 5])))
        if k % 3 == 0:
            evs.append(ticket(T + 40 * HOUR_MS + k * 1000, acct))
    return sorted(evs, key=lambda e: e.ts)


def part2_events(n=60, days=12):
    """Accounts p2-* (no csat): logins every 12 h keep them healthy; tickets
    2-4 days apart pull them to at_risk (one alert each)."""
    rng = random.Random(62)
    t2 = T + 3 * DAY_MS
    evs = []
    for k in range(n):
        acct = "p2-%02d" % k
        for h in range(0, days * 24, 12):
            evs.append(login(t2 + h * HOUR_MS + k * 1000, acct, 2))
        t = t2 + rng.randint(1, 2) * DAY_MS + rng.randint(0, 23) * HOUR_MS
        while t < t2 + days * DAY_MS:
            evs.append(ticket(t + k * 1000 + 500, acct))
            t += rng.randint(2, 4) * DAY_MS + rng.randint(0, 23) * HOUR_MS
    return sorted(evs, key=lambda e: e.ts)


def p2_alerts(r):
    return [a for a in stream_alerts(r) if a.get("account", "").startswith("p2-")]


def reloads_logged(d):
    return len(rl.lines_matching(d.log_text(), r"configuration reloaded"))


def test_reload_keeps_state_in_place(redis_factory, daemon_factory, tmp_path):
    ev1, ev2 = part1_events(), part2_events()
    accounts1 = sorted({e.account for e in ev1})

    # the reference: the same events, no reload
    ref_srv = redis_factory("reference")
    ref_r = ref_srv.client()
    ref = daemon_factory(reload_config(ref_srv.port, free_port(), "30d"), name="reference",
                         env=runtime_env(tmp_path, "run-ref"))
    ref.wait_healthy()
    xadd_events(ref_r, ev1)
    wait_consumed(ref_r, EVENT_STREAMS, daemon=ref)
    xadd_events(ref_r, ev2)
    wait_consumed(ref_r, EVENT_STREAMS, daemon=ref, timeout=120)
    want_alerts = len(p2_alerts(ref_r))
    ref.stop()
    ref_srv.stop()
    print("reference run: %d alerts of p2 accounts" % want_alerts)
    assert want_alerts >= 50, "too few alerts in the reference run to compare"

    srv = redis_factory("reload")
    r = srv.client()
    port = free_port()
    cfg_a = reload_config(srv.port, port, "30d")
    cfg_b = reload_config(srv.port, port, "20d")
    d = daemon_factory(cfg_a, env=runtime_env(tmp_path))
    d.wait_healthy()
    xadd_events(r, ev1)
    wait_consumed(r, EVENT_STREAMS, daemon=d)
    before = du.snapshot(d, accounts1)
    assert all(doc["signals"]["csat"]["x"] for doc in before.values()), "csat not set"
    pr = srv.client()  # the producer of part 2, connected before the count
    pr.ping()
    conns0 = rl.connections_received(r)
    off = d.log_size()
    n_reloads = reloads_logged(d)

    # one reload that changes csat's half_life
    d.write_config(cfg_b)
    d.signal(signal.SIGHUP)
    wait_until(lambda: reloads_logged(d) > n_reloads, timeout=30, what="the reload logged")
    time.sleep(1.0)  # a state reload or a reconnect would show now
    after = du.snapshot(d, accounts1)
    errs = []
    for acct in accounts1:
        bs, as_ = before[acct]["signals"], after[acct]["signals"]
        for name in ("logins", "tickets"):
            if as_[name]["x"] != bs[name]["x"]:
                errs.append("%s: %s x %r -> %r" % (acct, name, bs[name]["x"], as_[name]["x"]))
        if as_["csat"]["x"] not in (None, 0, 0.0):
            errs.append("%s: csat x %r -> %r (want it to start over)" % (
                acct, bs["csat"]["x"], as_["csat"]["x"]))
    text = d.log_since(off)
    print("after the reload:", rl.lines_matching(text, r"reload")[:3])
    assert not errs, "after a reload that changed csat only: %s" % errs[:10]
    assert not rl.lines_matching(text, r"state loaded"), "the state was loaded again:\n" + text
    conns1 = rl.connections_received(r)
    assert conns1 == conns0, "the reload opened %d new Redis connections" % (conns1 - conns0)

    # 50 reloads, alternating, while the p2 events flow
    off = d.log_size()
    n_reloads = reloads_logged(d)
    prod_err = []

    def produce():
        try:
            for k in range(0, len(ev2), 30):
                xadd_events(pr, ev2[k:k + 30])
                time.sleep(0.08)
        except Exception as e:
            prod_err.append(e)

    th = threading.Thread(target=produce, daemon=True)
    th.start()
    for k in range(50):
        d.write_config(cfg_a if k % 2 == 0 else cfg_b)
        d.signal(signal.SIGHUP)
        want = n_reloads + k + 1
        wait_until(lambda: reloads_logged(d) >= want, timeout=30,
                   what="reload %d logged" % (k + 1))
        time.sleep(0.05)
    th.join(60)
    assert not th.is_alive() and not prod_err, prod_err
    wait_consumed(r, EVENT_STREAMS, daemon=d, timeout=120)
    text = d.log_since(off)
    got_alerts = len(p2_alerts(r))
    conns2 = rl.connections_received(r)
    print("50 reloads while %d events flowed: %d alerts of p2 accounts (reference %d), "
          "Redis connections %d -> %d" % (len(ev2), got_alerts, want_alerts, conns1, conns2))
    resets = rl.lines_matching(text, r"reloading the state|state loaded")
    assert not resets, "a reload reset the state:\n%s" % "\n".join(resets[:10])
    assert conns2 == conns1, "the reloads opened %d new Redis connections" % (conns2 - conns1)
    assert abs(got_alerts - want_alerts) <= 0.2 * want_alerts, \
        "%d alerts with 50 reloads, %d without (more than 20 %% apart)" % (got_alerts,
                                                                          want_alerts)
    assert du.events_total(d) == len(ev1) + len(ev2)
    assert pending_total(r) == 0
    finish(d)


# ---------------------------------------------------------------------------
# 7. delivery metrics and the rate-limited warning


def test_dead_delivery_metrics_and_rate_limited_warning(redis_server, daemon_factory,
                                                        http_receiver, tmp_path):
    """A webhook that always answers 500, max_attempts 2: 30 alerts die;
    renewald_deliveries_total{sink="hook",outcome="dead"} counts them, each
    lands in <prefix>alerts:dead, and the warning "delivery failed for good"
    is logged at most ~10 times in 10 s."""
    http_receiver.default = 500
    r = redis_server.client()
    sink = webhook_sink(http_receiver.url("/hook"), max_attempts=2, retry_initial="100ms",
                        retry_max="200ms")
    cfg = simple_config(redis_server.port, free_port(), sinks={"hook": sink},
                        keep_log_sink=False, daemon={"log_level": "info"})
    d = daemon_factory(cfg, env=runtime_env(tmp_path))
    d.wait_healthy()
    accounts = ["dead-%02d" % k for k in range(30)]
    t0 = time.monotonic()
    # login value 0.1: at_risk at first sight -> one band_change alert each
    xadd_events(r, [login(T + k * 1000, a, 0.1) for k, a in enumerate(accounts)])
    wait_consumed(r, EVENT_STREAMS, daemon=d)

    def dead():
        return [f for _id, f in r.xrange(ALERTS_DEAD, "-", "+")] if r.exists(ALERTS_DEAD) else []

    wait_until(lambda: len(dead()) >= 30, timeout=60, what="30 entries in %s" % ALERTS_DEAD)
    took = time.monotonic() - t0
    time.sleep(0.5)
    entries = dead()
    alerts = stream_alerts(r)
    s = parse_metrics(d.metrics())
    n_dead = metric_value(s, "renewald_deliveries_total", sink="hook", outcome="dead")
    lines = rl.lines_matching(d.log_text(), r"delivery failed for good")
    print("30 alerts dead %.1f s after the events; metric dead=%s; %d 'failed for good' lines; "
          "%d requests to the webhook" % (took, n_dead, len(lines),
                                          len(http_receiver.snapshot())))
    assert len(alerts) == 30, len(alerts)
    assert len(entries) == 30, entries[:3]
    assert all(f.get("sink") == "hook" for f in entries), entries[:3]
    ids = sorted(json.loads(f["alert"])["id"] for f in entries)
    assert ids == sorted(a["id"] for a in alerts)
    assert n_dead is not None and n_dead >= 1, n_dead
    assert n_dead == len(entries), "outcome=dead %s, but %d dead deliveries" % (n_dead,
                                                                              len(entries))
    assert len(http_receiver.snapshot()) == 60, "want 2 attempts per alert"
    assert took < 10, "the 30 deliveries took %.1f s to die: the rate check needs them in 10 s" \
        % took
    assert len(lines) <= 10, "%d 'delivery failed for good' lines for 30 dead deliveries in " \
        "%.1f s (rate limit: ~10 per 10 s):\n%s" % (len(lines), took, "\n".join(lines[:12]))
    finish(d)
