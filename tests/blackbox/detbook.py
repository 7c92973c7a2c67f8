"""A book for the determinism tests (SPEC §6): accounts over several streams of
very different lengths, every event with an explicit `ts`, entry ids that follow
event time within each stream, and patterns that cross every band, wait and
window -- including scores exactly on the bounds (a critical CSAT mean of
exactly 3 is a signal score of exactly 40).

`entries` is in global event-time order (ties: stream order), the order a
producer appends history "in time order"; `chunks()` cuts it only between
distinct times, so that a chunk written atomically (MULTI/EXEC) never splits
entries of one instant across two reads.
"""

import json
import random

DAY_MS = 86400000
HOUR_MS = 3600000
END_MS = 1795132800000  # 2026-11-20T00:00:00Z

STREAM_USAGE = "events:usage"
STREAM_SUPPORT = "events:support"
STREAM_ACCOUNTS = "events:accounts"
STREAMS = [STREAM_USAGE, STREAM_SUPPORT, STREAM_ACCOUNTS]

PATTERNS = ["steady", "fading", "silent", "tickets", "tie", "weekly"]


def date_str(ms):
    import datetime

    return datetime.datetime.fromtimestamp(ms // 1000, tz=datetime.timezone.utc).strftime(
        "%Y-%m-%d")


class DetBook:
    def __init__(self, n_accounts=100, days=90, seed=7, end_ms=END_MS):
        rng = random.Random(seed)
        self.accounts = []
        self.end_ms = end_ms
        start = end_ms - days * DAY_MS
        raw = []  # (ts, stream index, event)
        for i in range(n_accounts):
            acct = "acct-%03d" % i
            self.accounts.append(acct)
            pattern = PATTERNS[i % len(PATTERNS)]
            a_start = start + rng.randint(0, 3 * DAY_MS)
            meta = {"account": acct, "type": "account", "name": "Company %d" % i,
                    "owner": "owner%d@example.com" % (i % 7), "tier": ["a", "b", "c"][i % 3],
                    "arr": float(rng.randint(1, 500) * 1000), "seats": rng.randint(2, 30),
                    "renewal_date": date_str(end_ms + rng.randint(-10, 150) * DAY_MS)}
            raw.append((a_start, 2, meta))
            if i % 4 == 0:  # a renewal date moved mid-way
                upd = {"account": acct, "type": "account",
                       "renewal_date": date_str(end_ms + rng.randint(20, 100) * DAY_MS)}
                raw.append((a_start + rng.randint(20, 60) * DAY_MS, 2, upd))
            seats = meta["seats"]
            t = a_start
            while t < end_ms:
                frac = (t - start) / float(end_ms - start)
                if pattern == "fading":
                    level = max(0.0, 1.0 - 1.3 * frac)
                elif pattern == "silent":
                    level = 1.0 if frac < 0.6 else 0.0
                elif pattern == "weekly":
                    level = 1.0 if ((t // DAY_MS) % 14) < 9 else 0.05  # two weeks on, one off
                else:
                    level = 1.0
                if rng.random() < 0.5 * level:
                    raw.append((t, 0, {"account": acct, "type": "login",
                                       "value": max(1, int(seats * 0.4 * rng.random()))}))
                if rng.random() < 0.4 * level:
                    raw.append((t + 1, 0, {"account": acct, "type": "api_call",
                                           "value": rng.randint(5, 50)}))
                if pattern == "tickets" and frac > 0.5 and rng.random() < 0.35:
                    raw.append((t + 2, 1, {"account": acct, "type": "ticket_opened"}))
                elif rng.random() < 0.02:
                    raw.append((t + 2, 1, {"account": acct, "type": "ticket_opened"}))
                if rng.random() < 0.05:
                    value = 3 if pattern == "tie" else rng.choice([2, 4, 4, 5, 5])
                    raw.append((t + 3, 1, {"account": acct, "type": "csat", "value": value}))
                t += rng.randint(2, 9) * HOUR_MS
        raw.sort(key=lambda r: (r[0], r[1]))
        last = {}
        self.entries = []  # (stream, id, fields, ts)
        for ts, s, ev in raw:
            ev = dict(ev)
            ev["ts"] = ts
            prev_ms, seq = last.get(s, (-1, -1))
            seq = seq + 1 if ts == prev_ms else 0
            last[s] = (ts, seq)
            self.entries.append((STREAMS[s], "%d-%d" % (ts, seq), {"event": json.dumps(ev)}, ts))
        self.max_ts = max(e[3] for e in self.entries)

    def counts(self):
        out = {s: 0 for s in STREAMS}
        for e in self.entries:
            out[e[0]] += 1
        return out

    def chunks(self, size):
        """Runs of about SIZE entries, cut only where the time changes."""
        chunk = []
        for e in self.entries:
            if len(chunk) >= size and e[3] != chunk[-1][3]:
                yield chunk
                chunk = []
            chunk.append(e)
        if chunk:
            yield chunk


def feed_atomic(r, chunk):
    """XADDs one chunk in one MULTI/EXEC: a reader sees all of it or none."""
    pipe = r.pipeline(transaction=True)
    for stream, eid, fields, _ in chunk:
        pipe.xadd(stream, fields, id=eid)
    pipe.execute()


def alerts_of(r, prefix="renewald:"):
    """The alerts stream as a list of dicts, in stream order."""
    out = []
    last = "-"
    while True:
        items = r.xrange(prefix + "alerts", min=last, max="+", count=1000)
        if last != "-":
            items = items[1:]
        if not items:
            return out
        for _, f in items:
            out.append(json.loads(f["alert"]))
        last = items[-1][0]
