"""Issue 4 acceptance: durability (SPEC §8, README "Durability needs AOF",
"Running more than one instance").

Every scenario runs the same ~102k entries (gen.generate over 300 accounts,
plus one tick per account, see durability.BigBook) through a daemon that is
disturbed -- killed with SIGKILL, its Redis killed, replaced by a standby --
and compares every account's /v1/accounts/ID with an uninterrupted reference
run (its own redis-server and daemon, fed everything at once).

Why the comparison can be exact:
- clock = event: `now` is the newest event time, max_ts at the end of both
  runs, so `as_of`, `days_to_renewal` and every decayed sum are evaluated at
  the same instant;
- entries carry explicit, increasing ids (gen.py): both runs see the same
  entries with the same ids, whatever the chunking;
- score (rounded to 0.1 by the API) and x do not depend on batching except
  for float summation order: x is compared within 1e-9 relative, the score
  exactly;
- bands: the stored band is set at evaluations (batch ends, sweeps), whose
  `now` differs between batchings.  We take the history out of it: with
  [score] confirm = 0 and hysteresis = 0 every evaluation sets
  band = band_of_score(S) (no wait in progress, no "recovered, but not by
  enough"), and the final tick per account (type `tick`, in no signal,
  ts = max_ts, after the newest event in its stream) makes the last
  evaluation of every account happen at now = max_ts in every run.  The
  bounds are healthy = 70.3, watch = 40.3, out of reach of the scores that
  are round numbers in exact arithmetic (a critical csat whose events all
  have the same value scores exactly 40 or 80 -- +- 1 ulp depending on the
  batching; see durability.HEALTHY).  So the band compares exactly, and the
  reference run is checked to satisfy band == band_of_score(score) (away
  from the 0.05 rounding of the bounds).
"""

import collections
import random
import re
import time

import pytest

import durability as du
import gen
import model
from apicheck import account_path, fmt_errors, parse_rfc3339
from conftest import (EVENT_STREAMS, Daemon, RedisServer, free_port, wait_consumed,
                      wait_until)

pytestmark = pytest.mark.slow

GROUP = "renewald"
LEASE = "2s"


# ---------------------------------------------------------------------------
# the book and the uninterrupted reference run (shared by the module)


@pytest.fixture(scope="module")
def bigbook():
    bb = du.BigBook(n_accounts=300)
    assert len(bb) >= 100_000 and len(bb.accounts) >= 300
    return bb


class Reference:
    def __init__(self, snap, events_total, log):
        self.snap = snap
        self.events_total = events_total
        self.log = log


@pytest.fixture(scope="module")
def reference(bigbook, tmp_path_factory):
    """The uninterrupted run: everything XADDed, then one daemon consumes it."""
    base = tmp_path_factory.mktemp("reference")
    srv = RedisServer(str(base / "redis"))
    d = None
    try:
        srv.start()
        r = srv.client()
        du.feed_resumable(r, bigbook.entries)
        d = Daemon(str(base / "daemon"), du.durability_config(srv.port, free_port()),
                   name="reference")
        d.start()
        d.wait_healthy()
        wait_consumed(r, EVENT_STREAMS, daemon=d, timeout=180)
        snap = du.snapshot(d, bigbook.accounts)
        ref = Reference(snap, du.events_total(d), d.log_path)
    finally:
        if d is not None:
            d.stop()
        srv.cleanup()
    check_reference(bigbook, ref)
    return ref


def check_reference(bb, ref):
    """The reference itself: every account, as_of = max_ts, all events
    counted, bands = the score's band, onboarding accounts unknown, and a
    mix of bands (else the band comparison would prove little)."""
    errs = []
    want_as_of = gen.iso_z(bb.max_ts)
    for acct, doc in ref.snap.items():
        if parse_rfc3339(doc["as_of"]) != bb.max_ts:
            errs.append("%s: as_of %s, want %s" % (acct, doc["as_of"], want_as_of))
        S = doc.get("score")
        if bb.book.patterns[acct] == "new":
            if doc.get("band") != "unknown":
                errs.append("%s: onboarding, band %r" % (acct, doc.get("band")))
        elif S is None:
            errs.append("%s: no score" % acct)
        else:
            want = model.band_of_score(S, du.HEALTHY, du.WATCH)
            if doc.get("band") != want:
                errs.append("%s: band %r, score %r -> %s" % (acct, doc.get("band"), S, want))
    assert not errs, "reference run: " + fmt_errors(errs)
    assert ref.events_total == len(bb), (ref.events_total, len(bb))
    bands = collections.Counter(doc["band"] for doc in ref.snap.values())
    assert all(bands[b] > 0 for b in ("healthy", "watch", "at_risk", "unknown")), bands
    ties = [a for a, doc in ref.snap.items() if doc.get("score") in (du.HEALTHY, du.WATCH)]
    assert ties, "no account exactly on a bound: the ties are not exercised"


def assert_equal_to_reference(d, bb, ref, what):
    snap = du.snapshot(d, bb.accounts)
    errs = du.compare_snapshots(snap, ref.snap)
    assert not errs, "%s differs from the uninterrupted run: %s\n--- daemon log tail ---\n%s" % (
        what, fmt_errors(errs), d.log_tail(30))
    return snap


def pending_total(r, streams=EVENT_STREAMS, group=GROUP):
    n = 0
    for s in streams:
        if r.exists(s):
            try:
                n += r.xpending(s, group)["pending"]
            except Exception:
                pass
    return n


def healthz(d, timeout=5):
    try:
        return d.get("/healthz", timeout=timeout)
    except OSError as e:
        return None, repr(e)


# ---------------------------------------------------------------------------
# 1. kill -9 of the daemon, repeatedly, while the producer XADDs


def test_kill9_daemon_repeatedly_mid_stream(redis_factory, daemon_factory, bigbook, reference):
    srv = redis_factory("crash")
    r = srv.client()
    cfg = du.durability_config(srv.port, free_port(), redis={"lease": LEASE})
    rng = random.Random(20261123)
    n = len(bigbook)
    # the last ~8 % wait until every kill is done: every kill is mid-stream
    prod = du.Producer(srv.client(), bigbook.entries, chunk=2000, pause=0.2,
                       hold_from=int(n * 0.92))
    d = daemon_factory(cfg)
    d.wait_healthy()
    prod.start()
    # Kill moments (the delays are seeded random):
    #   backlog  - just after it became active again: the entries XADDed while
    #              it was down (at least the dead one's lease) in hand;
    #   burst    - just after the producer XADDed a chunk: reading/committing it;
    #   starting - while standing by for the dead one's lease, or loading;
    #   later    - anywhere in the stream.
    kinds = ["burst", "backlog", "starting", "burst", "later", "backlog", "burst"]
    kills = []
    try:
        for k, kind in enumerate(kinds):
            if k > 0:
                d.start()
            if kind == "starting":
                delay = rng.uniform(0.0, 1.5)
            else:
                d.wait_healthy(timeout=30)  # lease 2s: the dead one's lapses soon
                if kind == "backlog":
                    delay = rng.uniform(0.0, 0.08)
                elif kind == "burst":
                    prod.wait_next_chunk()
                    delay = rng.uniform(0.0, 0.03)
                else:
                    delay = rng.uniform(0.15, 1.5)
            time.sleep(delay)
            fed = prod.fed
            assert d.alive(), "daemon exited before kill %d:\n%s" % (k + 1, d.log_tail())
            rc = d.kill9()
            assert rc == -9, rc
            kills.append(("%s+%.3fs" % (kind, delay), fed, du.acked_count(r, bigbook.entries),
                          pending_total(r)))
        assert not prod.done(), "stream finished before the kills"
    finally:
        prod.release()
    print("kills (moment, fed, acked, pending):", kills)
    assert len(kills) >= 5
    d.start()
    d.wait_healthy(timeout=60)
    prod.finish()
    wait_consumed(r, EVENT_STREAMS, daemon=d, timeout=180)
    assert_equal_to_reference(d, bigbook, reference, "after %d kill -9" % len(kills))
    assert d.alive()


# ---------------------------------------------------------------------------
# 2. Redis (AOF, appendfsync always) killed and restarted twice mid-stream


def test_redis_crash_with_aof_mid_stream(redis_factory, daemon_factory, bigbook, reference):
    srv = redis_factory("aof", appendonly=True)
    r = srv.client()
    # The default lease (10s), as deployed: Redis comes back (with the lease key
    # of this very instance, from the AOF) well before it expires.
    cfg = du.durability_config(srv.port, free_port())
    rng = random.Random(4242)
    n = len(bigbook)
    prod = du.Producer(srv.client(), bigbook.entries, chunk=1000, pause=0.1,
                       hold_from=int(n * 0.9))
    d = daemon_factory(cfg)
    d.wait_healthy()
    proc = d.proc  # the one process that must live throughout
    prod.start()
    outages = []
    try:
        for k in range(2):
            time.sleep(rng.uniform(0.3, 2.0))
            with prod.lock:  # no XADD pipeline in flight while Redis is down
                fed = prod.fed
                srv.kill()
                seen = []

                def saw_503():
                    assert d.alive(), "daemon exited with Redis down:\n%s" % d.log_tail()
                    st, body = healthz(d)
                    seen.append((st, body))
                    return st == 503

                wait_until(saw_503, timeout=30, interval=0.05,
                           what="/healthz 503 while Redis is down")
                assert d.alive()
                srv.start()
            d.wait_healthy(timeout=60)
            assert d.proc is proc and d.alive()
            outages.append((fed, seen[-1], len(seen)))
        assert not prod.done(), "stream finished before the Redis crashes"
    finally:
        prod.release()
    print("outages (fed, last healthz while down, polls):", outages)
    prod.finish()
    wait_consumed(r, EVENT_STREAMS, daemon=d, timeout=180)
    assert_equal_to_reference(d, bigbook, reference, "after 2 Redis crashes (AOF)")
    assert d.proc is proc and d.alive(), "the daemon exited:\n%s" % d.log_tail()
    st, body = healthz(d)
    assert st == 200, (st, body)


# ---------------------------------------------------------------------------
# 3. active + hot standby; kill -9 of the active one mid-stream


def test_standby_takes_over_after_kill9(redis_factory, daemon_factory, bigbook, reference):
    srv = redis_factory("pair")
    r = srv.client()
    port_a, port_b = free_port(), free_port()
    while port_b == port_a:
        port_b = free_port()
    cfg_a = du.durability_config(srv.port, port_a, redis={"lease": LEASE, "consumer": "inst-a"})
    cfg_b = du.durability_config(srv.port, port_b, redis={"lease": LEASE, "consumer": "inst-b"})
    a = daemon_factory(cfg_a, name="inst-a")
    a.wait_healthy()
    b = daemon_factory(cfg_b, name="inst-b")

    def b_standby():
        assert b.alive(), "the second instance exited:\n%s" % b.log_tail()
        return any(re.search(r"standing by|standby", ln) and "config=" not in ln
                   for ln in b.log_text().splitlines())

    wait_until(b_standby, timeout=30, what="the second instance to log that it stands by")
    st, body = healthz(b)
    assert st == 503 and isinstance(body, str) and body.strip() == "standby", (st, body)
    st, _ = healthz(a)
    assert st == 200
    holder = du.lease_holder(r)
    assert holder and ("/%d/" % a.pid) in holder, holder  # HOST/CONSUMER/PID/NONCE

    rng = random.Random(77)
    n = len(bigbook)
    prod = du.Producer(srv.client(), bigbook.entries, chunk=2000, pause=0.2,
                       hold_from=int(n * 0.9))
    prod.start()
    try:
        # a random moment, then (bounded) the first instant A has entries read
        # but not committed, so that B must claim them (XAUTOCLAIM)
        time.sleep(rng.uniform(1.0, 3.0))
        last_a = du.try_events_total(a)  # for the report only
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline and pending_total(r, [gen.STREAM_USAGE]) == 0:
            pass
        assert not prod.done()
        fed = prod.fed
        a.kill9()
        # What A committed is what its last applied ids cover (its XACKs follow
        # each commit, so they may lag behind); B cannot commit before it holds
        # the lease -- checked right after by its /healthz still answering
        # "standby".
        acked_by_a = du.acked_count(r, bigbook.entries)
        applied_by_a = du.applied_count(r, bigbook.entries)
        pend = pending_total(r)
        st, body = healthz(b)
        b_still_standby = st == 503 and isinstance(body, str) and body.strip() == "standby"
    finally:
        prod.release()
    print("killed active: fed=%d applied=%d acked=%d pending=%d A events_total(last read)=%r"
          % (fed, applied_by_a, acked_by_a, pend, last_a))
    # an entry is acknowledged only once the commit that applied it landed
    assert acked_by_a <= applied_by_a, (acked_by_a, applied_by_a)
    b.wait_healthy(timeout=30)  # the takeover: bounded by the lease and the load
    holder = du.lease_holder(r)
    assert holder and ("/%d/" % b.pid) in holder, holder
    prod.finish()
    wait_consumed(r, EVENT_STREAMS, daemon=b, timeout=180)
    assert_equal_to_reference(b, bigbook, reference, "after the standby took over")
    assert b.alive()
    total_b = du.events_total(b)
    # B applied every entry A had not committed.
    assert applied_by_a + total_b >= n, (applied_by_a, total_b, n)
    if b_still_standby:
        # nothing A committed was applied again by B
        assert total_b == n - applied_by_a, (
            "standby applied %d events, but %d of %d were committed by the dead active one"
            % (total_b, applied_by_a, n))
    # A claimed/unacknowledged entries were taken over: nothing left pending
    assert pending_total(r) == 0


# ---------------------------------------------------------------------------
# 4. Redis restart without persistence: data lost, the daemon recreates the groups


def _xadd_events(r, accounts, ts0, per_account=3):
    import json

    for acct in accounts:
        for k in range(per_account):
            r.xadd("events:usage", {"event": json.dumps(
                {"account": acct, "type": "login", "ts": ts0 + k * 3600_000})})
        r.xadd("events:accounts", {"event": json.dumps(
            {"account": acct, "type": "account", "name": acct.upper(), "seats": 3,
             "ts": ts0})})


def _groups_present(r):
    for s in EVENT_STREAMS:
        try:
            groups = r.xinfo_groups(s)
        except Exception:
            return False
        if not any(g["name"] == GROUP for g in groups):
            return False
    return True


def test_redis_restart_without_persistence(redis_factory, daemon_factory):
    srv = redis_factory("volatile")  # save "", appendonly no
    r = srv.client()
    cfg = du.durability_config(srv.port, free_port(), redis={"lease": LEASE})
    d = daemon_factory(cfg)
    d.wait_healthy()
    proc = d.proc
    before = ["before-%d" % k for k in range(5)]
    _xadd_events(r, before, gen.END_MS - 20 * model.DAY_MS)
    wait_consumed(r, EVENT_STREAMS, daemon=d)
    for acct in before:
        st, body = d.get(account_path(acct))
        assert st == 200, (acct, st, body)

    off = d.log_size()
    srv.kill()
    srv.start()
    r = srv.client()
    wait_until(lambda: _groups_present(r), timeout=30,
               what="the daemon to recreate group %s on %s" % (GROUP, EVENT_STREAMS))
    # recreated (MKSTREAM), not restored: the old entries are gone
    assert all(r.xlen(s) == 0 for s in EVENT_STREAMS), [r.xlen(s) for s in EVENT_STREAMS]

    def loud():
        # a warn/error line about the lost data / missing group -- not merely
        # the lost connection, which any Redis restart causes
        text = d.log_since(off)
        return [ln for ln in text.splitlines()
                if ("level=warn" in ln or "level=error" in ln) and "connection" not in ln
                and re.search(r"lost|missing|no saved state|NOGROUP|recreat", ln)]

    try:
        lines = wait_until(loud, timeout=30, what="a warn/error log line about the lost data")
    except AssertionError as e:
        raise AssertionError("%s\n--- daemon log since the Redis restart ---\n%s"
                             % (e, d.log_since(off)[-4000:])) from None
    print("logged:", "\n".join(lines))
    d.wait_healthy(timeout=60)
    assert d.proc is proc and d.alive()

    after = ["after-%d" % k for k in range(5)]
    _xadd_events(r, after, gen.END_MS - 10 * model.DAY_MS)
    wait_consumed(r, EVENT_STREAMS, daemon=d)
    for acct in after:
        st, body = d.get(account_path(acct))
        assert st == 200, (acct, st, body, d.log_tail())
        assert body["name"] == acct.upper() and body["seats"] == 3, body
    assert d.proc is proc and d.alive()


# ---------------------------------------------------------------------------
# 5. redelivery of everything (XGROUP SETID 0): every entry skipped as a replay


def test_setid_zero_redelivery_is_skipped(redis_factory, daemon_factory, bigbook, reference):
    srv = redis_factory("setid")
    r = srv.client()
    du.feed_resumable(r, bigbook.entries)
    cfg = du.durability_config(srv.port, free_port())
    d = daemon_factory(cfg)
    d.wait_healthy()
    wait_consumed(r, EVENT_STREAMS, daemon=d, timeout=180)
    first = assert_equal_to_reference(d, bigbook, reference, "the clean run")
    assert d.stop() == 0

    for s in EVENT_STREAMS:
        assert r.xgroup_setid(s, GROUP, "0")
        g = next(g for g in r.xinfo_groups(s) if g["name"] == GROUP)
        assert g["last-delivered-id"] == "0-0", g
    d.start()
    d.wait_healthy()
    wait_consumed(r, EVENT_STREAMS, daemon=d, timeout=180)
    second = du.snapshot(d, bigbook.accounts)
    errs = du.compare_snapshots(second, first, exact_x=True)
    assert not errs, "state changed by the redelivery: " + fmt_errors(errs)
    assert du.events_total(d) == 0, "replayed entries counted as events: %r" % du.events_total(d)
    assert pending_total(r) == 0
