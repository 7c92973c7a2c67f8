"""Helpers of the alerting and delivery black-box tests (test_alerts.py,
test_delivery.py): a small signal set whose scores are easy to steer, event
builders, readers of the alert streams, webhook signature checks, log-sink
line parsing and a reference simulation of bands and band_change alerts
(SPEC §2 confirm/hysteresis, §3 worse-only) used to sanity-check scenarios."""

import datetime
import hashlib
import hmac
import json
import re
import time

import model
from conftest import base_config, wait_until

DAY_MS = model.DAY_MS
HOUR_MS = 3600 * 1000
PREFIX = "renewald:"
ALERTS = PREFIX + "alerts"
ALERTS_DEAD = PREFIX + "alerts:dead"
OUTBOX = PREFIX + "outbox"
STREAM = "events:usage"

# logins: a decayed events-per-day rate, 0.5/day -> 0, 3/day -> 100.
# tickets: critical, a short half-life: one ticket pulls the account to 0 for
# about half a day and keeps it below 70 for about 1.1 days; weight 0: a pure
# red flag that does not lift the mean of an account without tickets.
SIMPLE_SIGNALS = {
    ("signal", "logins"): {"types": "login", "aggregate": "rate", "half_life": "2d",
                           "low": 0.5, "high": 3, "weight": 1},
    ("signal", "tickets"): {"types": "ticket_opened", "aggregate": "rate", "half_life": "12h",
                            "low": 1, "high": 0, "weight": 0, "critical": True},
}


def simple_config(redis_port, http_port, sinks=None, routes=None, keep_log_sink=True,
                  **overrides):
    """base_config with SIMPLE_SIGNALS, clock = event, batch 1 (every event is
    evaluated at its own time), min_history 0, confirm 0, no renewal_date-free surprises.
    SINKS / ROUTES: {name: dict}.  OVERRIDES are merged per section."""
    extra = {}
    if not keep_log_sink:
        extra[("sink", "log")] = None
    for name, kv in (sinks or {}).items():
        extra[("sink", name)] = kv
    for name, kv in (routes or {}).items():
        extra[("route", name)] = kv
    ov = {
        "daemon": {"clock": "event", "sweep_interval": "1h", "log_level": "debug"},
        "redis": {"batch": 1, "block": "100ms", "lease": "2s"},
        # confirm 0: a new account takes its score's band at first sight (SPEC v2
        # counts it as healthy for the waits after onboarding; with no wait, they
        # end at once).  Scenarios about waits set their own.
        "score": {"min_history": "0", "confirm": "0"},
    }
    for sec, kv in overrides.items():
        if kv is None:
            ov[sec] = None
        else:
            cur = dict(ov.get(sec) or {})
            cur.update(kv)
            ov[sec] = cur
    cfg = base_config(redis_port, http_port, signals=SIMPLE_SIGNALS, extra=extra, **ov)
    return cfg


def webhook_sink(url, **kw):
    d = {"type": "webhook", "url": url, "retry_initial": "100ms", "retry_max": "500ms",
         "timeout": "5s"}
    d.update(kw)
    return d


# ---------------------------------------------------------------------------
# events


def iso(ms):
    dt = datetime.datetime.fromtimestamp(ms / 1000.0, tz=datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def date_of(ms):
    return datetime.datetime.fromtimestamp(ms // 1000, tz=datetime.timezone.utc).strftime(
        "%Y-%m-%d")


def day_start(ymd):
    """'YYYY-MM-DD' -> ms of its 00:00 UTC."""
    d = datetime.datetime.strptime(ymd, "%Y-%m-%d").replace(tzinfo=datetime.timezone.utc)
    return int(d.timestamp() * 1000)


class Ev:
    """One event: (ts_ms, account, type, value, extra) -> JSON for XADD."""

    __slots__ = ("ts", "account", "type", "value", "extra")

    def __init__(self, ts, account, etype, value=None, **extra):
        self.ts = int(ts)
        self.account = account
        self.type = etype
        self.value = value
        self.extra = extra

    def json(self):
        d = {"account": self.account, "type": self.type, "ts": self.ts}
        if self.value is not None:
            d["value"] = self.value
        d.update(self.extra)
        return json.dumps(d)

    def model_tuple(self):
        return (self.ts, 1.0 if self.value is None else float(self.value), self.type)


def login(ts, account, value=None):
    return Ev(ts, account, "login", value)


def ticket(ts, account):
    return Ev(ts, account, "ticket_opened")


def meta(ts, account, **kw):
    return Ev(ts, account, "account", **kw)


def periodic(account, start_ms, end_ms, every_ms, value, first_value=20):
    """Logins every EVERY_MS from START_MS (inclusive) to END_MS (exclusive);
    the first one carries FIRST_VALUE (a full rate from the start), unless None."""
    out = []
    t = start_ms
    first = True
    while t < end_ms:
        v = first_value if (first and first_value is not None) else value
        out.append(login(t, account, v))
        first = False
        t += every_ms
    return out


def sort_events(events):
    """Stable sort by ts (the order of equal ts is kept)."""
    return sorted(events, key=lambda e: e.ts)


def xadd_events(r, events, stream=STREAM, chunk=1000):
    """XADDs EVENTS in the given order (auto ids) to STREAM; returns the count."""
    pipe = r.pipeline(transaction=False)
    n = 0
    for e in events:
        pipe.xadd(stream, {"event": e.json()})
        n += 1
        if n % chunk == 0:
            pipe.execute()
    pipe.execute()
    return n


def events_by_account(events):
    out = {}
    for e in events:
        out.setdefault(e.account, []).append(e.model_tuple())
    return out


# ---------------------------------------------------------------------------
# alert streams


def stream_alerts(r, key=ALERTS):
    """Every alert of <prefix>alerts, parsed, in stream order."""
    out = []
    for _id, fields in r.xrange(key, "-", "+"):
        assert "alert" in fields, "alerts entry without `alert`: %r" % (fields,)
        out.append(json.loads(fields["alert"]))
    return out


def dead_deliveries(r, key=ALERTS_DEAD):
    return [fields for _id, fields in r.xrange(key, "-", "+")]


def by_account(alerts, kind=None):
    out = {}
    for a in alerts:
        if kind is None or a.get("kind") == kind:
            out.setdefault(a.get("account"), []).append(a)
    return out


def summarize(alerts):
    return "\n".join("  %s %s %s band=%s prev=%s score=%s window=%s days=%s id=%s" % (
        a.get("ts"), a.get("account"), a.get("kind"), a.get("band"), a.get("previous_band"),
        a.get("score"), a.get("window"), a.get("days_to_renewal"), a.get("id"))
        for a in alerts) or "  (none)"


def wait_stream_alerts(r, n, timeout=60, daemon=None, key=ALERTS):
    """Waits until at least N alerts are in the stream; returns them."""

    def pred():
        if daemon is not None and not daemon.alive():
            raise AssertionError("daemon exited (%s):\n%s" % (daemon.proc.returncode,
                                                              daemon.log_tail()))
        got = stream_alerts(r, key)
        return got if len(got) >= n else None

    return wait_until(pred, timeout=timeout, interval=0.1, what="%d alerts in %s" % (n, key))


def wait_outbox_empty(r, timeout=60):
    wait_until(lambda: r.hlen(OUTBOX) == 0, timeout=timeout, interval=0.1,
               what="empty %s" % OUTBOX)


def settle(seconds):
    """A bounded pause to give the daemon the chance to do something it must NOT do."""
    time.sleep(seconds)


# ---------------------------------------------------------------------------
# webhook


def expected_signature(secret, timestamp, body):
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def request_alert_id(req):
    return req.header("X-Renewald-Alert-Id")


# ---------------------------------------------------------------------------
# log parsing

_LOGFMT_MSG = re.compile(r'(?:^|\s)msg="((?:[^"\\]|\\.)*)"')


def _unescape(s):
    return json.loads('"' + s + '"')


def log_messages(text):
    """The `msg` of every log line (logfmt text or JSON lines)."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("<") and ">" in line[:4]:  # journald priority prefix
            line = line[line.index(">") + 1:]
        if line.startswith("{"):
            try:
                out.append(str(json.loads(line).get("msg", "")))
                continue
            except ValueError:
                pass
        m = _LOGFMT_MSG.search(line)
        if m:
            try:
                out.append(_unescape(m.group(1)))
            except ValueError:
                out.append(m.group(1))
        else:
            out.append(line)
    return out


_LOGFMT_PAIR = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)')


def log_fields(line):
    """The fields of one log line as a dict: a JSON line's object, or a logfmt
    line's key=value pairs (quoted values unescaped)."""
    line = line.strip()
    if line.startswith("<") and ">" in line[:4]:  # journald priority prefix
        line = line[line.index(">") + 1:]
    if line.startswith("{"):
        try:
            obj = json.loads(line)
            return obj if isinstance(obj, dict) else {}
        except ValueError:
            return {}
    out = {}
    for k, v in _LOGFMT_PAIR.findall(line):
        if v.startswith('"'):
            try:
                v = _unescape(v[1:-1])
            except ValueError:
                v = v[1:-1]
        out[k] = v
    return out


def log_sink_alerts(text):
    """The alert objects printed by `log` sinks: the `alert` field (a JSON
    object, or in logfmt a quoted JSON text) of every log line that has one
    with an `id` and a `kind`."""
    out = []
    for line in text.splitlines():
        alert = log_fields(line).get("alert")
        if isinstance(alert, str):
            try:
                alert = json.loads(alert)
            except ValueError:
                continue
        if isinstance(alert, dict) and "id" in alert and "kind" in alert:
            out.append(alert)
    return out


# ---------------------------------------------------------------------------
# reference simulation (sanity checks of the scenarios, not of the daemon)

_SEV = {"unknown": 0, "healthy": 0, "watch": 1, "at_risk": 2}


def _tenths(S):
    """A score rounded half away from zero to one decimal, in tenths (SPEC §2)."""
    return int(S * 10 + 0.5) if S >= 0 else -int(-S * 10 + 0.5)


def simulate_band_alerts(signals, events, eval_times, healthy=70.0, watch=40.0, hysteresis=3.0,
                         confirm_ms=2 * DAY_MS, min_history_ms=0, confirm_at_risk_ms=None):
    """Evaluates every account at every time of EVAL_TIMES (sorted) over the events
    seen so far (EVENTS: {account: [(ts, value, type)]}) and returns the
    band_change alerts [(account, t, band, previous_band)] of on_band_change = worse.

    SPEC v2 §2: bands on the score rounded to tenths; to leave healthy the score
    stays below healthy for confirm, to enter at_risk below watch for
    confirm_at_risk (both met at once: at_risk directly); up at bound +
    hysteresis; after onboarding unknown counts as healthy for the waits; a
    first alert says previous_band "unknown"."""
    if confirm_at_risk_ms is None:
        confirm_at_risk_ms = confirm_ms
    h10, w10 = _tenths(healthy), _tenths(watch)
    hu10, wu10 = _tenths(healthy + hysteresis), _tenths(watch + hysteresis)
    state = {}
    alerts = []
    for t in eval_times:
        for acct, evs in events.items():
            seen = [e for e in evs if e[0] <= t]
            if not seen:
                continue
            st = state.setdefault(acct, {"band": "unknown", "bh": None, "bw": None,
                                         "notified": "unknown"})
            first = min(e[0] for e in seen)
            S = model.account_score(signals, seen, t)
            if S is None or t - first < min_history_ms:
                st.update(band="unknown", bh=None, bw=None)
                continue
            s10 = _tenths(S)
            band = "healthy" if st["band"] == "unknown" else st["band"]
            st["bh"] = (st["bh"] if st["bh"] is not None else t) \
                if band == "healthy" and s10 < h10 else None
            st["bw"] = (st["bw"] if st["bw"] is not None else t) \
                if band != "at_risk" and s10 < w10 else None
            leave = st["bh"] is not None and t - st["bh"] >= confirm_ms
            enter = st["bw"] is not None and t - st["bw"] >= confirm_at_risk_ms
            if band == "healthy" and leave:
                band, st["bh"] = ("at_risk" if enter else "watch"), None
            elif band == "watch" and enter:
                band = "at_risk"
            if band == "at_risk":
                st["bw"] = None
            if band != "healthy" and s10 >= hu10:
                band, st["bh"], st["bw"] = "healthy", None, None
            elif band == "at_risk" and s10 >= wu10:
                band, st["bw"] = "watch", None
            st["band"] = band
            if _SEV[band] != _SEV[st["notified"]]:
                if _SEV[band] > _SEV[st["notified"]]:
                    alerts.append((acct, t, band, st["notified"]))
                st["notified"] = band
    return alerts


def score_span_below(signals, evs, times, bound):
    """(first t, last t) of TIMES where the account's score is below BOUND, or None."""
    below = [t for t in times
             if (lambda S: S is not None and S < bound)(
                 model.account_score(signals, [e for e in evs if e[0] <= t], t))]
    return (below[0], below[-1]) if below else None
