"""A headless Chromium driven over the DevTools protocol (python3-websocket), for the web
page's test: navigate, evaluate JavaScript, wait for a condition, take a screenshot, and
record every network request the page makes and every console error or CSP report.

The browser is started by PID with its own profile directory and stopped by PID."""

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request

import websocket

from conftest import _register, free_port, stop_process, wait_until


def chromium_binary():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    def __init__(self, width=1440, height=1240):
        binary = chromium_binary()
        assert binary, "chromium is not installed: scripts/deps installs it"
        self.port = free_port()
        self.profile = tempfile.mkdtemp(prefix="rwchrome")
        self.log = open(os.path.join(self.profile, "chromium.log"), "wb")
        self.proc = subprocess.Popen(
            [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--no-default-browser-check", "--disable-extensions", "--disable-sync",
             "--disable-background-networking", "--disable-component-update",
             "--hide-scrollbars", "--remote-debugging-address=127.0.0.1",
             "--remote-debugging-port=%d" % self.port,
             "--remote-allow-origins=http://127.0.0.1:%d" % self.port,
             "--user-data-dir=" + self.profile, "--window-size=%d,%d" % (width, height),
             "about:blank"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        _register(self.proc)
        self.width, self.height = width, height
        self.ws = None
        self.next_id = 0
        self.events = []
        try:
            target = wait_until(self._page_target, timeout=60, interval=0.2,
                                what="chromium's DevTools endpoint")
            self.ws = websocket.create_connection(target, timeout=30, suppress_origin=True)
            for method in ("Page.enable", "Network.enable", "Runtime.enable", "Log.enable"):
                self.call(method)
            self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                      deviceScaleFactor=1, mobile=False)
        except Exception:
            self.close()
            raise

    def _page_target(self):
        if self.proc.poll() is not None:
            raise AssertionError("chromium exited with %s" % self.proc.returncode)
        with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % self.port, timeout=2) as r:
            targets = json.loads(r.read())
        pages = [t for t in targets if t.get("type") == "page"]
        return pages[0]["webSocketDebuggerUrl"] if pages else None

    def call(self, method, **params):
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params}))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == mid:
                if "error" in msg:
                    raise AssertionError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)
        raise AssertionError("no answer to %s" % method)

    def pump(self):
        """Takes the events that arrived (a no-op command flushes them in)."""
        self.call("Runtime.evaluate", expression="0")

    def eval(self, expression):
        res = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                        awaitPromise=True)
        if "exceptionDetails" in res:
            raise AssertionError("JavaScript failed: %s\n%s" % (
                res["exceptionDetails"].get("text"), expression))
        return res["result"].get("value")

    def wait_js(self, expression, timeout=60, what=None):
        return wait_until(lambda: self.eval(expression), timeout=timeout, interval=0.1,
                          what=what or expression)

    def navigate(self, url):
        self.call("Page.navigate", url=url)
        self.wait_js("document.readyState === 'complete'", what="page load")

    def reload(self):
        self.call("Page.reload", ignoreCache=True)
        time.sleep(0.2)
        self.wait_js("document.readyState === 'complete'", what="page reload")

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", format="png")["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return path

    def requests(self):
        """Every URL the page asked for (documents, fetches, images, ...)."""
        self.pump()
        return [e["params"]["request"]["url"] for e in self.events
                if e["method"] == "Network.requestWillBeSent"]

    def problems(self):
        """Console errors, uncaught exceptions, CSP reports, failed loads."""
        self.pump()
        out = []
        for e in self.events:
            m, p = e["method"], e.get("params", {})
            if m == "Runtime.exceptionThrown":
                out.append("exception: %s" % p["exceptionDetails"].get("text"))
            elif m == "Log.entryAdded" and p["entry"].get("level") == "error":
                out.append("log: %s" % p["entry"].get("text"))
            elif m == "Runtime.consoleAPICalled" and p.get("type") == "error":
                out.append("console: %r" % [a.get("value") for a in p.get("args", [])])
            elif m == "Network.loadingFailed" and not p.get("canceled"):
                out.append("load failed: %s" % p.get("errorText"))
        return out

    def close(self):
        if self.ws is not None:
            try:
                self.ws.close()
            except Exception:  # noqa: BLE001 - it is going away anyway
                pass
        stop_process(self.proc, term_timeout=10)
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)
