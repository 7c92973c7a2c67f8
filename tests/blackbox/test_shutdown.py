"""Issue 6: SIGTERM gives in-flight deliveries at most shutdown_timeout, exits 0,
and leaves what is undelivered in the outbox for the next start."""

import signal

import faulty
from alerting import OUTBOX, login, simple_config, stream_alerts, webhook_sink, \
    wait_stream_alerts, xadd_events, wait_outbox_empty, request_alert_id
from conftest import EVENT_STREAMS, free_port, wait_consumed, wait_until

T = 1_790_000_000_000


def test_sigterm_with_a_sink_that_never_answers(redis_server, daemon_factory, http_receiver):
    # The sink would hold a request for 60 s (its timeout); shutdown_timeout is 2 s.
    # A daemon that waited for the delivery instead of its grace time would not
    # exit within the 30 s allowed below: the check is structural, not a timing.
    hang = faulty.FaultyHTTPServer(default="hang", hang_max=90.0).start()
    try:
        r = redis_server.client()
        cfg = simple_config(redis_server.port, free_port(),
                            daemon={"shutdown_timeout": "2s"},
                            sinks={"hook": webhook_sink(hang.url("/hook"), timeout="60s",
                                                        max_attempts=1000)})
        d1 = daemon_factory(cfg)
        d1.wait_healthy()
        xadd_events(r, [login(T, "sleepy", 0.1)])  # score 0: at_risk at first sight
        wait_consumed(r, EVENT_STREAMS, daemon=d1)
        alerts = wait_stream_alerts(r, 1, daemon=d1)
        aid = alerts[0]["id"]
        # The delivery is in flight: the receiver holds the request, unanswered.
        hang.wait_for(lambda cs: any(c.request_complete for c in cs), timeout=30,
                      what="the delivery to arrive")
        d1.signal(signal.SIGTERM)
        code = d1.wait_exit(30)
        assert code == 0, "SIGTERM did not end the daemon with 0 (got %r):\n%s" % (
            code, d1.log_tail())
        assert "shutdown timeout" in d1.log_text(), d1.log_tail()
        # Undelivered: still durable in the outbox.
        assert r.hlen(OUTBOX) == 1, r.hgetall(OUTBOX)

        # Next start, with a receiver that answers: the same alert is delivered.
        cfg2 = simple_config(redis_server.port, free_port(),
                             daemon={"shutdown_timeout": "2s"},
                             sinks={"hook": webhook_sink(http_receiver.url("/hook"))})
        d2 = daemon_factory(cfg2)
        d2.wait_healthy()
        wait_until(lambda: len(http_receiver.snapshot(path="/hook")) >= 1, timeout=60,
                   what="the delivery after the restart")
        wait_outbox_empty(r, timeout=60)
        reqs = http_receiver.snapshot(path="/hook")
        assert [request_alert_id(q) for q in reqs] == [aid]
        assert [a["id"] for a in stream_alerts(r)] == [aid], "the alert was created again"
        d2.signal(signal.SIGTERM)
        assert d2.wait_exit(30) == 0
    finally:
        hang.stop()
