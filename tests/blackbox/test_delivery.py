"""Issue 5 acceptance, delivery: webhook headers and signatures, retries and
Retry-After, dead letters, durability across kill -9, the wall-clock backfill
(only what is at risk now alerts), e-mail recipients, and no secret in any
log line (SPEC §3, §4, §6, §8)."""

import base64
import json
import os
import signal
import time

import pytest

import model
from alerting import (DAY_MS, HOUR_MS, OUTBOX, PREFIX, SIMPLE_SIGNALS, by_account, date_of,
                      dead_deliveries, day_start, events_by_account, expected_signature, login,
                      meta, periodic, request_alert_id, settle, simple_config,
                      simulate_band_alerts, sort_events, stream_alerts, summarize,
                      wait_outbox_empty, wait_stream_alerts, webhook_sink, xadd_events)
from apicheck import parse_rfc3339
from conftest import EVENT_STREAMS, free_port, wait_consumed, wait_until
from receivers import SMTPReceiver

T = day_start("2026-06-01") + 9 * HOUR_MS
LEASE = PREFIX + "lease"


def trigger(r, accounts, t=T):
    """One login of value 0.1 per account: score 0, at_risk at first sight
    (min_history = 0): one band_change alert each."""
    xadd_events(r, [login(t + k * 1000, a, 0.1) for k, a in enumerate(accounts)])


def start(daemon_factory, cfg, r=None):
    d = daemon_factory(cfg)
    d.wait_healthy()
    if r is not None:
        wait_consumed(r, EVENT_STREAMS, daemon=d)
    return d


# ---------------------------------------------------------------------------
# webhook format


def test_webhook_headers_and_signature(redis_server, daemon_factory, http_receiver):
    secret = "S3CR3T-hmac-xyz"
    r = redis_server.client()
    cfg = simple_config(redis_server.port, free_port(),
                        sinks={"hook": webhook_sink(http_receiver.url("/hook"), secret=secret)})
    trigger(r, ["sig-1", "sig-2"])
    d = start(daemon_factory, cfg, r)
    alerts = wait_stream_alerts(r, 2, daemon=d)
    reqs = http_receiver.wait_for(2, path="/hook")
    ids = {a["id"] for a in alerts}
    for q in reqs:
        assert q.method == "POST"
        assert (q.header("content-type") or "").split(";")[0].strip() == "application/json", \
            q.headers
        assert (q.header("user-agent") or "").startswith("renewald/"), q.headers
        ts = q.header("x-renewald-timestamp")
        assert ts and ts.isdigit(), q.headers
        assert abs(int(ts) - time.time()) < 3600, ts  # a Unix time in seconds, not ms
        sig = q.header("x-renewald-signature")
        assert sig == expected_signature(secret, ts, q.body), (sig, q.headers)
        body = q.json()
        assert q.header("x-renewald-alert-id") == body["id"], (q.headers, body)
        assert body["id"] in ids
        assert body == next(a for a in alerts if a["id"] == body["id"])
    assert {request_alert_id(q) for q in reqs} == ids


def test_webhook_without_secret_has_no_signature(redis_server, daemon_factory, http_receiver):
    r = redis_server.client()
    cfg = simple_config(redis_server.port, free_port(),
                        sinks={"hook": webhook_sink(http_receiver.url("/plain"))})
    trigger(r, ["nosig"])
    start(daemon_factory, cfg, r)
    q = http_receiver.wait_for(1, path="/plain")[0]
    assert q.header("x-renewald-signature") is None, q.headers
    assert q.header("x-renewald-alert-id") == q.json()["id"]


# ---------------------------------------------------------------------------
# retries and dead letters


def test_retry_500_three_times_then_success(redis_server, daemon_factory, http_receiver):
    """500, 500, 500, then 200: exactly 4 requests for the alert, nothing dead."""
    http_receiver.set_script([500, 500, 500])
    r = redis_server.client()
    cfg = simple_config(redis_server.port, free_port(),
                        sinks={"hook": webhook_sink(http_receiver.url("/hook"))})
    trigger(r, ["flaky"])
    d = start(daemon_factory, cfg, r)
    alerts = wait_stream_alerts(r, 1, daemon=d)
    http_receiver.wait_for(4, path="/hook", timeout=60)
    wait_outbox_empty(r, timeout=30)
    settle(2.0)  # 4 x retry_max: a fifth attempt would have come by now
    reqs = http_receiver.snapshot(path="/hook")
    assert len(reqs) == 4, [request_alert_id(q) for q in reqs]
    assert {request_alert_id(q) for q in reqs} == {alerts[0]["id"]}
    assert len({q.body for q in reqs}) == 1, "the body changed between attempts"
    assert dead_deliveries(r) == []
    assert len(stream_alerts(r)) == 1


def test_429_retry_after_is_honoured(redis_server, daemon_factory, http_receiver):
    """429 with Retry-After: 2 -- the retry does not come sooner than 2 s."""
    http_receiver.set_script([(429, {"Retry-After": "2"})])
    r = redis_server.client()
    cfg = simple_config(redis_server.port, free_port(),
                        sinks={"hook": webhook_sink(http_receiver.url("/hook"))})
    trigger(r, ["throttled"])
    d = start(daemon_factory, cfg, r)
    wait_stream_alerts(r, 1, daemon=d)
    reqs = http_receiver.wait_for(2, path="/hook", timeout=60)
    gap = reqs[1].time - reqs[0].time
    assert gap >= 2.0, "retry %.3f s after a 429 with Retry-After: 2" % gap
    assert request_alert_id(reqs[0]) == request_alert_id(reqs[1])
    wait_outbox_empty(r, timeout=30)
    settle(1.0)
    assert len(http_receiver.snapshot(path="/hook")) == 2
    assert dead_deliveries(r) == []


def test_400_is_dead_lettered_at_once(redis_server, daemon_factory, http_receiver):
    """400: to renewald:alerts:dead (sink, alert, error, attempts) and no retry."""
    http_receiver.set_script([(400, {}, "bad payload")])
    r = redis_server.client()
    cfg = simple_config(redis_server.port, free_port(),
                        sinks={"hook": webhook_sink(http_receiver.url("/hook"))})
    trigger(r, ["rejected"])
    d = start(daemon_factory, cfg, r)
    alerts = wait_stream_alerts(r, 1, daemon=d)
    http_receiver.wait_for(1, path="/hook")
    dead = wait_until(lambda: dead_deliveries(r), timeout=30, what="an alerts:dead entry")
    settle(2.0)
    assert len(http_receiver.snapshot(path="/hook")) == 1, "a 400 was retried"
    dead = dead_deliveries(r)
    assert len(dead) == 1, dead
    f = dead[0]
    for k in ("sink", "alert", "error", "attempts"):
        assert k in f, f
    assert f["sink"] == "hook"
    assert json.loads(f["alert"])["id"] == alerts[0]["id"]
    assert f["error"].strip(), f
    assert "400" in f["error"], f
    assert int(f["attempts"]) == 1, f
    assert r.hlen(OUTBOX) == 0
    assert d.alive()


def test_exhausted_retries_are_dead_lettered(redis_server, daemon_factory, http_receiver):
    """max_attempts = 3 against a receiver that always fails: 3 requests, one dead letter."""
    http_receiver.default = 503
    r = redis_server.client()
    cfg = simple_config(redis_server.port, free_port(),
                        sinks={"hook": webhook_sink(http_receiver.url("/hook"), max_attempts=3)})
    trigger(r, ["doomed"])
    d = start(daemon_factory, cfg, r)
    wait_stream_alerts(r, 1, daemon=d)
    dead = wait_until(lambda: dead_deliveries(r), timeout=60, what="an alerts:dead entry")
    settle(1.5)
    assert len(http_receiver.snapshot(path="/hook")) == 3
    assert len(dead) == 1 and int(dead[0]["attempts"]) == 3, dead
    assert dead[0]["sink"] == "hook"


# ---------------------------------------------------------------------------
# durability


@pytest.mark.parametrize("restart", ["after_lease_expiry", "at_once"])
def test_pending_delivery_survives_kill9(redis_server, daemon_factory, http_receiver, restart):
    """500 forever while the daemon runs; kill -9; the receiver turns to 200;
    a new daemon delivers the same alert id; the alert is created once.
    `after_lease_expiry` starts the new daemon once the dead one's lease (2s)
    has lapsed; `at_once` starts it right away (as systemd's Restart= would):
    it must take over within about one lease."""
    http_receiver.default = 500
    r = redis_server.client()
    cfg = simple_config(redis_server.port, free_port(),
                        sinks={"hook": webhook_sink(http_receiver.url("/hook"),
                                                    max_attempts=1000)})
    trigger(r, ["durable"])
    d1 = start(daemon_factory, cfg, r)
    alerts = wait_stream_alerts(r, 1, daemon=d1)
    aid = alerts[0]["id"]
    http_receiver.wait_for(2, path="/hook", timeout=30)
    d1.kill9()
    assert r.hlen(OUTBOX) >= 1, "no pending delivery in the outbox after kill -9"
    before = len(http_receiver.snapshot(path="/hook"))
    http_receiver.default = 200
    if restart == "after_lease_expiry":
        wait_until(lambda: not r.exists(LEASE), timeout=30, what="the dead daemon's lease to lapse")

    d2 = daemon_factory(cfg)
    d2.wait_healthy(timeout=30)
    wait_until(lambda: len(http_receiver.snapshot(path="/hook")) > before, timeout=60,
               what="the delivery after the restart")
    wait_outbox_empty(r, timeout=60)
    reqs = http_receiver.snapshot(path="/hook")
    assert {request_alert_id(q) for q in reqs} == {aid}, [request_alert_id(q) for q in reqs]
    assert reqs[-1].json() == alerts[0]
    settle(1.0)
    after = stream_alerts(r)
    assert [a["id"] for a in after] == [aid], summarize(after)
    assert dead_deliveries(r) == []


# ---------------------------------------------------------------------------
# backfill under the wall clock


def backfill_book(now_ms):
    """20 accounts, 90 days of daily logins ending about an hour ago:
    healthy h0..h7 throughout (h1 renews in 45 days); recovered r0..r5 silent 12 days around day -60
    (at_risk then), active again since; at risk now a0..a5: silent since day -20."""
    start = now_ms - 90 * DAY_MS
    end = now_ms - HOUR_MS
    evs = []
    for k in range(8):
        a = "h%d" % k
        off = k * 7 * 60000
        evs += periodic(a, start + off, end - 2 * HOUR_MS + off, DAY_MS, 5)
    # renewals: h1 in 45 days (90 and 60 crossed during the history: one alert,
    # window 60); h2 in 100 days (none); h3 10 days ago (past: none)
    for a, days in (("h1", 45), ("h2", 100), ("h3", -10)):
        evs.append(meta(start + 3 * DAY_MS, a, renewal_date=date_of(now_ms + days * DAY_MS)))
    for k in range(6):
        a = "r%d" % k
        off = (k * 7 + 3) * 60000
        evs += periodic(a, start + off, now_ms - 66 * DAY_MS, DAY_MS, 5)
        evs += periodic(a, now_ms - 54 * DAY_MS + off, end - 2 * HOUR_MS + off, DAY_MS, 5,
                        first_value=None)
    for k in range(6):
        a = "a%d" % k
        off = (k * 7 + 5) * 60000
        evs += periodic(a, start + off, now_ms - 20 * DAY_MS, DAY_MS, 5)
    evs = sort_events(evs)
    assert max(e.ts for e in evs) <= end
    return evs


def _run_backfill(redis_server, daemon_factory, http_receiver, exact_multiple):
    batch = 50
    now_ms = int(time.time() * 1000)
    evs = backfill_book(now_ms)
    # the reference: r* were at_risk around day -60, a* are at_risk now, h* never
    signals = model.signals_from_config(SIMPLE_SIGNALS)
    per = events_by_account(evs)
    grid = list(range(now_ms - 90 * DAY_MS, now_ms, 6 * HOUR_MS))
    sim = simulate_band_alerts(signals, per, grid, min_history_ms=14 * DAY_MS)
    sim_accts = sorted({a for a, _t, b, _p in sim if b == "at_risk"})
    assert sim_accts == ["a%d" % k for k in range(6)] + ["r%d" % k for k in range(6)], sim
    for k in range(6):
        assert model.account_score(signals, per["r%d" % k], now_ms) >= 90
        assert model.account_score(signals, per["a%d" % k], now_ms) < 10

    # the number of entries: a multiple of the batch, or not
    while (len(evs) % batch == 0) != exact_multiple:
        evs.insert(0, login(evs[0].ts, "h0", 0))  # value 0: changes no score
    r = redis_server.client()
    xadd_events(r, evs)
    cfg = simple_config(redis_server.port, free_port(),
                        sinks={"hook": webhook_sink(http_receiver.url("/hook"))},
                        daemon={"clock": "wall", "sweep_interval": "1m"},
                        redis={"batch": batch},
                        score={"min_history": "14d"})
    d = start(daemon_factory, cfg, r)
    want = ["a%d" % k for k in range(6)]
    try:
        alerts = wait_stream_alerts(r, len(want) + 1, daemon=d, timeout=30)
    except AssertionError as e:
        raise AssertionError("%s\nalerts: %s\n--- log (grep catch) ---\n%s" % (
            e, summarize(stream_alerts(r)),
            "\n".join(ln for ln in d.log_text().splitlines()
                      if "catch" in ln or "caught" in ln))) from None
    http_receiver.wait_for(len(want) + 1, path="/hook", timeout=30)
    settle(2.0)
    alerts = stream_alerts(r)
    got = by_account(alerts, kind="band_change")
    ctx = summarize(alerts)
    assert sorted(got) == want, ctx
    win = by_account(alerts, kind="renewal_window")
    assert sorted(win) == ["h1"] and len(win["h1"]) == 1, ctx
    assert (win["h1"][0]["window"], win["h1"][0]["days_to_renewal"]) == (60, 45), ctx
    for a in want:
        assert len(got[a]) == 1, ctx
        al = got[a][0]
        assert (al["kind"], al["band"]) == ("band_change", "at_risk"), ctx
        assert al["previous_band"] in ("healthy", "unknown"), ctx
    # sent at real time: the alert's ts is now-ish, not the event time of the history
    for al in alerts:
        assert parse_rfc3339(al["ts"]) > now_ms - 10 * 60000, ctx
    got_ids = sorted(request_alert_id(q) for q in http_receiver.snapshot(path="/hook"))
    assert got_ids == sorted(al["id"] for al in alerts), (got_ids, ctx)
    log = d.log_text()
    assert "catching up" in log or "catch" in log, "no catch-up was logged:\n" + d.log_tail(40)


def test_backfill_wall_clock_alerts_only_current_risk(redis_server, daemon_factory,
                                                      http_receiver):
    """90 days of history already in the stream under the wall clock: only the
    accounts at risk now alert, once each; accounts that were at risk 60 days
    ago and recovered do not."""
    _run_backfill(redis_server, daemon_factory, http_receiver, exact_multiple=False)


def test_backfill_wall_clock_exact_multiple_of_batch(redis_server, daemon_factory,
                                                     http_receiver):
    """The same backfill with a number of entries that is an exact multiple of
    `batch`: the last read of the backlog is full, the next one is empty -- not
    full, so the daemon is caught up (SPEC §6) and must alert."""
    _run_backfill(redis_server, daemon_factory, http_receiver, exact_multiple=True)


# ---------------------------------------------------------------------------
# e-mail


def test_email_to_owner_or_fallback(redis_server, daemon_factory, smtp_receiver):
    r = redis_server.client()
    sink = {"type": "email", "smtp_url": smtp_receiver.url(), "tls": "none",
            "from": "renewald@example.com", "to": "owner", "fallback_to": "cs@example.com",
            "retry_initial": "100ms", "retry_max": "500ms"}
    cfg = simple_config(redis_server.port, free_port(), sinks={"mail": sink})
    xadd_events(r, [
        meta(T, "owned", name="Acme Owned", owner="pat@acme.example"),
        login(T + 1000, "owned", 0.1),
        meta(T + 2000, "orphan", name="Orphan Co"),
        login(T + 3000, "orphan", 0.1),
    ])
    d = start(daemon_factory, cfg, r)
    alerts = wait_stream_alerts(r, 2, daemon=d)
    assert sorted(a["account"] for a in alerts) == ["orphan", "owned"], summarize(alerts)
    msgs = smtp_receiver.wait_for(2, timeout=60)
    wait_outbox_empty(r, timeout=30)
    settle(1.0)
    msgs = smtp_receiver.snapshot()
    assert len(msgs) == 2, msgs
    by_rcpt = {tuple(m.rcpt_tos): m for m in msgs}
    assert set(by_rcpt) == {("pat@acme.example",), ("cs@example.com",)}, msgs
    owned = by_rcpt[("pat@acme.example",)]
    orphan = by_rcpt[("cs@example.com",)]
    for m, name in ((owned, "Acme Owned"), (orphan, "Orphan Co")):
        assert m.subject.startswith("[renewald]"), m.subject
        assert name in m.subject, m.subject
        assert m.mail_from == "renewald@example.com", m.mail_from
        assert "renewald@example.com" in str(m.message["from"])
        assert m.text().strip(), "empty body"
    assert "pat@acme.example" in str(owned.message["to"])
    assert "cs@example.com" in str(orphan.message["to"])
    assert dead_deliveries(r) == []


# ---------------------------------------------------------------------------
# secrets


def test_no_secret_in_logs(redis_server, daemon_factory, http_receiver, tmp_path):
    """log_level = debug; deliveries that succeed, retry and fail for good (a
    receiver even echoes the secrets in its error body; one sink is down); a
    reload that changes every secret: none of them is ever logged."""
    hook_path = "/hook/TOKEN-abc123"
    hook_path2 = "/hook/TOKEN-def456"
    slack_path = "/services/T000/B000/SLACKTOKEN-q9x"
    down_url = "http://127.0.0.1:%d/down/TOKEN-down77" % free_port()
    secrets = ["TOKEN-abc123", "TOKEN-def456", "TOKEN-down77", "S3CR3T-hmac-xyz",
               "S3CR3T-hmac-two", "PW-zzz", "PW-yyy", "SLACKTOKEN-q9x"]
    # AUTH PLAIN / LOGIN carry the password base64-encoded
    for user, pw in (("renewald", "PW-zzz"), ("renewald2", "PW-yyy")):
        secrets.append(base64.b64encode(b"\0" + user.encode() + b"\0" + pw.encode()).decode())
        secrets.append(base64.b64encode(pw.encode()).decode().rstrip("="))

    smtp = SMTPReceiver(auth={"renewald": "PW-zzz", "renewald2": "PW-yyy"},
                        auth_require_tls=False, reject=["451 4.3.0 try later"]).start()
    try:
        echo = "rejected %s signed with S3CR3T-hmac-xyz" % http_receiver.url(hook_path)
        http_receiver.set_script([500, (503, {}, echo), (400, {}, echo)], path=hook_path)
        http_receiver.set_script([503, (404, {}, "no_team " + slack_path)], path=slack_path)
        slack_url_file = os.path.join(str(tmp_path), "slack_url")
        with open(slack_url_file, "w") as f:
            f.write(http_receiver.url(slack_path) + "\n")
        sinks = {
            "hook": webhook_sink(http_receiver.url(hook_path), secret="S3CR3T-hmac-xyz",
                                 max_attempts=4),
            "down": webhook_sink(down_url, secret="S3CR3T-hmac-xyz", max_attempts=2),
            "slack": {"type": "slack", "url_file": slack_url_file, "rate": "20/s",
                      "retry_initial": "100ms", "retry_max": "300ms", "max_attempts": 4},
            "mail": {"type": "email", "smtp_url": smtp.url(), "tls": "none",
                     "username": "renewald", "password": "PW-zzz",
                     "from": "renewald@example.com", "to": "cs@example.com",
                     "retry_initial": "100ms", "retry_max": "300ms", "max_attempts": 4,
                     "timeout": "5s"},
        }
        r = redis_server.client()
        cfg = simple_config(redis_server.port, free_port(), sinks=sinks)
        trigger(r, ["s-1", "s-2", "s-3"])
        d = start(daemon_factory, cfg, r)
        wait_stream_alerts(r, 3, daemon=d)
        wait_outbox_empty(r, timeout=60)
        assert dead_deliveries(r), "expected some failed deliveries"
        assert http_receiver.snapshot(path=hook_path), "webhook never called"
        assert http_receiver.snapshot(path=slack_path), "slack never called"
        assert smtp.snapshot() and smtp.rejected, "the SMTP sink never authenticated and sent"

        # reload with new secrets, more alerts, failures again
        http_receiver.set_script([500, 500], path=hook_path2)
        smtp.set_reject(["451 4.3.0 again"])
        sinks2 = dict(sinks)
        sinks2["hook"] = webhook_sink(http_receiver.url(hook_path2), secret="S3CR3T-hmac-two",
                                      max_attempts=4)
        sinks2["mail"] = dict(sinks["mail"], username="renewald2", password="PW-yyy")
        cfg_new = simple_config(redis_server.port, d.port, sinks=sinks2)
        off = d.log_size()
        n_mail = len(smtp.snapshot())
        d.write_config(cfg_new)
        d.signal(signal.SIGHUP)
        wait_until(lambda: "reload" in d.log_since(off), timeout=30, what="the reload logged")
        trigger(r, ["s-4", "s-5"], t=T + 60000)
        wait_stream_alerts(r, 5, daemon=d)
        http_receiver.wait_for(1, path=hook_path2, timeout=30)
        wait_outbox_empty(r, timeout=60)
        assert len(smtp.snapshot()) > n_mail, "no mail sent with the new credentials"
        settle(0.5)
        assert d.stop() == 0
    finally:
        smtp.stop()

    log = d.log_text()
    assert "level=debug" in log, "log_level = debug did not log at debug"
    assert "reloaded" in log, d.log_tail(20)
    leaks = {}
    for s in secrets:
        lines = [ln for ln in log.splitlines() if s in ln]
        if lines:
            leaks[s] = lines[:3]
    assert not leaks, "secrets in the log:\n" + "\n".join(
        "%s:\n    %s" % (s, "\n    ".join(ls)) for s, ls in leaks.items())
