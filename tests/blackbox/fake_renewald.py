#!/usr/bin/python3
"""A throw-away stand-in for renewald, used ONLY to check the black-box
harness itself before the real daemon exists:

    RENEWALD_BIN=tests/blackbox/fake_renewald.py /usr/bin/python3 -m pytest tests/blackbox

It implements just enough of SPEC §1, §2 (no confirm/hysteresis), §5 and §7
for test_cli / test_ingest / test_dead_letters to exercise their plumbing.
It shares model.py with the tests, so agreement on scores proves nothing
about the formulas -- only that the tests read and compare the API correctly.
"""

import datetime
import json
import math
import os
import re
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model  # noqa: E402

VERSION = "0.0.0-fake"
USAGE = "usage: renewald [-c FILE] | --check-config [-c FILE] | --version | --help\n"

KEYS = {
    "daemon": {"clock", "sweep_interval", "shutdown_timeout", "log_level", "log_format"},
    "redis": {"address", "password", "username", "db", "streams", "group", "consumer", "prefix",
              "batch", "block", "lease"},
    "http": {"listen", "token"},
    "signal": {"types", "aggregate", "half_life", "low", "high", "baseline", "weight",
               "normalize", "critical"},
    "score": {"healthy", "watch", "hysteresis", "confirm", "min_history"},
    "alerts": {"on_band_change", "renewal_windows", "keep"},
    "sink": {"type", "url", "secret", "smtp_url", "username", "password", "tls", "ca_file",
             "from", "to", "fallback_to", "timeout", "retry_initial", "retry_max",
             "max_attempts", "rate", "concurrency"},
    "route": {"kinds", "bands", "tiers", "min_arr", "within_days", "sinks"},
}
NAMED = {"signal", "sink", "route"}
DURATION_KEYS = {"sweep_interval", "shutdown_timeout", "block", "lease", "half_life", "baseline",
                 "confirm", "min_history", "timeout", "retry_initial", "retry_max"}


def load_config(path):
    errs = []
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError as e:
        return None, ["%s: %s" % (path, e.strerror)]
    cfg = {}
    where = {}
    sec = None
    for n, raw in enumerate(lines, 1):
        line = re.split(r"\s[;#]", " " + raw, 1)[0].strip()
        if not line or line[0] in ";#":
            continue
        m = re.fullmatch(r'\[(\w+)(?:\s+"([^"]+)")?\]', line)
        if m:
            name, sub = m.group(1), m.group(2)
            if name not in KEYS or (name in NAMED) != (sub is not None):
                errs.append("%s:%d: unknown section [%s]" % (path, n, line[1:-1]))
                sec = None
                continue
            sec = (name, sub) if sub else name
            cfg.setdefault(sec, {})
            where[sec] = n
            continue
        if "=" not in line:
            errs.append("%s:%d: syntax error" % (path, n))
            continue
        k, v = (x.strip() for x in line.split("=", 1))
        if sec is None:
            continue
        base = sec[0] if isinstance(sec, tuple) else sec
        kk = k[:-5] if k.endswith("_file") else k
        if kk not in KEYS[base]:
            errs.append("%s:%d: unknown key %s" % (path, n, k))
            continue
        if kk in DURATION_KEYS:
            try:
                model.parse_duration_ms(v)
            except ValueError:
                errs.append("%s:%d: bad duration %r" % (path, n, v))
                continue
        if kk == "aggregate" and v not in ("rate", "mean", "trend", "recency"):
            errs.append("%s:%d: aggregate must be rate, mean, trend or recency" % (path, n))
            continue
        cfg[sec][kk] = v
        where[(sec, kk)] = n
    sinks = {s[1] for s in cfg if isinstance(s, tuple) and s[0] == "sink"}
    for s, kv in cfg.items():
        if isinstance(s, tuple) and s[0] == "route":
            for name in (x.strip() for x in kv.get("sinks", "").split(",")):
                if name and name not in sinks:
                    errs.append("%s:%d: unknown sink %s" % (path, where[(s, "sinks")], name))
    if "redis" not in cfg or "streams" not in cfg["redis"]:
        errs.append("%s:%d: [redis] streams is required" % (path, len(lines)))
    return (None if errs else cfg), errs


def log(msg):
    sys.stderr.write("ts=%s level=info msg=%s\n" % (
        datetime.datetime.utcnow().isoformat(), json.dumps(msg)))
    sys.stderr.flush()


_RFC = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def parse_ts(s):
    m = _RFC.match(s)
    if not m:
        return None
    y, mo, d, h, mi, sec = (int(m.group(k)) for k in range(1, 7))
    try:
        dt = datetime.datetime(y, mo, d, h, mi, sec, tzinfo=datetime.timezone.utc)
    except ValueError:
        return None
    frac = m.group(7)
    ms = int((frac[1:] + "000")[:3]) if frac else 0
    tz = m.group(8)
    off = 0 if tz in "Zz" else (1 if tz[0] == "+" else -1) * (int(tz[1:3]) * 60 + int(tz[4:6]))
    return int(dt.timestamp()) * 1000 + ms - off * 60000


def isnum(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def parse_event(data, entry_ms):
    """-> (event dict with _t, None) or (None, reason)."""
    try:
        ev = json.loads(data.decode("utf-8"),
                        parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None, "invalid_json"
    if not isinstance(ev, dict):
        return None, "not_object"
    for key, mx in (("account", 128), ("type", 64)):
        if key not in ev:
            return None, "missing_" + key
        v = ev[key]
        if (not isinstance(v, str) or not v or len(v.encode()) > mx
                or any(ord(c) < 32 or ord(c) == 127 for c in v)):
            return None, "bad_" + key
    ts = ev.get("ts", None) if "ts" in ev else entry_ms
    if "ts" in ev:
        if isinstance(ts, bool) or ts is None:
            return None, "bad_ts"
        if isinstance(ts, int):
            if ts < 0:
                return None, "bad_ts"
        elif isinstance(ts, str):
            ts = parse_ts(ts)
            if ts is None:
                return None, "bad_ts"
        else:
            return None, "bad_ts"
    if "value" in ev and not isnum(ev["value"]):
        return None, "bad_value"
    if ev["type"] == "account":
        for k in ("name", "tier"):
            if k in ev and ev[k] is not None and not isinstance(ev[k], str):
                return None, "bad_" + k
        if "owner" in ev and ev["owner"] is not None and not (
                isinstance(ev["owner"], str) and re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", ev["owner"])):
            return None, "bad_owner"
        for k in ("arr", "seats"):
            if k in ev and ev[k] is not None and not (isnum(ev[k]) and ev[k] >= 0):
                return None, "bad_" + k
        if "renewal_date" in ev and ev["renewal_date"] is not None:
            try:
                datetime.date.fromisoformat(ev["renewal_date"])
                assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", ev["renewal_date"])
            except (TypeError, ValueError, AssertionError):
                return None, "bad_renewal_date"
    ev["_t"] = ts
    return ev, None


class State:
    def __init__(self, cfg):
        self.lock = threading.Lock()
        self.cfg = cfg
        self.accounts = {}
        self.now = None
        self.events_total = 0
        self.invalid = {}
        self.redis_up = 0

    def apply(self, ev):
        a = self.accounts.setdefault(ev["account"], {"events": [], "meta": {
            k: None for k in model.META_KEYS}})
        t = ev["_t"]
        a["events"].append((t, float(ev.get("value", 1)), ev["type"]))
        if ev["type"] == "account":
            for k in model.META_KEYS:
                if k in ev:
                    a["meta"][k] = ev[k]
        self.now = t if self.now is None else max(self.now, t)
        self.events_total += 1

    def doc(self, acct):
        a = self.accounts[acct]
        sigs = model.signals_from_config(self.cfg)
        S, per = model.account_eval(sigs, a["events"], self.now, a["meta"]["seats"])
        sc = self.cfg.get("score", {})
        hist = model.parse_duration_ms(sc.get("min_history", "14d"))
        first = min(t for t, _, _ in a["events"])
        band = model.band_of_score(S, float(sc.get("healthy", 70)), float(sc.get("watch", 40)))
        if self.now - first < hist:
            band = "unknown"
        iso = lambda ms: datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)
        d = {"account": acct, "as_of": iso(self.now),
             "score": None if S is None else round(S, 1), "band": band,
             "signals": {n: {"x": None if (v["x"] is None or math.isinf(v["x"])) else v["x"],
                             "score": v["score"], "weight": v["weight"]} for n, v in per.items()},
             "first_seen": iso(first), "last_event": iso(max(t for t, _, _ in a["events"]))}
        d.update(a["meta"])
        d["days_to_renewal"] = model.days_to_renewal(self.now, a["meta"]["renewal_date"])
        return d


def serve(state, listen):
    host, port = listen.rsplit(":", 1)

    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def send(self, status, body, ctype="application/json"):
            data = (json.dumps(body) if ctype == "application/json" else body).encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            u = urllib.parse.urlsplit(self.path)
            with state.lock:
                if u.path == "/healthz":
                    return self.send(200 if state.redis_up else 503, "ok\n", "text/plain")
                if u.path == "/metrics":
                    out = ["# HELP renewald_events_total Valid events.",
                           "# TYPE renewald_events_total counter",
                           "renewald_events_total %d" % state.events_total,
                           "# HELP renewald_events_invalid_total Dead-lettered entries.",
                           "# TYPE renewald_events_invalid_total counter"]
                    out += ['renewald_events_invalid_total{reason="%s"} %d' % kv
                            for kv in sorted(state.invalid.items())]
                    out += ["# HELP renewald_accounts Accounts by band.",
                            "# TYPE renewald_accounts gauge"]
                    counts = {b: 0 for b in ("unknown", "healthy", "watch", "at_risk")}
                    for acct in state.accounts:
                        counts[state.doc(acct)["band"]] += 1
                    out += ['renewald_accounts{band="%s"} %d' % kv for kv in counts.items()]
                    out += ["# HELP renewald_redis_up Redis.", "# TYPE renewald_redis_up gauge",
                            "renewald_redis_up %d" % state.redis_up,
                            "# HELP renewald_build_info Build.",
                            "# TYPE renewald_build_info gauge",
                            'renewald_build_info{version="%s"} 1' % VERSION]
                    return self.send(200, "\n".join(out) + "\n", "text/plain; version=0.0.4")
                if u.path.startswith("/v1/accounts/"):
                    acct = urllib.parse.unquote(u.path[len("/v1/accounts/"):])
                    if acct not in state.accounts:
                        return self.send(404, {"error": "unknown account"})
                    return self.send(200, state.doc(acct))
                if u.path == "/v1/accounts":
                    q = urllib.parse.parse_qs(u.query)
                    band = q.get("band", [None])[0]
                    if band is not None and band not in ("unknown", "healthy", "watch", "at_risk"):
                        return self.send(400, {"error": "bad band"})
                    try:
                        limit = int(q.get("limit", ["100"])[0])
                        wd = q.get("within_days", [None])[0]
                        wd = None if wd is None else int(wd)
                        assert limit >= 0
                    except (ValueError, AssertionError):
                        return self.send(400, {"error": "bad limit or within_days"})
                    docs = [state.doc(a) for a in state.accounts]
                    docs = [d for d in docs if (band is None or d["band"] == band) and (
                        wd is None or (d["days_to_renewal"] is not None
                                       and 0 <= d["days_to_renewal"] <= wd))]
                    docs.sort(key=lambda d: (d["score"] is None, d["score"] or 0, d["account"]))
                    keys = ("account", "name", "owner", "tier", "arr", "score", "band",
                            "renewal_date", "days_to_renewal")
                    return self.send(200, {"as_of": state.doc(state.accounts and next(iter(state.accounts)))["as_of"] if state.accounts else None,
                                           "accounts": [{k: d[k] for k in keys} for d in docs[:limit]]})
            return self.send(404, {"error": "not found"})

    srv = ThreadingHTTPServer((host, int(port)), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def main(argv):
    path = "/etc/renewald/renewald.conf"
    check = False
    args = list(argv)
    while args:
        a = args.pop(0)
        if a == "-c" and args:
            path = args.pop(0)
        elif a == "--check-config":
            check = True
        elif a == "--version":
            print("renewald " + VERSION)
            return 0
        elif a == "--help":
            sys.stdout.write(USAGE)
            return 0
        else:
            sys.stderr.write(USAGE)
            return 64
    cfg, errs = load_config(path)
    if check:
        if errs:
            sys.stderr.write("".join(e + "\n" for e in errs))
            return 1
        print("%s: ok" % path)
        return 0
    if errs:
        sys.stderr.write("".join(e + "\n" for e in errs))
        return 78
    import redis

    flags = {"stop": False, "hup": False}
    signal.signal(signal.SIGTERM, lambda *a: flags.__setitem__("stop", True))
    signal.signal(signal.SIGINT, lambda *a: flags.__setitem__("stop", True))
    signal.signal(signal.SIGHUP, lambda *a: flags.__setitem__("hup", True))
    rc = cfg["redis"]
    host, port = rc.get("address", "127.0.0.1:6379").rsplit(":", 1)
    r = redis.Redis(host=host, port=int(port))
    streams = [s.strip() for s in rc["streams"].split(",")]
    group = rc.get("group", "renewald")
    prefix = rc.get("prefix", "renewald:")
    for s in streams:
        try:
            r.xgroup_create(s, group, id="0", mkstream=True)
        except redis.ResponseError as e:
            if "BUSYGROUP" not in str(e):
                raise
    state = State(cfg)
    state.redis_up = 1
    if cfg.get("http", {}).get("listen"):
        serve(state, cfg["http"]["listen"])
    log("started")
    block = model.parse_duration_ms(rc.get("block", "2s"))
    batch = int(rc.get("batch", 1000))
    while not flags["stop"]:
        if flags["hup"]:
            flags["hup"] = False
            new, errs = load_config(path)
            if errs:
                for e in errs:
                    log(e)
                log("reload failed, keeping the old configuration")
            else:
                log("configuration reloaded")
        try:
            got = r.xreadgroup(group, "fake", {s: ">" for s in streams}, count=batch, block=block)
        except redis.exceptions.ConnectionError:
            continue
        for stream, entries in got or []:
            stream = stream.decode()
            for eid, fields in entries:
                eid = eid.decode()
                data = fields.get(b"event")
                if data is None:
                    ev, reason = None, "missing_event"
                else:
                    ev, reason = parse_event(data, int(eid.split("-")[0]))
                    if (ev is not None and cfg.get("daemon", {}).get("clock", "wall") == "wall"
                            and ev["_t"] > time.time() * 1000 + 86400000):
                        ev, reason = None, "future_ts"
                with state.lock:
                    if reason:
                        dl = {"stream": stream, "id": eid, "reason": reason}
                        if data is not None:
                            dl["event"] = data[:65536]
                        r.xadd(prefix + "dead", dl)
                        state.invalid[reason] = state.invalid.get(reason, 0) + 1
                        if state.invalid[reason] <= 10:
                            log("dead letter stream=%s id=%s reason=%s" % (stream, eid, reason))
                    else:
                        state.apply(ev)
                r.xack(stream, group, eid)
    log("stopping")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
