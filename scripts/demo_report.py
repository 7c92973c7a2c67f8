#!/usr/bin/python3
"""The second half of scripts/demo: waits (bounded) until renewald has consumed the book and
delivered its alerts, then prints them, one Slack message and one e-mail as their receivers got
them (as a person would read them), and the at-risk worklist."""

import argparse
import collections
import email
import email.policy
import glob
import json
import os
import re
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


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def wait(r, port, hook, timeout, pid=None):
    """Consumed, caught up, outbox empty and the webhook count stable for 1.5 s."""
    deadline = time.monotonic() + timeout
    stable_since, last = None, -1
    while time.monotonic() < deadline:
        if pid and not alive(pid):
            print("demo: renewald exited", file=sys.stderr)
            return False
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


def mrkdwn(text):
    """Slack mrkdwn as plain text: <url|label> links as "label (url)", *bold* and _italic_ bare."""
    text = re.sub(r"<([^|>]+)\|([^>]+)>", r"\2 (\1)", text)
    text = re.sub(r"<([^>]+)>", r"\1", text)
    text = re.sub(r"(?<!\w)\*([^*\n]+)\*(?!\w)", r"\1", text)
    text = re.sub(r"(?<!\w)_([^_\n]+)_(?!\w)", r"\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def slack_as_text(payload):
    """The lines a person reads in Slack for an incoming-webhook payload (Block Kit blocks,
    else its text)."""
    out = []
    for b in payload.get("blocks") or []:
        t = b.get("type")
        if t == "header":
            out += [mrkdwn(b["text"]["text"]).upper(), ""]
        elif t == "section":
            if b.get("text"):
                out += mrkdwn(b["text"]["text"]).splitlines()
            fields = [mrkdwn(f["text"]).replace("\n", " ") for f in b.get("fields") or []]
            for i in range(0, len(fields), 2):
                out.append("   ".join(x.ljust(36) for x in fields[i:i + 2]).rstrip())
        elif t == "context":
            out.append("  ".join(mrkdwn(e.get("text", "")) for e in b.get("elements") or []))
        elif t == "divider":
            out.append("-" * 40)
        elif t == "actions":
            out.append("  ".join("[%s] %s" % (mrkdwn(e["text"]["text"]), e.get("url", ""))
                                 for e in b.get("elements") or [] if e.get("text")))
    if not out:
        out = mrkdwn(payload.get("text") or "").splitlines()
    return out


def mail_as_text(path):
    """The headers a mail reader shows, then the text body."""
    with open(path, "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    out = ["%s: %s" % (h, msg[h]) for h in ("From", "To", "Subject", "Date") if msg[h]]
    body = msg.get_body(preferencelist=("plain",))
    out.append("")
    out += (body.get_content() if body else "(no text part)").rstrip().splitlines()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--http", type=int, required=True)
    ap.add_argument("--received", required=True, help="the directory of demo_receiver.py")
    ap.add_argument("--pid", type=int, help="renewald's pid: stop waiting when it exits")
    ap.add_argument("--book", required=True)
    ap.add_argument("--timeout", type=float, default=40)
    a = ap.parse_args()

    book = json.load(open(a.book))
    r = redis.Redis(host="127.0.0.1", port=a.port, decode_responses=True, socket_timeout=10)
    t0 = time.monotonic()
    hook = os.path.join(a.received, "hook.jsonl")
    if not wait(r, a.http, hook, a.timeout, a.pid):
        print("demo: renewald did not finish within %.0fs" % a.timeout, file=sys.stderr)
        return 1
    m = metrics(a.http)
    alerts = [json.loads(l) for l in open(hook) if l.strip()]

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

    slack = os.path.join(a.received, "slack.jsonl")
    msgs = [json.loads(l) for l in open(slack) if l.strip()] if os.path.exists(slack) else []
    print()
    digests = [p for p in msgs if (p.get("text") or "").startswith("renewald digest")]
    print("== one Slack message (of %d posted to the Slack-like sink%s), as Slack shows it ==" %
          (len(msgs), ": the catch-up's alerts as one digest" if digests else ""))
    if msgs:
        for line in slack_as_text((digests or msgs)[0]):
            print("  | " + line)
    mails = sorted(glob.glob(os.path.join(a.received, "mail", "*.eml")))
    print()
    print("== one e-mail (of %d sent to the local SMTP server), as a mail reader shows it ==" %
          len(mails))
    if mails:
        for line in mail_as_text(mails[0]):
            print("  | " + line)

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
