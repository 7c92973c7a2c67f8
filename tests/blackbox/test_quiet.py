"""Issue 16 acceptance, "quiet where it should be" (SPEC §3 snooze and
band_change_within, §7 POST/DELETE /v1/accounts/ID/snooze).

Every scenario runs under clock = event with batch = 1 (alerting.py's
simple_config), so `now` is the newest event time and everything is
deterministic; SIMPLE_SIGNALS: logins of 2 every 6 hours keep an account at
100, logins of 0.05 let it decay to at_risk within about five days."""

import hashlib
import json
import os
import signal
import threading
import time

from alerting import (DAY_MS, HOUR_MS, OUTBOX, by_account, date_of, day_start,
                      dead_deliveries, iso, login, meta, periodic, settle, simple_config,
                      sort_events, stream_alerts, summarize, webhook_sink, xadd_events)
from apicheck import parse_rfc3339
from conftest import EVENT_STREAMS, free_port, metric_value, parse_metrics, wait_consumed, \
    wait_until
from receivers import HTTPReceiver

T0 = day_start("2026-03-02")
SIX_H = 6 * HOUR_MS
TOKEN = "quiet-t0ken"
AUTH = {"Authorization": "Bearer " + TOKEN}


def healthy_then_declining(acct, start, turn, end):
    """Healthy logins from START, then almost none from TURN (exclusive END)."""
    return (periodic(acct, start, turn, SIX_H, 2) +
            periodic(acct, turn, end, SIX_H, 0.05, first_value=None))


def ticker(start, end):
    """An always-healthy account whose events move `now` on."""
    return periodic("ticker", start, end, SIX_H, 2)


def between(evs, lo, hi):
    return [e for e in evs if lo <= e.ts < hi]


def snooze(d, acct, body=None, method="POST", headers=AUTH, raw=None):
    """(status, parsed body) of POST/DELETE /v1/accounts/ACCT/snooze."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    h = dict(headers or {})
    if data is not None:
        h["Content-Type"] = "application/json"
    st, _, doc = d.request("/v1/accounts/%s/snooze" % acct, method, h, data)
    return st, doc


def account(d, acct, headers=AUTH):
    st, doc = d.get("/v1/accounts/" + acct, headers=headers)
    assert st == 200, (st, doc)
    return doc


def band_alerts(r, acct):
    return by_account(stream_alerts(r), kind="band_change").get(acct, [])


def snoozed_gauge(d):
    return metric_value(parse_metrics(d.metrics()), "renewald_accounts_snoozed")


def feed(r, d, evs):
    xadd_events(r, sort_events(evs))
    wait_consumed(r, EVENT_STREAMS, daemon=d, timeout=180)


# ---------------------------------------------------------------------------
# snooze: nothing while snoozed, once after


def test_snooze_holds_band_alerts_until_it_ends_and_survives_kill9(redis_server,
                                                                   daemon_factory):
    """A declining account snoozed until day 20 alerts nothing while its band
    falls to at_risk, and exactly once when the snooze ends (the sweep at
    `until`, which is also the time of an event).  The snooze was answered
    200 and the daemon killed with SIGKILL at once: the restarted daemon still
    has it and it still holds the alerts."""
    until = T0 + 20 * DAY_MS
    evs = healthy_then_declining("declining", T0, T0 + 10 * DAY_MS, T0 + 30 * DAY_MS)
    evs += ticker(T0, T0 + 30 * DAY_MS)
    r = redis_server.client()
    cfg = simple_config(redis_server.port, free_port(), http={"token": TOKEN})
    d = daemon_factory(cfg)
    d.wait_healthy()
    feed(r, d, between(evs, 0, T0 + 10 * DAY_MS))
    assert account(d, "declining")["band"] == "healthy"

    st, doc = snooze(d, "declining", {"until": date_of(until), "reason": "call booked",
                                      "by": "pat@example.com"})
    assert st == 200, (st, doc)
    assert doc["snoozed_until"] == iso(until), doc
    assert (doc["snooze_reason"], doc["snoozed_by"]) == ("call booked", "pat@example.com")
    d.kill9()  # right after the 200: the snooze must already be in Redis
    d.start()
    d.wait_healthy()
    doc = account(d, "declining")
    assert doc["snoozed_until"] == iso(until), doc
    assert doc["snooze_reason"] == "call booked", doc
    assert snoozed_gauge(d) == 1
    st, wl = d.get("/v1/accounts?snoozed=true", headers=AUTH)
    assert st == 200 and [a["account"] for a in wl["accounts"]] == ["declining"], wl

    # while snoozed: the band falls to at_risk, nobody is told
    feed(r, d, between(evs, T0 + 10 * DAY_MS, until - HOUR_MS))
    doc = account(d, "declining")
    assert doc["band"] == "at_risk", doc
    assert band_alerts(r, "declining") == [], summarize(stream_alerts(r))

    # the snooze ends at `until` (a sweep time and an event time): one alert
    feed(r, d, between(evs, until - HOUR_MS, T0 + 30 * DAY_MS))
    got = band_alerts(r, "declining")
    assert [(a["band"], a["ts"]) for a in got] == [("at_risk", iso(until))], \
        summarize(stream_alerts(r))
    doc = account(d, "declining")
    assert doc["snoozed_until"] is None and doc["snooze_reason"] is None, doc
    assert snoozed_gauge(d) == 0
    assert band_alerts(r, "ticker") == []


def test_snooze_removed_alerts_once_and_durably(redis_server, daemon_factory):
    """DELETE of the snooze of an account that got worse while snoozed creates
    its alert at once: it is in the alerts stream when the 200 arrives (the
    commit that carries it landed first), created at the `now` of the DELETE.
    Later events, and a second DELETE, add nothing."""
    evs = healthy_then_declining("declining", T0, T0 + 10 * DAY_MS, T0 + 25 * DAY_MS)
    evs.append(meta(T0 + 1, "declining", renewal_date=date_of(T0 + 45 * DAY_MS)))
    evs += ticker(T0, T0 + 25 * DAY_MS)
    r = redis_server.client()
    cfg = simple_config(redis_server.port, free_port())
    d = daemon_factory(cfg)
    d.wait_healthy()
    feed(r, d, between(evs, 0, T0 + 10 * DAY_MS))
    st, doc = snooze(d, "declining", {"until": iso(T0 + 40 * DAY_MS)}, headers={})
    assert st == 200 and doc["snoozed_until"] == iso(T0 + 40 * DAY_MS), (st, doc)
    assert doc["snooze_reason"] is None and doc["snoozed_by"] is None, doc

    feed(r, d, between(evs, T0 + 10 * DAY_MS, T0 + 16 * DAY_MS))
    assert account(d, "declining", headers={})["band"] == "at_risk"
    assert band_alerts(r, "declining") == []
    # renewal windows still fire while snoozed: 30 days before renewal is day 15
    windows = by_account(stream_alerts(r), kind="renewal_window").get("declining", [])
    assert [(a["window"], a["ts"]) for a in windows] == \
        [(60, iso(T0 + 1)), (30, iso(T0 + 15 * DAY_MS))], summarize(windows)
    now = account(d, "declining", headers={})["as_of"]

    st, doc = snooze(d, "declining", method="DELETE", headers={})
    assert st == 200, (st, doc)
    assert doc["snoozed_until"] is None and doc["band"] == "at_risk", doc
    got = band_alerts(r, "declining")  # no waiting: durable when acknowledged
    assert [(a["band"], a["ts"]) for a in got] == [("at_risk", now)], summarize(got)

    st, doc = snooze(d, "declining", method="DELETE", headers={})
    assert st == 200, (st, doc)
    feed(r, d, between(evs, T0 + 16 * DAY_MS, T0 + 25 * DAY_MS))
    assert len(band_alerts(r, "declining")) == 1, summarize(stream_alerts(r))
    # a snooze while already alerted at the worst band: nothing more to tell
    st, _ = snooze(d, "declining", {"until": iso(T0 + 26 * DAY_MS)}, headers={})
    assert st == 200
    feed(r, d, ticker(T0 + 25 * DAY_MS, T0 + 28 * DAY_MS))
    assert len(band_alerts(r, "declining")) == 1, summarize(stream_alerts(r))
    assert account(d, "declining", headers={})["snoozed_until"] is None


def test_snooze_answered_only_once_committed(redis_server, daemon_factory):
    """The 200 of a snooze means it is in Redis: while Redis answers nothing
    (SIGSTOP), the request waits; once Redis is back it gets its 200."""
    r = redis_server.client()
    xadd_events(r, periodic("acct-1", T0, T0 + 2 * DAY_MS, SIX_H, 2))
    cfg = simple_config(redis_server.port, free_port())
    d = daemon_factory(cfg)
    d.wait_healthy()
    wait_consumed(r, EVENT_STREAMS, daemon=d)
    got = {}

    def post():
        got["answer"] = snooze(d, "acct-1", {"until": iso(T0 + 20 * DAY_MS)}, headers={})

    os.kill(redis_server.proc.pid, signal.SIGSTOP)
    try:
        t = threading.Thread(target=post, daemon=True)
        t.start()
        settle(0.6)  # shorter than the lease (2 s): the daemon stays active
        assert "answer" not in got, "answered before the commit could land: %r" % (got,)
    finally:
        os.kill(redis_server.proc.pid, signal.SIGCONT)
    t.join(60)
    assert got.get("answer", (None,))[0] == 200, got
    assert got["answer"][1]["snoozed_until"] == iso(T0 + 20 * DAY_MS)
    assert account(d, "acct-1", headers={})["snoozed_until"] == iso(T0 + 20 * DAY_MS)


# ---------------------------------------------------------------------------
# the API's refusals


def test_snooze_api_refusals(redis_server, daemon_factory):
    """401 without or with a wrong token, 403 on a standby, 400 with a reason
    for bad bodies, 404 for an unknown account, 413 for a large body, 405 for
    a GET; the limit of 365 days is exact; nothing is written by a refusal.
    The snooze survives a standby takeover."""
    r = redis_server.client()
    evs = [meta(T0, "acct-1", name="Acme", renewal_date="2026-06-01")]
    evs += periodic("acct-1", T0, T0 + 5 * DAY_MS, SIX_H, 2)
    xadd_events(r, evs)
    cfg = simple_config(redis_server.port, free_port(), http={"token": TOKEN})
    d = daemon_factory(cfg)
    d.wait_healthy()
    wait_consumed(r, EVENT_STREAMS, daemon=d)
    now = T0 + 5 * DAY_MS - SIX_H
    assert account(d, "acct-1")["as_of"] == iso(now)
    good = {"until": iso(now + DAY_MS)}

    assert snooze(d, "acct-1", good, headers={})[0] == 401
    assert snooze(d, "acct-1", good, headers={"Authorization": "Bearer wrong"})[0] == 401
    assert snooze(d, "acct-1", method="DELETE", headers={})[0] == 401
    bad = [
        (None, b"{not json", "JSON"),
        (None, b"", "JSON"),
        (None, b"[1]", "object"),
        ({}, None, "until"),
        ({"until": None}, None, "until"),
        ({"until": 1780000000000}, None, "until"),
        ({"until": "tomorrow"}, None, "until"),
        ({"until": "2026-02-30"}, None, "until"),
        ({"until": iso(now)}, None, "after now"),
        ({"until": "2026-03-01"}, None, "after now"),
        ({"until": iso(now + 365 * DAY_MS + 1)}, None, "365"),
        ({"until": "2030-01-01"}, None, "365"),
        ({"until": good["until"], "reason": 7}, None, "reason"),
        ({"until": good["until"], "by": ["x"]}, None, "by"),
        ({"until": good["until"], "reason": "r" * 257}, None, "reason"),
        ({"until": good["until"], "colour": "blue"}, None, "colour"),
        (None, b'{"until": "2026-03-20", "until": "2026-03-21"}', "JSON"),
    ]
    for body, raw, word in bad:
        st, doc = snooze(d, "acct-1", body, raw=raw)
        assert st == 400, (body, raw, st, doc)
        assert word.lower() in doc["error"].lower(), (body, raw, doc)
    assert snooze(d, "nobody", good)[0] == 404
    assert snooze(d, "nobody", method="DELETE")[0] == 404
    assert snooze(d, "x" * 129, good)[0] == 400
    st, _ = snooze(d, "acct-1", raw=json.dumps({"until": good["until"],
                                                "reason": "r" * 6000}).encode())
    assert st == 413
    st, hdrs, _ = d.request("/v1/accounts/acct-1/snooze", headers=AUTH)
    assert st == 405 and "POST" in hdrs.get("allow", ""), (st, hdrs)
    st, hdrs, _ = d.request("/v1/accounts/acct-1", "POST", AUTH, b"{}")
    assert st == 405
    # nothing was written by any of them
    assert account(d, "acct-1")["snoozed_until"] is None
    assert snoozed_gauge(d) == 0

    # the limit is exact: 365 days after now is accepted, the 256-byte texts too
    st, doc = snooze(d, "acct-1", {"until": iso(now + 365 * DAY_MS), "reason": "r" * 256,
                                   "by": "ü" * 128})
    assert st == 200 and doc["snoozed_until"] == iso(now + 365 * DAY_MS), (st, doc)
    assert doc["snooze_reason"] == "r" * 256 and doc["snoozed_by"] == "ü" * 128

    # a standby refuses writes (403) and still asks for the token first
    cfg2 = simple_config(redis_server.port, free_port(), http={"token": TOKEN},
                         redis={"consumer": "standby", "batch": 1, "block": "100ms",
                                "lease": "2s"})
    sb = daemon_factory(cfg2, name="standby")
    wait_until(lambda: sb.get("/healthz")[1].strip() == "standby", timeout=60, what="standby")
    assert snooze(sb, "acct-1", good, headers={})[0] == 401
    st, doc = snooze(sb, "acct-1", good)
    assert st == 403 and "standby" in doc["error"], (st, doc)
    assert snooze(sb, "acct-1", method="DELETE")[0] == 403
    assert account(d, "acct-1")["snoozed_until"] == iso(now + 365 * DAY_MS)

    # the active one dies: the standby takes over with the snooze, and now writes
    d.kill9()
    sb.wait_healthy(timeout=60)
    doc = account(sb, "acct-1")
    assert doc["snoozed_until"] == iso(now + 365 * DAY_MS) and doc["snooze_reason"] == "r" * 256
    st, doc = snooze(sb, "acct-1", method="DELETE")
    assert st == 200 and doc["snoozed_until"] is None, (st, doc)


# ---------------------------------------------------------------------------
# band_change_within


def test_band_change_within_alerts_once_on_entering_the_horizon(redis_server, daemon_factory):
    """band_change_within = 30: `far` (renewal on day 60) falls to at_risk on
    about day 15 and says nothing until it enters the horizon at 00:00 of day
    30, then once; `near` (renewal on day 25) alerts as usual; `nodate` (no
    renewal date) always alerts.  Entering the horizon healthy says nothing."""
    evs = healthy_then_declining("far", T0, T0 + 10 * DAY_MS, T0 + 45 * DAY_MS)
    evs += healthy_then_declining("near", T0, T0 + 10 * DAY_MS, T0 + 45 * DAY_MS)
    evs += healthy_then_declining("nodate", T0, T0 + 10 * DAY_MS, T0 + 45 * DAY_MS)
    evs += periodic("fine", T0, T0 + 45 * DAY_MS, SIX_H, 2)
    evs.append(meta(T0 + 1, "far", renewal_date=date_of(T0 + 60 * DAY_MS)))
    evs.append(meta(T0 + 1, "near", renewal_date=date_of(T0 + 25 * DAY_MS)))
    evs.append(meta(T0 + 1, "fine", renewal_date=date_of(T0 + 40 * DAY_MS)))
    r = redis_server.client()
    cfg = simple_config(redis_server.port, free_port(),
                        alerts={"band_change_within": 30, "renewal_windows": []})
    d = daemon_factory(cfg)
    d.wait_healthy()
    feed(r, d, between(evs, 0, T0 + 29 * DAY_MS))
    assert account(d, "far", headers={})["band"] == "at_risk"
    assert band_alerts(r, "far") == [], summarize(stream_alerts(r))
    assert [a["band"] for a in band_alerts(r, "near")] == ["watch", "at_risk"] or \
        [a["band"] for a in band_alerts(r, "near")] == ["at_risk"], summarize(stream_alerts(r))
    near = [a["band"] for a in band_alerts(r, "near")]
    assert [a["band"] for a in band_alerts(r, "nodate")] == near

    feed(r, d, between(evs, T0 + 29 * DAY_MS, T0 + 45 * DAY_MS))
    got = band_alerts(r, "far")
    assert [(a["band"], a["ts"], a["days_to_renewal"]) for a in got] == \
        [("at_risk", iso(T0 + 30 * DAY_MS), 30)], summarize(stream_alerts(r))
    assert band_alerts(r, "fine") == []
    assert [a["band"] for a in band_alerts(r, "near")] == near


# ---------------------------------------------------------------------------
# digests


def digest_id(sink, start, end, recipient=""):
    """SPEC §4: stable, derived from sink, window and recipient (daemon/core/digest.c)."""
    raw = b"digest\0" + sink.encode() + b"\0" + str(start).encode() + b"\0" + \
        str(end).encode() + b"\0" + recipient.encode()
    return hashlib.sha256(raw).hexdigest()[:32]


def outbox_jobs(r):
    return {k: json.loads(v) for k, v in r.hgetall(OUTBOX).items()}


def in_window(alerts, start, end):
    return [a for a in alerts if start <= parse_rfc3339(a["ts"]) < end]


def test_webhook_digest_once_per_day_stable_across_kill9(redis_server, daemon_factory):
    """digest = 1d: the alerts of day D reach the webhook as ONE digest, most
    urgent first, with the id derived from sink and window.  The daemon is
    killed (-9) in the middle of the window (members only in Redis) and again
    after the digest was written but before the webhook accepted it (it
    answers 500 first): every request carries the same id and body, no alert
    is lost or doubled.  An event exactly at the next midnight belongs to the
    next window, which closes into its own digest."""
    D = day_start("2026-03-05")
    rec = HTTPReceiver(path_scripts={"/digest": [500, 500]}).start()
    try:
        r = redis_server.client()
        sink = webhook_sink(rec.url("/digest"), digest="1d")
        cfg = simple_config(redis_server.port, free_port(), sinks={"hook": sink})
        d = daemon_factory(cfg)
        d.wait_healthy()
        feed(r, d, [login(D + 9 * HOUR_MS, "a1", 0.1), login(D + 10 * HOUR_MS, "w1", 5.41)])
        members = [j for j in outbox_jobs(r).values() if j["sink"] == "hook"]
        assert sorted(j["account"] for j in members) == ["a1", "w1"], members
        assert {(j["digest"], j["digest_end"]) for j in members} == {(D, D + DAY_MS)}
        assert rec.snapshot(path="/digest") == []

        d.kill9()  # in the middle of the window
        d.start()
        d.wait_healthy()
        feed(r, d, [login(D + 15 * HOUR_MS, "a2", 0.1),
                    login(D + DAY_MS, "b1", 0.1)])  # exactly on the next window's start
        rec.wait_for(1, timeout=60, path="/digest")
        d.kill9()  # the digest is written, its delivery failed once
        d.start()
        d.wait_healthy()
        wait_until(lambda: not [k for k, j in outbox_jobs(r).items()
                                if j["sink"] == "hook" and "digest" not in j],
                   timeout=60, what="the digest delivered")
        reqs = rec.snapshot(path="/digest")
        want = digest_id("hook", D, D + DAY_MS)
        assert {q.header("X-Renewald-Alert-Id") for q in reqs} == {want}, reqs
        assert len({q.body for q in reqs}) == 1
        body = reqs[0].json()
        assert (body["kind"], body["id"]) == ("digest", want)
        assert (body["window_start"], body["window_end"]) == (iso(D), iso(D + DAY_MS))
        alerts = stream_alerts(r)
        day = in_window(alerts, D, D + DAY_MS)
        assert sorted(a["id"] for a in body["alerts"]) == sorted(a["id"] for a in day)
        assert [a["account"] for a in body["alerts"]] == ["a1", "a2", "w1"], body["alerts"]
        assert body["alerts"] == sorted(body["alerts"], key=lambda a: a["band"] != "at_risk")

        # the next window holds b1 (its event was at 00:00 exactly) and closes on its own
        feed(r, d, [login(D + 2 * DAY_MS, "ticker", 20)])
        rec.wait_for(len(reqs) + 1, timeout=60, path="/digest")
        # (w1, silent since day D, decays further at the sweep of D+2: a member of D+2)
        wait_until(lambda: not [j for j in outbox_jobs(r).values()
                                if j["sink"] == "hook" and j.get("digest", 0) < D + 2 * DAY_MS],
                   timeout=60, what="the hook's digests of D and D+1 delivered")
        last = rec.snapshot(path="/digest")[-1].json()
        assert last["id"] == digest_id("hook", D + DAY_MS, D + 2 * DAY_MS), last
        assert [a["account"] for a in last["alerts"]] == ["b1"], last
        ids = [q.header("X-Renewald-Alert-Id") for q in rec.snapshot(path="/digest")]
        assert set(ids) == {want, last["id"]}, ids
        assert dead_deliveries(r) == []
    finally:
        rec.stop()


def test_email_digest_one_message_per_owner(redis_server, daemon_factory, smtp_receiver):
    """digest = 1d, to = owner: one message per owner for the day, listing
    that owner's accounts (most urgent first); an account without owner goes
    to fallback_to in a digest of its own."""
    D = day_start("2026-03-05")
    r = redis_server.client()
    sink = {"type": "email", "smtp_url": smtp_receiver.url(), "tls": "none",
            "from": "renewald@example.com", "to": "owner", "fallback_to": "cs@example.com",
            "retry_initial": "100ms", "retry_max": "500ms", "digest": "1d",
            "digest_offset": "6h"}
    # min_history 1h: each account alerts once, with its band, when its onboarding ends
    cfg = simple_config(redis_server.port, free_port(), sinks={"mail": sink},
                        score={"min_history": "1h", "confirm": "0"})
    d = daemon_factory(cfg)
    d.wait_healthy()
    start = D + 6 * HOUR_MS  # windows start at 06:00 UTC
    evs = [meta(start, "a1", name="Alpha", owner="pat@acme.example"),
           meta(start, "a2", name="Beta", owner="pat@acme.example"),
           meta(start, "b1", name="Gamma", owner="lee@acme.example"),
           meta(start, "c1", name="Delta")]
    evs += [login(start + 60000, "a2", 5.41), login(start + 60000, "a1", 0.1),
            login(start + 60000, "b1", 0.1), login(start + 60000, "c1", 0.1),
            login(start + 3 * HOUR_MS, "ticker", 20)]
    feed(r, d, evs)
    feed(r, d, [login(start + DAY_MS, "ticker", 20)])
    msgs = smtp_receiver.wait_for(3, timeout=60)
    wait_until(lambda: not [j for j in outbox_jobs(r).values()
                            if j["sink"] == "mail" and j.get("digest", 0) < start + DAY_MS],
               timeout=60, what="mail delivered: %r" % (outbox_jobs(r),))
    msgs = smtp_receiver.snapshot()
    by_rcpt = {tuple(m.rcpt_tos): m for m in msgs}
    assert len(msgs) == 3 and set(by_rcpt) == {("pat@acme.example",), ("lee@acme.example",),
                                               ("cs@example.com",)}, msgs
    pat = by_rcpt[("pat@acme.example",)]
    assert pat.subject.startswith("[renewald] digest: 2 alerts"), pat.subject
    text = pat.text()
    assert text.index("Alpha") < text.index("Beta"), text  # at risk before watch
    assert "Gamma" not in text and "Delta" not in text
    assert "Gamma" in by_rcpt[("lee@acme.example",)].text()
    assert "Delta" in by_rcpt[("cs@example.com",)].text()
    ids = {m.message["message-id"] for m in msgs}
    assert len(ids) == 3
    assert digest_id("mail", start, start + DAY_MS, "pat@acme.example") in str(
        pat.message["message-id"])


def test_wall_clock_first_start_sends_one_slack_digest(redis_server, daemon_factory):
    """clock = wall, a first start on 30 days of history: the catch-up ends
    with one alerting sweep whose alerts reach Slack (an HTTP receiver stands
    in for it) as ONE message, not one per alert."""
    rec = HTTPReceiver().start()
    try:
        r = redis_server.client()
        now = int(time.time() * 1000)
        t0 = now - 30 * DAY_MS
        evs = []
        for k in range(12):
            acct = "acct-%02d" % k
            value = 2 if k % 3 == 0 else (0.05 if k % 3 == 1 else 0.6)
            evs += periodic(acct, t0 + k * 60000, now - 3 * HOUR_MS, SIX_H, value)
            evs.append(meta(t0 + 1, acct, name="Account %d" % k,
                            renewal_date=date_of(now + (20 + k) * DAY_MS)))
        xadd_events(r, sort_events(evs))
        sink = {"type": "slack", "url": rec.url("/slack"), "retry_initial": "100ms",
                "retry_max": "500ms"}
        cfg = simple_config(redis_server.port, free_port(), sinks={"slack": sink},
                            daemon={"clock": "wall", "sweep_interval": "1h"},
                            redis={"batch": 500, "block": "100ms", "lease": "2s"})
        d = daemon_factory(cfg)
        d.wait_healthy()
        wait_consumed(r, EVENT_STREAMS, daemon=d, timeout=180)
        alerts = wait_until(lambda: stream_alerts(r), timeout=60, what="alerts")
        assert len(alerts) >= 8, summarize(alerts)
        assert len({a["ts"] for a in alerts}) == 1, summarize(alerts)  # one sweep
        # the catch-up's end is kept with the state: a restart inside that sweep keeps
        # its alerts in the one digest
        assert int(r.hget("renewald:meta", "catch_up")) == parse_rfc3339(alerts[0]["ts"])
        rec.wait_for(1, timeout=60, path="/slack")
        wait_until(lambda: not [j for j in outbox_jobs(r).values() if j["sink"] == "slack"],
                   timeout=60, what="slack delivered")
        reqs = rec.snapshot(path="/slack")
        assert len(reqs) == 1, [q.json().get("text") for q in reqs]
        msg = reqs[0].json()
        assert "%d alerts" % len(alerts) in msg["text"], msg["text"]
        assert 3 <= len(msg["blocks"]) <= 50
        listed = [b for b in msg["blocks"] if b["type"] == "section"]
        assert len(listed) == len(alerts), msg["blocks"]
        assert "Account" in listed[0]["text"]["text"]
    finally:
        rec.stop()
