"""Self-test of model.py on hand-computed numbers (no daemon needed)."""

import math

import pytest

import model
from model import DAY_MS, LN2, Signal

NOW = 1_795_000_000_000  # some ms in 2026


def approx(x, rel=1e-12, abs_=1e-12):
    return pytest.approx(x, rel=rel, abs=abs_)


def logins(**kw):
    conf = dict(types="login", aggregate="rate", half_life="7d", low=0.05, high=0.4,
                weight=3, normalize="seats")
    conf.update(kw)
    return Signal.from_conf("logins", conf)


def test_parse_duration():
    assert model.parse_duration_ms("500ms") == 500
    assert model.parse_duration_ms("90s") == 90_000
    assert model.parse_duration_ms("30m") == 1_800_000
    assert model.parse_duration_ms("12h") == 43_200_000
    assert model.parse_duration_ms("7d") == 7 * DAY_MS
    assert model.parse_duration_ms("2w") == 14 * DAY_MS
    assert model.parse_duration_ms("0") == 0


def test_rate_one_login_one_half_life_ago():
    sig = logins(normalize=None)
    x = model.signal_x(sig, [(NOW - 7 * DAY_MS, 1, "login")], NOW)
    assert x == approx(LN2 / 7 * 0.5)
    assert x == approx(0.04951051, rel=1e-7)  # ln2/14, by hand
    # other types are ignored
    assert model.signal_x(sig, [(NOW, 5, "api_call")], NOW) == 0.0


def test_rate_values_and_seats():
    sig = logins()
    ev = [(NOW, 3, "login"), (NOW - 14 * DAY_MS, 4, "login")]  # 3·1 + 4·0.25 = 4
    assert model.signal_x(sig, ev, NOW, seats=None) == approx(LN2 / 7 * 4)
    assert model.signal_x(sig, ev, NOW, seats=10) == approx(LN2 / 7 * 4 / 10)
    assert model.signal_x(sig, ev, NOW, seats=0) == approx(LN2 / 7 * 4)  # max(seats, 1)
    assert model.signal_x(sig, ev, NOW, seats=0.5) == approx(LN2 / 7 * 4)
    assert model.signal_x(sig, [], NOW, seats=10) == 0.0  # rate without events is 0


def test_future_event_counts_with_zero_delta():
    sig = logins(normalize=None)
    assert model.signal_x(sig, [(NOW + 5 * DAY_MS, 1, "login")], NOW) == approx(LN2 / 7)


def test_mean():
    sig = Signal.from_conf("csat", dict(types="csat", aggregate="mean", half_life="30d",
                                        low=2, high=4.5, critical="true"))
    ev = [(NOW, 5, "csat"), (NOW - 30 * DAY_MS, 1, "csat")]  # (5·1 + 1·0.5) / 1.5
    x = model.signal_x(sig, ev, NOW)
    assert x == approx(5.5 / 1.5)
    assert model.signal_score(sig, x) == approx(100 * (5.5 / 1.5 - 2) / 2.5)
    assert model.signal_x(sig, [], NOW) is None
    assert model.signal_score(sig, None) is None


def test_trend():
    sig = Signal.from_conf("t", dict(types="api_call", aggregate="trend", half_life="7d",
                                     baseline="60d", low=0.5, high=1.0))
    old = NOW - 100000 * DAY_MS  # a long history: the correction is 1
    # one event right now: (ln2/7 · 1) / (ln2/60 · 1) = 60/7
    assert model.signal_x(sig, [(NOW, 1, "api_call")], NOW, first_seen=old) == approx(60 / 7)
    # one event 60 days ago: (ln2/7 · 2^-60/7) / (ln2/60 · 0.5)
    x = model.signal_x(sig, [(NOW - 60 * DAY_MS, 2, "api_call")], NOW, first_seen=old)
    assert x == approx((2 ** (-60 / 7) / 7) / (0.5 / 60))
    assert model.signal_x(sig, [], NOW) is None
    # long rate 0 (values cancel) -> absent
    assert model.signal_x(sig, [(NOW, 1, "api_call"), (NOW, -1, "api_call")], NOW,
                          first_seen=old) is None
    # no history yet (first_seen == now): absent
    assert model.signal_x(sig, [(NOW, 1, "api_call")], NOW) is None


def test_trend_short_history_correction():
    """A steady account only 5 days old shows a flat trend, not a rise (SPEC §2)."""
    sig = Signal.from_conf("t", dict(types="api_call", aggregate="trend", half_life="7d",
                                     baseline="60d", low=0.5, high=1.0))
    ev = [(NOW - k * 3600000, 1, "api_call") for k in range(0, 5 * 24)]  # one an hour
    first = min(t for t, _, _ in ev)
    x = model.signal_x(sig, ev, NOW, first_seen=first)
    assert x == approx(1.0, rel=0.02)
    uncorrected = model._rate(ev and [(t, 1.0) for t, _, _ in ev], NOW, 7) / \
        model._rate([(t, 1.0) for t, _, _ in ev], NOW, 60)
    assert uncorrected > 6  # what v1 showed: a "rise" of 6x


def test_mean_min_samples():
    sig = Signal.from_conf("c", dict(types="csat", aggregate="mean", half_life="30d",
                                     low=2, high=4.5, min_samples=1.5))
    one = [(NOW, 5, "csat")]
    assert model.signal_x(sig, one, NOW) is None  # Σw = 1 < 1.5
    two = [(NOW, 5, "csat"), (NOW - DAY_MS, 3, "csat")]
    assert model.signal_x(sig, two, NOW) is not None  # Σw ≈ 1.98
    assert model.signal_x(sig, two, NOW + 30 * DAY_MS) is None  # decayed below 1.5


def test_recency():
    sig = Signal.from_conf("r", dict(types="login", aggregate="recency", half_life="7d",
                                     low=14, high=1))
    ev = [(NOW - 3 * DAY_MS, 1, "login"), (NOW - 10 * DAY_MS, 1, "login")]
    assert model.signal_x(sig, ev, NOW) == approx(3.0)
    assert model.signal_score(sig, 3.0) == approx(100 * (3 - 14) / (1 - 14))
    assert model.signal_x(sig, [], NOW) == math.inf
    assert model.signal_score(sig, math.inf) == 0.0  # low > high: infinitely old is worst
    up = Signal.from_conf("r2", dict(types="login", aggregate="recency", half_life="7d",
                                     low=1, high=14))
    assert model.signal_score(up, math.inf) == 100.0


def test_signal_score_clamps_and_direction():
    sig = logins()
    assert model.signal_score(sig, 0.2) == approx(100 * 0.15 / 0.35)
    assert model.signal_score(sig, 0.0) == 0.0
    assert model.signal_score(sig, 10.0) == 100.0
    tickets = Signal.from_conf("tickets", dict(types="ticket_opened", aggregate="rate",
                                               half_life="14d", low=1, high=0))
    assert model.signal_score(tickets, 0.0) == 100.0
    assert model.signal_score(tickets, 0.25) == approx(75.0)
    assert model.signal_score(tickets, 3.0) == 0.0


def test_account_score_weights_absent_and_critical():
    lg = logins(normalize=None)  # weight 3
    csat = Signal.from_conf("csat", dict(types="csat", aggregate="mean", half_life="30d",
                                         low=2, high=4.5, weight=1, critical=True))
    # logins: x = ln2/7 per login at now; 2 logins -> 0.198 -> score 42.26...
    ev = [(NOW, 1, "login"), (NOW, 1, "login")]
    x = 2 * LN2 / 7
    s_login = 100 * (x - 0.05) / 0.35
    S, per = model.account_eval([lg, csat], ev, NOW)
    assert per["csat"] == {"x": None, "score": None, "weight": 1.0}
    assert S == approx(s_login)  # csat absent: only logins counts
    # csat 4.5 -> 100: (3·s + 1·100)/4, critical does not lower it
    S2 = model.account_score([lg, csat], ev + [(NOW, 4.5, "csat")], NOW)
    assert S2 == approx((3 * s_login + 100) / 4)
    # csat 2.5 -> 20: weighted mean would be (3s+20)/4, critical caps at 20
    S3 = model.account_score([lg, csat], ev + [(NOW, 2.5, "csat")], NOW)
    assert S3 == approx(20.0)
    # no signal present -> None
    assert model.account_score([csat], [], NOW) is None


def test_account_score_zero_total_weight():
    a = logins(normalize=None, weight=0)
    b = Signal.from_conf("csat", dict(types="csat", aggregate="mean", half_life="30d",
                                      low=2, high=4.5, weight=0))
    S = model.account_score([a, b], [(NOW, 4.5, "csat")], NOW)  # scores 0 and 100
    assert S == approx(50.0)


def test_band_of_score():
    assert model.band_of_score(None) == "unknown"
    assert model.band_of_score(70.0) == "healthy"
    assert model.band_of_score(100.0) == "healthy"
    assert model.band_of_score(69.999) == "watch"
    assert model.band_of_score(40.0) == "watch"
    assert model.band_of_score(39.99) == "at_risk"
    assert model.band_of_score(0.0) == "at_risk"
    assert model.band_of_score(50, healthy=80, watch=50) == "watch"


def test_metadata_merge_and_days_to_renewal():
    meta = model.merge_metadata([
        {"type": "account", "name": "Acme", "owner": "a@x.com", "seats": 10},
        {"type": "account", "seats": 12, "owner": None},
    ])
    assert meta == {"name": "Acme", "owner": None, "tier": None, "arr": None, "seats": 12,
                    "renewal_date": None}
    # 2026-11-20T23:59:59Z to 2026-11-21 is 1 calendar day; to 2026-11-20 is 0
    t = 1_795_219_199_000  # 2026-11-20T23:59:59Z
    assert model.days_to_renewal(t, "2026-11-21") == 1
    assert model.days_to_renewal(t, "2026-11-20") == 0
    assert model.days_to_renewal(t, "2026-11-01") == -19
    assert model.days_to_renewal(t, "2027-11-20") == 365
    assert model.days_to_renewal(t, None) is None
