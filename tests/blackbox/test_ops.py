"""Issue 18 acceptance: what an operator's tools see.

- `promtool check metrics` on a live /metrics of a daemon that has alerts,
  deliveries, retries and dead letters; the process_* and reload metrics;
- the Grafana dashboard: every PromQL expression is valid (promtool check
  rules) and names only metrics the daemon exports;
- log_format = json through faults (dead letters, a failing sink, a Redis
  restart, reloads, a stop): every line is one JSON object whose fields are
  keys, not text in msg; a failing sink's warnings are rate-limited;
- webhooks: X-Renewald-Delivery per attempt, X-Renewald-Attempt counting up,
  and the README's verification recipe accepting renewald's signatures;
- READY=1 only once connected with the state loaded, or as a standby.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from alerting import (ALERTS_DEAD, PREFIX, SIMPLE_SIGNALS, dead_deliveries, login, settle,
                      simple_config, stream_alerts, wait_outbox_empty, wait_stream_alerts,
                      webhook_sink, xadd_events)
from conftest import (EVENT_STREAMS, REPO, Daemon, RedisServer, kill_process, metric_value,
                      parse_metrics, wait_consumed, wait_until)
from receivers import HTTPReceiver, free_port
from walkthrough import readme_block

DASHBOARD = os.path.join(REPO, "packaging", "grafana", "renewald.json")
T = 1780304400000  # 2026-06-01T09:00:00Z

# Metrics the dashboard may name before this daemon exports them: each is being
# added by another branch at the same time.  renewald_arr{band} is the ARR of
# the accounts in each band (SPEC section 7, "/metrics carries renewald_arr{band}").
PENDING_METRICS = {"renewald_arr"}


def tool(name, package):
    path = shutil.which(name)
    if not path:
        pytest.fail("%s not found: install the Debian package %s (scripts/deps)" % (name, package))
    return path


def trigger(r, accounts, t=T):
    """One login of value 0.1 per account: at_risk at first sight, one alert each."""
    xadd_events(r, [login(t + k * 1000, a, 0.1) for k, a in enumerate(accounts)])


def bad_entries(r):
    r.xadd("events:usage", {"event": "{not json"})
    r.xadd("events:usage", {"event": json.dumps({"type": "login", "ts": T})})
    r.xadd("events:usage", {"other": "x"})


# ---------------------------------------------------------------------------
# a live daemon with alerts, deliveries, retries and dead letters


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    base = tmp_path_factory.mktemp("live")
    srv = RedisServer(str(base / "redis")).start()
    rec = HTTPReceiver(path_scripts={"/bad": [500] * 1000}).start()
    d = None
    try:
        r = srv.client()
        sinks = {"good": webhook_sink(rec.url("/good")),
                 "bad": webhook_sink(rec.url("/bad"), max_attempts=2)}
        cfg = simple_config(srv.port, free_port(), sinks=sinks)
        trigger(r, ["m1", "m2", "m3"])
        bad_entries(r)
        d = Daemon(str(base / "daemon"), cfg)
        d.start()
        d.wait_healthy()
        wait_consumed(r, EVENT_STREAMS, daemon=d)
        wait_stream_alerts(r, 3, daemon=d)
        wait_until(lambda: len(dead_deliveries(r)) >= 3, timeout=60,
                   what="3 dead deliveries of sink bad")
        wait_outbox_empty(r)
        yield {"daemon": d, "redis": r, "metrics": d.metrics()}
    finally:
        if d is not None:
            try:
                d.stop(timeout=20)
            except Exception:
                kill_process(d.proc)
        rec.stop()
        srv.cleanup()


def test_promtool_check_metrics(live):
    promtool = tool("promtool", "prometheus")
    text = live["metrics"]
    cp = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    out = cp.stdout.decode("utf-8", "replace")
    assert cp.returncode == 0 and not out.strip(), "promtool check metrics (rc %s):\n%s" % (
        cp.returncode, out)

    s = parse_metrics(text)
    r = live["redis"]
    dead = dead_deliveries(r)
    assert len(dead) == 3 and all(f["sink"] == "bad" for f in dead), dead
    assert metric_value(s, "renewald_deliveries_total", sink="bad", outcome="dead") == 3
    assert metric_value(s, "renewald_deliveries_total", sink="bad", outcome="retry") == 3
    assert metric_value(s, "renewald_deliveries_total", sink="bad", outcome="success") == 0
    assert metric_value(s, "renewald_deliveries_total", sink="good", outcome="success") == 3
    assert metric_value(s, "renewald_alerts_total", kind="band_change") == 3
    assert metric_value(s, "renewald_events_invalid_total", reason="invalid_json") == 1
    assert metric_value(s, "renewald_events_invalid_total", reason="missing_account") == 1
    assert metric_value(s, "renewald_events_invalid_total", reason="missing_event") == 1
    for st in EVENT_STREAMS:
        assert metric_value(s, "renewald_stream_lag_by_stream_seconds", stream=st) is not None

    now = time.time()
    start = metric_value(s, "process_start_time_seconds")
    assert start is not None and now - 3600 < start <= now, start
    assert metric_value(s, "process_resident_memory_bytes") > 1 << 20
    assert metric_value(s, "process_cpu_seconds_total") > 0
    assert metric_value(s, "renewald_config_last_reload_success") == 1
    # Before any reload: the start's load of the file.
    assert abs(metric_value(s, "renewald_config_last_reload_timestamp_seconds") - start) < 60


def test_reload_metrics(redis_server, daemon_factory):
    d = daemon_factory(simple_config(redis_server.port, free_port()))
    d.wait_healthy()

    def sample(name):
        return metric_value(parse_metrics(d.metrics()), name)

    t0 = sample("renewald_config_last_reload_timestamp_seconds")
    good = d.config
    d.write_config("[daemon]\nclock = sometimes\n[http]\nlisten = 127.0.0.1:%d\n" % d.port)
    d.signal(signal.SIGHUP)
    wait_until(lambda: sample("renewald_config_last_reload_success") == 0, timeout=30,
               what="renewald_config_last_reload_success 0 after a rejected reload")
    t1 = sample("renewald_config_last_reload_timestamp_seconds")
    assert t1 > t0, (t0, t1)
    d.write_config(good)
    d.signal(signal.SIGHUP)
    wait_until(lambda: sample("renewald_config_last_reload_success") == 1, timeout=30,
               what="renewald_config_last_reload_success 1 after a good reload")
    assert sample("renewald_config_last_reload_timestamp_seconds") >= t1


# ---------------------------------------------------------------------------
# the Grafana dashboard

_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
             "unless", "offset", "inf", "nan"}


def dashboard_exprs():
    with open(DASHBOARD) as f:
        dash = json.load(f)
    exprs = []

    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                exprs.append((p["title"], t["expr"]))
            walk(p.get("panels", []))

    walk(dash["panels"])
    return dash, exprs


def metric_names(expr):
    """The metric names an expression selects (strings, label matchers,
    groupings, ranges and function names taken out)."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"\{[^}]*\}", "", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    e = re.sub(r"\[[^\]]*\]", "", e)
    names = set()
    for m in re.finditer(r"(?<![\w$:.])([A-Za-z_:][\w:]*)(\s*\()?", e):
        if m.group(2) or m.group(1).lower() in _KEYWORDS:
            continue
        names.add(m.group(1))
    return names


def grafana_to_promql(expr):
    """A dashboard expression with Grafana's variables replaced, for promtool."""
    return (expr.replace("$__rate_interval", "5m").replace("$__interval", "1m")
            .replace("$job", ".*").replace("$instance", ".*"))


def test_metric_names_parser():
    assert metric_names('sum by (band) (renewald_accounts{job=~"$job"})') == {"renewald_accounts"}
    assert metric_names('histogram_quantile(0.95, sum by (le) (rate(x_bucket{a="b"}[5m])))') == \
        {"x_bucket"}
    assert metric_names("time() - process_start_time_seconds") == {"process_start_time_seconds"}
    assert metric_names("a / on (x) group_left b > 0") == {"a", "b"}


def test_dashboard_queries_name_exported_metrics(live, tmp_path):
    dash, exprs = dashboard_exprs()
    assert dash.get("uid") and dash.get("title") and dash.get("id") is None
    assert len(exprs) >= 15, exprs
    exported = {s[0] for s in parse_metrics(live["metrics"])}
    unknown = {}
    used = set()
    for title, expr in exprs:
        names = metric_names(expr)
        assert names, "no metric in %r (%s)" % (expr, title)
        used |= names
        missing = names - exported - PENDING_METRICS
        if missing:
            unknown[title] = sorted(missing)
    assert not unknown, "dashboard panels name metrics /metrics does not have: %r" % unknown
    # The variables' queries too.
    for var in dash["templating"]["list"]:
        q = var.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        m = re.match(r"label_values\(([A-Za-z_:][\w:]*)", q or "")
        if var["type"] == "query":
            assert m and m.group(1) in exported, var
    # What the issue asks the dashboard to show.
    for name in ("renewald_accounts", "renewald_arr", "renewald_alerts_total",
                 "renewald_deliveries_total", "renewald_stream_lag_by_stream_seconds",
                 "renewald_outbox_depth", "renewald_commits_total",
                 "renewald_sweep_cpu_seconds_total"):
        assert name in used, "no panel shows %s" % name
    # Every panel and target reads the data source variable (importable as is).
    for p in dash["panels"]:
        if p["type"] != "row":
            assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]
    # Valid PromQL: promtool parses each one as a recording rule.
    promtool = tool("promtool", "prometheus")
    rules = tmp_path / "rules.yml"
    lines = ["groups:", "  - name: dashboard", "    rules:"]
    for i, (_, expr) in enumerate(exprs):
        lines.append("      - record: dashboard:expr%d" % i)
        lines.append("        expr: %s" % json.dumps(grafana_to_promql(expr)))
    rules.write_text("\n".join(lines) + "\n")
    cp = subprocess.run([promtool, "check", "rules", str(rules)], stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT, timeout=60)
    out = cp.stdout.decode("utf-8", "replace")
    assert cp.returncode == 0, "promtool check rules:\n%s" % out


# ---------------------------------------------------------------------------
# JSON logs through faults

_PAIR_IN_MSG = re.compile(r"(?:^|\s)[a-z_][a-z0-9_]*=")


def test_json_logs_through_faults(redis_factory, daemon_factory, http_receiver):
    srv = redis_factory(appendonly=True)
    r = srv.client()
    http_receiver.set_script([500] * 1000, path="/fail")
    accounts = ["f%02d" % k for k in range(30)]
    cfg = simple_config(srv.port, free_port(), daemon={"log_format": "json"},
                        sinks={"fail": webhook_sink(http_receiver.url("/fail"), max_attempts=3)})
    trigger(r, accounts)
    bad_entries(r)
    d = daemon_factory(cfg)
    d.wait_healthy()
    wait_consumed(r, EVENT_STREAMS, daemon=d)
    wait_stream_alerts(r, len(accounts), daemon=d)
    wait_until(lambda: len(dead_deliveries(r)) >= len(accounts), timeout=90,
               what="every delivery to the failing sink dead")
    attempts_failed = metric_value(parse_metrics(d.metrics()), "renewald_deliveries_total",
                                   sink="fail", outcome="retry")
    # Redis goes away and comes back (AOF: the state survives).
    off = d.log_size()
    srv.restart()
    wait_until(lambda: "redis connection lost" in d.log_since(off), timeout=30,
               what="the lost connection logged")
    d.wait_healthy(timeout=60)
    # A good reload, a rejected one, a good one again.
    good = d.config
    d.signal(signal.SIGHUP)
    wait_until(lambda: "configuration reloaded" in d.log_since(off), timeout=30,
               what="a reload logged")
    d.write_config("[daemon]\nclock = sometimes\nlog_format = json\n[http]\nlisten = "
                   "127.0.0.1:%d\n" % d.port)
    d.signal(signal.SIGHUP)
    wait_until(lambda: "reload rejected" in d.log_since(off), timeout=30,
               what="a rejected reload logged")
    d.write_config(good)
    assert d.stop() == 0

    lines = [ln for ln in d.log_text().splitlines() if ln.strip()]
    objs = []
    for ln in lines:
        try:
            o = json.loads(ln)
        except ValueError:
            raise AssertionError("not a JSON line: %r" % ln) from None
        assert isinstance(o, dict), ln
        assert set(o) >= {"ts", "level", "msg"}, ln
        assert o["level"] in ("debug", "info", "warn", "error"), ln
        assert isinstance(o["msg"], str) and o["msg"], ln
        # the fields are keys: nothing of the form key=value is left in msg
        assert not _PAIR_IN_MSG.search(o["msg"]), "a field inside msg: %r" % ln
        objs.append(o)

    def having(msg):
        return [o for o in objs if o["msg"] == msg]

    expect = {
        "dead-lettered entry": {"stream", "id", "reason"},
        "alert created": {"id", "kind", "account", "band"},
        "delivery failed, will retry": {"id", "sink", "attempts", "error"},
        "delivery failed for good": {"id", "sink", "attempts", "error"},
        "redis connection lost": {"link", "error"},
        "redis connected": {"link"},
        "state loaded": {"accounts", "pending_deliveries", "commit_seq"},
        "configuration reloaded": {"path", "signals_changed"},
        "stopping": {"signal"},
    }
    for msg, keys in expect.items():
        got = having(msg)
        assert got, "no %r line:\n%s" % (msg, "\n".join(lines[-40:]))
        for o in got:
            assert keys <= set(o), (keys, o)
    assert {o["reason"] for o in having("dead-lettered entry")} == {
        "invalid_json", "missing_account", "missing_event"}
    assert any(o["account"] == "f00" for o in having("alert created"))
    assert all(o["sink"] == "fail" for o in having("delivery failed, will retry"))
    rejected = having("reload rejected, keeping the running configuration")
    assert rejected and all("error" in o for o in rejected), rejected
    assert any("clock" in o["error"] for o in rejected), rejected
    # The failing sink's warnings are rate-limited: far fewer lines than failed attempts.
    retry_lines = having("delivery failed, will retry")
    assert attempts_failed >= 2 * len(accounts), attempts_failed
    assert len(retry_lines) < attempts_failed / 2, (len(retry_lines), attempts_failed)


# ---------------------------------------------------------------------------
# webhook attempts and the README's verification recipe


def readme_verifier():
    ns = {}
    exec(compile(readme_block("verify", marker="webhook"), "README.md", "exec"), ns)
    return ns["verify_renewald"]


class Headers(dict):
    """A case-insensitive header mapping, as web frameworks hand them over."""

    def __init__(self, pairs):
        super().__init__((k.lower(), v) for k, v in pairs.items())

    def get(self, k, default=None):
        return super().get(k.lower(), default)


def test_webhook_attempts_and_readme_verification(redis_server, daemon_factory, http_receiver):
    verify = readme_verifier()
    secret = "whsec-%d" % os.getpid()
    http_receiver.set_script([500, 503, 200], path="/hook")
    r = redis_server.client()
    cfg = simple_config(redis_server.port, free_port(),
                        sinks={"hook": webhook_sink(http_receiver.url("/hook"), secret=secret)})
    trigger(r, ["wh-1"])
    d = daemon_factory(cfg)
    d.wait_healthy()
    alerts = wait_stream_alerts(r, 1, daemon=d)
    reqs = http_receiver.wait_for(3, path="/hook", timeout=60)
    wait_outbox_empty(r)
    settle(1.0)  # a fourth request would come within retry_max
    reqs = http_receiver.snapshot(path="/hook")
    assert len(reqs) == 3, [q.headers for q in reqs]
    uuid = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
    deliveries = []
    for n, q in enumerate(reqs, 1):
        assert q.header("x-renewald-attempt") == str(n), q.headers
        dv = q.header("x-renewald-delivery") or ""
        assert uuid.match(dv), q.headers
        deliveries.append(dv)
        assert q.header("x-renewald-alert-id") == alerts[0]["id"]
        h = Headers(q.headers)
        assert verify(secret.encode(), h, q.body), q.headers
        # the recipe refuses a changed body, another secret and an old request
        assert not verify(secret.encode(), h, q.body + b" ")
        assert not verify(b"other", h, q.body)
        ts = int(q.header("x-renewald-timestamp"))
        assert verify(secret.encode(), h, q.body, now=ts + 299)
        assert not verify(secret.encode(), h, q.body, now=ts + 301)
    assert len(set(deliveries)) == 3, deliveries
    assert dead_deliveries(r) == []


# ---------------------------------------------------------------------------
# READY=1


def test_ready_only_when_connected_and_loaded(tmp_path, daemon_factory):
    from test_service import NotifyListener

    port = free_port()
    notify = NotifyListener()
    srv = None
    try:
        cfg = simple_config(port, free_port(), redis={"lease": "2s"})
        d = daemon_factory(cfg, env={"NOTIFY_SOCKET": notify.path})
        # Redis is not there: the daemon keeps trying and says nothing of being ready.
        wait_until(lambda: d.log_text().count("redis connect failed") >= 2, timeout=30,
                   what="two failed connection attempts logged")
        d.signal(signal.SIGHUP)  # a reload while starting says nothing either
        wait_until(lambda: "configuration reloaded" in d.log_text(), timeout=30,
                   what="the reload logged")
        msgs = [m for _, m in notify.snapshot()]
        assert "READY=1" not in msgs and "RELOADING=1" not in msgs, msgs
        assert d.get("/healthz")[0] == 503

        srv = RedisServer(str(tmp_path / "redis"), port=port).start()
        i = notify.wait_for(lambda m: m == "READY=1", what="READY=1", daemon=d)
        # READY=1 came once the state was loaded: the log says so before it.
        assert "state loaded" in d.log_text()
        d.wait_healthy()

        # A second instance of the same group is a hot standby: ready as such.
        cfg_b = simple_config(port, free_port(), redis={"lease": "2s", "consumer": "other"})
        notify_b = NotifyListener()
        try:
            b = daemon_factory(cfg_b, name="standby", env={"NOTIFY_SOCKET": notify_b.path})
            notify_b.wait_for(lambda m: m == "READY=1", what="READY=1 of the standby", daemon=b)
            assert b.get("/healthz")[0] == 503
            assert "state loaded" not in b.log_text()
        finally:
            notify_b.close()
        assert [m for _, m in notify.snapshot()].count("READY=1") == 1, notify.snapshot()
        assert i >= 0
    finally:
        notify.close()
        if srv is not None:
            srv.cleanup()


# ---------------------------------------------------------------------------
# the documentation names what the daemon exports


def test_docs_name_every_metric_and_reason(live):
    with open(os.path.join(REPO, "README.md")) as f:
        readme = f.read()
    with open(os.path.join(REPO, "docs", "SPEC.md")) as f:
        spec = f.read()
    assert "](docs/SPEC.md)" in readme, "the README does not link docs/SPEC.md"
    samples = parse_metrics(live["metrics"])
    exported = {n for n, _, _ in samples}
    # every family (histogram series folded) is in the README's metrics table, and back
    families = {re.sub(r"_(bucket|sum|count)$", "", n) if n.startswith(
        "renewald_delivery_latency_seconds") else n for n in exported}
    table = set(re.findall(r"^\| `([a-z_]+)(?:\{[^`]*\})?` \| (?:gauge|counter|histogram) \|",
                           readme, re.M))
    assert families - table == set(), "metrics missing from the README's table: %s" % sorted(
        families - table)
    assert table - families == set(), "README documents metrics /metrics lacks: %s" % sorted(
        table - families)
    # every dead-letter reason the daemon counts is explained, in both documents
    reasons = {lb["reason"] for n, lb, _ in samples if n == "renewald_events_invalid_total"}
    assert len(reasons) >= 17, reasons
    for reason in reasons:
        assert re.search(r"^\| [^\n]*`%s`[^\n]* \|" % reason, readme, re.M), \
            "reason %s is not in the README's table" % reason
        assert "`%s`" % reason in spec, "reason %s is not in docs/SPEC.md" % reason
    # the metric names docs/SPEC.md promises exist
    for name in re.findall(r"`((?:renewald|process)_[a-z_]+)", spec):
        assert name in exported or name in PENDING_METRICS, "docs/SPEC.md names %s" % name
