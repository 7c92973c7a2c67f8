#!/usr/bin/python3
"""A tiny webhook receiver for scripts/demo: answers 200 to every POST on 127.0.0.1:PORT and
appends each body (one alert JSON) as one line to FILE.  Stops on SIGTERM."""

import http.server
import signal
import sys
import threading

port, path = int(sys.argv[1]), sys.argv[2]
lock = threading.Lock()
out = open(path, "a", buffering=1)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(n, 1 << 20)).decode("utf-8", "replace").replace("\n", " ")
        with lock:
            out.write(body + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
srv.daemon_threads = True
signal.signal(signal.SIGTERM, lambda *a: threading.Thread(target=srv.shutdown).start())
srv.serve_forever(poll_interval=0.2)
srv.server_close()
