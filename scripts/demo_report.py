#!/usr/bin/python3
"""The second half of scripts/demo: waits (bounded) until renewald has consumed the book and
delivered its alerts, then prints them and the at-risk worklist readably."""

import argparse
import collections
import json
import sys
import time
import urllib.request

import redis

STREAMS = ["events:usage", "events:support", "events:accounts"]


def get(port, path):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
        return r.read().decode()


def metrics(port):
    out = collections.defaultdict(float)
    for line in get(port, "/metrics").splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out


def consumed(r):
    for s in STREAMS:
        groups = r.xinfo_groups(s)
        g = next((g for g in groups if g["name"] == "renewald"), None)
        if g is None or g["pending"] or g.get("lag") not in (None, 0):
            return False
        if g["last-delivered-id"] != r.xinfo_stream(s)["last-generated-id"]:
            return False
    return True


def wait(r, port, hook, timeout):
    """Consumed, caught up, outbox empty and the webhook count stable for 1.5 s."""
    deadline = time.monotonic() + timeout
    stable_since, last = None, -1
    while time.monotonic() < deadline:
        try:
            m = metrics(port)
            ok = consumed(r) and not m["renewald_catching_up"] and not m["renewald_outbox_depth"]
        except (OSError, redis.RedisError, ValueError):
            ok = False
        n = sum(1 for _ in open(hook)) if ok else -1
        if ok and n == last:
            if time.monotonic() - stable_since >= 1.5:
                return True
        else:
            stable_since, last = time.monotonic(), n
        time.sleep(0.2)
    return False


def money(x):
    return "-" if x is None else "$%s" % format(int(x), ",")


def score(x):
    return "  -  " if x is None else "%5.1f" % x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--http", type=int, required=True)
    ap.add_argument("--hook", required=True)
    ap.add_argument("--book", required=True)
    ap.add_argument("--timeout", type=float, default=40)
    a = ap.parse_args()

    book = json.load(open(a.book))
    r = redis.Redis(host="127.0.0.1", port=a.port, decode_responses=True, socket_timeout=10)
    t0 = time.monotonic()
    if not wait(r, a.http, a.hook, a.timeout):
        print("demo: renewald did not finish within %.0fs" % a.timeout, file=sys.stderr)
        return 1
    m = metrics(a.http)
    alerts = [json.loads(l) for l in open(a.hook) if l.strip()]

    print()
    print("== the book ==")
    print("  %d accounts over %d days (%s .. %s), %s events, seed %d" % (
        book["accounts"], book["days"], book["start"][:10], book["end"][:10],
        format(book["events"], ","), book["seed"]))
    print("  patterns: " + ", ".join("%s %d" % kv for kv in book["patterns"].items()))
    print("  renewald applied %s events, dead letters %d; caught up %.1fs after loadgen ended" % (
        format(int(m["renewald_events_total"]), ","),
        int(sum(v for k, v in m.items() if k.startswith("renewald_events_invalid_total"))),
        time.monotonic() - t0))
    bands = {k.split('"')[1]: int(v) for k, v in m.items() if k.startswith("renewald_accounts{")}
    print("  bands now: " + ", ".join("%s %d" % (b, bands.get(b, 0))
                                      for b in ("healthy", "watch", "at_risk", "unknown")))

    print()
    print("== alerts delivered to the webhook (the log sink got the same) ==")
    kinds = collections.Counter()
    for al in alerts:
        if al["kind"] == "band_change":
            kinds["band_change -> %s" % al["band"]] += 1
        else:
            kinds["renewal_window %sd" % al.get("window")] += 1
    for k, n in sorted(kinds.items()):
        print("  %-28s %5d" % (k, n))
    print("  %-28s %5d" % ("total", len(alerts)))

    print()
    print("== sample alerts ==")
    samples = [al for al in alerts if al["kind"] == "band_change" and al["band"] == "at_risk"][:4]
    samples += [al for al in alerts if al["kind"] == "band_change" and al["band"] == "watch"][:2]
    samples += [al for al in alerts if al["kind"] == "renewal_window"][:4]
    for al in samples:
        what = ("%s -> %s" % (al.get("previous_band"), al["band"]) if al["kind"] == "band_change"
                else "window %sd (%s)" % (al.get("window"), al["band"]))
        print("  %-14s %-26s %-22s score %s  renews %s (%s d)" % (
            al["kind"], (al.get("name") or al["account"])[:26], what, score(al.get("score")),
            al.get("renewal_date") or "-", al.get("days_to_renewal")))

    print()
    print("== worklist: at risk, renewing within 90 days, lowest score first ==")
    wl = json.loads(get(a.http, "/v1/accounts?band=at_risk&within_days=90&limit=15"))
    rows = [("account", "name", "owner", "tier", "ARR", "score", "renewal", "days")]
    for x in wl["accounts"]:
        rows.append((x["account"], x.get("name") or "-", x.get("owner") or "-",
                     x.get("tier") or "-", money(x.get("arr")), score(x.get("score")).strip(),
                     x.get("renewal_date") or "-", str(x.get("days_to_renewal"))))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    right = {4, 5, 7}
    for n, row in enumerate(rows):
        print("  " + "  ".join(c.rjust(w) if i in right else c.ljust(w)
                               for i, (c, w) in enumerate(zip(row, widths))))
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))
    print("  (as of %s; GET /v1/accounts?band=at_risk&within_days=90&limit=15)" % wl["as_of"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
