#!/usr/bin/env python3
"""Opens an HTML report in headless Chromium, with no network, and says
what the browser saw, as one JSON object on stdout:

  {"loaded": true, "title": "...", "verdict": "PASSED",
   "console_errors": [...],      # console.error/assert, uncaught exceptions,
                                 # and the browser's own error log entries
   "network_requests": [...],    # every request but the report itself
   "charts": [{"name": ..., "width": ..., "height": ...,
               "series": N, "drawn": M,   # drawn: series whose rendered
                                          # line has a non-empty box
               "y_fixed": bool,           # the axis is fixed (a ratio's)
               "top_tick": T,             # the y axis's highest label
               "reach": R}],              # how high the highest line
                                          # reaches: 0 floor .. 1 top tick
   "tables": N, "screenshot": "PATH"}

Chromium is driven over the DevTools protocol on a pipe
(--remote-debugging-pipe: requests on fd 3, replies on fd 4, each a JSON
text ending in NUL), so no port is opened. Every host name resolves to
nothing and the proxy is a closed port, so a request could not leave the
machine even if the page made one; the Network domain still reports it.

Usage: check_report.py REPORT.html --screenshot=OUT.png [--chromium=PATH]
Exit 0 when the browser answered (the caller judges the result), 1 when it
could not be driven (missing, crashed, timed out), with the reason on stderr.
"""

import argparse
import base64
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time

TIMEOUT_S = 90

CHART_PROBE = r"""
(() => {
  const charts = [...document.querySelectorAll('svg.chart')].map(svg => {
    const box = svg.getBoundingClientRect();
    const series = [...svg.querySelectorAll('path.series')];
    const drawn = series.filter(p => {
      const b = p.getBBox();
      return p.getTotalLength() > 0 && (b.width > 0 || b.height > 0);
    });
    // The y axis as drawn: its highest tick label, and how far up the plot
    // (0 at the floor, 1 at the top tick) the highest line reaches.
    const grid = [...svg.querySelectorAll('line.grid')].map(
        l => l.y1.baseVal.value);
    const ticks = [...svg.querySelectorAll('text.tick[text-anchor="end"]')]
        .map(t => parseFloat(t.textContent)).filter(v => !isNaN(v));
    let reach = null;
    if (grid.length > 1 && drawn.length > 0) {
      const floor = Math.max(...grid), ceiling = Math.min(...grid);
      const highest = Math.min(...drawn.map(p => p.getBBox().y));
      reach = (floor - highest) / (floor - ceiling);
    }
    return {name: svg.dataset.chart, width: box.width, height: box.height,
            series: series.length, drawn: drawn.length,
            y_fixed: svg.dataset.yFixed === 'true',
            top_tick: ticks.length ? Math.max(...ticks) : null, reach};
  });
  // Bands of states over time (the health band): each drawn span.
  const bands = [...document.querySelectorAll('svg.band')].map(svg => {
    const box = svg.getBoundingClientRect();
    const spans = [...svg.querySelectorAll('rect[data-state]')];
    return {name: svg.dataset.band, width: box.width, height: box.height,
            spans: spans.length,
            drawn: spans.filter(r => r.getBBox().width > 0).length,
            states: spans.map(r => r.dataset.state)};
  });
  const verdict = document.getElementById('verdict');
  return {title: document.title, charts, bands,
          tables: document.querySelectorAll('table').length,
          verdict: verdict ? verdict.textContent : null,
          height: Math.ceil(document.documentElement.scrollHeight)};
})()
"""


class Browser:
    def __init__(self, chromium, profile):
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()

        def child_fds():
            # Through fresh copies: dup2 onto the fd it already is would
            # keep its close-on-exec flag.
            read_copy, write_copy = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(read_copy, 3)
            os.dup2(write_copy, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        args = [
            chromium, "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync",
            "--disable-default-apps", "--disable-extensions", "--mute-audio",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
            "--user-data-dir=" + profile, "--remote-debugging-pipe",
            "--window-size=1200,900", "--hide-scrollbars", "about:blank",
        ]
        self.process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, preexec_fn=child_fds,
            # Kept open so that fds 3 and 4 made by child_fds survive.
            close_fds=False)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.buffer = b""
        self.next_id = 0
        self.events = []
        self.deadline = time.monotonic() + TIMEOUT_S

    def _read_message(self):
        while b"\0" not in self.buffer:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError("Chromium did not answer within %ds" % TIMEOUT_S)
            ready, _, _ = select.select([self.from_browser], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.from_browser, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the pipe (exit code %s): %s" % (
                    self.process.poll(), self.stderr_tail()))
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method, params=None, session=None):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read_message()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError("%s failed: %s" % (method, reply["error"]))
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method, session):
        while True:
            for i, event in enumerate(self.events):
                if event.get("method") == method and event.get("sessionId") == session:
                    return self.events.pop(i)
            self.events.append(self._read_message())

    def stderr_tail(self):
        try:
            self.process.kill()
            _, err = self.process.communicate(timeout=10)
            return err.decode(errors="replace")[-2000:]
        except Exception as e:  # noqa: BLE001 - only for the message
            return "(no stderr: %s)" % e

    def close(self):
        try:
            os.write(self.to_browser, json.dumps(
                {"id": 999999, "method": "Browser.close", "params": {}}).encode() + b"\0")
        except OSError:
            pass
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def check(report, screenshot, chromium):
    url = "file://" + os.path.abspath(report)
    profile = tempfile.mkdtemp(prefix="loadtest-chromium-")
    browser = Browser(chromium, profile)
    try:
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.send("Target.attachToTarget",
                               {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Network", "Page"):
            browser.send(domain + ".enable", session=session)
        browser.send("Page.navigate", {"url": url}, session=session)
        browser.wait_event("Page.loadEventFired", session)
        probe = browser.send("Runtime.evaluate",
                             {"expression": CHART_PROBE, "returnByValue": True},
                             session=session)
        if "exceptionDetails" in probe:
            raise RuntimeError("the probe failed: %s" % probe["exceptionDetails"])
        page = probe["result"]["value"]
        browser.send("Emulation.setDeviceMetricsOverride",
                     {"width": 1200, "height": max(900, page["height"]),
                      "deviceScaleFactor": 1, "mobile": False}, session=session)
        shot = browser.send("Page.captureScreenshot", {"format": "png"},
                            session=session)
        with open(screenshot, "wb") as out:
            out.write(base64.b64decode(shot["data"]))
        # Events that arrived while the page was loading and probed.
        console_errors, requests = [], []
        for event in browser.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                console_errors.append(" ".join(
                    str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                console_errors.append(details.get("exception", {}).get(
                    "description", details.get("text", "exception")))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                console_errors.append(params["entry"].get("text", ""))
            elif method == "Network.requestWillBeSent":
                request_url = params.get("request", {}).get("url", "")
                if request_url != url:
                    requests.append(request_url)
        return {"loaded": True, "title": page["title"], "verdict": page["verdict"],
                "console_errors": console_errors, "network_requests": requests,
                "charts": page["charts"], "bands": page["bands"],
                "tables": page["tables"],
                "screenshot": os.path.abspath(screenshot)}
    finally:
        browser.close()
        shutil.rmtree(profile, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report")
    parser.add_argument("--screenshot", required=True)
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args()
    if not os.path.exists(args.chromium):
        print("check_report: no Chromium at %s (apt-get install chromium)" % args.chromium,
              file=sys.stderr)
        return 1
    try:
        result = check(args.report, args.screenshot, args.chromium)
    except Exception as e:  # noqa: BLE001 - reported to the caller
        print("check_report: %s" % e, file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
