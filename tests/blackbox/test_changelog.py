"""The changelog commit (README "How state is kept"): each commit's changed
accounts go to Redis as one blob, the log entry `<prefix>log:SEQ`; compaction
rounds rewrite chunks of 1024 accounts (`<prefix>chunk:K`) and delete the log
entries they cover; loading reads the chunks, then replays the newer log
entries.  An earlier version's state hash (`<prefix>state`) is loaded and
folded into chunks by the first round.

9000 accounts (9 chunks: a round spans two commits, accounts sit on both sides
of every chunk boundary), 4 events each plus a final tick, on one stream.
Every run is compared with an uninterrupted reference run account by account
(durability.compare_snapshots: the score exactly, x within 1e-9).
"""

import json
import random
import struct

import pytest

import durability as du
from conftest import free_port, wait_consumed, wait_until

pytestmark = pytest.mark.slow

PREFIX = "renewald:"
STREAM = "events:usage"
N = 9000
DAY_MS = 86400000
END_MS = 1795132800000  # 2026-11-20T00:00:00Z


class Book:
    """N accounts, their events spread over 60 days in time order, one tick each at the end."""

    def __init__(self, seed=4242):
        rng = random.Random(seed)
        self.accounts = ["cl-%05d" % i for i in range(N)]
        evs = []
        for a in self.accounts:
            evs.append((END_MS - 60 * DAY_MS + rng.randrange(DAY_MS),
                        {"account": a, "type": "account", "seats": rng.randint(1, 40),
                         "renewal_date": "2027-%02d-15" % rng.randint(1, 12)}))
            for _ in range(3):
                t = END_MS - rng.randrange(59 * DAY_MS)
                typ = rng.choice(["login", "login", "api_call", "csat", "ticket_opened"])
                ev = {"account": a, "type": typ}
                if typ == "csat":
                    ev["value"] = rng.randint(1, 5)
                evs.append((t, ev))
        evs.sort(key=lambda e: e[0])
        for a in self.accounts:
            evs.append((END_MS, {"account": a, "type": "tick"}))
        self.entries = []
        for k, (t, ev) in enumerate(evs):
            ev["ts"] = t
            self.entries.append((STREAM, "%d-%d" % (1700000000000 + k // 50, k % 50),
                                 {"event": json.dumps(ev)}))

    def __len__(self):
        return len(self.entries)


@pytest.fixture(scope="module")
def book():
    return Book()


def config(srv, **redis):
    return du.durability_config(srv.port, free_port(), redis=dict(
        {"streams": [STREAM], "lease": "2s"}, **redis))


@pytest.fixture(scope="module")
def reference(book, tmp_path_factory):
    """Everything XADDed, then one daemon with the default compaction settings
    (no round during the run: the whole state comes from log entries)."""
    from conftest import Daemon, RedisServer

    base = tmp_path_factory.mktemp("changelog-ref")
    srv = RedisServer(str(base / "redis"))
    d = None
    try:
        srv.start()
        r = srv.client()
        du.feed_resumable(r, book.entries)
        d = Daemon(str(base / "daemon"), du.durability_config(
            srv.port, free_port(), redis={"streams": [STREAM], "compact_records": 65536,
                                          "compact_idle": "1h"}), name="reference")
        d.start()
        d.wait_healthy()
        wait_consumed(r, [STREAM], daemon=d, timeout=180)
        assert not r.exists(PREFIX + "chunk:0"), "the reference compacted: pick other settings"
        return du.snapshot(d, book.accounts)
    finally:
        if d is not None:
            d.stop()
        srv.cleanup()


def assert_equal(d, book, ref, what):
    errs = du.compare_snapshots(du.snapshot(d, book.accounts), ref)
    assert not errs, "%s differs from the reference: %s\n%s" % (what, errs[:5], d.log_tail(30))


# ---------------------------------------------------------------------------
# the blobs, read back independently (format in include/renewald/core/changelog.h)


def parse_blob(b):
    assert b[:4] == b"RWB1", b[:8]
    kind, seq, chunk, count = struct.unpack_from("<cQII", b, 4)
    p, out = 21, []
    for _ in range(count):
        ordinal, idl, recl = struct.unpack_from("<IHH", b, p)
        p += 8
        out.append((ordinal, b[p:p + idl], b[p + idl:p + idl + recl]))
        p += idl + recl
    assert p == len(b), (p, len(b))
    return kind.decode(), seq, chunk, out


def keys(r, what):
    return sorted(r.scan_iter(match=PREFIX + what + ":*", count=1000))


def saved_accounts(r):
    """{account id: record} as a loader must see it: chunks, then log entries
    newer than the chunk of each record, in sequence order."""
    meta = r.hgetall(PREFIX + "meta")
    stamps, recs = {}, {}
    for k in keys(r, "chunk"):
        kind, seq, chunk, entries = parse_blob(r.get(k))
        assert kind == "C" and k == ("%schunk:%d" % (PREFIX, chunk)).encode(), (k, kind, chunk)
        stamps[chunk] = seq
        for ordinal, aid, rec in entries:
            assert ordinal // 1024 == chunk
            recs[aid] = rec
    assert len(stamps) <= int(meta.get(b"chunks", 0)), (len(stamps), meta)
    log_from = int(meta.get(b"log_from", 1))
    for k in sorted(keys(r, "log"), key=lambda k: int(k.rsplit(b":", 1)[1])):
        kind, seq, _, entries = parse_blob(r.get(k))
        assert kind == "L" and k.endswith(b":%d" % seq)
        assert seq >= log_from, "log entry %d below log_from %d was not deleted" % (seq, log_from)
        for ordinal, aid, rec in entries:
            if seq > stamps.get(ordinal // 1024, 0):
                recs[aid] = rec
    return recs


def raw(srv):
    return srv.client(decode_responses=False)


# ---------------------------------------------------------------------------


def test_kill9_through_compaction_rounds_then_restart_from_chunks(
        redis_factory, daemon_factory, book, reference):
    """compact_records = 1: a round every ~9000 records, so that five kill -9
    at random moments land before, inside and after rounds and deletions.
    Then: equal to the reference; the idle compaction (compact_idle = 1s)
    folds the whole log into chunks; a restart from chunks alone is equal
    too; staged blobs a kill left behind expire."""
    srv = redis_factory("changelog")
    r, rb = srv.client(), raw(srv)
    d = daemon_factory(config(srv, compact_records=1, compact_idle="1s"), name="changelog")
    d.wait_healthy()
    rng = random.Random(99)
    prod = du.Producer(srv.client(), book.entries, chunk=1500, pause=0.05,
                       hold_from=int(len(book) * 0.9))
    prod.start()
    rounds_seen = set()
    old_log = {}  # log entries seen on the way, for the replay check at the end
    try:
        for k in range(5):
            wait_until(lambda: prod.fed > (k + 1) * len(book) // 7, timeout=60,
                       what="the producer to go on")
            rounds_seen.update(keys(rb, "chunk"))
            for key in keys(rb, "log"):
                v = rb.get(key)
                if v is not None:
                    old_log[key] = v
            assert d.alive(), d.log_tail()
            assert d.kill9() == -9
            d.start()
            d.wait_healthy(timeout=30)
        assert not prod.done(), "the book was consumed before the last kill"
    finally:
        prod.release()
    prod.finish()
    wait_consumed(r, [STREAM], daemon=d, timeout=180)
    assert rounds_seen, "no compaction round ran before the kills"
    assert_equal(d, book, reference, "after 5 kill -9 through compaction")

    # idle: the log is folded into the chunks and deleted
    wait_until(lambda: not keys(rb, "log"), timeout=60, what="the log to be compacted away")
    chunks = keys(rb, "chunk")
    assert len(chunks) == (N + 1023) // 1024, chunks
    saved = saved_accounts(rb)
    assert sorted(saved) == sorted(a.encode() for a in book.accounts)
    # a kill between staging and the script leaves staged blobs: they expire
    for k in keys(rb, "stage"):
        assert rb.pttl(k) > 0, "staged blob %r never expires" % k
    assert d.stop() == 0
    d.start()
    d.wait_healthy(timeout=30)
    assert_equal(d, book, reference, "restarted from chunks alone")
    assert d.stop() == 0

    # A crash after a round landed and before its deletions leaves log entries
    # older than the chunks that cover them: put the ones seen on the way back
    # (every chunk was rewritten after them) and move log_from down to them.
    # Replaying them over the newer chunks would bring old records back.
    assert len(old_log) >= 3, "too few log entries seen during the run"
    first = min(int(k.rsplit(b":", 1)[1]) for k in old_log)
    p = rb.pipeline(transaction=True)
    for k, v in old_log.items():
        p.set(k, v)
    p.hset(PREFIX + "meta", "log_from", first)
    p.execute()
    assert saved_accounts(rb) == saved
    d.start()
    d.wait_healthy(timeout=30)
    assert_equal(d, book, reference, "restarted with old log entries below the chunks")
    assert d.stop() == 0


def test_state_hash_of_an_earlier_version_is_loaded_and_folded(
        redis_factory, daemon_factory, book, reference):
    """A Redis that holds what an earlier version wrote (one hash field per
    account, no log, no chunks): loaded as is, equal to the reference; the
    first round rewrites it as chunks and unlinks the hash in the same
    commit that deletes its log entries; a restart is still equal."""
    srv = redis_factory("legacy")
    r, rb = srv.client(), raw(srv)
    du.feed_resumable(r, book.entries)
    cfg = config(srv, compact_idle="1h")
    d = daemon_factory(cfg, name="legacy")
    d.wait_healthy()
    wait_consumed(r, [STREAM], daemon=d, timeout=180)
    assert d.stop() == 0
    # rewrite it the way an earlier version kept it
    saved = saved_accounts(rb)
    assert len(saved) == N
    p = rb.pipeline(transaction=True)
    for k in keys(rb, "chunk") + keys(rb, "log"):
        p.delete(k)
    items = list(saved.items())
    for i in range(0, len(items), 1000):
        p.hset(PREFIX + "state", mapping=dict(items[i:i + 1000]))
    p.hdel(PREFIX + "meta", "log_from", "chunks")
    p.hset(PREFIX + "meta", "version", "2")
    p.execute()

    d.write_config(config(srv, compact_idle="1s"))
    d.start()
    d.wait_healthy(timeout=30)
    assert_equal(d, book, reference, "loaded from an earlier version's hash")
    wait_until(lambda: not rb.exists(PREFIX + "state"), timeout=60,
               what="the legacy hash to be folded into chunks and unlinked")
    assert len(keys(rb, "chunk")) == (N + 1023) // 1024
    assert saved_accounts(rb) == saved, "the chunks do not hold what the hash held"
    assert d.stop() == 0
    d.start()
    d.wait_healthy(timeout=30)
    assert_equal(d, book, reference, "restarted after the hash was folded")
    assert d.stop() == 0
