"""Issue 15 acceptance: what the renewal team sees (SPEC §3, §4, §7).

- the daily score history (`<prefix>history:YYYY-MM-DD`, GET /v1/accounts/ID/history):
  every entry equals an independent computation (model.py) of the account's score at the
  first sweep of its day; days beyond `[score] history` are trimmed from Redis; the
  deltas (worklist, account document) and the alerts' score_7d come from it;
- the worklist's filters, sorts, paging and totals against an independent filter of the
  account documents;
- /v1/summary's sums, and renewald_arr{band} equal to them;
- the Slack and e-mail messages: the fields a person needs, escaping, Block Kit limits.

Everything runs under clock = event: `now` follows the events, so the first sweep of each
day is known (a "ticker" account logs in at 00:20 every day: the sweep at 00:00 runs then)."""

import datetime
import json
import math
import re
import urllib.parse

import pytest

import model
from alerting import (DAY_MS, HOUR_MS, SIMPLE_SIGNALS, Ev, login, meta, simple_config,
                      sort_events, stream_alerts, ticket, wait_outbox_empty, xadd_events,
                      day_start, date_of)
from conftest import (EVENT_STREAMS, free_port, metric_value, parse_metrics, wait_consumed,
                      wait_until)

T0 = day_start("2026-03-02")
DAYS = 26          # days of events; the last one is "today"
KEEP = 10          # [score] history = 10d: today and the 10 days before it stay
SIGNALS = model.signals_from_config(SIMPLE_SIGNALS)


def tenths(s):
    """The daemon's rounding of a score to one decimal (half away from zero)."""
    return None if s is None else int(math.floor(s * 10 + 0.5))


def history_book():
    """Accounts with different courses over DAYS days, starting on different days."""
    evs = []
    for d in range(DAYS + 1):
        evs.append(login(T0 + d * DAY_MS + 20 * 60 * 1000, "ticker", 3))
    # steady: 2 logins a day, a full rate from the start.
    for d in range(DAYS):
        for h in (9, 15):
            evs.append(login(T0 + d * DAY_MS + h * HOUR_MS, "steady", 1))
    # fading: busy for 8 days, then less and less, then nothing.
    for d in range(DAYS):
        n = 4 if d < 8 else (2 if d < 14 else (1 if d < 18 else 0))
        for k in range(n):
            evs.append(login(T0 + d * DAY_MS + (8 + 3 * k) * HOUR_MS + 7 * 60 * 1000, "fading", 1))
    # late: first seen on day 12 (no history before), tickets on days 20 and 21.
    for d in range(12, DAYS):
        evs.append(login(T0 + d * DAY_MS + 11 * HOUR_MS, "late", 3))
    evs.append(ticket(T0 + 20 * DAY_MS + 13 * HOUR_MS, "late"))
    evs.append(ticket(T0 + 21 * DAY_MS + 2 * HOUR_MS, "late"))
    # rising: little at first, more later.
    for d in range(DAYS):
        n = 1 if d < 10 else 4
        for k in range(n):
            evs.append(login(T0 + d * DAY_MS + (10 + 2 * k) * HOUR_MS + 30 * 60 * 1000, "rising",
                             0.5 if d < 10 else 1))
    return sort_events(evs)


def history_config(redis_port, http_port, **kw):
    # confirm 0, hysteresis 0, min_history 0: a band is that of the rounded score, so the
    # model gives it too.
    return simple_config(redis_port, http_port,
                         score={"min_history": "0", "confirm": "0", "hysteresis": 0,
                                "history": "%dd" % KEEP},
                         redis={"batch": 50}, **kw)


def model_entry(by_acct, account, day):
    """(tenths or None, band) at the first sweep of DAY (00:00), or None before the account."""
    t = T0 + day * DAY_MS
    evs = [e for e in by_acct[account] if e[0] < t]
    if not evs:
        return None
    s = model.account_eval(SIGNALS, evs, t)[0]
    tt = tenths(s)
    return tt, model.band_of_score(None if tt is None else tt / 10.0)


def near_bound(tt):
    return tt is not None and any(abs(tt - b * 10) <= 1 for b in (40, 70))


@pytest.fixture
def history_daemon(redis_server, daemon_factory):
    r = redis_server.client()
    evs = history_book()
    xadd_events(r, evs)
    d = daemon_factory(history_config(redis_server.port, free_port()))
    d.wait_healthy()
    wait_consumed(r, EVENT_STREAMS, daemon=d)
    by_acct = {}
    for e in evs:
        by_acct.setdefault(e.account, []).append(e.model_tuple())
    return d, r, by_acct


def test_history_equals_the_model_at_each_days_first_sweep(history_daemon):
    d, r, by_acct = history_daemon
    today = DAYS  # the ticker's last login is on day DAYS at 00:20
    checked = 0
    for account in sorted(by_acct):
        st, h = d.get("/v1/accounts/%s/history" % account)
        assert st == 200, (st, h)
        assert h["account"] == account
        got = {x["date"]: x for x in h["days"]}
        dates = [x["date"] for x in h["days"]]
        assert dates == sorted(dates), "not oldest first: %r" % dates
        want_dates = []
        for day in range(today - KEEP, today + 1):
            want = model_entry(by_acct, account, day)
            date = date_of(T0 + day * DAY_MS)
            if want is None:
                assert date not in got, "%s has an entry on %s, before its first event" % (
                    account, date)
                continue
            want_dates.append(date)
            assert date in got, "%s: no entry on %s (got %r)" % (account, date, dates)
            wt, wband = want
            gs = got[date]["score"]
            assert (gs is None) == (wt is None), (account, date, gs, wt)
            if wt is not None:
                assert abs(round(gs * 10) - wt) <= 1, "%s %s: score %s, model %.1f" % (
                    account, date, gs, wt / 10)
            if not near_bound(wt):
                assert got[date]["band"] == wband, (account, date, got[date], wband)
            checked += 1
        assert dates == want_dates, (account, dates, want_dates)
    assert checked >= 45, checked
    # Trimmed as it ages: the day keys before today - KEEP are gone, the others are there.
    keys = sorted(k for k in r.scan_iter("renewald:history:*", count=1000))
    want_keys = ["renewald:history:" + date_of(T0 + day * DAY_MS)
                 for day in range(today - KEEP, today + 1)]
    assert keys == want_keys, keys


def test_deltas_and_alerts_come_from_the_history(history_daemon):
    d, r, by_acct = history_daemon
    today = DAYS
    st, wl = d.get("/v1/accounts?limit=100")
    assert st == 200
    rows = {x["account"]: x for x in wl["accounts"]}
    for account in sorted(by_acct):
        st, doc = d.get("/v1/accounts/" + account)
        assert st == 200
        now_e = model_entry(by_acct, account, today)
        for days, key in ((7, "delta_7d"), (30, "delta_30d")):
            then = model_entry(by_acct, account, today - days)
            if now_e is None or then is None or now_e[0] is None or then[0] is None:
                assert doc[key] is None and rows[account][key] is None, (account, key, doc[key])
                continue
            want = (now_e[0] - then[0]) / 10.0
            assert doc[key] is not None and abs(doc[key] - want) <= 0.2, (account, key,
                                                                           doc[key], want)
            assert rows[account][key] == doc[key], (account, key)
    # 30 days back is before the book: no delta_30d for anyone.
    assert all(x["delta_30d"] is None for x in rows.values())
    # Sorted by the biggest 7-day drop first.
    st, wl = d.get("/v1/accounts?sort=delta_7d&limit=100")
    got = [x["account"] for x in wl["accounts"]]
    keyed = [x for x in wl["accounts"] if x["delta_7d"] is not None]
    assert [x["delta_7d"] for x in keyed] == sorted(x["delta_7d"] for x in keyed)
    assert got[:len(keyed)] == [x["account"] for x in keyed]
    assert "fading" == got[0], got
    # Alerts: score_7d and score_30d are the daily scores 7 and 30 days before ts.
    alerts = stream_alerts(r)
    assert any(a["account"] == "fading" for a in alerts), alerts
    n7 = 0
    for a in alerts:
        ts = int(datetime.datetime.fromisoformat(a["ts"].replace("Z", "+00:00")).timestamp()
                 * 1000)
        day = (ts - T0) // DAY_MS
        for back, key in ((7, "score_7d"), (30, "score_30d")):
            want = model_entry(by_acct, a["account"], day - back) if day - back >= 0 else None
            if want is None or want[0] is None:
                assert a[key] is None, (a, key)
            else:
                assert a[key] is not None and abs(round(a[key] * 10) - want[0]) <= 1, (a, key,
                                                                                      want)
                n7 += 1
    assert n7 >= 1, "no alert with a score 7 days before it"


def test_history_errors(history_daemon):
    d, r, _ = history_daemon
    assert d.get("/v1/accounts/nobody/history")[0] == 404
    assert d.get("/v1/accounts/%s/history" % ("x" * 129))[0] == 400
    assert d.get("/v1/accounts/steady/bogus")[0] == 404
    assert d.get("/v1/accounts/steady/history/x")[0] == 404


def test_history_none_kept(redis_server, daemon_factory):
    """[score] history = 0s: no day key is written, the history is empty, no deltas."""
    r = redis_server.client()
    evs = [e for e in history_book() if e.ts < T0 + 9 * DAY_MS]
    xadd_events(r, evs)
    cfg = history_config(redis_server.port, free_port())
    cfg["score"]["history"] = "0s"
    d = daemon_factory(cfg)
    d.wait_healthy()
    wait_consumed(r, EVENT_STREAMS, daemon=d)
    assert list(r.scan_iter("renewald:history:*")) == []
    st, h = d.get("/v1/accounts/steady/history")
    assert st == 200 and h == {"account": "steady", "days": []}, h
    assert d.get("/v1/accounts/steady")[1]["delta_7d"] is None


# ---------------------------------------------------------------------------
# worklist and summary against the account documents

OWNERS = ["ana@example.com", "bo@example.com", "cy@example.com"]
TIERS = ["enterprise", "business", "starter"]


def book_accounts():
    """40 accounts: owners, tiers, ARRs (some unknown, some equal), renewal dates
    (some none, some past, several in one month), login levels spread over the bands."""
    end = T0 + 20 * DAY_MS
    evs = []
    for i in range(40):
        acct = "a%02d" % i
        kw = {"name": "Account %d" % i, "owner": OWNERS[i % 3], "tier": TIERS[(i // 3) % 3]}
        if i % 7 != 3:
            kw["arr"] = [5000, 120000, 1500000, 60000, 5000][i % 5] + (i % 4) * 0.25
        if i % 5 != 4:
            kw["renewal_date"] = date_of(end + (i * 17 % 400 - 30) * DAY_MS)
        evs.append(meta(T0, acct, **kw))
        level = [0.2, 0.8, 1.5, 2.5, 4.0][i % 5] * (1 + (i % 3) * 0.1)
        t = T0 + HOUR_MS
        while t < end:
            evs.append(login(t, acct, level / 2))
            t += 12 * HOUR_MS
        if i % 6 == 5:
            evs.append(ticket(end - 3 * HOUR_MS, acct))
    evs.append(login(end, "a00", 0.1))
    return sort_events(evs)


@pytest.fixture
def book_daemon(redis_server, daemon_factory):
    r = redis_server.client()
    evs = book_accounts()
    xadd_events(r, evs)
    d = daemon_factory(simple_config(redis_server.port, free_port(), redis={"batch": 200},
                                     score={"min_history": "3d", "confirm": "1d"}))
    d.wait_healthy()
    wait_consumed(r, EVENT_STREAMS, daemon=d)
    ids = sorted({e.account for e in evs})

    def docs_match_worklist():
        docs = {a: d.get("/v1/accounts/" + a)[1] for a in ids}
        wl = d.get("/v1/accounts?limit=10000")[1]
        rows = {x["account"]: x for x in wl["accounts"]}
        # The stored scores (the worklist's) are brought to now when the daemon is idle.
        return docs if all(rows[a]["score"] == docs[a]["score"] for a in ids) else None

    docs = wait_until(docs_match_worklist, timeout=60, what="worklist scores at now")
    return d, r, docs


def _key(doc, sort):
    """The SPEC §7 order: the sort key (missing last), then lower score, higher ARR, id."""
    def missing_last(v):
        return (v is None, v if v is not None else 0)

    if sort == "score":
        k = missing_last(doc["score"])
    elif sort == "days_to_renewal":
        k = missing_last(doc["days_to_renewal"])
    elif sort == "arr":
        k = missing_last(None if doc["arr"] is None else -doc["arr"])
    else:
        k = missing_last(doc["delta_7d"])
    score = missing_last(doc["score"])
    arr = missing_last(None if doc["arr"] is None else -doc["arr"])
    return (k, score, arr, doc["account"].encode())


def reference(docs, q):
    out = []
    for doc in docs.values():
        if "band" in q and doc["band"] not in q["band"].split(","):
            continue
        if "within_days" in q:
            dtr = doc["days_to_renewal"]
            if dtr is None or not 0 <= dtr <= int(q["within_days"]):
                continue
        if "owner" in q and doc["owner"] != q["owner"]:
            continue
        if "tier" in q and doc["tier"] != q["tier"]:
            continue
        if "min_arr" in q and (doc["arr"] is None or doc["arr"] < float(q["min_arr"])):
            continue
        if "snoozed" in q and (doc["snoozed_until"] is not None) != (q["snoozed"] == "true"):
            continue
        out.append(doc)
    out.sort(key=lambda x: _key(x, q.get("sort", "score")))
    return out


QUERIES = [
    {},
    {"sort": "days_to_renewal"},
    {"sort": "arr"},
    {"sort": "delta_7d"},
    {"band": "at_risk,watch"},
    {"band": "healthy", "sort": "arr"},
    {"within_days": "90", "sort": "days_to_renewal"},
    {"within_days": "0"},
    {"owner": "bo@example.com", "sort": "arr"},
    {"tier": "enterprise", "band": "watch,at_risk,unknown"},
    {"min_arr": "60000", "sort": "days_to_renewal"},
    {"min_arr": "120000.25"},
    {"snoozed": "false", "sort": "arr"},
    {"snoozed": "true"},
    {"owner": "ana@example.com", "tier": "business", "min_arr": "1", "within_days": "400"},
    {"owner": "nobody@example.com"},
]


@pytest.mark.parametrize("limit,offset", [(100, 0), (7, 0), (7, 7), (5, 30), (3, 1000)])
def test_worklist_against_the_documents(book_daemon, limit, offset):
    d, r, docs = book_daemon
    bands = {doc["band"] for doc in docs.values()}
    assert {"healthy", "watch", "at_risk"} <= bands, bands
    for q in QUERIES:
        want = reference(docs, q)
        params = dict(q, limit=str(limit), offset=str(offset))
        st, wl = d.get("/v1/accounts?" + urllib.parse.urlencode(params))
        assert st == 200, (q, wl)
        got = [x["account"] for x in wl["accounts"]]
        assert got == [x["account"] for x in want[offset:offset + limit]], (q, got)
        assert wl["total"] == len(want), (q, wl["total"], len(want))
        assert abs(wl["arr_total"] - sum(x["arr"] or 0 for x in want)) < 0.01, q
        for row in wl["accounts"]:
            doc = docs[row["account"]]
            for k in ("name", "owner", "tier", "arr", "score", "band", "renewal_date",
                      "days_to_renewal", "delta_7d", "delta_30d", "snoozed_until"):
                assert row[k] == doc[k], (q, row["account"], k, row[k], doc[k])


def test_worklist_bad_parameters(book_daemon):
    d, _, _ = book_daemon
    for q in ("sort=name", "limit=0", "limit=10001", "offset=-1", "within_days=x",
              "min_arr=-5", "snoozed=maybe", "band=red", "colour=blue"):
        st, body = d.get("/v1/accounts?" + q)
        assert st == 400 and body["error"], (q, st, body)


def _summary_reference(docs, within):
    acc = {b: 0 for b in ("unknown", "healthy", "watch", "at_risk")}
    arr = dict.fromkeys(acc, 0)
    months = {}
    for doc in docs.values():
        cents = 0 if doc["arr"] is None else int(math.floor(doc["arr"] * 100 + 0.5))
        acc[doc["band"]] += 1
        arr[doc["band"]] += cents
        dtr = doc["days_to_renewal"]
        if dtr is not None and 0 <= dtr <= within:
            m = months.setdefault(doc["renewal_date"][:7],
                                  {"accounts": dict.fromkeys(acc, 0), "arr": dict.fromkeys(acc, 0)})
            m["accounts"][doc["band"]] += 1
            m["arr"][doc["band"]] += cents
    return acc, arr, months


def test_summary_sums_and_the_arr_metric(book_daemon):
    d, r, docs = book_daemon
    for within in (None, 30, 90, 400, 0):
        path = "/v1/summary" + ("" if within is None else "?within_days=%d" % within)
        st, s = d.get(path)
        assert st == 200, (path, s)
        w = 365 if within is None else within
        assert s["within_days"] == w
        acc, arr, months = _summary_reference(docs, w)
        assert s["accounts"] == acc, (s["accounts"], acc)
        assert {b: round(v * 100) for b, v in s["arr"].items()} == arr, (s["arr"], arr)
        got_months = [m["month"] for m in s["renewals"]]
        assert got_months == sorted(months), (got_months, sorted(months))
        for m in s["renewals"]:
            want = months[m["month"]]
            assert m["accounts"] == want["accounts"], (m, want)
            assert {b: round(v * 100) for b, v in m["arr"].items()} == want["arr"], (m, want)
    assert len(d.get("/v1/summary?within_days=400")[1]["renewals"]) >= 10
    assert d.get("/v1/summary?within_days=3661")[0] == 400
    assert d.get("/v1/summary?band=watch")[0] == 400
    # renewald_arr{band} and renewald_accounts{band} are the summary's figures.
    s = d.get("/v1/summary")[1]
    samples = parse_metrics(d.metrics())
    for b in s["arr"]:
        assert metric_value(samples, "renewald_arr", band=b) == s["arr"][b], b
        assert metric_value(samples, "renewald_accounts", band=b) == s["accounts"][b], b


def test_arr_follows_metadata_and_bands(redis_server, daemon_factory):
    """The running ARR totals move with every ARR change (set, changed, cleared) and
    every band change, and survive a restart (rebuilt from the records)."""
    r = redis_server.client()
    evs = [meta(T0, "x", arr=1000.5), login(T0 + 1, "x", 20), meta(T0, "y", arr=99.99),
           login(T0 + 2, "y", 20)]
    xadd_events(r, sort_events(evs))
    cfg = simple_config(redis_server.port, free_port())
    d = daemon_factory(cfg)
    d.wait_healthy()
    wait_consumed(r, EVENT_STREAMS, daemon=d)

    def arr():
        return d.get("/v1/summary")[1]["arr"]

    assert arr() == {"unknown": 0, "healthy": 1100.49, "watch": 0, "at_risk": 0}
    xadd_events(r, [meta(T0 + HOUR_MS, "x", arr=2000), meta(T0 + HOUR_MS, "y", arr=None),
                    ticket(T0 + HOUR_MS + 1, "x")])
    wait_consumed(r, EVENT_STREAMS, daemon=d)
    assert arr() == {"unknown": 0, "healthy": 0, "watch": 0, "at_risk": 2000}
    d.stop()
    d2 = daemon_factory(cfg)
    d2.wait_healthy()
    assert d2.get("/v1/summary")[1]["arr"] == {"unknown": 0, "healthy": 0, "watch": 0,
                                               "at_risk": 2000}
    samples = parse_metrics(d2.metrics())
    assert metric_value(samples, "renewald_arr", band="at_risk") == 2000


# ---------------------------------------------------------------------------
# Slack and e-mail: a person reads them in five seconds

NASTY = "<!channel> *Big* _Deal_ & `Co` ~x~ <@U123|boss> :fire:"
LONG = "Enormous Holdings " + "Worldwide " * 23  # 248 bytes: a name may have 256


def _texts(payload):
    """(kind, text) of every text object of a Block Kit payload."""
    out = []
    for b in payload["blocks"]:
        if "text" in b:
            out.append((b["type"], b["text"]))
        for f in b.get("fields", []):
            out.append((b["type"], f))
        for e in b.get("elements", []):
            if "text" in e:
                out.append((b["type"], e))
    return out


def test_slack_and_email_messages(redis_server, daemon_factory, http_receiver, smtp_receiver):
    r = redis_server.client()
    sinks = {
        "slack": {"type": "slack", "url": http_receiver.url("/slack"), "rate": "0",
                  "retry_initial": "100ms"},
        "mail": {"type": "email", "smtp_url": smtp_receiver.url(), "tls": "none",
                 "from": "renewald@example.com", "to": "owner", "fallback_to": "cs@example.com",
                 "retry_initial": "100ms"},
    }
    cfg = simple_config(redis_server.port, free_port(), sinks=sinks, keep_log_sink=False,
                        alerts={"account_url": "https://crm.example.com/accounts/{account}",
                                "renewal_windows": ""},
                        score={"min_history": "0", "confirm": "0", "hysteresis": 0})
    end = T0 + 16 * DAY_MS
    renewal = date_of(end + 45 * DAY_MS)
    evs = [meta(T0, "acme/42", name="Acme Corp", owner="pat@acme.example", tier="enterprise",
                arr=1500000, renewal_date=renewal),
           meta(T0, "nasty", name=NASTY, owner="ops@nasty.example", arr=6200),
           meta(T0, "long-name-id-7", name=LONG, arr=250000)]
    # Healthy for 10 days, then nothing: the score decays below 70, then below 40.
    for acct in ("acme/42", "nasty", "long-name-id-7"):
        t = T0 + HOUR_MS
        while t < T0 + 8 * DAY_MS:
            evs.append(login(t, acct, 2))
            t += 6 * HOUR_MS
    # A new account whose first score is bad: at risk at once, straight from unknown.
    evs += [meta(T0 + 10 * DAY_MS, "newbie", name="Newbie Ltd", owner="new@newbie.example"),
            login(T0 + 10 * DAY_MS + HOUR_MS, "newbie", 0.1)]
    # A ticker keeps `now` moving (and sweeps going) without touching them.
    t = T0
    while t <= end:
        evs.append(login(t, "ticker", 3))
        t += 6 * HOUR_MS
    xadd_events(r, sort_events(evs))
    d = daemon_factory(cfg)
    d.wait_healthy()
    wait_consumed(r, EVENT_STREAMS, daemon=d)
    alerts = stream_alerts(r)
    at_risk = {a["account"]: a for a in alerts if a["band"] == "at_risk" and a["account"] != "ticker"}
    assert set(at_risk) == {"acme/42", "nasty", "long-name-id-7", "newbie"}, alerts
    wait_outbox_empty(r, timeout=60)
    posts = http_receiver.snapshot("/slack")
    mails = smtp_receiver.snapshot()
    assert len(posts) == len(alerts) and len(mails) == len(alerts), (len(posts), len(mails))

    by_id = {}
    for p in posts:
        body = p.json()
        m = re.search(r"alert ([0-9a-f]{12})", json.dumps(body))
        by_id[m.group(1)] = body
    for a in alerts:
        body = by_id[a["id"][:12]]
        # Block Kit limits.
        blocks = body["blocks"]
        assert 1 <= len(blocks) <= 50
        assert blocks[0]["type"] == "header" and blocks[0]["text"]["type"] == "plain_text"
        assert len(blocks[0]["text"]["text"]) <= 150
        for b in blocks:
            assert len(b.get("fields", [])) <= 10
        for kind, t in _texts(body):
            assert len(t["text"]) <= 3000
            if kind != "header":
                assert t["type"] == "mrkdwn" and t["verbatim"] is True
                # Nothing from a name becomes a mention, a link or a style.
                assert "<!" not in t["text"] and "<@" not in t["text"], t["text"]
        flat = "\n".join(t["text"] for _, t in _texts(body)) + "\n" + body["text"]
        # The band (and previous band, or "new account"), the score and its week.
        if a["previous_band"] == "unknown":
            assert "(new account)" in flat
        else:
            assert "(was %s)" % a["previous_band"].replace("_", " ") in flat, flat
        assert "score *%.1f*" % a["score"] in flat, flat
        if a["score_7d"] is not None:
            change = a["score"] - a["score_7d"]
            arrow = "▼" if change < 0 else "▲" if change > 0 else "±"
            assert "%s %.1f in 7 days" % (arrow, abs(change)) in flat, flat
        else:
            assert "no score 7 days ago" in flat
        # Drivers with readable values and units; the link with the encoded id.
        for drv in a["drivers"]:
            assert "• *%s* " % drv in flat, flat
        if a["drivers"]:
            assert "per day" in flat, flat
        assert "<https://crm.example.com/accounts/%s|" % urllib.parse.quote(a["account"],
                                                                            safe="") in flat
    acme = by_id[at_risk["acme/42"]["id"][:12]]
    flat = json.dumps(acme, ensure_ascii=False)
    assert acme["blocks"][0]["text"]["text"] == "🔴 Acme Corp (acme/42)"
    assert "1.5M" in flat and "pat@acme.example" in flat and "enterprise" in flat
    assert "%s (in " % renewal in flat
    assert "acme%2F42" in flat
    nasty = by_id[at_risk["nasty"]["id"][:12]]
    assert "&lt;!channel&gt;" in nasty["text"]
    assert "\u200b*\u200bBig\u200b*\u200b" in nasty["text"]
    assert "6,200" in json.dumps(nasty, ensure_ascii=False)
    newbie = by_id[at_risk["newbie"]["id"][:12]]
    assert "is now at risk (new account)" in newbie["text"], newbie["text"]
    assert "no score 7 days ago" in newbie["text"]
    long = by_id[at_risk["long-name-id-7"]["id"][:12]]
    header = long["blocks"][0]["text"]["text"]
    assert len(header) == 150 and header.endswith("… (long-name-id-7)"), header

    # E-mail: the subject names the account and says what happened; the body has it all.
    mail_by_id = {}
    for m in mails:
        mm = re.search(r"alert ([0-9a-f]{32})", m.text())
        mail_by_id[mm.group(1)] = m
    m = mail_by_id[at_risk["acme/42"]["id"]]
    assert m.rcpt_tos == ["pat@acme.example"]
    assert m.subject.startswith("[renewald] Acme Corp (acme/42): at risk (was "), m.subject
    body = m.text()
    assert "Acme Corp (acme/42) is now at risk" in body
    for field in ("Score:", "Renewal:   %s, in " % renewal, "ARR:       1,500,000",
                  "Owner:     pat@acme.example", "Tier:      enterprise",
                  "What pulls the score down:", "  - logins ",
                  "Open the account: https://crm.example.com/accounts/acme%2F42"):
        assert field in body, (field, body)
    assert re.search(r"  - logins [0-9.]+ per day \(signal score [0-9.]+ of 100\)", body), body
    m = mail_by_id[at_risk["nasty"]["id"]]
    assert "\n" not in m.subject and "\r" not in m.subject
    assert m.subject.startswith("[renewald] " + NASTY + " (nasty): "), m.subject
    m = mail_by_id[at_risk["long-name-id-7"]["id"]]
    assert m.rcpt_tos == ["cs@example.com"]
    assert "… (long-name-id-7): at risk" in m.subject, m.subject
