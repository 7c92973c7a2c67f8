"""Issue 16 acceptance, "quiet where it should be" (SPEC §3 snooze and
band_change_within, §7 POST/DELETE /v1/accounts/ID/snooze).

Every scenario runs under clock = event with batch = 1 (alerting.py's
simple_config), so `now` is the newest event time and everything is
deterministic; SIMPLE_SIGNALS: logins of 2 every 6 hours keep an account at
100, logins of 0.05 let it decay to at_risk within about five days."""

import json

from alerting import (DAY_MS, HOUR_MS, by_account, date_of, day_start, iso, login, meta,
                      periodic, simple_config, sort_events, stream_alerts, summarize,
                      xadd_events)
from conftest import EVENT_STREAMS, free_port, metric_value, parse_metrics, wait_consumed, \
    wait_until

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


# ---------------------------------------------------------------------------
# the API's refusals


def test_snooze_api_refusals(redis_server, daemon_factory):
    """401 without or with a wrong token, 403 on a standby, 400 with a reason
    for bad bodies, 404 for an unknown account, 413 for a large body, 405 for
    a GET; the limit of 365 days is exact; nothing is written by a refusal."""
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
