#!/usr/bin/env python3
"""Drives LatteFlow's web page in headless Chromium over the DevTools protocol (--remote-debugging-pipe).

    web_page_check.py URL [--chat TEXT] [--chat-image PNG] [--screenshot OUT.png] [--width W --height H]

Opens URL (use ?prompt=…&autorun=1 so the page starts an image job, and #key=… for an API key), waits
until the page's <body data-state> says the job ended, optionally sends a chat message and then drops
an image on the chat pane (as a browser drop event does), and prints one JSON report on stdout:
{state, status, image_error, model, gallery: [{seed, caption, src, width, height}], chat: [{role, text}],
 chat_error}. Exits 2 if Chromium does not start or the page never finishes (the report says where it
stood). Used by WebPageTests, and by hand for the screenshot in docs/images.

The protocol rather than --dump-dom: --virtual-time-budget does not wait for the job's event stream,
so a dump would catch the page mid-job.
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

REPORT = """JSON.stringify({
  state: document.body ? document.body.dataset.state : null,
  status: (document.getElementById('job-status') || {}).textContent,
  image_error: (document.getElementById('image-error') || {}).textContent,
  model: (document.getElementById('model-info') || {}).textContent,
  sending: !!(document.getElementById('send') || {}).disabled,
  gallery: [...document.querySelectorAll('#gallery figure')].map(f => {
    const img = f.querySelector('img');
    return {seed: Number(f.dataset.seed), caption: f.querySelector('figcaption').textContent,
            src: img.src, width: img.naturalWidth, height: img.naturalHeight};
  }),
  chat: [...document.querySelectorAll('#messages .message')].map(m => ({
    role: m.classList.contains('user') ? 'user' : 'assistant', text: m.querySelector('p').textContent,
    image: !!m.querySelector('img')})),
  chat_error: (document.getElementById('chat-error') || {}).textContent,
})"""


class DevTools:
    """Chromium's DevTools protocol on a pipe pair: JSON messages each ended by a NUL byte."""

    def __init__(self, write_fd, read_fd):
        self.write_fd, self.read_fd, self.buffer, self.last_id = write_fd, read_fd, b"", 0

    def call(self, method, params=None, session=None, timeout=30):
        self.last_id += 1
        message = {"id": self.last_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.write_fd, json.dumps(message).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            while b"\0" in self.buffer:
                raw, self.buffer = self.buffer.split(b"\0", 1)
                answer = json.loads(raw)
                if answer.get("id") == self.last_id:
                    if "error" in answer:
                        raise RuntimeError(f"{method}: {answer['error']}")
                    return answer.get("result", {})
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError(f"{method}: no answer from Chromium in {timeout} s")
            if select.select([self.read_fd], [], [], left)[0]:
                chunk = os.read(self.read_fd, 1 << 20)
                if not chunk:
                    raise RuntimeError("Chromium closed the DevTools pipe (it exited)")
                self.buffer += chunk


def evaluate(tools, session, expression):
    result = tools.call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}, session)
    if "exceptionDetails" in result:
        raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
    return result["result"].get("value")


def wait(tools, session, done, timeout, what):
    """Polls the page's report until done(report) or the timeout; returns (report, finished)."""
    deadline = time.time() + timeout
    while True:
        report = json.loads(evaluate(tools, session, REPORT))
        if done(report):
            return report, True
        if time.time() > deadline:
            report["timeout"] = f"gave up waiting for {what} after {timeout} s"
            return report, False
        time.sleep(0.2)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--chromium", default="chromium")
    parser.add_argument("--timeout", type=float, default=240)
    parser.add_argument("--chat", help="a chat message to send after the image job")
    parser.add_argument("--chat-image", help="a PNG to drop on the chat pane and send (after --chat)")
    parser.add_argument("--screenshot", help="save a PNG of the page here at the end")
    parser.add_argument("--width", type=int, default=1000)
    parser.add_argument("--height", type=int, default=640)
    args = parser.parse_args()

    to_chrome_r, to_chrome_w = os.pipe()
    from_chrome_r, from_chrome_w = os.pipe()

    def child_fds():
        # Chromium reads commands on fd 3 and writes answers on fd 4. Copy to fresh fds first, so
        # neither dup2 overwrites the other's source.
        a, b = os.dup(to_chrome_r), os.dup(from_chrome_w)
        os.dup2(a, 3)
        os.dup2(b, 4)

    profile = tempfile.mkdtemp(prefix="latte-chromium-")
    log = tempfile.TemporaryFile()
    # --no-sandbox: test machines run as root, where Chromium's sandbox refuses to start; the page
    # is our own, served from loopback.
    chrome = subprocess.Popen(
        [args.chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-extensions", "--disable-background-networking", "--hide-scrollbars", "--mute-audio",
         "--remote-debugging-pipe", f"--user-data-dir={profile}", f"--window-size={args.width},{args.height}", "about:blank"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, preexec_fn=child_fds, pass_fds=(3, 4))
    os.close(to_chrome_r)
    os.close(from_chrome_w)
    tools = DevTools(to_chrome_w, from_chrome_r)
    report, finished = {}, False
    try:
        target = tools.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = tools.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        tools.call("Emulation.setDeviceMetricsOverride",
                   {"width": args.width, "height": args.height, "deviceScaleFactor": 1, "mobile": False}, session)
        tools.call("Page.navigate", {"url": args.url}, session)
        report, finished = wait(tools, session, lambda r: r["state"] in ("done", "failed", "cancelled"), args.timeout, "the image job")
        if finished and args.chat:
            before = len(report["chat"])
            evaluate(tools, session, f"document.getElementById('chat-input').value = {json.dumps(args.chat)}; "
                                     "document.getElementById('chat-form').requestSubmit(); true")
            report, finished = wait(tools, session, lambda r: not r["sending"] and (len(r["chat"]) >= before + 2 or r["chat_error"]),
                                    args.timeout, "the chat answer")
        if finished and args.chat_image:
            with open(args.chat_image, "rb") as f:
                png = base64.b64encode(f.read()).decode()
            # What a browser does when a file is dropped: a drop event carrying it in a DataTransfer.
            evaluate(tools, session, f"""(async () => {{
                const bytes = Uint8Array.from(atob({json.dumps(png)}), c => c.charCodeAt(0));
                const data = new DataTransfer();
                data.items.add(new File([bytes], 'dropped.png', {{type: 'image/png'}}));
                document.getElementById('chat').dispatchEvent(new DragEvent('drop', {{dataTransfer: data, bubbles: true, cancelable: true}}));
                for (let i = 0; i < 100 && document.getElementById('attachment').hidden; i++) await new Promise(r => setTimeout(r, 50));
                document.getElementById('chat-input').value = 'What is in this picture?';
                document.getElementById('chat-form').requestSubmit();
                return true;
            }})()""")
            count = len(report["chat"])
            report, finished = wait(tools, session, lambda r: not r["sending"] and (len(r["chat"]) >= count + 2 or r["chat_error"]),
                                    args.timeout, "the answer about the dropped image")
        if args.screenshot:
            shot = tools.call("Page.captureScreenshot", {"format": "png"}, session)
            with open(args.screenshot, "wb") as f:
                f.write(base64.b64decode(shot["data"]))
    except Exception as error:  # report what happened rather than a traceback alone
        report["driver_error"] = str(error)
        finished = False
    finally:
        try:
            tools.call("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            chrome.wait(timeout=10)
        except subprocess.TimeoutExpired:
            chrome.kill()
            chrome.wait()
        shutil.rmtree(profile, ignore_errors=True)
    if not finished:
        log.seek(0)
        report["chromium_log_tail"] = log.read().decode(errors="replace")[-2000:]
    print(json.dumps(report))
    sys.exit(0 if finished else 2)


if __name__ == "__main__":
    main()
