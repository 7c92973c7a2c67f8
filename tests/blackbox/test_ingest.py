"""Issue 3 acceptance: ingest a generated book of accounts, then compare every
account, the worklist and /metrics with the independent model (model.py)."""

import time
import urllib.parse

import pytest

import gen
import model
from apicheck import (BANDS, account_path, check_account_doc, fmt_errors, parse_rfc3339)
from conftest import (EVENT_STREAMS, base_config, free_port, metric_value, metric_values,
                      parse_metrics, wait_consumed)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def book():
    return gen.generate()


def fetch_accounts(d, book):
    docs = {}
    for acct in book.accounts:
        status, body = d.get(account_path(acct))
        assert status == 200, "GET %s -> %s %r" % (account_path(acct), status, body)
        docs[acct] = body
    return docs


def check_book(d, book, cfg):
    """Every account equals the model at as_of; returns the docs."""
    signals = model.signals_from_config(cfg)
    docs = fetch_accounts(d, book)
    errs = []
    for acct, doc in docs.items():
        try:
            as_of = parse_rfc3339(doc["as_of"])
        except (KeyError, TypeError, ValueError) as e:
            errs.append("%s: as_of %r: %r" % (acct, doc.get("as_of"), e))
            continue
        if as_of != book.max_ts:
            errs.append("%s: as_of %s (%d), want the newest event time %s (%d)" % (
                acct, doc["as_of"], as_of, gen.iso_z(book.max_ts), book.max_ts))
        errs += check_account_doc(doc, acct, signals, book.events[acct],
                                  book.account_events[acct], as_of)
        # SPEC §2 min_history: onboarding accounts stay unknown; the others have
        # a score and history >= 14d, so they have left unknown.
        if book.patterns[acct] == "new":
            if doc.get("band") != "unknown":
                errs.append("%s: onboarding account (first event < 14d) band %r"
                            % (acct, doc.get("band")))
        elif doc.get("band") == "unknown":
            errs.append("%s: history >= min_history but band unknown" % acct)
    assert not errs, fmt_errors(errs)
    return docs


def check_unknown_account(d):
    status, body = d.get(account_path("no-such-account"))
    assert status == 404, (status, body)


def _worklist(d, query):
    status, body = d.get("/v1/accounts?" + query)
    assert status == 200, (query, status, body)
    assert isinstance(body, dict) and isinstance(body.get("accounts"), list), body
    parse_rfc3339(body["as_of"])
    return body["accounts"]


def _assert_sorted_by_score(items, what):
    scores = [it.get("score") for it in items]
    nn = [s for s in scores if s is not None]
    first_null = next((k for k, s in enumerate(scores) if s is None), len(scores))
    assert all(s is None for s in scores[first_null:]), "%s: null scores not last: %r" % (
        what, scores)
    assert nn == sorted(nn), "%s: not sorted by score ascending: %r" % (what, scores)


def check_worklist(d, book, docs):
    keys = ("account", "name", "owner", "tier", "arr", "score", "band", "renewal_date",
            "days_to_renewal")
    items = _worklist(d, "limit=1000")
    got_ids = [it.get("account") for it in items]
    assert sorted(got_ids) == sorted(book.accounts), "worklist accounts differ"
    _assert_sorted_by_score(items, "limit=1000")
    errs = []
    for it in items:
        for k in keys:
            if k not in it:
                errs.append("%s: worklist item lacks %s" % (it.get("account"), k))
        doc = docs[it["account"]]
        for k in ("name", "owner", "tier", "arr", "band", "renewal_date", "days_to_renewal"):
            if it.get(k) != doc.get(k):
                errs.append("%s: worklist %s %r, account %r" % (it["account"], k, it.get(k),
                                                                   doc.get(k)))
        s1, s2 = it.get("score"), doc.get("score")
        if (s1 is None) != (s2 is None) or (s1 is not None and abs(s1 - s2) > 1.0):
            errs.append("%s: worklist score %r, account score %r" % (it["account"], s1, s2))
    assert not errs, fmt_errors(errs)

    # band filter
    for band in ("at_risk", "watch", "healthy", "unknown"):
        sub = _worklist(d, "band=%s&limit=1000" % band)
        assert all(it.get("band") == band for it in sub), (band, sub)
        want = sorted(a for a, doc in docs.items() if doc.get("band") == band)
        assert sorted(it["account"] for it in sub) == want, band
        _assert_sorted_by_score(sub, "band=%s" % band)
    # within_days filter
    for n in (60, 0, 90):
        sub = _worklist(d, "within_days=%d&limit=1000" % n)
        assert all(it.get("days_to_renewal") is not None and 0 <= it["days_to_renewal"] <= n
                   for it in sub), (n, sub)
        want = sorted(a for a, doc in docs.items()
                      if doc.get("days_to_renewal") is not None
                      and 0 <= doc["days_to_renewal"] <= n)
        assert sorted(it["account"] for it in sub) == want, n
        _assert_sorted_by_score(sub, "within_days=%d" % n)
    # both
    sub = _worklist(d, "band=at_risk&within_days=90&limit=1000")
    want = sorted(a for a, doc in docs.items() if doc.get("band") == "at_risk"
                  and doc.get("days_to_renewal") is not None
                  and 0 <= doc["days_to_renewal"] <= 90)
    assert sorted(it["account"] for it in sub) == want
    # limit: the K lowest scores
    sub = _worklist(d, "limit=5")
    assert len(sub) == 5
    assert [it.get("score") for it in sub] == [it.get("score") for it in items[:5]]
    # bad parameters
    for q in ("band=purple", "limit=-1", "limit=abc", "within_days=x", "within_days=-3x"):
        status, body = d.get("/v1/accounts?" + q)
        assert status == 400, (q, status, body)
        assert body not in ("", None, {}), "400 without a reason for %s" % q


def check_metrics(d, book, docs):
    text = d.metrics()
    samples = parse_metrics(text)
    for name, typ in (("renewald_events_total", "counter"), ("renewald_accounts", "gauge"),
                      ("renewald_redis_up", "gauge"), ("renewald_build_info", "gauge")):
        assert "# HELP %s " % name in text, "no HELP for %s" % name
        assert "# TYPE %s %s" % (name, typ) in text or "# TYPE %s " % name in text, \
            "no TYPE for %s" % name
    assert sum(metric_values(samples, "renewald_events_total")) == book.n_events(), \
        metric_values(samples, "renewald_events_total")
    assert sum(metric_values(samples, "renewald_events_invalid_total")) == 0
    assert metric_value(samples, "renewald_redis_up") == 1
    info = [lb for (n, lb, v) in samples if n == "renewald_build_info"]
    assert info and info[0].get("version"), info
    per_band = {lb.get("band"): v for (n, lb, v) in samples if n == "renewald_accounts"}
    assert sum(per_band.values()) == len(book.accounts), per_band
    for band in BANDS:
        want = sum(1 for doc in docs.values() if doc.get("band") == band)
        assert per_band.get(band, 0) == want, (band, per_band)


def test_ingest_preloaded(redis_server, daemon_factory, book):
    """Everything is in the streams before the daemon starts (a backfill)."""
    r = redis_server.client()
    gen.feed(r, book.entries)
    cfg = base_config(redis_server.port, free_port())
    d = daemon_factory(cfg)
    d.wait_healthy()
    wait_consumed(r, EVENT_STREAMS, daemon=d, timeout=180)
    docs = check_book(d, book, cfg)
    check_unknown_account(d)
    check_worklist(d, book, docs)
    check_metrics(d, book, docs)
    assert d.alive()


def test_ingest_while_running(redis_server, daemon_factory, book):
    """Entries arrive in chunks while the daemon runs."""
    r = redis_server.client()
    cfg = base_config(redis_server.port, free_port())
    d = daemon_factory(cfg)
    d.wait_healthy()
    entries = book.entries
    chunk = 1500
    for k in range(0, len(entries), chunk):
        gen.feed(r, entries[k:k + chunk])
        time.sleep(0.05)
        assert d.alive(), d.log_tail()
    wait_consumed(r, EVENT_STREAMS, daemon=d, timeout=180)
    docs = check_book(d, book, cfg)
    check_unknown_account(d)
    check_metrics(d, book, docs)


VARIANT_SIGNALS = {
    ("signal", "logins"): {"types": "login", "aggregate": "rate", "half_life": "7d",
                           "low": 0.05, "high": 0.4, "weight": 3, "normalize": "seats"},
    ("signal", "logins_raw"): {"types": ["login", "feature_used"], "aggregate": "rate",
                               "half_life": "3d", "low": 0, "high": 10, "weight": 0},
    ("signal", "usage_trend"): {"types": "api_call", "aggregate": "trend", "half_life": "7d",
                                "baseline": "60d", "low": 0.5, "high": 1.0, "weight": 2},
    ("signal", "last_login"): {"types": "login", "aggregate": "recency", "half_life": "7d",
                               "low": 14, "high": 1, "weight": 1},
    ("signal", "last_nps"): {"types": "nps", "aggregate": "recency", "half_life": "7d",
                             "low": 60, "high": 0, "weight": 0.5},
    ("signal", "nps"): {"types": "nps", "aggregate": "mean", "half_life": "30d",
                        "low": 0, "high": 10, "weight": 5, "critical": True},
    ("signal", "tickets"): {"types": "ticket_opened", "aggregate": "rate", "half_life": "14d",
                            "low": 1, "high": 0, "weight": 1, "critical": True},
    ("signal", "csat"): {"types": "csat", "aggregate": "mean", "half_life": "30d",
                         "low": 2, "high": 4.5, "weight": 1.5, "critical": True},
}


def test_ingest_signal_variants_and_bands(redis_server, daemon_factory, book):
    """More aggregates (recency, finite and infinite; a never-present mean; a
    weight-0 rate over two types); with confirm = 0, hysteresis = 0 and
    min_history = 0 the band is the score's band (away from the bounds)."""
    r = redis_server.client()
    gen.feed(r, book.entries)
    cfg = base_config(redis_server.port, free_port(), signals=VARIANT_SIGNALS,
                      score={"confirm": "0", "hysteresis": 0, "min_history": "0",
                             "healthy": 75, "watch": 45})
    d = daemon_factory(cfg)
    d.wait_healthy()
    wait_consumed(r, EVENT_STREAMS, daemon=d, timeout=180)
    signals = model.signals_from_config(cfg)
    docs = fetch_accounts(d, book)
    errs = []
    for acct, doc in docs.items():
        as_of = parse_rfc3339(doc["as_of"])
        errs += check_account_doc(doc, acct, signals, book.events[acct],
                                  book.account_events[acct], as_of)
        S = doc.get("score")
        if isinstance(S, (int, float)) and min(abs(S - 75), abs(S - 45)) > 2.0:
            want = model.band_of_score(S, healthy=75, watch=45)
            if doc.get("band") != want:
                errs.append("%s: band %r, score %.2f -> %s" % (acct, doc.get("band"), S, want))
        # last_nps: never an nps event -> infinite recency: x null, score 0
        ln = (doc.get("signals") or {}).get("last_nps") or {}
        if ln.get("x", "missing") is not None or ln.get("score") != 0:
            errs.append("%s: infinite recency rendered as %r" % (acct, ln))
    assert not errs, fmt_errors(errs)
    text = d.metrics()
    assert sum(metric_values(parse_metrics(text), "renewald_events_total")) == book.n_events()


def test_account_id_url_encoding(redis_server, daemon_factory):
    """Ids with spaces, non-ASCII and reserved characters are reachable percent-encoded."""
    r = redis_server.client()
    ids = ["Ünïcödé Corp 7", "acme.io:eu-1", "a+b", "x?y", "100%", "tab-less #1"]
    t0 = gen.END_MS
    for k, acct in enumerate(ids):
        r.xadd("events:usage", {"event": '{"account": %s, "type": "login", "ts": %d}'
                                % (__import__("json").dumps(acct), t0 + k)})
    cfg = base_config(redis_server.port, free_port())
    d = daemon_factory(cfg)
    d.wait_healthy()
    wait_consumed(r, EVENT_STREAMS, daemon=d)
    for acct in ids:
        status, body = d.get(account_path(acct))
        assert status == 200, (acct, status, body)
        assert body["account"] == acct
    status, body = d.get("/v1/accounts/" + urllib.parse.quote("Ünïcödé Corp 8", safe=""))
    assert status == 404
