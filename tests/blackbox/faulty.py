"""Helpers of the fault-injection tests (test_faults.py, issue 8): a probe
thread that keeps asking the daemon's HTTP API for an answer, misbehaving
webhook receivers written on raw sockets, an SMTP server that rejects
recipients, and a pile of idle HTTP clients.

Everything listens or connects on 127.0.0.1 only.  Every thread is a daemon
thread with bounded loops (a count and a deadline); ``stop()`` ends them.
Nothing here starts a process.
"""

import http.client
import socket
import threading
import time

# ---------------------------------------------------------------------------
# the probe: "the API answers within 1 s throughout"


class ProbeResult:
    __slots__ = ("t", "path", "status", "elapsed", "error")

    def __init__(self, t, path, status, elapsed, error):
        self.t = t  # time.monotonic() at the start of the probe
        self.path = path
        self.status = status  # the HTTP status, or None when there was no answer
        self.elapsed = elapsed  # seconds
        self.error = error  # None, or why there was no answer in time

    def __repr__(self):
        return "Probe(%s %s -> %s in %.3fs%s)" % (
            self.path, "t=%.3f" % self.t, self.status, self.elapsed,
            "" if self.error is None else " ERROR %s" % self.error)


class Prober(threading.Thread):
    """GET PATHS (in turn) on 127.0.0.1:PORT every INTERVAL s, each on a new
    connection with a TIMEOUT s socket timeout.  A probe that gets an HTTP
    answer (any status: a 503 from /healthz while Redis is down is an answer)
    within TIMEOUT s is fine; a timeout, a connection error or an answer
    later than TIMEOUT s is a failure.  Bounded: at most MAX_PROBES probes and
    MAX_SECONDS s."""

    def __init__(self, port, paths=("/healthz", "/metrics"), interval=0.05, timeout=1.0,
                 max_probes=20000, max_seconds=400):
        super().__init__(daemon=True)
        self.port = port
        self.paths = list(paths)
        self.interval = interval
        self.timeout = timeout
        self.max_probes = max_probes
        self.max_seconds = max_seconds
        self.results = []
        self._lock = threading.Lock()
        self._stop_ev = threading.Event()

    def _probe(self, path):
        t0 = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        status, error = None, None
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            status = resp.status
        except Exception as e:  # socket.timeout, ConnectionRefusedError, ...
            error = "%s: %s" % (type(e).__name__, e)
        finally:
            conn.close()
        elapsed = time.monotonic() - t0
        if error is None and elapsed > self.timeout:
            error = "answered after %.3f s" % elapsed
        return ProbeResult(t0, path, status, elapsed, error)

    def run(self):
        deadline = time.monotonic() + self.max_seconds
        k = 0
        while (not self._stop_ev.is_set() and k < self.max_probes
               and time.monotonic() < deadline):
            res = self._probe(self.paths[k % len(self.paths)])
            with self._lock:
                self.results.append(res)
            k += 1
            self._stop_ev.wait(self.interval)

    def mark(self):
        """The number of probes so far (to look at the probes after a point)."""
        with self._lock:
            return len(self.results)

    def snapshot(self, since=0):
        with self._lock:
            return list(self.results[since:])

    def failures(self):
        return [p for p in self.snapshot() if p.error is not None]

    def stop(self):
        self._stop_ev.set()
        self.join(10)

    def summary(self):
        res = self.snapshot()
        if not res:
            return "no probes"
        by_status = {}
        for p in res:
            by_status[p.status] = by_status.get(p.status, 0) + 1
        return "%d probes, max %.3f s, statuses %r, %d failed" % (
            len(res), max(p.elapsed for p in res), by_status,
            sum(1 for p in res if p.error is not None))

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        # a short fault still gets a few probes (bounded)
        deadline = time.monotonic() + 5
        while self.is_alive() and self.mark() < 10 and time.monotonic() < deadline:
            time.sleep(0.05)
        self.stop()


def assert_probes_ok(prober, min_probes=10, what="the fault"):
    """Every probe was answered within the timeout, and there were enough of them."""
    res = prober.snapshot()
    bad = [p for p in res if p.error is not None]
    assert not bad, "the API did not answer within %.1f s during %s: %d of %d probes failed, " \
        "first ones: %r (%s)" % (prober.timeout, what, len(bad), len(res), bad[:10],
                                 prober.summary())
    assert len(res) >= min_probes, "only %d probes during %s (%s)" % (
        len(res), what, prober.summary())


# ---------------------------------------------------------------------------
# a misbehaving webhook receiver

MODES = ("hang", "dribble", "close_status", "close_headers", "close_body", "good")


class Conn:
    """What one connection to FaultyHTTPServer got and did."""

    def __init__(self, index, mode, t):
        self.index = index
        self.mode = mode
        self.t_accept = t
        self.request_complete = False
        self.alert_id = None
        self.body = b""
        self.outcome = None  # answered | closed_by_us | peer_closed | timeout | stopped
        self.t_done = None

    def __repr__(self):
        return "Conn(#%d %s id=%s %s)" % (self.index, self.mode, self.alert_id, self.outcome)


def _good_response(body=b'{"ok":true}'):
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)) + body


class FaultyHTTPServer:
    """A threaded HTTP/1.1 server on raw sockets.  SCRIPT gives the behaviour
    of each accepted connection in order; when it is exhausted, the modes of
    HOLD in turn until release() is called (when HOLD is given), then DEFAULT:

    - ``hang``: read the request, then never answer (keep the socket open
      until the client gives up, or HANG_MAX s);
    - ``dribble``: a complete 200 answer, one byte every DRIBBLE s;
    - ``close_status``: half a status line ("HTTP/1.1 20"), then close;
    - ``close_headers``: a status line and half a header, then close;
    - ``close_body``: a 200 with Content-Length 64, 10 bytes of body, close;
    - ``good``: a 200 at once.

    Each answer ends with Connection: close, so one connection = one request.
    Bounded: every connection thread ends within HANG_MAX s (or the dribble's
    length), at most MAX_CONNS connections are served."""

    def __init__(self, script=(), default="good", hold=None, dribble=0.05, hang_max=60.0,
                 max_conns=500):
        for m in list(script) + list(hold or []) + [default]:
            assert m in MODES, m
        self._script = list(script)
        self._hold = list(hold or [])
        self._held = bool(hold)
        self._hold_k = 0
        self.default = default
        self.dribble = dribble
        self.hang_max = hang_max
        self.max_conns = max_conns
        self.conns = []
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._stop_ev = threading.Event()
        self._threads = []
        self._sock = None
        self._accept_thread = None
        self.port = None

    def start(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        s.settimeout(0.05)
        self._sock = s
        self.port = s.getsockname()[1]
        self._accept_thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._accept_thread.start()
        return self

    def url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def set_default(self, mode):
        assert mode in MODES, mode
        with self._lock:
            self.default = mode

    def release(self):
        """From now on (once the script is done), DEFAULT."""
        with self._lock:
            self._held = False

    def _next_mode(self):
        with self._lock:
            if self._script:
                return self._script.pop(0)
            if self._held:
                m = self._hold[self._hold_k % len(self._hold)]
                self._hold_k += 1
                return m
            return self.default

    def _accept_loop(self):
        n = 0
        while not self._stop_ev.is_set() and n < self.max_conns:
            try:
                c, _addr = self._sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            mode = self._next_mode()
            rec = Conn(n, mode, time.monotonic())
            n += 1
            with self._cond:
                self.conns.append(rec)
                self._cond.notify_all()
            t = threading.Thread(target=self._serve, args=(c, rec), daemon=True)
            self._threads.append(t)
            t.start()

    def _finish(self, rec, outcome):
        with self._cond:
            rec.outcome = outcome
            rec.t_done = time.monotonic()
            self._cond.notify_all()

    def _read_request(self, c, rec):
        """Reads one request (headers and Content-Length body), bounded."""
        deadline = time.monotonic() + 10
        buf = b""
        while b"\r\n\r\n" not in buf:
            if time.monotonic() > deadline or self._stop_ev.is_set() or len(buf) > 1 << 20:
                return False
            try:
                chunk = c.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                return False
            buf += chunk
        head, _, body = buf.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            name = k.strip().lower()
            if name == b"content-length":
                length = int(v.strip() or b"0")
            elif name == b"x-renewald-alert-id":
                rec.alert_id = v.strip().decode("utf-8", "replace")
            elif name == b"expect" and b"100-continue" in v.lower() and rec.mode != "hang":
                c.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        while len(body) < length:
            if time.monotonic() > deadline or self._stop_ev.is_set():
                return False
            try:
                chunk = c.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                return False
            body += chunk
        rec.body = body[:length]
        rec.request_complete = True
        return True

    def _serve(self, c, rec):
        c.settimeout(0.05)
        try:
            if not self._read_request(c, rec):
                self._finish(rec, "peer_closed" if not self._stop_ev.is_set() else "stopped")
                return
            mode = rec.mode
            if mode == "hang":
                deadline = time.monotonic() + self.hang_max
                while time.monotonic() < deadline and not self._stop_ev.is_set():
                    try:
                        if not c.recv(4096):
                            self._finish(rec, "peer_closed")
                            return
                    except socket.timeout:
                        continue
                    except OSError:
                        self._finish(rec, "peer_closed")
                        return
                self._finish(rec, "timeout" if not self._stop_ev.is_set() else "stopped")
            elif mode == "dribble":
                data = _good_response()
                for k in range(len(data)):
                    if self._stop_ev.wait(self.dribble):
                        self._finish(rec, "stopped")
                        return
                    try:
                        c.sendall(data[k:k + 1])
                    except OSError:
                        self._finish(rec, "peer_closed")
                        return
                self._finish(rec, "answered")
            elif mode == "close_status":
                c.sendall(b"HTTP/1.1 20")
                time.sleep(0.05)
                self._finish(rec, "closed_by_us")
            elif mode == "close_headers":
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: applic")
                time.sleep(0.05)
                self._finish(rec, "closed_by_us")
            elif mode == "close_body":
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                          b"Content-Length: 64\r\nConnection: close\r\n\r\n{\"ok\":tru")
                time.sleep(0.05)
                self._finish(rec, "closed_by_us")
            else:
                c.sendall(_good_response())
                self._finish(rec, "answered")
        except OSError:
            self._finish(rec, "peer_closed")
        finally:
            try:
                c.close()
            except OSError:
                pass

    # -- inspection -----------------------------------------------------
    def snapshot(self):
        with self._lock:
            return list(self.conns)

    def answered(self):
        """Connections that got a complete 200 answer."""
        return [c for c in self.snapshot() if c.outcome == "answered"]

    def delivered_ids(self):
        return {c.alert_id for c in self.answered()}

    def first_answer_time(self):
        done = [c.t_done for c in self.answered()]
        return min(done) if done else None

    def wait_for(self, pred, timeout=60, what="condition"):
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if pred(list(self.conns)):
                    return list(self.conns)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("faulty receiver: timed out after %ss waiting for %s; "
                                         "connections: %r" % (timeout, what, self.conns))
                self._cond.wait(min(left, 0.2))

    def stop(self):
        self._stop_ev.set()
        if self._accept_thread is not None:
            self._accept_thread.join(10)
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        for t in self._threads:
            t.join(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# ---------------------------------------------------------------------------
# an SMTP server that rejects recipients (RCPT TO)


class RcptRejectingSMTP:
    """aiosmtpd on 127.0.0.1 answering RCPT TO per address: REJECT maps an
    address to a list of answers consumed one per RCPT (e.g. ["450 4.2.1
    busy"]) or to one answer given every time (a str, e.g. "550 5.1.1 no such
    user").  Other addresses, and exhausted lists, are accepted.  Records
    every RCPT (address, answer) and every accepted message."""

    def __init__(self, reject=None):
        self._reject = {k.lower(): (list(v) if isinstance(v, (list, tuple)) else v)
                        for k, v in (reject or {}).items()}
        self.rcpts = []  # (address, answer)
        self.messages = []  # (mail_from, rcpt_tos, data)
        self._lock = threading.Lock()
        self.controller = None
        self.port = None

    def start(self):
        from aiosmtpd.controller import Controller

        srv = self

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                with srv._lock:
                    rule = srv._reject.get(address.lower())
                    if isinstance(rule, list):
                        answer = rule.pop(0) if rule else "250 OK"
                    elif isinstance(rule, str):
                        answer = rule
                    else:
                        answer = "250 OK"
                    srv.rcpts.append((address, answer))
                if answer.startswith("250"):
                    envelope.rcpt_tos.append(address)
                return answer

            async def handle_DATA(self, server, session, envelope):
                with srv._lock:
                    srv.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                                         envelope.original_content or envelope.content))
                return "250 OK"

        last = None
        for _ in range(20):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            ctl = Controller(Handler(), hostname="127.0.0.1", port=port, ready_timeout=10,
                             auth_require_tls=False)
            try:
                ctl.start()
            except Exception as e:  # port raced away: try another one
                last = e
                continue
            self.controller = ctl
            self.port = port
            return self
        raise RuntimeError("could not start the SMTP server: %r" % (last,))

    def url(self):
        return "smtp://127.0.0.1:%d" % self.port

    def rcpt_answers(self, address):
        with self._lock:
            return [a for (addr, a) in self.rcpts if addr.lower() == address.lower()]

    def delivered_to(self):
        with self._lock:
            return [r for (_f, rcpts, _d) in self.messages for r in rcpts]

    def stop(self):
        if self.controller is not None:
            try:
                self.controller.stop()
            finally:
                self.controller = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# ---------------------------------------------------------------------------
# idle clients


def open_idle_clients(port, n, partial_every=2, timeout=5.0):
    """Opens N TCP connections to 127.0.0.1:PORT.  Every PARTIAL_EVERY-th one
    sends a partial request line ("GET /heal", no end of line); the others
    send nothing.  Returns the sockets (the caller closes them)."""
    socks = []
    try:
        for k in range(n):
            s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
            if partial_every and k % partial_every == 1:
                s.sendall(b"GET /heal")
            socks.append(s)
    except BaseException:
        close_all(socks)
        raise
    return socks


def close_all(socks):
    for s in socks:
        try:
            s.close()
        except OSError:
            pass


def fd_count(pid):
    """The number of open file descriptors of PID (Linux /proc), or None."""
    import os

    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return None
