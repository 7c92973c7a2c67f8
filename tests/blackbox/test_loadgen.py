"""Issue 7: tools/loadgen writes a deterministic book of business, and the daemon ingests all
of it (every event counted once, every account present, nothing dead-lettered or pending)."""

import json
import os
import subprocess

import pytest

from conftest import (EVENT_STREAMS, REPO, base_config, free_port, metric_value, parse_metrics,
                      wait_consumed)

BUILD = os.environ.get("RENEWALD_BUILD") or os.path.join(REPO, "build")
LOADGEN = os.path.join(BUILD, "tools", "loadgen")
START = "2026-09-01T00:00:00Z"


def run_loadgen(redis_server, *args, timeout=120):
    if not os.access(LOADGEN, os.X_OK):
        pytest.fail("tools/loadgen not built: %s (set RENEWALD_BUILD)" % LOADGEN)
    proc = subprocess.run([LOADGEN, "--redis", redis_server.address, "--quiet"] + list(args),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def small_book(redis_server, seed=7, extra=()):
    return run_loadgen(redis_server, "--accounts", "200", "--days", "30", "--seed", str(seed),
                       "--events-per-account-day", "2", "--start", START, *extra)


def stream_contents(r, streams, with_ids):
    out = {}
    for s in streams:
        entries = r.xrange(s, "-", "+")
        out[s] = [(eid if with_ids else None, fields) for eid, fields in entries]
    return out


def test_summary_counts_match_the_streams(redis_server):
    summary = small_book(redis_server)
    r = redis_server.client()
    assert summary["accounts"] == 200 and summary["days"] == 30
    assert set(summary["streams"]) == set(EVENT_STREAMS)
    for s, n in summary["streams"].items():
        assert r.xlen(s) == n, s
    assert sum(summary["streams"].values()) == summary["events"]
    assert sum(summary["types"].values()) == summary["events"]
    assert summary["types"]["account"] == 200  # one metadata event per account
    assert sum(summary["patterns"].values()) == 200
    for p in ("healthy", "declining", "silent", "support_heavy", "new"):
        assert summary["patterns"][p] > 0, p
    # metadata first on events:accounts, each event one JSON object in field "event"
    first = r.xrange("events:accounts", "-", "+", count=1)[0][1]
    meta = json.loads(first["event"])
    assert meta["type"] == "account"
    for k in ("name", "owner", "tier", "arr", "seats", "renewal_date"):
        assert k in meta, k
    for s, types in (("events:usage", {"login", "api_call"}),
                     ("events:support", {"ticket_opened", "csat"})):
        for _, fields in r.xrange(s, "-", "+", count=200):
            ev = json.loads(fields["event"])
            assert ev["type"] in types
            if ev["type"] == "csat":
                assert 1 <= ev["value"] <= 5


def test_same_seed_same_streams(redis_factory):
    a = redis_factory("a")
    b = redis_factory("b")
    c = redis_factory("c")
    sa = small_book(a)
    sb = small_book(b)
    sc = small_book(c, seed=8)
    assert sa["events"] == sb["events"]
    ca = stream_contents(a.client(), EVENT_STREAMS, with_ids=False)
    cb = stream_contents(b.client(), EVENT_STREAMS, with_ids=False)
    assert ca == cb
    assert stream_contents(c.client(), EVENT_STREAMS, with_ids=False) != ca

    # with --explicit-ids the entry ids are part of what is deterministic too
    a.client().flushall()
    b.client().flushall()
    small_book(a, extra=("--explicit-ids", "--no-ts", "0.2"))
    small_book(b, extra=("--explicit-ids", "--no-ts", "0.2"))
    assert (stream_contents(a.client(), EVENT_STREAMS, with_ids=True)
            == stream_contents(b.client(), EVENT_STREAMS, with_ids=True))


@pytest.mark.parametrize("explicit", [False, True], ids=["auto-ids", "explicit-ids-no-ts"])
def test_daemon_ingests_the_whole_book(redis_server, daemon_factory, explicit):
    extra = ("--explicit-ids", "--no-ts", "0.1") if explicit else ()
    summary = small_book(redis_server, extra=extra)
    cfg = base_config(redis_server.port, free_port())
    d = daemon_factory(cfg)
    d.wait_healthy()
    r = redis_server.client()
    wait_consumed(r, EVENT_STREAMS, timeout=120, daemon=d)

    samples = parse_metrics(d.metrics())
    assert metric_value(samples, "renewald_events_total") == summary["events"]
    invalid = sum(v for (n, _, v) in samples if n == "renewald_events_invalid_total")
    assert invalid == 0
    assert not r.exists("renewald:dead") or r.xlen("renewald:dead") == 0
    for s in EVENT_STREAMS:
        assert r.xpending(s, "renewald")["pending"] == 0, s
    accounts = sum(v for (n, _, v) in samples if n == "renewald_accounts")
    assert accounts == summary["accounts"]
    for i in range(summary["accounts"]):
        status, body = d.get("/v1/accounts/acct-%06d" % i)
        assert status == 200, (i, status, body)
        assert body["account"] == "acct-%06d" % i
        assert body["name"] and body["tier"] and body["renewal_date"]
