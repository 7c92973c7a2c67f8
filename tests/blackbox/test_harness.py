"""Self-checks of the test harness itself (no daemon needed): redis fixture,
wait_consumed, receivers, config rendering, metrics parsing, the generator."""

import json
import smtplib
import urllib.request

import gen
import model
from apicheck import parse_rfc3339
from conftest import (EVENT_STREAMS, base_config, http_request, is_consumed, parse_metrics,
                      metric_value, render_config, wait_consumed)


def test_redis_kill_and_restart_same_port(redis_factory):
    srv = redis_factory(appendonly=True)
    port = srv.port
    r = srv.client()
    r.set("k", "v")
    r.xadd("s", {"event": "{}"}, id="5-1")
    srv.kill()
    assert not srv.running()
    srv.start()
    assert srv.port == port
    r = srv.client()
    assert r.get("k") == "v"  # appendfsync always: survives SIGKILL
    assert r.xrange("s") == [("5-1", {"event": "{}"})]
    srv.restart()
    assert srv.client().get("k") == "v"


def test_redis_without_persistence_and_unixsocket(redis_factory):
    srv = redis_factory(name="r2", unixsocket=True)
    import redis

    c = redis.Redis(unix_socket_path=srv.unixsocket, decode_responses=True)
    assert c.ping()
    c.set("x", "1")
    srv.kill()
    srv.start()
    assert srv.client().get("x") is None


def test_wait_consumed_with_a_python_consumer(redis_server):
    r = redis_server.client()
    for k in range(5):
        r.xadd("events:usage", {"event": str(k)}, id="%d-0" % (k + 1))
    assert is_consumed(r, ["events:support"])  # a missing stream has nothing to consume
    assert not is_consumed(r, EVENT_STREAMS)  # no group yet
    r.xgroup_create("events:usage", "renewald", id="0")
    assert not is_consumed(r, EVENT_STREAMS)
    got = r.xreadgroup("renewald", "c1", {"events:usage": ">"}, count=3)
    ids = [i for i, _ in got[0][1]]
    assert not is_consumed(r, EVENT_STREAMS)  # 2 undelivered, 3 pending
    r.xack("events:usage", "renewald", *ids)
    assert not is_consumed(r, EVENT_STREAMS)
    got = r.xreadgroup("renewald", "c1", {"events:usage": ">"}, count=10)
    ids = [i for i, _ in got[0][1]]
    assert not is_consumed(r, EVENT_STREAMS)  # delivered, pending
    r.xack("events:usage", "renewald", *ids)
    wait_consumed(r, EVENT_STREAMS, timeout=5)


def test_http_receiver_script(http_receiver):
    http_receiver.set_script([500, (429, {"Retry-After": "2"}), (200, {}, b"ok")])
    url = http_receiver.url("/hook")
    answers = []
    for k in range(4):
        status, hdrs, body = http_request(url, "POST", {"Content-Type": "application/json",
                                                       "X-Test": str(k)},
                                          json.dumps({"k": k}).encode())
        answers.append((status, hdrs.get("retry-after"), body))
    assert answers == [(500, None, b""), (429, "2", b""), (200, None, b"ok"), (200, None, b"")]
    reqs = http_receiver.wait_for(4, path="/hook")
    assert [q.json()["k"] for q in reqs] == [0, 1, 2, 3]
    assert reqs[1].header("X-Test") == "1"
    assert reqs[0].method == "POST"


def test_smtp_receiver(smtp_receiver):
    with smtplib.SMTP("127.0.0.1", smtp_receiver.port, timeout=10) as s:
        s.sendmail("renewald@example.com", ["owner@example.com"],
                   b"Subject: [renewald] Acme: at_risk\r\n\r\nhello\r\n")
    msgs = smtp_receiver.wait_for(1)
    assert msgs[0].subject == "[renewald] Acme: at_risk"
    assert msgs[0].rcpt_tos == ["owner@example.com"]
    assert "hello" in msgs[0].text()


def test_render_config_named_sections():
    cfg = base_config(6379, 9187, daemon={"log_level": "info"},
                      extra={("sink", "hook"): {"type": "webhook", "url": "http://x/"}})
    text = render_config(cfg)
    assert '[signal "logins"]' in text
    assert '[sink "hook"]' in text
    assert "streams = events:usage, events:support, events:accounts" in text
    assert "critical = true" in text
    assert "log_level = info" in text
    assert "renewal_windows = 90, 60, 30" in text
    sigs = model.signals_from_config(cfg)
    assert [s.name for s in sigs] == ["logins", "usage_trend", "tickets", "csat"]
    assert sigs[1].baseline == 60.0 and sigs[0].normalize == "seats" and sigs[3].critical


def test_parse_metrics():
    text = ('# HELP renewald_events_total Events.\n# TYPE renewald_events_total counter\n'
            'renewald_events_total 12\n'
            'renewald_events_invalid_total{reason="bad_ts"} 3\n'
            'renewald_build_info{version="0.1.0",x="a\\"b"} 1\n')
    s = parse_metrics(text)
    assert metric_value(s, "renewald_events_total") == 12
    assert metric_value(s, "renewald_events_invalid_total", reason="bad_ts") == 3
    assert metric_value(s, "renewald_build_info", version="0.1.0") == 1


def test_rfc3339_parser():
    assert parse_rfc3339("1970-01-01T00:00:00Z") == 0
    assert parse_rfc3339("2026-11-20T10:00:00.123Z") == gen.END_MS + 123
    assert parse_rfc3339("2026-11-20T12:00:00.123+02:00") == gen.END_MS + 123
    assert parse_rfc3339("2026-11-20T04:30:00-05:30") == gen.END_MS
    assert parse_rfc3339("2026-11-20T10:00:00.123999Z") == gen.END_MS + 123


def test_generator_is_deterministic_and_well_formed():
    a = gen.generate()
    b = gen.generate()
    assert [(e.stream, e.id, e.fields) for e in a.entries] == \
        [(e.stream, e.id, e.fields) for e in b.entries]
    assert len(a.accounts) >= 50
    assert set(a.patterns.values()) >= {"healthy", "declining", "silent", "support_heavy", "new"}
    first = min(t for evs in a.events.values() for t, _, _ in evs)
    assert a.max_ts - first >= 90 * model.DAY_MS
    forms = set()
    late = 0
    n_events = 0
    for s, lst in a.by_stream().items():
        prev = (-1, -1)
        prev_t = None
        for e in lst:
            key = tuple(int(x) for x in e.id.split("-"))
            assert key > prev, (s, e.id)
            prev = key
            ev = json.loads(e.fields["event"])
            assert ev == e.event
            ts = ev.get("ts")
            if ts is None:
                forms.add("none")
                assert e.time_ms == key[0]
            elif isinstance(ts, int):
                forms.add("int")
                assert ts == e.time_ms
            else:
                forms.add("Z" if ts.endswith("Z") else "offset")
                assert parse_rfc3339(ts) == e.time_ms, ts
            if prev_t is not None and e.time_ms < prev_t:
                late += 1
            prev_t = e.time_ms if prev_t is None else max(prev_t, e.time_ms)
            n_events += 1
    assert forms == {"none", "int", "Z", "offset"}
    assert late > 10
    assert n_events == sum(len(v) for v in a.events.values()) == a.n_events()
    assert {e.event["type"] for e in a.entries} >= {"account", "login", "api_call",
                                                     "ticket_opened", "csat"}
    # the model gives a spread of scores on this book
    sigs = model.signals_from_config(base_config(1, 2))
    bands = set()
    for acct in a.accounts:
        meta = model.merge_metadata(a.account_events[acct])
        S = model.account_score(sigs, a.events[acct], a.max_ts, meta["seats"])
        bands.add(model.band_of_score(S))
    assert bands >= {"healthy", "watch", "at_risk"}, bands
