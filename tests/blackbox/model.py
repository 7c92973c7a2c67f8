"""Independent reference implementation of SPEC §2 (signals, account score,
bands by score), computed directly from the full list of an account's events
at a given `now` -- no incremental state, no reference-time tricks.

Events are tuples (ts_ms, value, type).  Times are integer ms since the epoch;
days = ms / 86400000.

Decisions where SPEC is silent (keep in sync with the report / README):
- present signals whose total weight is 0: the account score is the unweighted
  mean of their scores;
- normalize = seats divides a `rate` by max(seats, 1); unknown seats count as 1;
- events after `now` count with Δ = 0 (SPEC: Δᵢ = max(0, now − tᵢ)).

SPEC v2: a trend's rates are corrected for an account whose history is shorter
than their half-life, r(H) = rate(H) / (1 − 2^(−a/H)) with a the days from the
account's first_seen (its earliest event of any type) to now; a trend is absent
while a <= 0.  A mean with min_samples m is absent while Σ wᵢ < m.
"""

import math
import re

DAY_MS = 86400000
LN2 = math.log(2.0)

_DUR_UNITS_MS = {"ms": 1, "s": 1000, "m": 60000, "h": 3600000, "d": DAY_MS, "w": 7 * DAY_MS}


def parse_duration_ms(s):
    """'500ms', '90s', '30m', '12h', '7d', '2w', '0' -> ms (int)."""
    if isinstance(s, (int, float)):
        return int(s)
    s = str(s).strip()
    if s == "0":
        return 0
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)", s)
    if not m:
        raise ValueError("bad duration %r" % s)
    return int(round(float(m.group(1)) * _DUR_UNITS_MS[m.group(2)]))


def _as_bool(v):
    if isinstance(v, bool):
        return v
    return str(v).strip().lower() in ("true", "yes", "on", "1")


def _as_list(v):
    if isinstance(v, (list, tuple)):
        return [str(x).strip() for x in v]
    return [x.strip() for x in str(v).split(",") if x.strip()]


class Signal:
    def __init__(self, name, types, aggregate, half_life_days, low, high,
                 baseline_days=None, weight=1.0, normalize=None, critical=False,
                 min_samples=0.0):
        self.name = name
        self.types = frozenset(types)
        self.aggregate = aggregate
        self.H = float(half_life_days)
        self.low = float(low)
        self.high = float(high)
        self.baseline = None if baseline_days is None else float(baseline_days)
        self.weight = float(weight)
        self.normalize = normalize
        self.critical = bool(critical)
        self.min_samples = float(min_samples)

    @classmethod
    def from_conf(cls, name, conf):
        """From a config section dict as written to the INI file."""
        base = conf.get("baseline")
        return cls(
            name=name,
            types=_as_list(conf["types"]),
            aggregate=str(conf["aggregate"]).strip(),
            half_life_days=parse_duration_ms(conf["half_life"]) / DAY_MS,
            low=float(conf["low"]),
            high=float(conf["high"]),
            baseline_days=None if base is None else parse_duration_ms(base) / DAY_MS,
            weight=float(conf.get("weight", 1)),
            normalize=(str(conf["normalize"]).strip() if conf.get("normalize") else None),
            critical=_as_bool(conf.get("critical", False)),
            min_samples=float(conf.get("min_samples", 0)),
        )

    def __repr__(self):
        return "Signal(%s %s H=%g)" % (self.name, self.aggregate, self.H)


class ScoreConf:
    def __init__(self, healthy=70.0, watch=40.0):
        self.healthy = float(healthy)
        self.watch = float(watch)


def signals_from_config(config):
    """[signal "N"] sections of a config dict (keys ('signal', N)) in order."""
    out = []
    for key, sec in config.items():
        if isinstance(key, tuple) and key[0] == "signal" and sec is not None:
            out.append(Signal.from_conf(key[1], sec))
    return out


def score_conf_from_config(config):
    sec = config.get("score") or {}
    return ScoreConf(sec.get("healthy", 70), sec.get("watch", 40))


def _delta_days(now_ms, ts_ms):
    return max(0, now_ms - ts_ms) / DAY_MS


def _matching(events, types):
    return [(t, float(v)) for (t, v, ty) in events if ty in types]


def _rate(matching, now_ms, H):
    """(ln 2 / H) · Σ vᵢ·2^(−Δᵢ/H); 0 when no events."""
    total = 0.0
    for t, v in matching:
        total += v * 2.0 ** (-_delta_days(now_ms, t) / H)
    return (LN2 / H) * total


def _covered(a_days, H):
    """1 − 2^(−a/H): the share of a decayed window that a history of A days covers."""
    return -math.expm1(-a_days * LN2 / H)


def signal_x(sig, events, now_ms, seats=None, first_seen=None):
    """x of one signal: a float, math.inf (recency without events) or None (absent).
    FIRST_SEEN (ms) defaults to the earliest of EVENTS."""
    m = _matching(events, sig.types)
    if first_seen is None and events:
        first_seen = min(t for (t, _, _) in events)
    if sig.aggregate == "rate":
        x = _rate(m, now_ms, sig.H)
        if sig.normalize == "seats":
            s = 1.0 if seats is None else max(float(seats), 1.0)
            x = x / s
        return x
    if sig.aggregate == "mean":
        if not m:
            return None
        num = 0.0
        den = 0.0
        for t, v in m:
            w = 2.0 ** (-_delta_days(now_ms, t) / sig.H)
            num += v * w
            den += w
        if den == 0.0 or den < sig.min_samples:
            return None
        return num / den
    if sig.aggregate == "trend":
        if not m:
            return None
        long_rate = _rate(m, now_ms, sig.baseline)
        if long_rate == 0.0 or first_seen is None or now_ms <= first_seen:
            return None
        a = (now_ms - first_seen) / DAY_MS
        short = _rate(m, now_ms, sig.H) / _covered(a, sig.H)
        return short / (long_rate / _covered(a, sig.baseline))
    if sig.aggregate == "recency":
        if not m:
            return math.inf
        return min(_delta_days(now_ms, t) for t, _ in m)
    raise ValueError("unknown aggregate %r" % sig.aggregate)


def signal_score(sig, x):
    """100 · clamp((x − low)/(high − low), 0, 1); None for an absent x."""
    if x is None:
        return None
    r = (x - sig.low) / (sig.high - sig.low)
    if math.isnan(r):
        raise ValueError("NaN signal ratio for %r x=%r" % (sig, x))
    return 100.0 * min(1.0, max(0.0, r))


def account_eval(signals, events, now_ms, seats=None, first_seen=None):
    """Returns (S or None, {name: {"x": x, "score": s, "weight": w}}).

    x is None for an absent signal and math.inf for an infinite recency."""
    per = {}
    num = 0.0
    den = 0.0
    present = []
    for sig in signals:
        x = signal_x(sig, events, now_ms, seats, first_seen)
        s = signal_score(sig, x)
        per[sig.name] = {"x": x, "score": s, "weight": sig.weight}
        if s is not None:
            present.append((sig, s))
            num += sig.weight * s
            den += sig.weight
    if not present:
        return None, per
    if den > 0:
        S = num / den
    else:
        S = sum(s for _, s in present) / len(present)
    for sig, s in present:
        if sig.critical:
            S = min(S, s)
    return S, per


def account_score(signals, events, now_ms, seats=None):
    return account_eval(signals, events, now_ms, seats)[0]


def band_of_score(S, healthy=70.0, watch=40.0):
    """Band by the [score] bounds alone (no confirm/hysteresis/min_history)."""
    if S is None:
        return "unknown"
    if S >= healthy:
        return "healthy"
    if S >= watch:
        return "watch"
    return "at_risk"


# --- metadata and calendar ---------------------------------------------------

META_KEYS = ("name", "owner", "tier", "arr", "seats", "renewal_date")


def merge_metadata(account_events):
    """Merges the metadata of `account` events (dicts, in processing order):
    only present keys change, null clears."""
    meta = {k: None for k in META_KEYS}
    for ev in account_events:
        for k in META_KEYS:
            if k in ev:
                meta[k] = ev[k]
    return meta


def days_to_renewal(now_ms, renewal_date):
    """UTC calendar days from the date of now_ms to renewal_date 'YYYY-MM-DD'."""
    import datetime

    if renewal_date is None:
        return None
    today = datetime.datetime.fromtimestamp(now_ms // 1000, tz=datetime.timezone.utc).date()
    y, m, d = (int(p) for p in renewal_date.split("-"))
    return (datetime.date(y, m, d) - today).days
