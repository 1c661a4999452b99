"""Headless Chromium driven over the DevTools protocol, for the tests that check a site as a person
sees it (the dbt docs site: ``test_docs_site.py``; the report site: ``test_marts_differential_demo.py``).

The browser talks over a pipe (``--remote-debugging-pipe``: no port, no extra package). Chromium
comes from ``scripts/chromium.sh`` (which installs Debian's package when it is missing); if it
cannot be had the test fails, unless ``CD2_SKIP_BROWSER=1``. Screenshots go to
``.cache/test-artifacts/``.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import struct
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / ".cache" / "test-artifacts"
CHROMIUM_SCRIPT = REPO_ROOT / "scripts" / "chromium.sh"
VIEWPORT = (1400, 900)
WAIT_S = 45.0
# Headless, as root in CI, with no network: nothing may phone home or wait for a service.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}",
)


def chromium_binary() -> str:
    if os.environ.get("CD2_SKIP_BROWSER") == "1":
        pytest.skip("CD2_SKIP_BROWSER=1: the browser test of the docs site is switched off")
    result = subprocess.run(["bash", str(CHROMIUM_SCRIPT)], capture_output=True, text=True, timeout=900)
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        pytest.fail(
            f"Chromium is not available ({CHROMIUM_SCRIPT.name} exit {result.returncode}); "
            f"set CD2_SKIP_BROWSER=1 to skip this test.\n{result.stderr[-3000:]}"
        )
    return lines[-1]


def _high_fd(fd: int) -> int:
    """A copy of ``fd`` numbered 10 or above, so that mapping it to 3 or 4 cannot clobber the other."""
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


class DevTools:
    """The browser end of ``--remote-debugging-pipe``: NUL-separated JSON in on fd 3, out on fd 4."""

    def __init__(self, binary: str, profile_dir: Path, log_path: Path) -> None:
        to_browser_r, to_browser_w = (_high_fd(fd) for fd in os.pipe())
        from_browser_r, from_browser_w = (_high_fd(fd) for fd in os.pipe())
        self.log_path = log_path
        self._log = log_path.open("wb")
        wrapper = f'exec "$0" "$@" 3<&{to_browser_r} 4>&{from_browser_w} {to_browser_r}<&- {from_browser_w}>&-'
        command = ["bash", "-c", wrapper, binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile_dir}"]
        self.process = subprocess.Popen(
            [*command, "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            pass_fds=(to_browser_r, from_browser_w),
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._out, self._in = to_browser_w, from_browser_r
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        data = json.dumps(message).encode() + b"\0"
        while data:
            data = data[os.write(self._out, data) :]
        deadline = time.monotonic() + WAIT_S
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") != self._next_id:
                    self.events.append(reply)
                    continue
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return dict(reply.get("result", {}))
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"Chromium did not answer {method} within {WAIT_S:.0f}s")
            readable, _, _ = select.select([self._in], [], [], left)
            if readable:
                chunk = os.read(self._in, 1 << 20)
                if not chunk:
                    raise RuntimeError(
                        f"Chromium closed the DevTools pipe (exit {self.process.poll()}):\n{self.log_tail()}"
                    )
                self._buffer += chunk

    def log_tail(self) -> str:
        self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-3000:]

    def close(self) -> None:
        try:
            if self.process.poll() is None:
                self.call("Browser.close")
            self.process.wait(timeout=15)
        except (OSError, RuntimeError, TimeoutError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait(timeout=15)
        finally:
            os.close(self._out)
            os.close(self._in)
            self._log.close()


@dataclass
class Page:
    browser: DevTools
    session: str
    exceptions: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)  # console.error calls and the browser's error log

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        result = self.browser.call(method, params, self.session)
        for event in self.browser.events:
            if event.get("method") == "Runtime.exceptionThrown":
                details = event["params"]["exceptionDetails"]
                self.exceptions.append(str(details.get("exception", {}).get("description") or details.get("text")))
            elif event.get("method") == "Runtime.consoleAPICalled" and event["params"].get("type") == "error":
                args = event["params"].get("args", [])
                self.console_errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in args))
            elif event.get("method") == "Log.entryAdded" and event["params"]["entry"].get("level") == "error":
                entry = event["params"]["entry"]
                self.console_errors.append(f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}")
        self.browser.events.clear()
        return result

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise AssertionError(f"page script failed: {expression}\n{result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, what: str, check: Callable[[Any], bool] = bool) -> Any:
        deadline = time.monotonic() + WAIT_S
        value = None
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if check(value):
                return value
            time.sleep(0.2)
        raise AssertionError(f"timed out after {WAIT_S:.0f}s waiting for {what} (last value: {value!r})")

    def click(self, selector: str) -> None:
        """A real mouse click at the centre of the element (scrolled into view first)."""
        box = self.evaluate(
            f"""(() => {{
                const el = document.querySelector({json.dumps(selector)});
                if (!el) return null;
                el.scrollIntoView({{block: 'center'}});
                const r = el.getBoundingClientRect();
                return [r.left + r.width / 2, r.top + r.height / 2];
            }})()"""
        )
        assert box, f"nothing to click at {selector}"
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": box[0], "y": box[1], "button": "left", "clickCount": 1},
            )

    def screenshot(self, path: Path) -> Path:
        data = base64.b64decode(self.send("Page.captureScreenshot", {"format": "png"})["data"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        print(f"screenshot: {path}")
        return path


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@contextmanager
def browser_tab(url: str, ready: str, what: str) -> Iterator[Page]:
    """A tab of a fresh headless Chromium at ``url``, once the expression ``ready`` is true."""
    binary = chromium_binary()
    with tempfile.TemporaryDirectory(prefix="cd2-chromium-") as scratch:
        browser = DevTools(binary, Path(scratch) / "profile", Path(scratch) / "chromium.log")
        try:
            target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            tab = Page(browser, session)
            tab.send("Runtime.enable")
            tab.send("Page.enable")
            tab.send("Log.enable")
            width, height = VIEWPORT
            tab.send(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            )
            tab.send("Page.navigate", {"url": url})
            tab.wait_for(ready, what)
            yield tab
        finally:
            browser.close()
