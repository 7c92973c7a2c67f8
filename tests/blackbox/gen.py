"""Deterministic generator of a book of accounts and their events (seeded).

Patterns over ~100 days ending at END_MS: healthy (steady logins and API
calls), declining, suddenly silent, support-heavy with poor CSAT, new
(onboarding) accounts, and sparse accounts (no seats, no API calls).

Streams: account metadata (type `account`) on events:accounts; login,
api_call, feature_used on events:usage; ticket_opened, csat, ticket_closed on
events:support.  `ts` comes in every form: RFC 3339 with Z (with and without
a fraction, 3 or 6 digits), with +02:00 / -05:30 offsets, integer epoch ms,
and absent (then the event time is the entry id's ms part).  Every entry gets
an explicit, strictly increasing entry id per stream (`<ms>-<seq>`, ms = the
arrival time), so ts-less events are deterministic.  About 4 % of the
non-metadata events arrive late: their ts is older than their predecessors'.
Metadata events are never late, so "last processed wins" and "newest ts
wins" agree on the merged metadata.
"""

import datetime
import json
import math
import random

DAY_MS = 86400000
HOUR_MS = 3600000
END_MS = 1795168800000  # 2026-11-20T10:00:00Z
STREAM_USAGE = "events:usage"
STREAM_SUPPORT = "events:support"
STREAM_ACCOUNTS = "events:accounts"
STREAMS = [STREAM_USAGE, STREAM_SUPPORT, STREAM_ACCOUNTS]

PATTERNS = ["healthy", "declining", "silent", "support_heavy", "new", "sparse"]


def iso_z(ms, frac=3):
    dt = datetime.datetime.fromtimestamp(ms // 1000, tz=datetime.timezone.utc)
    s = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if frac == 3:
        s += ".%03d" % (ms % 1000)
    elif frac == 6:
        s += ".%03d000" % (ms % 1000)
    elif frac == 1:
        s += ".%d" % ((ms % 1000) // 100)
    return s + "Z"


def iso_offset(ms, offset_minutes, frac=True):
    tz = datetime.timezone(datetime.timedelta(minutes=offset_minutes))
    dt = datetime.datetime.fromtimestamp(ms // 1000, tz=tz)
    s = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        s += ".%03d" % (ms % 1000)
    sign = "+" if offset_minutes >= 0 else "-"
    om = abs(offset_minutes)
    return s + "%s%02d:%02d" % (sign, om // 60, om % 60)


def date_str(ms):
    return datetime.datetime.fromtimestamp(ms // 1000, tz=datetime.timezone.utc).strftime("%Y-%m-%d")


class Entry:
    """One stream entry: STREAM, ID ('ms-seq'), EVENT (dict, or None), FIELDS (to XADD)."""

    __slots__ = ("stream", "id", "event", "fields", "time_ms", "arrival_ms", "account")

    def __init__(self, stream, event, time_ms, arrival_ms, account):
        self.stream = stream
        self.event = event
        self.time_ms = time_ms  # the event time the daemon must use
        self.arrival_ms = arrival_ms
        self.account = account
        self.id = None
        self.fields = None

    def __repr__(self):
        return "Entry(%s %s %r)" % (self.stream, self.id, self.event)


class Book:
    def __init__(self):
        self.entries = []  # every entry, in global arrival order (per stream: id order)
        self.accounts = []  # ids, in creation order
        self.patterns = {}  # id -> pattern
        self.events = {}  # id -> [(ts_ms, value, type)] every valid event (incl. `account`)
        self.account_events = {}  # id -> [metadata event dicts] in stream order
        self.max_ts = None

    def by_stream(self):
        out = {s: [] for s in STREAMS}
        for e in self.entries:
            out[e.stream].append(e)
        return out

    def as_tuples(self):
        """[(stream, entry_id, event_dict)] in global arrival order."""
        return [(e.stream, e.id, e.event) for e in self.entries]

    def n_events(self):
        return len(self.entries)


def _poisson(rng, lam):
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, int(round(rng.gauss(lam, math.sqrt(lam)))))
    L = math.exp(-lam)
    k = 0
    p = 1.0
    while True:
        p *= rng.random()
        if p <= L:
            return k
        k += 1


def _ts_repr(rng, ms, allow_none):
    """Chooses a representation; returns (ts_value_or_None, actual_ms)."""
    r = rng.random()
    if r < 0.30:
        return iso_z(ms, 3), ms
    if r < 0.38:
        ms -= ms % 1000
        return iso_z(ms, 0), ms
    if r < 0.42:
        return iso_z(ms, 6), ms
    if r < 0.44:
        ms -= ms % 100
        return iso_z(ms, 1), ms
    if r < 0.56:
        return iso_offset(ms, 120, True), ms
    if r < 0.62:
        ms -= ms % 1000
        return iso_offset(ms, -330, False), ms
    if r < 0.88 or not allow_none:
        return ms, ms
    return None, ms  # no ts: the entry id carries the time


def generate(seed=20261120, n_accounts=60, days=100, end_ms=END_MS):
    rng = random.Random(seed)
    book = Book()
    start_ms = end_ms - days * DAY_MS
    raw = []  # Entry objects before id assignment

    def add(stream, acct, etype, t, value=None, extra=None, late_ok=True, force_no_ts=False):
        ev = {"account": acct, "type": etype}
        late = late_ok and rng.random() < 0.04
        if force_no_ts:
            tsv, t = None, t
        else:
            tsv, t = _ts_repr(rng, t, allow_none=not late)
        if tsv is not None:
            ev["ts"] = tsv
        if value is not None:
            ev["value"] = value
        if extra:
            ev.update(extra)
        if rng.random() < 0.1:  # ignored extra keys
            ev["source"] = rng.choice(["web", "ios", "android", "api"])
        arrival = t
        if late:
            arrival = min(max(t, end_ms), t + rng.randint(60_000, 5 * DAY_MS))
        raw.append(Entry(stream, ev, t, arrival, acct))
        v = 1.0 if value is None else float(value)
        book.events.setdefault(acct, []).append((t, v, etype))

    special_ids = {3: "Ünïcödé Corp 7", 11: "acme.io:eu-1", 17: "a" * 128}
    tiers = ["enterprise", "growth", "starter"]
    for i in range(n_accounts):
        acct = special_ids.get(i, "acct-%03d" % i)
        pattern = PATTERNS[i % len(PATTERNS)]
        book.accounts.append(acct)
        book.patterns[acct] = pattern
        book.events[acct] = []
        book.account_events[acct] = []
        if pattern == "new":
            a_start = end_ms - rng.randint(3, 12) * DAY_MS - rng.randint(0, DAY_MS)
        else:
            a_start = start_ms + rng.randint(0, 5 * DAY_MS)
        seats = rng.randint(3, 40)
        if pattern == "sparse":
            seats = None
        if i == 5:
            seats = 0
        arr = round(rng.uniform(2000, 250000), 2) if i % 7 else rng.randint(1000, 90000)
        renewal_ms = end_ms + rng.randint(-20, 400) * DAY_MS
        if i % 5 == 0:
            renewal_ms = end_ms + rng.randint(-5, 95) * DAY_MS  # many near renewals

        # -- metadata
        meta = {"name": "Company %d" % i, "owner": "owner%d@example.com" % i,
                "tier": tiers[i % 3], "arr": arr}
        if seats is not None:
            meta["seats"] = seats
        if i % 11 != 4:
            meta["renewal_date"] = date_str(renewal_ms)
        meta_times = [a_start - rng.randint(1000, HOUR_MS)]
        n_updates = rng.randint(0, 3)
        span = max(1, end_ms - a_start)
        meta_times += sorted(a_start + rng.randint(0, span) for _ in range(n_updates))
        for k, t in enumerate(meta_times):
            if k == 0:
                upd = dict(meta)
            else:
                upd = {}
                choice = rng.random()
                if choice < 0.3 and seats is not None:
                    seats = max(1, seats + rng.randint(-5, 10))
                    upd["seats"] = seats
                elif choice < 0.5:
                    upd["arr"] = round(arr * rng.uniform(0.8, 1.5), 2)
                elif choice < 0.65:
                    upd["tier"] = rng.choice(tiers + [None])
                elif choice < 0.8:
                    upd["owner"] = rng.choice(["csm%d@example.org" % i, None])
                elif choice < 0.9:
                    upd["renewal_date"] = rng.choice(
                        [date_str(end_ms + rng.randint(-3, 200) * DAY_MS), None])
                else:
                    upd["name"] = "Company %d (renamed)" % i
            if i == 9 and k == len(meta_times) - 1:
                upd["seats"] = None  # seats cleared: normalize falls back to 1
            ev_extra = upd
            add(STREAM_ACCOUNTS, acct, "account", t, extra=ev_extra, late_ok=False)
            book.account_events[acct].append(dict(ev_extra))

        # -- usage
        summary = rng.random() < 0.5
        lam_seat = rng.uniform(0.25, 0.6)
        silent_at = end_ms - rng.randint(15, 40) * DAY_MS
        api_level = rng.uniform(20, 200)
        has_api = pattern not in ("sparse",) and i % 13 != 6
        eff_seats = seats if seats else 5
        day = a_start - a_start % DAY_MS
        while day < end_ms:
            frac = (day - start_ms) / float(end_ms - start_ms)
            if pattern == "declining":
                factor = max(0.05, 1.0 - 0.95 * frac)
            elif pattern == "silent":
                factor = 0.0 if day >= silent_at else 1.0
            elif pattern == "support_heavy":
                factor = 0.5
            elif pattern == "sparse":
                factor = 0.3
            else:
                factor = 1.0
            weekend = ((day // DAY_MS) + 4) % 7 >= 5  # 1970-01-01 was a Thursday
            if weekend:
                factor *= 0.3
            lam = min(12.0, lam_seat * eff_seats * factor)
            n = _poisson(rng, lam)
            if summary:
                if n:
                    t = day + rng.randint(20 * HOUR_MS, 23 * HOUR_MS)
                    if a_start <= t <= end_ms:
                        add(STREAM_USAGE, acct, "login", t, value=n)
            else:
                for _ in range(n):
                    t = day + rng.randint(0, DAY_MS - 1)
                    if a_start <= t <= end_ms:
                        add(STREAM_USAGE, acct, "login", t)
            if has_api and factor > 0:
                for _ in range(_poisson(rng, 2.0 * (1 if not weekend else 0.5))):
                    t = day + rng.randint(0, DAY_MS - 1)
                    if a_start <= t <= end_ms:
                        v = max(1, int(api_level * factor * rng.uniform(0.5, 1.5)))
                        if rng.random() < 0.2:
                            v = round(v + rng.random(), 3)  # non-integer values too
                        add(STREAM_USAGE, acct, "api_call", t, value=v)
            if factor > 0 and rng.random() < 0.2:
                t = day + rng.randint(0, DAY_MS - 1)
                if a_start <= t <= end_ms:
                    add(STREAM_USAGE, acct, "feature_used", t,
                        extra={"feature": rng.choice(["export", "sso", "reports"])})
            # -- support
            if pattern == "support_heavy":
                lam_t = 0.3 if day < end_ms - 30 * DAY_MS else 1.2
            else:
                lam_t = 0.04
            for _ in range(_poisson(rng, lam_t)):
                t = day + rng.randint(0, DAY_MS - 1)
                if a_start <= t <= end_ms:
                    add(STREAM_SUPPORT, acct, "ticket_opened", t,
                        extra={"severity": rng.choice(["low", "high"])})
                    t2 = t + rng.randint(HOUR_MS, 3 * DAY_MS)
                    if t2 + 60_000 <= end_ms and rng.random() < 0.7:
                        add(STREAM_SUPPORT, acct, "ticket_closed", t2)
                        if rng.random() < 0.6 and i % 4 != 1:
                            if pattern == "support_heavy":
                                c = rng.choice([1, 1, 2, 2, 3])
                            else:
                                c = rng.choice([3, 4, 4, 5, 5])
                            add(STREAM_SUPPORT, acct, "csat", t2 + 60_000, value=c)
            day += DAY_MS

    # the newest event of the book: a login right at END_MS without ts
    add(STREAM_USAGE, "acct-000", "login", end_ms, late_ok=False, force_no_ts=True)

    # ids per stream: by arrival, then generation order; explicit and strictly increasing
    order = {id(e): k for k, e in enumerate(raw)}
    per_stream = {s: [] for s in STREAMS}
    for e in raw:
        per_stream[e.stream].append(e)
    for s, lst in per_stream.items():
        lst.sort(key=lambda e: (e.arrival_ms, order[id(e)]))
        prev_ms, seq = -1, 0
        for e in lst:
            ms = e.arrival_ms
            if ms == prev_ms:
                seq += 1
            else:
                prev_ms, seq = ms, 0
            e.id = "%d-%d" % (ms, seq)
            if "ts" not in e.event:
                assert ms == e.time_ms
            e.fields = {"event": json.dumps(e.event, ensure_ascii=rng.random() < 0.5)}
    # a global arrival order that keeps per-stream order
    book.entries = sorted(raw, key=lambda e: (e.arrival_ms, STREAMS.index(e.stream),
                                              _id_key(e.id)))
    book.max_ts = max(t for evs in book.events.values() for (t, _, _) in evs)
    return book


def _id_key(entry_id):
    ms, seq = entry_id.split("-")
    return int(ms), int(seq)


def feed(r, entries, pipeline_size=1000):
    """XADDs ENTRIES (Entry objects or (stream, id, fields) tuples) with their explicit ids."""
    pipe = r.pipeline(transaction=False)
    n = 0
    for e in entries:
        if isinstance(e, Entry):
            stream, eid, fields = e.stream, e.id, e.fields
        else:
            stream, eid, fields = e
        pipe.xadd(stream, fields, id=eid)
        n += 1
        if n % pipeline_size == 0:
            pipe.execute()
    pipe.execute()
    return n
