"""Comparisons of the daemon's HTTP answers with model.py (shared by tests)."""

import datetime
import math
import re
import urllib.parse

import model

BANDS = ("unknown", "healthy", "watch", "at_risk")
SCORE_TOL = 0.05 + 1e-6  # the API may round scores to 1 decimal
X_REL = 1e-4
X_ABS = 1e-9

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def parse_rfc3339(s):
    """RFC 3339 string -> epoch ms (fraction rounded down to ms)."""
    m = _RFC3339.match(s)
    if not m:
        raise ValueError("not RFC 3339: %r" % (s,))
    y, mo, d, h, mi, sec = (int(m.group(k)) for k in range(1, 7))
    frac = m.group(7)
    ms = int((frac[1:] + "000")[:3]) if frac else 0
    tz = m.group(8)
    if tz in ("Z", "z"):
        off = 0
    else:
        sign = 1 if tz[0] == "+" else -1
        off = sign * (int(tz[1:3]) * 60 + int(tz[4:6]))
    dt = datetime.datetime(y, mo, d, h, mi, min(sec, 59), tzinfo=datetime.timezone.utc)
    return int(dt.timestamp()) * 1000 + ms - off * 60000


def account_path(acct):
    return "/v1/accounts/" + urllib.parse.quote(acct, safe="")


def close_x(got, want):
    """x comparison: None/inf in the model is JSON null; else 1e-4 relative."""
    if want is None or (isinstance(want, float) and math.isinf(want)):
        return got is None
    if got is None or isinstance(got, bool) or not isinstance(got, (int, float)):
        return False
    return math.isclose(float(got), want, rel_tol=X_REL, abs_tol=X_ABS)


def close_score(got, want, tol=SCORE_TOL):
    if want is None:
        return got is None
    if got is None or isinstance(got, bool) or not isinstance(got, (int, float)):
        return False
    return abs(float(got) - want) <= tol


def _num_eq(got, want):
    if want is None:
        return got is None
    if got is None or isinstance(got, bool) or not isinstance(got, (int, float)):
        return False
    return math.isclose(float(got), float(want), rel_tol=1e-9, abs_tol=1e-9)


def check_account_doc(doc, acct, signals, events, account_events, as_of_ms):
    """Returns a list of mismatch descriptions (empty = all good) between the
    GET /v1/accounts/ID document DOC and the model at AS_OF_MS."""
    errs = []

    def err(msg, *a):
        errs.append("%s: %s" % (acct, msg % a))

    if not isinstance(doc, dict):
        return ["%s: not a JSON object: %r" % (acct, doc)]
    if doc.get("account") != acct:
        err("account field %r", doc.get("account"))
    meta = model.merge_metadata(account_events)
    S, per = model.account_eval(signals, events, as_of_ms, meta.get("seats"))
    if not close_score(doc.get("score"), S):
        err("score %r, model %r", doc.get("score"), S)
    band = doc.get("band")
    if band not in BANDS:
        err("band %r not a band", band)
    if S is None and band != "unknown":
        err("score null but band %r", band)
    sigs = doc.get("signals")
    if not isinstance(sigs, dict):
        err("signals %r", sigs)
    else:
        if set(sigs) != set(per):
            err("signal names %r, want %r", sorted(sigs), sorted(per))
        for name, want in per.items():
            got = sigs.get(name)
            if not isinstance(got, dict):
                err("signal %s: %r", name, got)
                continue
            if not close_x(got.get("x"), want["x"]):
                err("signal %s x %r, model %r", name, got.get("x"), want["x"])
            if not close_score(got.get("score"), want["score"]):
                err("signal %s score %r, model %r", name, got.get("score"), want["score"])
            if not _num_eq(got.get("weight"), want["weight"]):
                err("signal %s weight %r, want %r", name, got.get("weight"), want["weight"])
    for k in ("name", "owner", "tier", "renewal_date"):
        if k not in doc:
            err("no key %s", k)
        elif doc[k] != meta[k]:
            err("%s %r, want %r", k, doc[k], meta[k])
    for k in ("arr", "seats"):
        if k not in doc:
            err("no key %s", k)
        elif not _num_eq(doc[k], meta[k]):
            err("%s %r, want %r", k, doc[k], meta[k])
    want_dtr = model.days_to_renewal(as_of_ms, meta["renewal_date"])
    if "days_to_renewal" not in doc or doc["days_to_renewal"] != want_dtr:
        err("days_to_renewal %r, want %r", doc.get("days_to_renewal"), want_dtr)
    try:
        fs = parse_rfc3339(doc["first_seen"])
        le = parse_rfc3339(doc["last_event"])
        if not fs <= le <= as_of_ms:
            err("first_seen %s, last_event %s, as_of %s out of order",
                doc["first_seen"], doc["last_event"], doc.get("as_of"))
    except (KeyError, TypeError, ValueError) as e:
        err("first_seen/last_event missing or not RFC 3339: %r", e)
    return errs


def fmt_errors(errs, limit=40):
    head = "\n".join(errs[:limit])
    if len(errs) > limit:
        head += "\n... and %d more" % (len(errs) - limit)
    return "%d mismatches:\n%s" % (len(errs), head)
