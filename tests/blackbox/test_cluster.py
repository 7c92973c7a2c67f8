"""Issue 17 acceptance: renewald on a Redis Cluster (SPEC §9).

- `--check-config` refuses a cluster config whose prefix and streams do not
  share one hash tag, naming FILE:LINE;
- `tools/loadgen --partitions N` shards a book by account over N stream sets
  with the hash tags {p0} ... {pN-1};
- the failover test: a real cluster of 3 masters and 3 replicas on 127.0.0.1,
  4 partitions (a sharded book from loadgen, then more events fed while the
  daemons run), one renewald per partition.  A manual failover (CLUSTER
  FAILOVER on a replica), then the new master is killed (SIGKILL) after it
  acknowledged writes its replica never got (the replica is stopped and its
  replication link cut, so they are lost for sure), and the old master is
  promoted again.  At the end every account of every partition equals the
  reference (model.py) computed from its events, no alert id appears twice, no
  account's chain of band_change alerts repeats a band, every alert a webhook
  received is in the alert streams (re-created alerts kept their ids), and the
  daemon whose writes were lost said so and re-created at least one alert.
"""

import collections
import json
import os
import re
import signal
import subprocess

import pytest

import alerting
import model
from apicheck import account_path, check_account_doc, fmt_errors, parse_rfc3339
from cluster import PartitionFeeder, RedisCluster, key_slot, wait_promoted
from conftest import REPO, Daemon, free_port, run_renewald, wait_until

BUILD = os.environ.get("RENEWALD_BUILD") or os.path.join(REPO, "build")
LOADGEN = os.path.join(BUILD, "tools", "loadgen")

DAY = model.DAY_MS
HOUR = 3600 * 1000
NPART = 4
START = "2026-09-01T00:00:00Z"
START_MS = parse_rfc3339(START)
BOOK_DAYS = 30
BOOK_END_MS = START_MS + BOOK_DAYS * DAY
ACCOUNTS = 120
FED_DAYS = 40  # events fed while the daemons run, after the book


def part_of(account, n):
    """loadgen's partition of an account: FNV-1a (32 bits), folded, modulo N."""
    h = 2166136261
    for b in account.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return (h ^ (h >> 16)) % n


def streams_of(k):
    return ["events:{p%d}:%s" % (k, s) for s in ("usage", "support", "accounts")]


def prefix_of(k):
    return "renewald:{p%d}:" % k


def run_loadgen(address, *args, timeout=120):
    if not os.access(LOADGEN, os.X_OK):
        pytest.fail("tools/loadgen not built: %s (set RENEWALD_BUILD)" % LOADGEN)
    proc = subprocess.run([LOADGEN, "--redis", address, "--quiet"] + list(args),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


# ---------------------------------------------------------------------------
# --check-config


CLUSTER_CONF = """[redis]
cluster = true
address = 127.0.0.1:7000, 127.0.0.1:7001
prefix = %s
streams = %s

[signal "logins"]
types = login
aggregate = rate
half_life = 7d
low = 0.05
high = 0.4
"""


def test_check_config_needs_one_hash_tag(tmp_path):
    path = tmp_path / "c.conf"
    cases = [
        ("renewald:{p0}:", "events:{p0}:usage, events:{p0}:support", None),
        ("renewald:", "events:{p0}:usage", ":4: prefix 'renewald:' has no hash tag"),
        ("renewald:{p0}:", "events:{p0}:usage, events:{p1}:support",
         ":5: stream 'events:{p1}:support' does not share the hash tag {p0}"),
        ("renewald:{p0}:", "events:usage", ":5: stream 'events:usage' does not share"),
        ("renewald:{}{p0}:", "events:{p0}:usage", ":4: prefix 'renewald:{}{p0}:' has no hash tag"),
    ]
    for prefix, streams, want in cases:
        path.write_text(CLUSTER_CONF % (prefix, streams))
        res = run_renewald(["--check-config", "-c", str(path)])
        if want is None:
            assert res.returncode == 0, res.stderr
        else:
            assert res.returncode != 0, (prefix, streams)
            assert str(path) + want in res.stderr, res.stderr
    # A list of seeds needs cluster = true.
    path.write_text((CLUSTER_CONF % ("renewald:{p0}:", "events:{p0}:usage"))
                    .replace("cluster = true", "cluster = false"))
    res = run_renewald(["--check-config", "-c", str(path)])
    assert res.returncode != 0 and str(path) + ":3: address lists 2 addresses" in res.stderr, \
        res.stderr


# ---------------------------------------------------------------------------
# loadgen --partitions on one Redis


def _entries(r, streams):
    return {s: r.xrange(s, "-", "+") for s in streams}


def test_loadgen_partitions_shard_the_same_book(redis_factory):
    a = redis_factory("plain")
    b = redis_factory("sharded")
    args = ["--accounts", "80", "--days", "10", "--seed", "5", "--start", START]
    plain = run_loadgen(a.address, *args)
    sharded = run_loadgen(b.address, *args, "--partitions", "3")
    assert sharded["partitions"] == 3 and sharded["events"] == plain["events"]
    want = {"events:{p%d}:%s" % (k, s) for k in range(3) for s in ("usage", "support", "accounts")}
    assert set(sharded["streams"]) == want
    ra, rb = a.client(), b.client()
    assert sorted(rb.keys("events:*")) == sorted(want)
    # Every account lives in the partition its id hashes to; each partition's streams are
    # the plain book's streams restricted to its accounts, in the same order.
    pa = _entries(ra, ["events:usage", "events:support", "events:accounts"])
    seen = collections.Counter()
    for k in range(3):
        for s in ("usage", "support", "accounts"):
            got = [f["event"] for _, f in rb.xrange("events:{p%d}:%s" % (k, s), "-", "+")]
            assert len(got) == sharded["streams"]["events:{p%d}:%s" % (k, s)]
            for ev in got:
                assert part_of(json.loads(ev)["account"], 3) == k
            expect = [f["event"] for _, f in pa["events:" + s]
                      if part_of(json.loads(f["event"])["account"], 3) == k]
            assert got == expect, "events:{p%d}:%s" % (k, s)
            seen[k] += sum(1 for ev in got if json.loads(ev)["type"] == "account")
    assert sum(seen.values()) == 80 and min(seen.values()) >= 15, seen


# ---------------------------------------------------------------------------
# the failover test


def fed_events(accounts_by_part):
    """The events fed while the daemons run: FED_DAYS days after the book; logins with quiet
    days, and a support ticket now and then (a critical signal: at_risk, then watch, then
    healthy again).  {partition: [(stream, id, fields)]} in time order, explicit ids."""
    out = {}
    for k, accts in accounts_by_part.items():
        evs = []
        for d in range(FED_DAYS):
            day0 = BOOK_END_MS + d * DAY
            for j, a in enumerate(sorted(accts)):
                quiet = (d + j) % 4 == 0
                for m in range(0 if quiet else 3 + j % 2):
                    ts = day0 + (2 + 5 * m) * HOUR + j * 60000
                    evs.append((ts, "usage", {"account": a, "type": "login", "ts": ts}))
                if (7 * d + j) % 5 == 0:
                    ts = day0 + 11 * HOUR + j * 60000 + 30000
                    evs.append((ts, "support", {"account": a, "type": "ticket_opened", "ts": ts}))
        evs.sort(key=lambda e: e[0])
        last = {}
        entries = []
        for ts, suffix, ev in evs:
            stream = "events:{p%d}:%s" % (k, suffix)
            ms, seq = ts, 0
            if stream in last and last[stream][0] >= ms:
                ms, seq = last[stream][0], last[stream][1] + 1
            last[stream] = (ms, seq)
            entries.append((stream, "%d-%d" % (ms, seq), {"event": json.dumps(ev)}))
        out[k] = entries
    return out


def partition_config(cl, k, http_port, hook_url):
    cfg = alerting.simple_config(
        cl.seeds, http_port,
        sinks={"hook": alerting.webhook_sink(hook_url)},
        routes={"all": {"sinks": "hook"}},
        daemon={"clock": "event", "sweep_interval": "6h", "log_level": "debug"},
        redis={"cluster": True, "prefix": prefix_of(k), "streams": streams_of(k),
               "batch": 20, "block": "100ms", "lease": "2s"},
        alerts={"on_band_change": "any"})
    return cfg


def consumed(r, streams, group="renewald"):
    """Every entry delivered to GROUP and acknowledged.  Unlike conftest.is_consumed, the
    group's `lag` is not used: after a failover that lost entries which were then added
    again, Redis' entries-read counter of the group stays behind (lag > 0 with the last entry
    delivered and nothing pending)."""
    for s in streams:
        last = r.xrevrange(s, count=1)
        g = next((g for g in r.xinfo_groups(s) if g["name"] == group), None)
        if last and (g is None or g["pending"] or g["last-delivered-id"] != last[0][0]):
            return False
    return True


def partition_status(cl, k):
    """(consumed, meta seq) of partition K on the current master of its slot."""
    r = cl.master_of(streams_of(k)[0]).client(socket_timeout=5)
    return consumed(r, streams_of(k)), int(r.hget(prefix_of(k) + "meta", "seq") or 0)


def read_partition(cl, k):
    """Every event of partition K (from its streams) and its alerts, on its current master."""
    r = cl.master_of(streams_of(k)[0]).client()
    events = {s: r.xrange(s, "-", "+") for s in streams_of(k)}
    alerts = alerting.stream_alerts(r, prefix_of(k) + "alerts")
    return events, alerts


def created_ids(log_text):
    """Alert ids the daemon logged as created (msg "alert created", field id), with their
    counts; logfmt or JSON lines."""
    ids = []
    for line in log_text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if obj.get("msg") == "alert created" and obj.get("id"):
                ids.append(str(obj["id"]))
        elif 'msg="alert created"' in line:
            m = re.search(r"(?:^| )id=([0-9a-f]+)", line)
            if m:
                ids.append(m.group(1))
    return collections.Counter(ids)


@pytest.mark.slow
def test_partitions_survive_failovers(tmp_path, http_receiver):
    cl = RedisCluster(str(tmp_path / "cluster"), node_timeout_ms=1500)
    daemons = []
    feeders = []
    try:
        cl.start()
        # The book, sharded by loadgen over the cluster's masters.
        summary = run_loadgen(cl.servers[0].address, "--partitions", str(NPART), "--accounts",
                              str(ACCOUNTS), "--days", str(BOOK_DAYS), "--start", START,
                              "--explicit-ids", "--events-per-account-day", "2")
        assert summary["redis_nodes"] == 3, summary
        accounts_by_part = collections.defaultdict(set)
        for k in range(NPART):
            r = cl.client_for(streams_of(k)[2])
            for _, f in r.xrange(streams_of(k)[2], "-", "+"):
                a = json.loads(f["event"])["account"]
                assert part_of(a, NPART) == k, a
                accounts_by_part[k].add(a)
        assert sum(len(v) for v in accounts_by_part.values()) <= ACCOUNTS

        for k in range(NPART):
            d = Daemon(str(tmp_path / ("p%d" % k)),
                       partition_config(cl, k, free_port(), http_receiver.url("/hook")),
                       name="renewald-p%d" % k)
            daemons.append(d)
            d.start()
        for d in daemons:
            d.wait_healthy(timeout=60)

        fed = fed_events(accounts_by_part)
        for k in range(NPART):
            f = PartitionFeeder(cl, fed[k], chunk=10, pause=0.08, name="feeder-p%d" % k)
            feeders.append(f)
            f.start()
        wait_until(lambda: all(f.fed >= len(f.entries) // 6 for f in feeders), timeout=120,
                   what="a sixth of the events fed")

        # 1. A manual failover of the master of p0 (it serves p1 too).
        old, new = cl.manual_failover(streams_of(0)[0])
        on_new = [k for k in range(NPART) if cl.master_of(streams_of(k)[0]) is new]
        assert 0 in on_new
        for d in daemons:
            d.wait_healthy(timeout=60)
        wait_until(lambda: all(f.fed >= len(f.entries) // 3 for f in feeders), timeout=120,
                   what="a third of the events fed")

        # 2. Writes the new master acknowledges but never replicates: its replica (the old
        # master) stopped, the replication link cut.  Then the master dies.
        seq_start = {k: partition_status(cl, k)[1] for k in on_new}
        cl.pause(old)
        r_new = new.client(socket_timeout=5)
        assert r_new.execute_command("CLIENT", "KILL", "TYPE", "replica") >= 1
        alerts_start = {k: r_new.xlen(prefix_of(k) + "alerts") for k in on_new}
        wait_until(lambda: all(int(r_new.hget(prefix_of(k) + "meta", "seq") or 0) >= seq_start[k] + 3
                               and r_new.xlen(prefix_of(k) + "alerts") > alerts_start[k]
                               for k in on_new),
                   timeout=60, what="commits with alerts that the replica never gets")
        new.kill()
        cl.resume(old)
        promoted, _ = wait_promoted(cl, streams_of(0)[0], new)
        assert promoted is old
        cl.wait_stable(timeout=60)
        for d in daemons:
            d.wait_healthy(timeout=60)

        # 3. The rest of the events, then everything consumed.
        for f in feeders:
            f.ensure_all()
        for k in range(NPART):
            try:
                wait_until(lambda: partition_status(cl, k)[0], timeout=120,
                           what="partition p%d consumed" % k)
            except AssertionError as e:
                r = cl.master_of(streams_of(k)[0]).client()
                info = {s: (r.xlen(s), r.xinfo_groups(s)) for s in streams_of(k)}
                raise AssertionError("%s\n%r\n%s" % (e, info, daemons[k].log_tail(30))) from None
            wait_until(lambda: daemons[k].get("/healthz")[0] == 200, timeout=60,
                       what="p%d healthy" % k)

        check_partitions(cl, daemons, summary, fed, accounts_by_part, http_receiver, on_new)
    finally:
        for f in feeders:
            f.cancel()
        for d in daemons:
            d.stop(timeout=20)
        cl.stop()


def check_partitions(cl, daemons, summary, fed, accounts_by_part, receiver, lost_parts):
    signals = model.signals_from_config(daemons[0].config)
    errs = []
    all_ids = collections.Counter()
    stream_ids = set()
    for k in range(NPART):
        events, alerts = read_partition(cl, k)
        # The streams hold the book and the fed events, each once: nothing lost on the way.
        for s in streams_of(k):
            assert len(events[s]) == summary["streams"][s] + sum(
                1 for e in fed[k] if e[0] == s), s
        fed_ids = {(e[0], e[1]) for e in fed[k]}
        assert fed_ids <= {(s, eid) for s in streams_of(k) for eid, _ in events[s]}

        per_acct = collections.defaultdict(list)
        metas = collections.defaultdict(list)
        max_ts = 0
        for s in streams_of(k):
            for _, f in events[s]:
                ev = json.loads(f["event"])
                ts = ev["ts"] if isinstance(ev["ts"], int) else parse_rfc3339(ev["ts"])
                max_ts = max(max_ts, ts)
                per_acct[ev["account"]].append((ts, float(ev.get("value", 1)), ev["type"]))
                if ev["type"] == "account":
                    metas[ev["account"]].append(ev)
        assert set(per_acct) == accounts_by_part[k]
        d = daemons[k]
        for acct in sorted(per_acct):
            status, doc = d.get(account_path(acct))
            if status != 200:
                errs.append("p%d %s: HTTP %s" % (k, acct, status))
                continue
            if parse_rfc3339(doc["as_of"]) != max_ts:
                errs.append("p%d %s: as_of %s, newest event %d" % (k, acct, doc["as_of"], max_ts))
            errs += check_account_doc(doc, acct, signals, per_acct[acct], metas[acct], max_ts)

        for a in alerts:
            all_ids[a["id"]] += 1
            stream_ids.add(a["id"])
        for acct, chain in alerting.by_account(alerts, kind="band_change").items():
            for prev, cur in zip([None] + chain[:-1], chain):
                if cur["band"] == cur.get("previous_band") or (prev and prev["band"] == cur["band"]):
                    errs.append("p%d %s: band chain repeats a band:\n%s"
                                % (k, acct, alerting.summarize(chain)))
                    break
        assert sum(1 for a in alerts if a["kind"] == "band_change") >= 20, "p%d: few alerts" % k
    assert not errs, fmt_errors(errs)
    dup = [i for i, n in all_ids.items() if n > 1]
    assert not dup, "alert ids twice in the alert streams: %r" % dup[:10]

    # Every alert a receiver got is in the streams: an alert lost with a failover and created
    # again kept its id (receivers de-duplicate on it).
    delivered = {alerting.request_alert_id(q) for q in receiver.snapshot()}
    assert delivered and delivered <= stream_ids, sorted(delivered - stream_ids)[:10]

    # The partitions whose writes were lost noticed, applied their entries again and
    # created some alerts a second time -- with the same ids, so once in the streams.
    recreated = 0
    for k in lost_parts:
        log = daemons[k].log_text()
        assert "redis lost acknowledged writes" in log, "p%d did not notice" % k
        recreated += sum(1 for i, n in created_ids(log).items() if n > 1 and i in stream_ids)
    assert recreated > 0, "no alert was created twice: the lost writes held none"


def events_total(d):
    from conftest import metric_values, parse_metrics

    return sum(metric_values(parse_metrics(d.metrics()), "renewald_events_total"))


@pytest.mark.slow
def test_slot_migration_asks_then_moves(tmp_path, http_receiver):
    """The slot of {p0} migrates to another master while its renewald runs: with every key
    gone from the old master, each command comes back with ASK and is sent once more, after
    ASKING, to the importing master (multi-key commands on keys that do not exist there yet
    are refused with TRYAGAIN and retried); once the slot is handed over, MOVED takes the links
    there.  Nothing is lost or counted twice."""
    cl = RedisCluster(str(tmp_path / "cluster"), node_timeout_ms=1500)
    d = None
    feeder = None
    try:
        cl.start()
        summary = run_loadgen(cl.servers[0].address, "--partitions", str(NPART), "--accounts",
                              "40", "--days", "20", "--start", START, "--explicit-ids")
        accounts = set()
        r = cl.client_for(streams_of(0)[2])
        for _, f in r.xrange(streams_of(0)[2], "-", "+"):
            accounts.add(json.loads(f["event"])["account"])
        book0 = sum(summary["streams"][s] for s in streams_of(0))
        d = Daemon(str(tmp_path / "p0"), partition_config(cl, 0, free_port(),
                                                           http_receiver.url("/hook")),
                   name="renewald-p0")
        d.config["redis"]["lease"] = "10s"  # outlives the pause below
        d.write_config(d.config)
        d.start()
        d.wait_healthy(timeout=60)
        wait_until(lambda: events_total(d) == book0, timeout=60, what="the book consumed")

        fed = fed_events({0: accounts})[0]
        burst, rest = fed[:len(fed) // 3], fed[len(fed) // 3:]
        src = cl.master_of(streams_of(0)[0])
        dst = next(s for s in cl.live() if s is not src and
                   s.client().info("replication").get("role") == "master")
        slot = key_slot("p0")
        # While the daemon is stopped: events it has not read, then every key of the slot
        # moves to DST (the slot stays MIGRATING on SRC, IMPORTING on DST).
        d.signal(signal.SIGSTOP)
        try:
            pipe = src.client().pipeline(transaction=False)
            for s, eid, fields in burst:
                pipe.xadd(s, fields, id=eid)
            pipe.execute()
            cl.migration_begin(slot, src, dst)
            moved = cl.migrate_keys(slot, src, dst)
            # The streams and the daemon's state (meta, its changelog) all move.
            assert set(streams_of(0)) <= set(moved) and prefix_of(0) + "meta" in moved
            assert any(m.startswith(prefix_of(0) + "log:") or m.startswith(prefix_of(0) + "chunk:")
                       for m in moved), moved
        finally:
            d.signal(signal.SIGCONT)
        # Everything the daemon asks SRC for now comes back with ASK.
        wait_until(lambda: d.log_text().count("ASK redirection") >= 20, timeout=60,
                   what="ASK redirections followed")
        cl.migration_end(slot, dst)
        wait_until(lambda: cl.master_of(streams_of(0)[0]) is dst, timeout=30,
                   what="DST serving the slot")
        feeder = PartitionFeeder(cl, rest, chunk=50, pause=0.01, name="feeder-p0")
        feeder.start()
        feeder.ensure_all()
        wait_until(lambda: partition_status(cl, 0)[0], timeout=120, what="p0 consumed")
        wait_until(lambda: d.get("/healthz")[0] == 200, timeout=60, what="p0 healthy")
        log = d.log_text()
        assert "moved from %s to %s (MOVED)" % (src.address, dst.address) in log, d.log_tail(40)
        assert "redis lost acknowledged writes" not in log

        # The state equals the model of the partition's events; alerts once each.
        signals = model.signals_from_config(d.config)
        events, alerts = read_partition(cl, 0)
        per_acct = collections.defaultdict(list)
        metas = collections.defaultdict(list)
        max_ts = 0
        for s in streams_of(0):
            assert len(events[s]) == summary["streams"][s] + sum(1 for e in fed if e[0] == s)
            for _, f in events[s]:
                ev = json.loads(f["event"])
                ts = ev["ts"] if isinstance(ev["ts"], int) else parse_rfc3339(ev["ts"])
                max_ts = max(max_ts, ts)
                per_acct[ev["account"]].append((ts, float(ev.get("value", 1)), ev["type"]))
                if ev["type"] == "account":
                    metas[ev["account"]].append(ev)
        errs = []
        for acct in sorted(per_acct):
            status, doc = d.get(account_path(acct))
            assert status == 200, (acct, status)
            errs += check_account_doc(doc, acct, signals, per_acct[acct], metas[acct], max_ts)
        assert not errs, fmt_errors(errs)
        ids = collections.Counter(a["id"] for a in alerts)
        assert alerts and max(ids.values()) == 1
        delivered = {alerting.request_alert_id(q) for q in http_receiver.snapshot()}
        assert delivered <= set(ids)

        # `renewald backtest --stream` on the partition's configuration reads the streams
        # from the master of their slot (found through the seeds) and alerts the same.
        out = str(tmp_path / "bt.jsonl")
        res = run_renewald(["backtest", "-c", d.config_path, "--stream", ",".join(streams_of(0)),
                            "--out", out], timeout=120)
        assert res.returncode == 0, res.stderr
        with open(out) as f:
            bt = [json.loads(line)["id"] for line in f if line.strip()]
        assert bt == [a["id"] for a in alerts]
    finally:
        if feeder is not None:
            feeder.cancel()
        if d is not None:
            d.stop(timeout=20)
        cl.stop()
