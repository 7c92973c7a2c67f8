"""Issue 12 / SPEC §10: `renewald backtest` replays history through the same
core as the daemon: its --out equals the live daemon's <prefix>alerts on the
same events and config (ids included), and it never writes to Redis."""

import json
import os

import pytest

import detbook
import durability as du
from conftest import base_config, free_port, render_config, run_renewald, wait_consumed

pytestmark = pytest.mark.slow


def bt_config(redis_port, http_port, streams):
    return base_config(
        redis_port, http_port,
        daemon={"clock": "event", "sweep_interval": "1h", "log_level": "info"},
        redis={"batch": 500, "block": "50ms", "streams": streams},
        score={"healthy": 70, "watch": 40, "hysteresis": 3, "confirm": "2d",
               "confirm_at_risk": "5d", "min_history": "7d"},
        alerts={"renewal_windows": [90, 60, 30], "account_url": "https://crm.example.com/a/{account}"},
    )


def write_conf(path, cfg):
    with open(path, "w") as f:
        f.write(render_config(cfg))
    return path


def redis_image(r):
    """Every key with its type and serialized value: what a read-only client leaves alone."""
    out = {}
    for k in r.keys("*"):
        out[k] = (r.type(k), r.dump(k))
    return out


def live_alerts(redis_factory, daemon_factory, book, streams, single_stream, name):
    srv = redis_factory(name="redis-" + name)
    r = srv.client()
    if single_stream:
        pipe = r.pipeline(transaction=False)
        seqs = {}
        for stream, eid, fields, ts in book.entries:
            seqs[ts] = seqs.get(ts, -1) + 1
            pipe.xadd(streams[0], fields, id="%d-%d" % (ts, seqs[ts]))
        pipe.execute()
    else:
        for chunk in book.chunks(2000):
            detbook.feed_atomic(r, chunk)
    d = daemon_factory(bt_config(srv.port, free_port(), streams), name="renewald-" + name)
    d.wait_healthy()
    wait_consumed(r, streams, daemon=d, timeout=300)
    alerts = detbook.alerts_of(r)
    d.stop()
    return srv, alerts


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def test_backtest_of_a_file_equals_the_live_daemon(redis_factory, daemon_factory, tmp_path, book):
    streams = ["events:all"]
    _, live = live_alerts(redis_factory, daemon_factory, book, streams, True, "file")
    events = tmp_path / "events.jsonl"
    with open(events, "w") as f:
        for _, _, fields, _ in book.entries:
            f.write(fields["event"] + "\n")
    conf = write_conf(str(tmp_path / "bt.conf"), bt_config(1, free_port(), streams))
    out = str(tmp_path / "alerts.jsonl")
    res = run_renewald(["backtest", "-c", conf, "--events", str(events), "--out", out, "--json"],
                       timeout=300)
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    got = read_jsonl(out)
    assert len(live) > 50, "the book alerts enough to compare"
    assert got == live, "first difference at %d" % next(
        (i for i, (a, b) in enumerate(zip(got, live)) if a != b), min(len(got), len(live)))
    assert report["events"] == len(book.entries)
    assert report["accounts"] == len(book.accounts)
    assert report["alerts"]["total"] == len(got)
    for kind in ("band_change", "renewal_window"):
        assert report["alerts"]["by_kind"][kind] == sum(1 for a in got if a["kind"] == kind)


def test_backtest_of_streams_equals_the_live_daemon_and_writes_nothing(
        redis_factory, daemon_factory, tmp_path, book):
    srv = redis_factory(name="redis-bt")
    r = srv.client()
    for chunk in book.chunks(2000):
        detbook.feed_atomic(r, chunk)
    before = redis_image(r)
    conf = write_conf(str(tmp_path / "bt.conf"), bt_config(srv.port, free_port(),
                                                          detbook.STREAMS))
    out = str(tmp_path / "alerts.jsonl")
    res = run_renewald(["backtest", "-c", conf, "--stream", ",".join(detbook.STREAMS),
                        "--out", out], timeout=300)
    assert res.returncode == 0, res.stderr
    assert "alerts" in res.stdout  # the readable report
    assert redis_image(r) == before, "the backtest changed Redis"
    got = read_jsonl(out)
    # The live daemon on the same streams (then it writes, of course).
    d = daemon_factory(bt_config(srv.port, free_port(), detbook.STREAMS), name="renewald-live")
    d.wait_healthy()
    wait_consumed(r, detbook.STREAMS, daemon=d, timeout=300)
    live = detbook.alerts_of(r)
    d.stop()
    assert len(live) > 50
    assert got == live


def test_backtest_from_to_and_errors(tmp_path, book):
    events = tmp_path / "events.jsonl"
    with open(events, "w") as f:
        f.write("not json\n")
        f.write('{"account": "a", "type": "login"}\n')  # no ts: skipped
        for _, _, fields, _ in book.entries:
            f.write(fields["event"] + "\n")
    conf = write_conf(str(tmp_path / "bt.conf"), bt_config(1, free_port(), ["s"]))
    full = run_renewald(["backtest", "-c", conf, "--events", str(events), "--json"], timeout=300)
    assert full.returncode == 0, full.stderr
    assert "skipped 2 invalid" in full.stderr
    part = run_renewald(["backtest", "-c", conf, "--events", str(events), "--json",
                         "--from", "2026-10-01", "--to", "2026-10-31"], timeout=300)
    assert part.returncode == 0, part.stderr
    a, b = json.loads(full.stdout), json.loads(part.stdout)
    assert b["alerts"]["total"] < a["alerts"]["total"]
    assert b["events"] < a["events"]
    bad = run_renewald(["backtest", "-c", conf], timeout=30)
    assert bad.returncode == 64 and "--events" in bad.stderr
    bad = run_renewald(["backtest", "-c", conf, "--events", str(events), "--from", "2026-13-01"],
                       timeout=30)
    assert bad.returncode == 64
    missing = run_renewald(["backtest", "-c", str(tmp_path / "nope.conf"), "--events",
                            str(events)], timeout=30)
    assert missing.returncode == 78


@pytest.fixture(scope="module")
def book():
    return detbook.DetBook(n_accounts=80, days=90, seed=23)
