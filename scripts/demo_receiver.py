#!/usr/bin/python3
"""The receivers of scripts/demo, on 127.0.0.1: an HTTP server that answers 200 to every POST
and appends each body as one line to DIR/NAME.jsonl (NAME: the last segment of the path, so
/hook and /slack land in hook.jsonl and slack.jsonl), and an SMTP server (aiosmtpd) that keeps
each message as DIR/mail/NNNNN.eml.  Stops on SIGTERM.

    demo_receiver.py HTTP_PORT SMTP_PORT DIR
"""

import http.server
import itertools
import os
import signal
import sys
import threading

from aiosmtpd.controller import Controller

http_port, smtp_port, root = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
os.makedirs(os.path.join(root, "mail"), exist_ok=True)
lock = threading.Lock()
files = {}
mail_seq = itertools.count(1)


def append(name, line):
    with lock:
        f = files.get(name)
        if f is None:
            f = files[name] = open(os.path.join(root, name + ".jsonl"), "a", buffering=1)
        f.write(line + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(n, 1 << 20)).decode("utf-8", "replace").replace("\n", " ")
        name = "".join(c for c in self.path.rstrip("/").rsplit("/", 1)[-1] if c.isalnum())
        append(name or "root", body)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class Mailbox:
    async def handle_DATA(self, server, session, envelope):
        path = os.path.join(root, "mail", "%05d.eml" % next(mail_seq))
        with open(path + ".tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.replace(path + ".tmp", path)
        return "250 OK"


smtp = Controller(Mailbox(), hostname="127.0.0.1", port=smtp_port)
smtp.start()
srv = http.server.ThreadingHTTPServer(("127.0.0.1", http_port), Handler)
srv.daemon_threads = True
signal.signal(signal.SIGTERM, lambda *a: threading.Thread(target=srv.shutdown).start())
srv.serve_forever(poll_interval=0.2)
srv.server_close()
smtp.stop()
