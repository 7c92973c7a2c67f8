"""Issue 11: a catch-up alerts on the whole history, once (SPEC §6).

Under clock = wall, a first start on streams that already hold weeks of
history replays it in event time without alerting, and ends once, when every
stream has been read up to the horizon -- however different the streams'
lengths -- with one alerting sweep: one alert per account whose band is worse
than healthy, and it is the band the account has after the whole history.
"""

import collections
import time

import pytest

import detbook
import durability as du
from alerting import webhook_sink
from apicheck import parse_rfc3339
from conftest import base_config, free_port, metric_value, parse_metrics, wait_consumed, \
    wait_until

pytestmark = pytest.mark.slow


def wall_config(redis_port, http_port, hook_url, batch=200):
    return base_config(
        redis_port, http_port,
        daemon={"clock": "wall", "sweep_interval": "60s", "log_level": "info"},
        redis={"batch": batch, "block": "100ms", "streams": detbook.STREAMS},
        score={"healthy": 70, "watch": 40, "hysteresis": 3, "confirm": "2d",
               "confirm_at_risk": "5d", "min_history": "7d"},
        alerts={"renewal_windows": [90, 60, 30]},
        extra={("sink", "hook"): webhook_sink(hook_url, concurrency=4)},
    )


@pytest.mark.parametrize("batch", [50, 1000])
def test_catch_up_alerts_once_on_the_whole_history(redis_factory, daemon_factory,
                                                   http_receiver, batch):
    now = int(time.time() * 1000)
    book = detbook.DetBook(n_accounts=90, days=45, seed=11, end_ms=now - 3600 * 1000)
    counts = book.counts()
    assert counts[detbook.STREAM_USAGE] > 5 * counts[detbook.STREAM_SUPPORT]
    assert counts[detbook.STREAM_SUPPORT] > 2 * counts[detbook.STREAM_ACCOUNTS]
    srv = redis_factory()
    r = srv.client()
    for chunk in book.chunks(2000):
        detbook.feed_atomic(r, chunk)
    started = int(time.time() * 1000)
    d = daemon_factory(wall_config(srv.port, free_port(), http_receiver.url("/hook"), batch))
    wait_consumed(r, detbook.STREAMS, daemon=d, timeout=240)

    def caught_up():
        m = parse_metrics(d.metrics())
        return metric_value(m, "renewald_catching_up") == 0 and \
            metric_value(m, "renewald_outbox_depth") == 0
    wait_until(caught_up, timeout=60, what="catch-up over and the outbox empty")
    alerts = detbook.alerts_of(r)
    snap = du.snapshot(d, book.accounts)

    bands = collections.Counter(doc["band"] for doc in snap.values())
    assert bands["at_risk"] > 0 and bands["watch"] > 0 and bands["healthy"] > 0, bands
    band_alerts = [a for a in alerts if a["kind"] == "band_change"]
    per_account = collections.Counter(a["account"] for a in band_alerts)
    # One alert per account at most, and none that the whole history contradicts.
    assert max(per_account.values()) == 1, per_account.most_common(3)
    wrong = [(a["account"], a["band"], snap[a["account"]]["band"]) for a in band_alerts
             if a["band"] != snap[a["account"]]["band"]]
    assert not wrong, "alerts contradicted by the whole history: %r" % wrong[:10]
    # Every account now worse than healthy was told, once, at the end of the catch-up.
    worse = {acct for acct, doc in snap.items() if doc["band"] in ("watch", "at_risk")}
    assert set(per_account) == worse
    for a in alerts:
        assert parse_rfc3339(a["ts"]) >= started - 1000, a
    # "alerts -> at_risk" never exceeds the accounts at risk now.
    assert sum(1 for a in band_alerts if a["band"] == "at_risk") == bands["at_risk"]
    # Renewal windows: one per account at most (the smallest window it is in).
    windows = collections.Counter(a["account"] for a in alerts if a["kind"] == "renewal_window")
    assert not windows or max(windows.values()) == 1
    # And the webhook received exactly these alerts, each once.
    def delivered():
        return len(http_receiver.requests) >= len(alerts)
    try:
        wait_until(delivered, timeout=60, what="every alert delivered")
    except AssertionError:
        raise AssertionError("%d of %d alerts delivered\n%s" % (
            len(http_receiver.requests), len(alerts), d.log_tail(30)))
    got = collections.Counter(req.headers.get("x-renewald-alert-id") for req in
                              http_receiver.requests)
    assert set(got) == {a["id"] for a in alerts}
    assert max(got.values()) == 1
