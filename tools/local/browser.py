"""Real browsers on a shop's page: Debian's Chromium, driven by Playwright, running the published
@segment/analytics-next bundle from node_modules against a Riptide API.

`ShopSite` serves the page and the SDK's UMD folder from its own origin (so every call to the
API is cross-origin, as on a real shop). `Shopper` opens the page in a headless Chromium, loads
the SDK with `cdnURL` set to the API (the only change a site makes), makes SDK calls and leaves
the page, which is when the batching mode flushes with keepalive fetches. Chromium comes from
`scripts/chromium`; Playwright never downloads a browser of its own.
"""

from __future__ import annotations

import json
import mimetypes
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, sync_playwright

from tools.local.loopback import LoopbackServer

ROOT = Path(__file__).resolve().parents[2]
SDK_DIR = ROOT / "node_modules" / "@segment" / "analytics-next" / "dist" / "umd"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
)
PAGE_LOAD_TIMEOUT_MS = 30_000

STANDARD = "standard"
BATCHING = "batching"

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Riptide test shop</title>
<script src="/sdk/index.js"></script></head>
<body><h1>Riptide test shop</h1>
<script>
// Loads the SDK exactly as a shop does, with only cdnURL pointing at Riptide.
window.loadAnalytics = async ({writeKey, cdnURL, deliveryStrategy}) => {
  const integrations = deliveryStrategy ? {"Segment.io": {deliveryStrategy}} : {};
  const [analytics] = await AnalyticsNext.AnalyticsBrowser.load(
    {writeKey, cdnURL}, {integrations});
  window.analytics = analytics;
  return analytics.settings.writeKey;
};
// One SDK call; answers the messageId the SDK gave the event.
window.call = async ([method, args]) => {
  const context = await window.analytics[method](...args);
  return context.event.messageId;
};
</script></body></html>
"""


class ShopSite:
    """The shop's origin: the page at / and the analytics-next UMD bundle under /sdk/."""

    def __init__(self, sdk_dir: Path = SDK_DIR) -> None:
        if not (sdk_dir / "index.js").is_file():
            raise FileNotFoundError(
                f"{sdk_dir}/index.js is missing; scripts/setup installs @segment/analytics-next"
            )
        self._server = LoopbackServer(_site_handler(sdk_dir))

    @property
    def url(self) -> str:
        return self._server.url

    def __enter__(self) -> ShopSite:
        self._server.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.stop()


def _site_handler(sdk_dir: Path) -> type[BaseHTTPRequestHandler]:
    files = {f"/sdk/{path.name}": path for path in sdk_dir.iterdir() if path.is_file()}

    class SiteHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            path = self.path.partition("?")[0]
            if path in ("/", "/index.html"):
                self._send(200, "text/html; charset=utf-8", PAGE.encode())
            elif path in files:
                kind = mimetypes.guess_type(path)[0] or "application/octet-stream"
                self._send(200, kind, files[path].read_bytes())
            else:
                self._send(404, "text/plain", b"not found")

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: page and bundle loads are not worth a line each."""

    return SiteHandler


@dataclass(frozen=True)
class SdkCall:
    """One call on the SDK's `analytics` object: SdkCall("track", ("Product Viewed", {...}))."""

    method: str
    args: tuple[Any, ...] = ()


def delivery_strategy(mode: str, batch_size: int = 10, timeout_ms: int = 5_000) -> Any:
    """The SDK's `deliveryStrategy` for `mode` (None: standard, one request per event)."""
    if mode == STANDARD:
        return None
    if mode == BATCHING:
        return {"strategy": BATCHING, "config": {"size": batch_size, "timeout": timeout_ms}}
    raise ValueError(f"mode must be {STANDARD!r} or {BATCHING!r}, got {mode!r}")


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's headless Chromium under Playwright, closed on exit."""
    if not CHROMIUM.is_file():
        raise FileNotFoundError(f"{CHROMIUM} is missing; scripts/chromium installs it")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS), headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


class Shopper:
    """One visitor with a browser profile of their own (cookies, localStorage), which lasts
    until `close`; each visit is a new page view of the shop in that profile."""

    def __init__(self, browser: Browser, site_url: str, api_url: str, write_key: str) -> None:
        self._profile = browser.new_context()
        self._site_url = site_url
        self._api_url = api_url
        self._write_key = write_key

    def __enter__(self) -> Shopper:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._profile.close()

    def visit(
        self,
        mode: str,
        calls: Sequence[SdkCall],
        settled: Callable[[list[str]], bool] = lambda message_ids: True,
        *,
        stay: bool = False,
        **batching: int,
    ) -> list[str]:
        """Load the SDK, make `calls`, leave the page; the messageIds of the events sent.

        In standard mode each call returns once its request has been answered; in batching mode
        events wait in the SDK's buffer until it is full, its timeout passes or the page is
        left, when the SDK flushes them with keepalive fetches. Those outlive the page but not
        the browser context, which is kept until `settled(message_ids)` is true. With `stay`
        the shopper stays on the page until then, so the SDK's own retries happen there.
        """
        strategy = delivery_strategy(mode, **batching)
        what = f"the events of {describe(calls)}"

        def make_calls(page: Page) -> list[str]:
            self._load_sdk(page, strategy)
            ids = [page.evaluate("window.call", [call.method, list(call.args)]) for call in calls]
            if stay:
                wait_until(lambda: settled(ids), f"{what} to settle on the page")
            return ids

        return self.on_page(make_calls, settled, what)

    def run_script[T](
        self, script: str, argument: Any, settled: Callable[[T], bool], what: str
    ) -> T:
        """Evaluate `script` (a JavaScript function of `argument`) on the page, then leave."""
        return self.on_page(lambda page: page.evaluate(script, argument), settled, what)

    def on_page[T](self, action: Callable[[Page], T], settled: Callable[[T], bool], what: str) -> T:
        """Open the shop's page, do `action`, leave the page (unloading it, as a shopper
        navigating away does) and wait until `settled(result)`."""
        page = self._profile.new_page()
        try:
            page.goto(self._site_url, timeout=PAGE_LOAD_TIMEOUT_MS)
            result = action(page)
            page.goto("about:blank")
            wait_until(lambda: settled(result), f"{what} to settle")
        finally:
            page.close()
        return result

    def _load_sdk(self, page: Page, strategy: Any) -> None:
        options = {"writeKey": self._write_key, "cdnURL": self._api_url}
        if strategy is not None:
            options["deliveryStrategy"] = strategy
        page.evaluate("window.loadAnalytics", options)


def wait_until(condition: Callable[[], bool], what: str, timeout_seconds: float = 60) -> None:
    """Poll `condition`; TimeoutError naming `what` when it stays false for `timeout_seconds`."""
    deadline = time.monotonic() + timeout_seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout_seconds:.0f} s for {what}")
        time.sleep(0.05)


def describe(calls: Sequence[SdkCall]) -> str:
    """The calls as the JavaScript a shop would write, for messages."""
    return "; ".join(
        f"analytics.{call.method}({', '.join(json.dumps(arg) for arg in call.args)})"
        for call in calls
    )
