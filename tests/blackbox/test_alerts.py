"""Issue 5 acceptance, alert rules: band_change (worse only, confirm, sweeps for
silent accounts), renewal windows (once each, onboarding), routes and the log
sink (SPEC §2, §3, §4, §6).

Every scenario runs under clock = event with batch = 1, so each event is
evaluated at its own time and `now` advances deterministically with the
events; SIMPLE_SIGNALS (alerting.py) makes scores easy to steer."""

import json

import pytest

import model
from alerting import (DAY_MS, iso, HOUR_MS, SIMPLE_SIGNALS, by_account, date_of, day_start,
                      events_by_account, log_sink_alerts, login, meta, periodic,
                      request_alert_id, score_span_below, simulate_band_alerts,
                      simple_config, sort_events, stream_alerts, summarize, ticket,
                      wait_stream_alerts, webhook_sink, xadd_events, settle)
from apicheck import parse_rfc3339
from conftest import EVENT_STREAMS, free_port, wait_consumed, wait_until

T0 = day_start("2026-03-02")
SIX_H = 6 * HOUR_MS


def band_scenario():
    """Five accounts over 40 days of event time, logins every 6 hours:
    steady     -- always healthy: never alerts;
    declining  -- healthy, then a usage level in the watch zone (score ~50),
                  then almost nothing: alerts watch, then at_risk;
    silent     -- healthy, then no event at all after day 10: only sweeps
                  (driven by the other accounts' events) can see it decay;
    dip        -- one support ticket on day 20: score 0 for ~half a day, below
                  70 for ~1.1 days, shorter than confirm = 2d: never alerts;
    longdip    -- a ticket every 12 h for 3 days: below 70 for > 4 days:
                  alerts at_risk once (the control of `dip`)."""
    evs = []
    evs += periodic("steady", T0, T0 + 40 * DAY_MS, SIX_H, 2)
    evs += periodic("declining", T0, T0 + 10 * DAY_MS, SIX_H, 2)
    evs += periodic("declining", T0 + 10 * DAY_MS, T0 + 28 * DAY_MS, SIX_H, 0.45, first_value=None)
    evs += periodic("declining", T0 + 28 * DAY_MS, T0 + 40 * DAY_MS, SIX_H, 0.05,
                    first_value=None)
    evs += periodic("silent", T0, T0 + 10 * DAY_MS, SIX_H, 2)
    evs += periodic("dip", T0, T0 + 40 * DAY_MS, SIX_H, 2)
    evs.append(ticket(T0 + 20 * DAY_MS + 3 * HOUR_MS, "dip"))
    evs += periodic("longdip", T0, T0 + 40 * DAY_MS, SIX_H, 2)
    for k in range(7):
        evs.append(ticket(T0 + 20 * DAY_MS + 3 * HOUR_MS + k * 12 * HOUR_MS, "longdip"))
    return sort_events(evs)


# SPEC v2: a first alert after onboarding says previous_band "unknown"; a score
# that slides through watch waits there (confirm_at_risk) before at_risk; a
# crash below watch meets both waits at once and goes to at_risk directly.
EXPECTED_BAND_ALERTS = {
    "declining": [("watch", "unknown"), ("at_risk", "watch")],
    "silent": [("watch", "unknown"), ("at_risk", "watch")],
    "longdip": [("at_risk", "unknown")],
    "steady": [],
    "dip": [],
}


def test_band_change_alerts(redis_server, daemon_factory, http_receiver):
    """Declining alerts watch then at_risk, each once; a silent account alerts
    through sweeps; a steady account never alerts; a dip shorter than confirm
    never alerts.  Alerts are in `renewald:alerts` and at a webhook."""
    evs = band_scenario()
    per_acct = events_by_account(evs)
    signals = model.signals_from_config(SIMPLE_SIGNALS)

    # -- the scenario does what it says (reference model, not the daemon)
    times = sorted(set(e.ts for e in evs))
    sim = simulate_band_alerts(signals, per_acct, times)
    sim_by = {}
    for acct, t, band, prev in sim:
        sim_by.setdefault(acct, []).append((band, prev, t))
    for acct, want in EXPECTED_BAND_ALERTS.items():
        assert [(b, p) for b, p, _ in sim_by.get(acct, [])] == want, (acct, sim_by.get(acct))
    grid = list(range(T0 + 19 * DAY_MS, T0 + 23 * DAY_MS, HOUR_MS))
    span = score_span_below(signals, per_acct["dip"], grid, 40.0)
    assert span is not None, "scenario: dip never below the watch bound"
    span70 = score_span_below(signals, per_acct["dip"], grid, 70.0)
    assert DAY_MS // 2 <= span70[1] - span70[0] < 2 * DAY_MS - 6 * HOUR_MS, span70

    r = redis_server.client()
    hook = "/hook"
    cfg = simple_config(redis_server.port, free_port(), score={"confirm": "2d"},
                        sinks={"hook": webhook_sink(http_receiver.url(hook))})
    xadd_events(r, evs)
    d = daemon_factory(cfg)
    d.wait_healthy()
    wait_consumed(r, EVENT_STREAMS, daemon=d, timeout=180)

    alerts = stream_alerts(r)
    got = by_account(alerts)
    errs = []
    for acct, want in EXPECTED_BAND_ALERTS.items():
        mine = got.get(acct, [])
        if [(a.get("kind"), a.get("band"), a.get("previous_band")) for a in mine] != \
                [("band_change", b, p) for b, p in want]:
            errs.append("%s: want %r" % (acct, want))
            continue
        # when: as the reference predicts, within one 6-hour event step
        for a, (_b, _p, t_sim) in zip(mine, sim_by.get(acct, [])):
            t = parse_rfc3339(a["ts"])
            if abs(t - t_sim) > SIX_H:
                errs.append("%s: %s alert at %s, reference %s" % (
                    acct, a["band"], a["ts"], iso(t_sim)))
    unexpected = [a for a in alerts if a.get("account") not in EXPECTED_BAND_ALERTS]
    if unexpected:
        errs.append("alerts of unknown accounts")
    assert not errs, "%s\nalerts in the stream:\n%s\n--- log tail ---\n%s" % (
        "\n".join(errs), summarize(alerts), d.log_tail(30))

    # declining: watch strictly before at_risk
    dec = got["declining"]
    assert parse_rfc3339(dec[0]["ts"]) < parse_rfc3339(dec[1]["ts"])
    # silent: its alert came from a sweep, days after its last event
    last_silent = max(e.ts for e in evs if e.account == "silent")
    t_silent = parse_rfc3339(got["silent"][0]["ts"])
    assert t_silent >= last_silent + 4 * DAY_MS, summarize(got["silent"])
    # ids unique
    ids = [a["id"] for a in alerts]
    assert len(ids) == len(set(ids)), ids
    # every alert has the SPEC §3 keys
    for a in alerts:
        for k in ("id", "kind", "ts", "account", "name", "owner", "tier", "arr", "score",
                  "band", "previous_band", "signals", "renewal_date", "days_to_renewal"):
            assert k in a, (k, a)
        assert set(a["signals"]) == {"logins", "tickets"}, a["signals"]

    # -- the webhook got each alert (at least once), with the same body
    reqs = http_receiver.wait_for(len(alerts), timeout=60, path=hook)
    settle(1.0)
    reqs = http_receiver.snapshot(path=hook)
    got_ids = {}
    for q in reqs:
        got_ids.setdefault(request_alert_id(q), []).append(q.json())
    assert set(got_ids) == set(ids), (sorted(got_ids), sorted(ids))
    for a in alerts:
        assert got_ids[a["id"]][0] == a, (got_ids[a["id"]][0], a)
    assert len(reqs) == len(alerts), "duplicate deliveries without any failure: %r" % (
        [request_alert_id(q) for q in reqs],)


def renewal_scenario(R, min_history_zero):
    """Ticker and renew-a from R-120d (12-hourly logins, always healthy);
    renew-a has renewal_date R; renew-late first appears at R-20d 06:00."""
    T = R - 120 * DAY_MS
    iv = 12 * HOUR_MS
    evs = []
    evs += periodic("ticker", T, R + 2 * DAY_MS, iv, 4)
    evs += periodic("renew-a", T, R + 1 * DAY_MS, iv, 4)
    evs.append(meta(T + 1, "renew-a", name="Renew A", owner="a@example.com",
                    renewal_date=date_of(R)))
    late0 = R - 20 * DAY_MS + 6 * HOUR_MS
    evs += periodic("renew-late", late0, R + 1 * DAY_MS, iv, 4)
    evs.append(meta(late0 + 1, "renew-late", name="Renew Late", renewal_date=date_of(R)))
    return sort_events(evs)


@pytest.mark.parametrize("min_history", ["14d", "0"])
def test_renewal_windows(redis_server, daemon_factory, http_receiver, min_history):
    """90/60/30 fire once each as `now` advances; an account first seen 20 days
    before renewal gets only the 30-day alert: when onboarding ends (6 days
    before) with min_history = 14d, at first sight with min_history = 0."""
    R = day_start("2026-09-15")
    evs = renewal_scenario(R, min_history == "0")
    r = redis_server.client()
    hook = "/renewals"
    cfg = simple_config(redis_server.port, free_port(), score={"min_history": min_history},
                        sinks={"hook": webhook_sink(http_receiver.url(hook))})
    xadd_events(r, evs)
    d = daemon_factory(cfg)
    d.wait_healthy()
    wait_consumed(r, EVENT_STREAMS, daemon=d, timeout=180)

    alerts = stream_alerts(r)
    win = by_account(alerts, kind="renewal_window")
    ctx = "alerts:\n%s" % summarize(alerts)

    a = win.get("renew-a", [])
    assert [x.get("window") for x in a] == [90, 60, 30], ctx
    for x, w in zip(a, (90, 60, 30)):
        assert x["days_to_renewal"] == w, ctx
        assert x["renewal_date"] == date_of(R), ctx
        assert date_of(parse_rfc3339(x["ts"])) == date_of(R - w * DAY_MS), ctx
        assert x["account"] == "renew-a" and x["name"] == "Renew A", ctx
        assert x["owner"] == "a@example.com", ctx

    late = win.get("renew-late", [])
    assert [x.get("window") for x in late] == [30], ctx
    want_days = 6 if min_history == "14d" else 20
    assert late[0]["days_to_renewal"] == want_days, ctx
    assert late[0]["renewal_date"] == date_of(R), ctx
    assert "ticker" not in win, ctx
    # healthy accounts: no band alert either
    assert not by_account(alerts, kind="band_change"), ctx
    ids = [x["id"] for x in alerts]
    assert len(ids) == len(set(ids)), ctx

    # delivered to the webhook
    http_receiver.wait_for(len(alerts), timeout=60, path=hook)
    settle(0.5)
    got = {request_alert_id(q) for q in http_receiver.snapshot(path=hook)}
    assert got == set(ids), (got, ids)


def test_routes_and_log_sink(redis_server, daemon_factory, http_receiver):
    """An alert goes only to the sinks of the routes it matches; a `log` sink
    prints the alert JSON (one line per alert)."""
    t = day_start("2026-05-04") + 10 * HOUR_MS
    evs = [
        login(t, "risky", 0.1),                    # S = 0: at_risk at first sight
        login(t + 1000, "meh", 5.41),               # x = 1.875: S = 55: watch
        login(t + 2000, "renewing", 20),            # healthy ...
        meta(t + 3000, "renewing", renewal_date=date_of(t + 10 * DAY_MS)),  # ... window 30
        login(t + 4000, "fine", 20),                # healthy: nothing
    ]
    r = redis_server.client()
    sinks = {
        "a": webhook_sink(http_receiver.url("/a")),
        "b": webhook_sink(http_receiver.url("/b")),
        "c": webhook_sink(http_receiver.url("/c")),
    }
    routes = {
        "risk": {"kinds": "band_change", "bands": "at_risk", "sinks": "a"},
        "renew": {"kinds": "renewal_window", "sinks": "b"},
        "watchers": {"bands": ["watch"], "sinks": ["a", "c"]},
        "everything": {"sinks": "log"},
    }
    cfg = simple_config(redis_server.port, free_port(), sinks=sinks, routes=routes,
                        daemon={"log_format": "json"})
    xadd_events(r, evs)
    d = daemon_factory(cfg)
    d.wait_healthy()
    wait_consumed(r, EVENT_STREAMS, daemon=d)
    alerts = wait_stream_alerts(r, 3, daemon=d)
    settle(1.0)
    alerts = stream_alerts(r)
    ctx = summarize(alerts)
    assert len(alerts) == 3, ctx
    by = {a["account"]: a for a in alerts}
    assert set(by) == {"risky", "meh", "renewing"}, ctx
    assert (by["risky"]["kind"], by["risky"]["band"]) == ("band_change", "at_risk"), ctx
    assert (by["meh"]["kind"], by["meh"]["band"]) == ("band_change", "watch"), ctx
    assert (by["renewing"]["kind"], by["renewing"]["window"]) == ("renewal_window", 30), ctx

    want = {
        "/a": {by["risky"]["id"], by["meh"]["id"]},
        "/b": {by["renewing"]["id"]},
        "/c": {by["meh"]["id"]},
    }
    for path, ids in want.items():
        http_receiver.wait_for(len(ids), timeout=30, path=path)
    settle(1.5)
    for path, ids in want.items():
        got = [request_alert_id(q) for q in http_receiver.snapshot(path=path)]
        assert sorted(got) == sorted(ids), (path, got, ids, ctx)
    other = [q.path for q in http_receiver.snapshot() if q.path not in want]
    assert not other, other

    # the log sink: every alert, once, as the JSON of the alert
    def logged():
        return log_sink_alerts(d.log_text())

    wait_until(lambda: len(logged()) >= 3, timeout=30, what="3 alerts printed by the log sink")
    printed = logged()
    assert sorted(p["id"] for p in printed) == sorted(a["id"] for a in alerts), (
        printed, d.log_tail(40))
    for p in printed:
        assert p == next(a for a in alerts if a["id"] == p["id"])
    # log_format = json: each such line is one JSON document whose "alert" is the alert object
    lines = [ln for ln in d.log_text().splitlines() if by["risky"]["id"] in ln
             and '"msg":"alert"' in ln]
    assert lines, d.log_tail(40)
    for ln in lines:
        obj = json.loads(ln)
        assert obj["msg"] == "alert" and obj["alert"]["id"] == by["risky"]["id"], ln
