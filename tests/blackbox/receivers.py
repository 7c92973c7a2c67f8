"""Test receivers for alert sinks: an HTTP server with scripted answers and an
SMTP server (aiosmtpd), both on 127.0.0.1, recording everything they get.

Both are plain threads inside the pytest process: nothing to kill by PID,
``stop()`` shuts them down (the fixtures in conftest.py call it).
"""

import email
import email.policy
import http.server
import json
import socket
import threading
import time


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RecordedRequest:
    def __init__(self, method, path, headers, body, t):
        self.method = method
        self.path = path
        self.headers = headers  # dict, header names lower-cased
        self.body = body  # bytes
        self.time = t  # time.monotonic() at arrival

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    def __repr__(self):
        return "RecordedRequest(%s %s, %d bytes)" % (self.method, self.path, len(self.body))


class HTTPReceiver:
    """Threaded HTTP server recording every request.

    ``script`` is the sequence of answers, one per request in arrival order;
    each item is a status (int) or a tuple (status, headers_dict[, body
    [, delay_seconds]]).  When the script is exhausted, ``default`` is used
    (status 200 unless told).  ``set_script`` replaces the remaining script.
    Per-path scripts can be given with ``path_scripts={"/slack": [...]}``.
    """

    def __init__(self, script=(), default=200, path_scripts=None):
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self.requests = []
        self._script = list(script)
        self._path_scripts = {k: list(v) for k, v in (path_scripts or {}).items()}
        self.default = default
        self._server = None
        self._thread = None
        self.port = None

    # -- script ---------------------------------------------------------
    def set_script(self, script, path=None):
        with self._lock:
            if path is None:
                self._script = list(script)
            else:
                self._path_scripts[path] = list(script)

    def _next_answer(self, path):
        with self._lock:
            key = path.split("?", 1)[0]
            if key in self._path_scripts and self._path_scripts[key]:
                item = self._path_scripts[key].pop(0)
            elif self._script:
                item = self._script.pop(0)
            else:
                item = self.default
        if isinstance(item, int):
            return item, {}, b"", 0.0
        item = tuple(item) + (None,) * (4 - len(item))
        status, headers, body, delay = item
        if body is None:
            body = b""
        if isinstance(body, str):
            body = body.encode()
        return status, dict(headers or {}), body, float(delay or 0.0)

    # -- lifecycle ------------------------------------------------------
    def start(self):
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):  # keep pytest output clean
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = b""
                if length:
                    body = self.rfile.read(length)
                elif "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    chunks = []
                    while True:
                        line = self.rfile.readline()
                        size = int(line.strip().split(b";")[0] or b"0", 16)
                        if size == 0:
                            self.rfile.readline()
                            break
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                    body = b"".join(chunks)
                hdrs = {k.lower(): v for k, v in self.headers.items()}
                rec = RecordedRequest(self.command, self.path, hdrs, body, time.monotonic())
                status, headers, rbody, delay = receiver._next_answer(self.path)
                with receiver._cond:
                    receiver.requests.append(rec)
                    receiver._cond.notify_all()
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, str(v))
                    self.send_header("Content-Length", str(len(rbody)))
                    self.end_headers()
                    if rbody:
                        self.wfile.write(rbody)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_POST = _handle
            do_PUT = _handle
            do_GET = _handle

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        kwargs={"poll_interval": 0.05})
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    # -- inspection -----------------------------------------------------
    def snapshot(self, path=None):
        with self._lock:
            reqs = list(self.requests)
        if path is not None:
            reqs = [r for r in reqs if r.path.split("?", 1)[0] == path]
        return reqs

    def wait_for(self, n, timeout=60, path=None):
        """Waits until at least N requests (to PATH if given) arrived; returns them."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                reqs = [r for r in self.requests
                        if path is None or r.path.split("?", 1)[0] == path]
                if len(reqs) >= n:
                    return list(reqs)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("HTTP receiver: %d of %d requests after %ss"
                                         % (len(reqs), n, timeout))
                self._cond.wait(min(left, 0.2))

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class RecordedMessage:
    def __init__(self, mail_from, rcpt_tos, data, t):
        self.mail_from = mail_from
        self.rcpt_tos = list(rcpt_tos)
        self.data = data  # bytes, as received
        self.time = t
        self.message = email.message_from_bytes(data, policy=email.policy.default)

    @property
    def subject(self):
        return str(self.message["subject"] or "")

    def text(self):
        part = self.message.get_body(preferencelist=("plain", "html"))
        return part.get_content() if part is not None else ""

    def __repr__(self):
        return "RecordedMessage(from=%r, to=%r, subject=%r)" % (
            self.mail_from, self.rcpt_tos, self.subject)


class SMTPReceiver:
    """aiosmtpd Controller on 127.0.0.1 recording every message.

    ``tls_context`` (an ssl.SSLContext with a cert loaded) enables STARTTLS;
    ``require_starttls`` refuses mail before it.  ``auth`` = {user: password}
    enables AUTH PLAIN/LOGIN (aiosmtpd only allows it after STARTTLS unless
    ``auth_require_tls`` is False).  ``reject`` = an SMTP status line such as
    "451 try later" answers the next DATA commands with it (a list, consumed
    one per message).
    """

    def __init__(self, tls_context=None, require_starttls=False, auth=None,
                 auth_require_tls=True, reject=()):
        self.messages = []
        self.rejected = []
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._reject = list(reject)
        self.tls_context = tls_context
        self.require_starttls = require_starttls
        self.auth = auth
        self.auth_require_tls = auth_require_tls
        self.controller = None
        self.port = None

    def set_reject(self, reject):
        with self._lock:
            self._reject = list(reject)

    def start(self):
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        receiver = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                with receiver._cond:
                    if receiver._reject:
                        answer = receiver._reject.pop(0)
                        receiver.rejected.append(answer)
                        receiver._cond.notify_all()
                        return answer
                    receiver.messages.append(RecordedMessage(
                        envelope.mail_from, envelope.rcpt_tos,
                        envelope.original_content or envelope.content, time.monotonic()))
                    receiver._cond.notify_all()
                return "250 OK"

        kwargs = {}
        if self.tls_context is not None:
            kwargs["tls_context"] = self.tls_context
            kwargs["require_starttls"] = self.require_starttls
        if self.auth is not None:
            users = dict(self.auth)

            def authenticator(server, session, envelope, mechanism, auth_data):
                ok = (getattr(auth_data, "login", None) is not None
                      and users.get(auth_data.login.decode()) == auth_data.password.decode())
                return AuthResult(success=ok)

            kwargs["authenticator"] = authenticator
            kwargs["auth_require_tls"] = self.auth_require_tls
        else:
            kwargs["auth_require_tls"] = False

        last = None
        for _ in range(20):
            port = free_port()
            ctl = Controller(Handler(), hostname="127.0.0.1", port=port,
                             ready_timeout=10, **kwargs)
            try:
                ctl.start()
            except Exception as e:  # port raced away: try another one
                last = e
                continue
            self.controller = ctl
            self.port = port
            return self
        raise RuntimeError("could not start SMTP receiver: %r" % (last,))

    def stop(self):
        if self.controller is not None:
            try:
                self.controller.stop()
            finally:
                self.controller = None

    def url(self, scheme="smtp"):
        return "%s://127.0.0.1:%d" % (scheme, self.port)

    def snapshot(self):
        with self._lock:
            return list(self.messages)

    def wait_for(self, n, timeout=60):
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.messages) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("SMTP receiver: %d of %d messages after %ss"
                                         % (len(self.messages), n, timeout))
                self._cond.wait(min(left, 0.2))
            return list(self.messages)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def self_signed_cert(directory, cn="127.0.0.1"):
    """Creates a self-signed cert + key with openssl(1) in DIRECTORY.
    Returns (cert_path, key_path).  Used for STARTTLS/HTTPS tests."""
    import os
    import subprocess

    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", key, "-out", cert, "-subj", "/CN=%s" % cn,
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    return cert, key
