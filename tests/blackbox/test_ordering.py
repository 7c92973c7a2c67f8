"""Issue 11 / SPEC §4: the deliveries of one account reach each sink in the
order their alerts were created, whatever the sink's concurrency: a delivery is
not attempted before the previous one of the same account to the same sink has
succeeded (or been dead-lettered).

Six accounts crash through watch to at_risk within one batch (confirm = 0,
confirm_at_risk = 2h).  The webhook has concurrency 4 and fails the first six
requests it gets: without per-account ordering, at_risk alerts would be
delivered while their watch alerts wait for a retry.
"""

import collections

from alerting import (DAY_MS, HOUR_MS, day_start, login, periodic, request_alert_id, settle,
                      simple_config, sort_events, stream_alerts, ticket, webhook_sink,
                      xadd_events)
from conftest import EVENT_STREAMS, free_port, wait_consumed

ACCOUNTS = ["crash-%d" % i for i in range(6)]


def test_watch_then_at_risk_in_order_at_concurrency_4(redis_server, daemon_factory,
                                                     http_receiver):
    T = day_start("2026-06-01")
    evs = []
    for i, acct in enumerate(ACCOUNTS):
        evs += periodic(acct, T, T + 5 * DAY_MS, HOUR_MS, 2)
        t0 = T + 3 * DAY_MS + i * 60000
        for k in range(6):  # a ticket storm: the critical signal falls to 0 at once
            evs.append(ticket(t0 + k * 1000, acct))
    evs.append(login(T + 5 * DAY_MS + HOUR_MS, "ticker", 2))
    evs = sort_events(evs)
    http_receiver.set_script([500] * len(ACCOUNTS), path="/hook")
    cfg = simple_config(redis_server.port, free_port(),
                        redis={"batch": 100000},
                        score={"confirm": "0", "confirm_at_risk": "2h"},
                        sinks={"hook": webhook_sink(http_receiver.url("/hook"), concurrency=4,
                                                    retry_initial="200ms",
                                                    retry_max="200ms")},
                        routes={"hook": {"kinds": "band_change", "sinks": "hook"}})
    r = redis_server.client()
    xadd_events(r, evs)
    d = daemon_factory(cfg)
    d.wait_healthy()
    wait_consumed(r, EVENT_STREAMS, daemon=d, timeout=120)

    alerts = [a for a in stream_alerts(r) if a["account"] in ACCOUNTS]
    bands = collections.defaultdict(list)
    for a in alerts:
        bands[a["account"]].append(a["band"])
    # Each account went watch, then at_risk, in one batch.
    for acct in ACCOUNTS:
        assert bands[acct][:2] == ["watch", "at_risk"], (acct, bands[acct])
    routed = [a for a in stream_alerts(r) if a["kind"] == "band_change"]
    by_id = {a["id"]: a for a in routed}
    want = len(routed) + len(ACCOUNTS)  # every alert once, plus the failed attempts
    http_receiver.wait_for(want, timeout=60, path="/hook")
    settle(1.0)
    reqs = http_receiver.snapshot(path="/hook")
    seen = collections.defaultdict(list)  # account -> [(band, succeeded)]
    for k, q in enumerate(reqs):
        a = by_id[request_alert_id(q)]
        if a["account"] in ACCOUNTS:
            seen[a["account"]].append((a["band"], k >= len(ACCOUNTS)))
    for acct in ACCOUNTS:
        s = seen[acct]
        first_ok_watch = next(i for i, (b, ok) in enumerate(s) if b == "watch" and ok)
        first_at_risk = next(i for i, (b, _) in enumerate(s) if b == "at_risk")
        assert first_ok_watch < first_at_risk, (acct, s)
