"""Issue 3 acceptance: malformed entries are dead-lettered one by one, valid
entries around them are applied, the daemon keeps going (SPEC §1)."""

import json

import pytest

import gen
import model
from apicheck import account_path, check_account_doc, fmt_errors, parse_rfc3339
from conftest import (EVENT_STREAMS, base_config, free_port, metric_value, metric_values,
                      parse_metrics, wait_consumed)

DAY_MS = model.DAY_MS
END = gen.END_MS
T0 = END - 40 * DAY_MS
DEAD = "renewald:dead"
CUT = 64 * 1024
MIB = 1024 * 1024


class Case:
    def __init__(self, stream, fields, expect=None, kind=None, account=None, events=(),
                 meta=None, either=False):
        self.stream = stream
        self.fields = fields  # field -> str/bytes
        self.expect = expect  # set of acceptable reasons, or None for a valid entry
        self.kind = kind
        self.account = account  # valid: the account it applies to
        self.events = list(events)  # valid: [(ts_ms, value, type)]
        self.meta = meta  # valid `account` event: the metadata keys it carries
        self.either = either  # may be dead-lettered (any reason) or applied
        self.id = None


def build_cases():
    cases = []
    seq = {"t": T0}

    def nxt():
        seq["t"] += 60_000
        return seq["t"]

    def bad(kind, reasons, payload=None, stream="events:usage", fields=None):
        if isinstance(reasons, str):
            reasons = {reasons}
        if fields is None:
            if not isinstance(payload, (bytes, str)):
                payload = json.dumps(payload)
            fields = {"event": payload}
        cases.append(Case(stream, fields, expect=set(reasons), kind=kind))

    def good(acct, etype, ts=None, value=None, stream="events:usage", raw=None, **extra):
        """A valid event; TS None -> the entry id time (filled in later)."""
        ev = {"account": acct, "type": etype}
        if ts is not None:
            ev["ts"] = ts
        if value is not None:
            ev["value"] = value
        ev.update(extra)
        payload = raw if raw is not None else json.dumps(ev)
        c = Case(stream, {"event": payload}, account=acct)
        c.kind = "valid:%s:%s" % (acct, etype)
        c._ev = ev
        cases.append(c)
        return c

    def login(acct, value=None, **kw):
        return good(acct, "login", ts=nxt(), value=value, **kw)

    # -- valid accounts, interleaved with the bad entries below
    good("ok-1", "account", ts=gen.iso_z(nxt()), stream="events:accounts", name="One Inc",
         owner="one@example.com", tier="growth", arr=12000.5, seats=4,
         renewal_date="2026-12-31")
    good("ok-2", "account", ts=nxt(), stream="events:accounts", name="Two", seats=2,
         owner="two@example.com", renewal_date="2027-02-28", tier="starter", arr=3000)

    bad("not_json", "invalid_json", "hello world")
    bad("empty_event", "invalid_json", "")
    bad("trailing_garbage", "invalid_json", '{"account":"dl-a","type":"login"} x')
    bad("nan_literal", "invalid_json", '{"account":"dl-a","type":"login","value":NaN}')
    login("ok-1")
    bad("json_array", "not_object", [1, 2, 3])
    bad("json_string", "not_object", json.dumps("just a string"))
    bad("json_number", "not_object", 42)
    bad("json_null", "not_object", None)
    login("ok-1", value=3)
    bad("missing_account", "missing_account", {"type": "login", "ts": nxt()})
    bad("account_number", "bad_account", {"account": 42, "type": "login"})
    bad("account_empty", "bad_account", {"account": "", "type": "login"})
    bad("account_129", "bad_account", {"account": "b" * 129, "type": "login"})
    bad("account_ctrl", "bad_account", {"account": "dl-ctl\u0001x", "type": "login"})
    bad("account_newline", "bad_account", {"account": "dl-nl\nx", "type": "login"})
    bad("account_200_multibyte", "bad_account", {"account": "ü" * 100, "type": "login"})
    bad("account_null", "bad_account", {"account": None, "type": "login"})
    login("ok-2", value=0)
    bad("missing_type", "missing_type", {"account": "dl-notype"})
    bad("type_65", "bad_type", {"account": "dl-type65", "type": "t" * 65})
    bad("type_empty", "bad_type", {"account": "dl-typeempty", "type": ""})
    bad("type_number", "bad_type", {"account": "dl-typenum", "type": 7})
    bad("type_ctrl", "bad_type", {"account": "dl-typectl", "type": "log\u0007in"})
    # \u0000 is valid JSON, but common parsers (jansson) refuse it: either reason
    bad("type_nul", {"bad_type", "invalid_json"}, {"account": "dl-typenul", "type": "lo\u0000g"})
    bad("account_nul", {"bad_account", "invalid_json"}, {"account": "dl-\u0000", "type": "login"})
    login("ok-2", value=-2.5)
    bad("ts_word", "bad_ts", {"account": "dl-ts1", "type": "login", "ts": "yesterday"})
    bad("ts_feb30", "bad_ts", {"account": "dl-ts2", "type": "login",
                               "ts": "2026-02-30T00:00:00Z"})
    bad("ts_hour25", "bad_ts", {"account": "dl-ts3", "type": "login",
                                "ts": "2026-11-20T25:00:00Z"})
    bad("ts_no_offset", "bad_ts", {"account": "dl-ts4", "type": "login",
                                   "ts": "2026-11-20T10:00:00"})
    bad("ts_date_only", "bad_ts", {"account": "dl-ts5", "type": "login", "ts": "2026-11-20"})
    bad("ts_negative", "bad_ts", {"account": "dl-ts6", "type": "login", "ts": -5})
    bad("ts_float", "bad_ts", {"account": "dl-ts7", "type": "login", "ts": 1790000000000.5})
    bad("ts_bool", "bad_ts", {"account": "dl-ts8", "type": "login", "ts": True})
    bad("ts_null", "bad_ts", {"account": "dl-ts9", "type": "login", "ts": None})
    login("ok-1", value=2)
    bad("value_string", "bad_value", {"account": "dl-v1", "type": "login", "value": "3"})
    bad("value_null", "bad_value", {"account": "dl-v2", "type": "login", "value": None})
    bad("value_bool", "bad_value", {"account": "dl-v3", "type": "login", "value": True})
    bad("value_object", "bad_value", {"account": "dl-v4", "type": "login", "value": {}})
    bad("value_overflow", {"bad_value", "invalid_json"},
        '{"account":"dl-v5","type":"login","value":1e400}')
    bad("renewal_month13", "bad_renewal_date",
        {"account": "dl-m1", "type": "account", "renewal_date": "2026-13-01"},
        stream="events:accounts")
    bad("renewal_feb29_2026", "bad_renewal_date",
        {"account": "dl-m2", "type": "account", "renewal_date": "2026-02-29"},
        stream="events:accounts")
    bad("renewal_number", "bad_renewal_date",
        {"account": "dl-m3", "type": "account", "renewal_date": 20261201},
        stream="events:accounts")
    bad("seats_string", "bad_seats", {"account": "dl-m4", "type": "account", "seats": "ten"},
        stream="events:accounts")
    # SPEC-silent, decided by the test plan: a negative ARR is bad metadata
    bad("arr_negative", "bad_arr", {"account": "dl-m5", "type": "account", "arr": -5},
        stream="events:accounts")
    bad("arr_string", "bad_arr", {"account": "dl-m6", "type": "account", "arr": "1000"},
        stream="events:accounts")
    bad("owner_not_email", "bad_owner",
        {"account": "dl-m7", "type": "account", "owner": "not-an-email"},
        stream="events:accounts")
    bad("owner_number", "bad_owner", {"account": "dl-m8", "type": "account", "owner": 5},
        stream="events:accounts")
    bad("name_number", "bad_name", {"account": "dl-m9", "type": "account", "name": 42},
        stream="events:accounts")
    bad("tier_array", "bad_tier", {"account": "dl-m10", "type": "account", "tier": ["a"]},
        stream="events:accounts")
    login("ok-2")
    bad("missing_event", "missing_event", fields={"other": "x"})
    bad("missing_event_support", "missing_event", stream="events:support",
        fields={"evnt": '{"account":"dl-x","type":"login"}'})
    bad("garbage_1mib", "invalid_json", (b"not json! " * (MIB // 10 + 1))[:MIB])
    bad("deep_nesting_open", "invalid_json", "[" * 100000)
    bad("deep_nesting_balanced", {"invalid_json", "not_object"}, "[" * 100000 + "]" * 100000)
    bad("invalid_utf8_ignored_field", "invalid_json",
        b'{"account":"dl-u1","type":"login","note":"\xff\xfe\xfd"}')
    bad("invalid_utf8_account", {"invalid_json", "bad_account"},
        b'{"account":"dl-u2\xc3\x28","type":"login"}')
    bad("truncated_utf8", "invalid_json", b'{"account":"dl-u3","type":"login","n":"\xe2\x82"}')
    login("ok-1")

    # -- valid edge cases
    good("A" * 128, "login", ts=nxt())  # exactly 128 bytes
    good("é" * 64, "login", ts=gen.iso_offset(nxt(), 120))  # 128 bytes of UTF-8
    good("ok-type64", "x" * 64, ts=nxt())  # a 64-byte type
    good("ok-big", "login", ts=nxt(), blob="y" * MIB)  # 1 MiB, valid: ignored field
    good("ok-epoch", "login", ts=0)  # epoch 0 is a valid time
    good("ok-noid-ts", "login")  # no ts: the entry id time
    good("ok-2", "login", ts=nxt(), seats="ten", owner=7)  # metadata keys ignored on a login
    good("ok-1", "account", ts=nxt(), stream="events:accounts", owner=None, tier="enterprise",
         unknown_key={"nested": [1, 2]})  # null clears; unknown keys ignored
    good("ok-meta-empty", "account", ts=nxt(), stream="events:accounts")
    good("ok-3", "account", ts=nxt(), stream="events:accounts", seats=0, arr=0,
         renewal_date="2028-02-29", name="Ünïcödé", owner="o+tag@sub.example.co.uk")
    good("ok-3", "ticket_opened", ts=nxt(), stream="events:support")
    good("ok-3", "csat", ts=nxt(), value=2.5, stream="events:support")
    good("ok-1", "login", ts=gen.iso_z(nxt(), 6), extra_field="keep going")
    c = good("ok-fields", "login", ts=nxt())
    c.fields["other"] = "x"  # more fields beside `event` are fine
    # duplicate keys: SPEC-silent -- either dead-lettered or applied, never both
    d = good("dup-acct", "login", raw='{"account":"dup-acct","type":"login","account":"dup-acct"}')
    d.either = True
    # the newest event: fixes `now` for the model
    good("ok-2", "login", ts=END)

    # explicit increasing ids per stream; times for valid events
    last = {s: T0 - DAY_MS for s in EVENT_STREAMS}
    for k, c in enumerate(cases):
        ms = T0 + k * 1000
        assert ms > last[c.stream]
        last[c.stream] = ms
        c.id = "%d-0" % ms
        if c.expect is None:
            ev = c._ev if "_ev" in c.__dict__ else json.loads(c.fields["event"])
            if c.kind.startswith("valid:dup-acct"):
                ev = {"account": "dup-acct", "type": "login"}
            ts = ev.get("ts")
            if ts is None:
                t = ms
            elif isinstance(ts, int):
                t = ts
            else:
                t = parse_rfc3339(ts)
            c.events = [(t, float(ev.get("value", 1)), ev["type"])]
            if ev["type"] == "account":
                c.meta = {k2: v for k2, v in ev.items() if k2 in model.META_KEYS}
    return cases


@pytest.mark.slow
def test_dead_letters(redis_server, daemon_factory):
    cases = build_cases()
    kinds = [c.kind for c in cases if c.expect is not None]
    assert len(set(kinds)) == len(kinds) >= 20
    r = redis_server.client()
    rb = redis_server.client(decode_responses=False)
    pipe = rb.pipeline(transaction=False)
    for c in cases:
        pipe.xadd(c.stream, c.fields, id=c.id)
    pipe.execute()

    cfg = base_config(redis_server.port, free_port())
    d = daemon_factory(cfg)
    d.wait_healthy()
    wait_consumed(r, EVENT_STREAMS, daemon=d, timeout=120)
    assert d.alive(), d.log_tail()
    status, body = d.get("/healthz")
    assert status == 200, body

    # -- dead letters: exactly one per malformed entry, with the right fields
    dead = rb.xrange(DEAD.encode(), b"-", b"+")
    by_orig = {}
    errs = []
    for dl_id, f in dead:
        key = (f.get(b"stream", b"").decode(), f.get(b"id", b"").decode())
        by_orig.setdefault(key, []).append(f)
    case_by_key = {(c.stream, c.id): c for c in cases}
    for key in by_orig:
        if key not in case_by_key:
            errs.append("dead letter for an unknown entry %r: %r" % (key, by_orig[key]))
    dup_dead = False
    for c in cases:
        got = by_orig.get((c.stream, c.id), [])
        if c.either:
            dup_dead = len(got) == 1
            if len(got) > 1:
                errs.append("%s: %d dead letters" % (c.kind, len(got)))
            continue
        if c.expect is None:
            if got:
                errs.append("%s (valid) was dead-lettered: %r" % (c.kind, got[0].get(b"reason")))
            continue
        if len(got) != 1:
            errs.append("%s: %d dead letters, want 1" % (c.kind, len(got)))
            continue
        f = got[0]
        reason = f.get(b"reason", b"").decode()
        if reason not in c.expect:
            errs.append("%s: reason %r, want %s" % (c.kind, reason, " or ".join(sorted(c.expect))))
        if "event" in c.fields:
            orig = c.fields["event"]
            orig = orig if isinstance(orig, bytes) else orig.encode()
            if f.get(b"event") != orig[:CUT]:
                g = f.get(b"event")
                errs.append("%s: event field %r... (%s bytes), want %r... (%d bytes)" % (
                    c.kind, g[:40] if g else g, len(g) if g else None, orig[:40],
                    len(orig[:CUT])))
        elif f.get(b"event") not in (None, b""):
            errs.append("%s: event field %r for an entry without one" % (c.kind, f[b"event"]))
    assert not errs, fmt_errors(errs)

    # -- dead-lettered events create no account
    for acct in ("dl-a", "dl-notype", "dl-type65", "dl-ts1", "dl-ts6", "dl-v1", "dl-m1",
                 "dl-m4", "dl-m5", "dl-m7", "dl-m9", "dl-u1"):
        status, body = d.get(account_path(acct))
        assert status == 404, "%s: %s %r (created by a dead-lettered event)" % (acct, status,
                                                                              body)

    # -- every valid entry is applied
    valid = [c for c in cases if c.expect is None and not c.either]
    if not dup_dead:
        valid += [c for c in cases if c.either]
    events, metas = {}, {}
    for c in valid:
        events.setdefault(c.account, []).extend(c.events)
        metas.setdefault(c.account, [])
        if c.meta is not None:
            metas[c.account].append(c.meta)
    want_now = max(t for evs in events.values() for (t, _, _) in evs)
    assert want_now == END
    signals = model.signals_from_config(cfg)
    errs = []
    for acct in events:
        status, doc = d.get(account_path(acct))
        if status != 200:
            errs.append("%s: GET -> %s %r" % (acct, status, doc))
            continue
        as_of = parse_rfc3339(doc["as_of"])
        if as_of != want_now:
            errs.append("%s: as_of %s, want %s" % (acct, doc["as_of"], gen.iso_z(want_now)))
        errs += check_account_doc(doc, acct, signals, events[acct], metas[acct], as_of)
    if dup_dead:
        status, doc = d.get(account_path("dup-acct"))
        if status != 404:
            errs.append("dup-acct dead-lettered but applied too: %s" % status)
    assert not errs, fmt_errors(errs)

    # -- metrics
    samples = parse_metrics(d.metrics())
    per_reason = {}
    for f_list in by_orig.values():
        for f in f_list:
            reason = f.get(b"reason", b"").decode()
            per_reason[reason] = per_reason.get(reason, 0) + 1
    for reason, n in per_reason.items():
        got = metric_value(samples, "renewald_events_invalid_total", reason=reason)
        assert got == n, "renewald_events_invalid_total{reason=%r} = %r, want %d" % (
            reason, got, n)
    assert sum(metric_values(samples, "renewald_events_invalid_total")) == len(dead)
    assert sum(metric_values(samples, "renewald_events_total")) == len(valid)
    n_accounts = len(events)
    per_band = metric_values(samples, "renewald_accounts")
    assert sum(per_band) == n_accounts, per_band

    # -- everything acknowledged, nothing pending
    for s in EVENT_STREAMS:
        assert r.xpending(s, "renewald")["pending"] == 0, s

    # -- still processing after all that
    r.xadd("events:usage", {"event": json.dumps({"account": "ok-after", "type": "login",
                                                 "ts": END})})
    wait_consumed(r, EVENT_STREAMS, daemon=d)
    status, doc = d.get(account_path("ok-after"))
    assert status == 200, (status, doc)
    assert d.alive()


def test_future_ts_under_wall_clock(redis_server, daemon_factory):
    """clock = wall: ts more than 1 day ahead of the daemon's clock is dead-lettered;
    12 hours ahead is fine.  (The reason name is not pinned by SPEC.)"""
    import time as _time

    r = redis_server.client()
    now = int(_time.time() * 1000)
    far = r.xadd("events:usage", {"event": json.dumps(
        {"account": "fut-far", "type": "login", "ts": now + 3 * DAY_MS})})
    near = r.xadd("events:usage", {"event": json.dumps(
        {"account": "fut-near", "type": "login", "ts": now + DAY_MS // 2})})
    plain = r.xadd("events:usage", {"event": json.dumps({"account": "fut-none", "type": "login"})})
    cfg = base_config(redis_server.port, free_port(), daemon={"clock": "wall"})
    d = daemon_factory(cfg)
    d.wait_healthy()
    wait_consumed(r, EVENT_STREAMS, daemon=d)
    dead = {f["id"]: f for _, f in r.xrange(DEAD)}
    assert far in dead, dead
    assert dead[far]["reason"] in ("bad_ts", "future_ts"), dead[far]
    assert near not in dead and plain not in dead, dead
    assert d.get(account_path("fut-far"))[0] == 404
    assert d.get(account_path("fut-near"))[0] == 200
    assert d.get(account_path("fut-none"))[0] == 200


@pytest.mark.slow
def test_dead_letter_logging_is_rate_limited(redis_server, daemon_factory):
    """2000 malformed entries: every one dead-lettered and counted, but the log
    does not get one line per entry (SPEC §1: logged, rate-limited)."""
    r = redis_server.client()
    n = 2000
    pipe = r.pipeline(transaction=False)
    for k in range(n):
        pipe.xadd("events:usage", {"event": "garbage %d" % k}, id="%d-0" % (T0 + k))
    pipe.xadd("events:usage", {"event": json.dumps({"account": "rl-ok", "type": "login",
                                                    "ts": END})}, id="%d-0" % (T0 + n))
    pipe.execute()
    cfg = base_config(redis_server.port, free_port(), daemon={"log_level": "info"})
    d = daemon_factory(cfg)
    d.wait_healthy()
    wait_consumed(r, EVENT_STREAMS, daemon=d, timeout=120)
    assert r.xlen(DEAD) == n
    samples = parse_metrics(d.metrics())
    assert metric_value(samples, "renewald_events_invalid_total", reason="invalid_json") == n
    assert d.get(account_path("rl-ok"))[0] == 200
    lines = [l for l in d.log_text().splitlines() if "invalid_json" in l]
    assert 1 <= len(lines) < n // 4, "%d log lines mention invalid_json" % len(lines)
