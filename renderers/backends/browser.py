"""The browser back-end shared by the browser renderers (``formula``, ``mathpix-doc``, ``chart-echarts``).

Chromium comes from Debian: its ``chromium-headless-shell`` package when installed (the faster, see
:data:`renderers.backends.chromium.HEADLESS_SHELL`), else its ``chromium``; it is driven by Playwright
for Python (sync API) through ``executable_path``: no browser is ever downloaded. The JavaScript
libraries are the npm packages pinned in ``renderers/backends/js/package.json`` +
``package-lock.json`` (``make setup`` runs ``npm ci``); a renderer's page is a local HTML file under
``renderers/backends/js/`` that loads them with relative ``file://`` paths.

Life cycle of one :class:`BrowserPage` (one per renderer instance, so one per worker process):

* **Lazy.** Nothing starts in the constructor (the engine builds renderers in the main process just
  to check the config); the browser is launched, the page loaded and the libraries initialised on
  the first :meth:`BrowserPage.render`. Per sample only the content is pushed in (one call of a
  function the page defines) and the rendered area is captured (:meth:`BrowserPage._screenshot`).
* **No network, no files but its own.** Every request goes through ``page.route``: ``data:`` and
  ``blob:`` URLs are served, and ``file:`` URLs inside the page's own folder (the HTML and its
  libraries) or a folder the renderer names readable (its user corpus: ``readable``); anything else
  is aborted and recorded, and the sample that asked for it is rejected with reason
  ``network-request`` or ``local-file-request`` (the URLs in the detail), so a user document's
  ``![](file:///etc/passwd)`` never puts that file into a sample. Paths are compared after resolving
  symbolic links and ``..``. A page function waits for the images it inserted, so a request is
  always routed before its sample is finished.
* **Timeouts and restarts.** A call that does not finish within ``timeout_s`` (a hung page), or a
  browser that crashed or was killed, is handled by killing the browser process, launching a fresh
  one and rendering the same sample again, once. The page functions are pure functions of their
  payload in a freshly loaded page state, so the retry gives the bytes the first try would have:
  no sample is lost or duplicated. A second failure rejects the sample (``browser-timeout``,
  ``browser-crash``).
* **Memory.** Every 50 samples the page's garbage is collected and the browser's caches dropped
  (:meth:`BrowserPage.purge_memory`), and the browser is relaunched every ``recycle_every`` samples,
  which bounds the memory a long run can accumulate in it. A worker's memory climbs for its first
  ~300 samples, then stays level (:mod:`pipelines.bench.browser_memory` measures it).
* **Closing.** :meth:`BrowserPage.close` is idempotent; it also runs for every live page at
  interpreter exit (Ctrl-C ends a run through ``KeyboardInterrupt``, then exit handlers), and
  Playwright's own SIGINT handler closes the browsers it launched. A page that is garbage-collected
  without ``close()`` has its browser process killed (a signal only: a Playwright call from a
  finaliser can deadlock inside Playwright's event loop).

The page contract: the HTML sets ``window.gotforgeReady = true`` once its libraries are loaded, and
each function the renderer calls takes one JSON payload and returns (or resolves to) a JSON object:
``{"reject": {"reason", "detail"}}`` for content that cannot be rendered, else anything the renderer
needs plus either ``clip: {x, y, width, height}`` in CSS pixels, the area to screenshot, or ``png``,
the base64 PNG the library exported itself (a canvas's ``toDataURL``: no frame to draw and capture).
Under begin-frame control (the headless shell) the page gets no animation frames: a page function
must not wait for ``requestAnimationFrame``.

Determinism: fixed viewport and device scale factor per page, software rendering (``--disable-gpu``),
system fonts only, animations off, no clock or random number in the pages; Chromium's PNG encoder
writes the same bytes for the same pixels. Both binaries draw the same bytes (tests/test_browser.py),
with one exception: a character that none of the page's named fonts has comes from a system
fallback font, which full Chromium draws with other rendering settings (fontconfig's hinting, it
seems) than the named fonts, and the headless shell draws like every other glyph.

:func:`pipelines.bench.browser_memory.pooled_vs_launch` measures the pooled browser against one launched
per sample (``gotforge bench``).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import threading
import uuid
import weakref
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pydantic

from renderers.backends.chromium import (
    BEGIN_FRAME_ARGS,
    CHROMIUM,
    CHROMIUM_ARGS,
    HEADLESS_SHELL,
    LIVE,
    Session,
    driver,
    find_pid,
)
from renderers.base import Reject, RendererOptions

BEGIN_FRAME_TRIES = 5  # a frame during renderer initialisation may come back without its screenshot
JS_DIR = Path(__file__).resolve().parent / "js"
NODE_MODULES = JS_DIR / "node_modules"
INLINE_SCHEMES = ("data:", "blob:")  # content carried in the page itself
PURGE_EVERY = 50  # samples between two purge_memory() calls


class BrowserOptions(RendererOptions):
    """Options every browser renderer has (its ``Options`` subclass this)."""

    timeout_s: float = pydantic.Field(20.0, gt=0, description="per-sample limit before the browser is restarted")
    recycle_every: int = pydantic.Field(1000, ge=1, description="relaunch the browser after this many samples")


class BrowserSetupError(RuntimeError):
    """Chromium or the JavaScript libraries are missing, or the page does not load: nothing can render."""


@dataclasses.dataclass
class Capture:
    """What one page call gave: the JSON the page function returned and the captured PNG."""

    result: dict[str, Any]
    png: bytes | None


class BrowserPage:
    """A local HTML page in a pooled headless Chromium, rendering one sample per :meth:`render` call.

    ``html``: the page (a file under ``renderers/backends/js/``). ``viewport``: CSS pixels, fixed for the
    page's life (render areas must lie inside it). ``scale``: device pixels per CSS pixel.
    ``headless_shell``: draw with :data:`HEADLESS_SHELL` (None: when it is installed); the output
    is the same either way but for fallback glyphs (module docstring), only the speed differs.
    ``readable``: folders whose files the page may load besides its own (a user corpus).
    """

    def __init__(
        self,
        html: Path,
        viewport: tuple[int, int] = (1280, 1024),
        scale: float = 1.0,
        timeout_s: float = 20.0,
        recycle_every: int = 1000,
        load_timeout_s: float = 60.0,
        headless_shell: bool | None = None,
        readable: tuple[Path, ...] = (),
    ) -> None:
        self.html = Path(html).resolve()
        self.readable = (self.html.parent, NODE_MODULES.resolve(), *(Path(p).resolve() for p in readable))
        self.headless_shell = HEADLESS_SHELL.exists() if headless_shell is None else headless_shell
        self.viewport = viewport
        self.scale = scale
        self.timeout_s = timeout_s
        self.recycle_every = recycle_every
        self.load_timeout_s = load_timeout_s
        self.launches = 0  # browsers launched so far (restarts and recycling included)
        self.restarts = 0  # of those, launched because a call timed out or the browser died
        self.samples_in_browser = 0
        self._session = Session()
        # A page dropped without close(): its browser is killed when the object is collected. Only a
        # signal, no Playwright call: collection can happen inside Playwright's own event loop, where
        # a sync call would deadlock. At exit, the handler in chromium.py closes the live ones politely.
        self._finalizer = weakref.finalize(self, self._session.terminate)
        self._finalizer.atexit = False
        LIVE.add(self)

    # ------------------------------------------------------------------ life cycle

    @property
    def pid(self) -> int | None:
        """The browser's process id while one is running (tests kill it to check recovery)."""
        return self._session.pid if self._session.alive else None

    def _launch(self) -> None:
        executable = HEADLESS_SHELL if self.headless_shell else CHROMIUM
        if not executable.exists():
            package = "chromium-headless-shell" if self.headless_shell else "chromium"
            raise BrowserSetupError(f"{executable} not found; run `make setup` (it installs Debian's {package})")
        if not self.html.exists():
            raise BrowserSetupError(f"browser page {self.html} not found")
        if not NODE_MODULES.exists():
            raise BrowserSetupError(f"{NODE_MODULES} not found; run `make setup` (npm ci in {JS_DIR})")
        session = self._session
        session.close()
        marker = f"--gotforge-browser={uuid.uuid4().hex}"  # Chromium ignores unknown switches
        extra = BEGIN_FRAME_ARGS if self.headless_shell else ()
        session.browser = driver().chromium.launch(
            executable_path=str(executable), args=[*CHROMIUM_ARGS, *extra, marker], timeout=self.load_timeout_s * 1000
        )
        session.begin_frames = self.headless_shell
        session.pid = find_pid(marker)
        context = session.browser.new_context(
            viewport={"width": self.viewport[0], "height": self.viewport[1]},
            device_scale_factor=self.scale,
            reduced_motion="reduce",
            service_workers="block",
            locale="en-US",
            timezone_id="UTC",
        )
        page = context.new_page()
        session.blocked = []
        session.killed_by_watchdog = False
        blocked = session.blocked
        readable = self.readable

        def route(route: Any) -> None:
            url = route.request.url
            if url.startswith(INLINE_SCHEMES) or (url.startswith("file:") and _inside(url, readable)):
                route.continue_()
            else:
                blocked.append(url)
                route.abort("blockedbyclient")

        page.route("**/*", route)
        page.set_default_timeout(self.load_timeout_s * 1000)
        page.goto(self.html.as_uri(), wait_until="load")
        # Polled on a timer, not on animation frames: under begin-frame control there are none.
        page.wait_for_function("() => window.gotforgeReady === true", polling=10, timeout=self.load_timeout_s * 1000)
        if blocked:
            raise BrowserSetupError(f"page {self.html} requested non-local URLs while loading: {blocked[:3]}")
        session.page = page
        session.cdp = context.new_cdp_session(page)
        self.launches += 1
        self.samples_in_browser = 0

    def close(self) -> None:
        """Close the browser (idempotent; a later render launches a new one)."""
        self._session.close()

    # ------------------------------------------------------------------ rendering

    def render(self, function: str, payload: Any, capture: bool = True) -> Capture:
        """Call ``window[function](payload)`` in the page and capture the ``clip`` it returns.

        Raises :class:`Reject` for content the page rejects, a non-local request, or a browser that
        fails twice on the same sample; restarts the browser between the two tries."""
        if self._session.alive and self.samples_in_browser >= self.recycle_every:
            self._session.close()
        failure = None
        for _attempt in range(2):
            if not self._session.alive:
                if failure is not None or self._session.browser is not None:
                    self.restarts += 1  # the last call failed, or the browser died since
                self._launch()
            try:
                capture_ = self._call(function, payload, capture)
            except _BrowserFailure as err:
                failure = err
                self._session.kill()
                continue
            self.samples_in_browser += 1
            if self.samples_in_browser % PURGE_EVERY == 0:
                self.purge_memory()
            return capture_
        assert failure is not None
        raise Reject(failure.reason, f"twice on the same sample: {failure.detail}")

    def _call(self, function: str, payload: Any, capture: bool) -> Capture:
        from playwright.sync_api import Error as PlaywrightError

        session = self._session
        page = session.page
        del session.blocked[:]
        # The watchdog bounds the whole call (page function, screenshot, reading the result) by
        # killing the browser, which makes the blocked call fail at once; it fires even when the
        # page's main thread is stuck in a loop. One evaluate is one round trip through the driver
        # (~1.3 ms); wait_for_function, which has a timeout of its own, takes three (~4.4 ms).
        watchdog = threading.Timer(self.timeout_s, session.kill_process)
        watchdog.daemon = True
        watchdog.start()
        try:
            result = page.evaluate("async ([name, payload]) => await window[name](JSON.parse(payload))",
                                   [function, json.dumps(payload, ensure_ascii=False)])
            png = None
            if isinstance(result, dict) and isinstance(result.get("png"), str):
                png = base64.b64decode(result.pop("png"))
            elif capture and isinstance(result, dict) and "clip" in result and not session.blocked:
                png = self._screenshot(result["clip"])
        except PlaywrightError as err:
            message = str(err).splitlines()[0] if str(err) else type(err).__name__
            if session.killed_by_watchdog:
                raise _BrowserFailure("browser-timeout", f"no answer within {self.timeout_s:g} s ({function})") from err
            if session.alive and "Target crashed" not in message and "closed" not in message:
                # The page function threw: a bug in the page or input it did not expect.
                raise Reject("page-error", message[:300]) from err
            raise _BrowserFailure("browser-crash", message[:300]) from err
        finally:
            watchdog.cancel()
        if session.blocked:
            local = [url for url in session.blocked if url.startswith("file:")]
            urls = list(dict.fromkeys(local or session.blocked))
            raise Reject("local-file-request" if local else "network-request", ", ".join(urls[:3]))
        if not isinstance(result, dict):
            raise Reject("page-error", f"{function} returned {type(result).__name__}, expected an object")
        if "reject" in result:
            raise Reject(str(result["reject"].get("reason", "page-reject")), str(result["reject"].get("detail", "")))
        return Capture(result, png)


    def purge_memory(self) -> None:
        """Collect the page's garbage and drop the browser's caches (as under memory pressure).

        Its collector has no reason to hurry: without the purge a mathpix-doc worker held 795 MiB
        after 200 pages and 859 after 2,000 (its renderer process +65 MiB); with it every
        ``PURGE_EVERY`` samples (~70 ms, ~1.5 ms a sample), 665 and 683 (``python -m
        pipelines.bench.browser_memory``). Pixels do not change: caches are refilled from the same files."""
        from playwright.sync_api import Error as PlaywrightError

        session = self._session
        if not session.alive:
            return
        watchdog = threading.Timer(self.timeout_s, session.kill_process)
        watchdog.daemon = True
        watchdog.start()
        try:
            session.cdp.send("HeapProfiler.collectGarbage")
            session.cdp.send("Memory.simulatePressureNotification", {"level": "critical"})
        except PlaywrightError:
            session.kill()  # the next sample launches a fresh browser
        finally:
            watchdog.cancel()

    def _screenshot(self, clip: dict[str, float]) -> bytes:
        """The clip as PNG, straight from Chromium's DevTools protocol.

        With the headless shell (:meth:`_frame_screenshot`), one frame drawn on request; else
        ``Page.captureScreenshot``, which is what ``page.screenshot(clip=...)`` ends in, without
        its extra round trips (caret and animation styles, which these pages do not need).
        ``optimizeForSpeed`` picks Chromium's fast PNG settings (same pixels, a larger file, ~20 ms
        less for a page). The protocol calls have no timeout of their own: the watchdog in
        :meth:`_call` bounds them."""
        session = self._session
        if session.begin_frames:
            return self._frame_screenshot(clip)
        params = {"format": "png", "optimizeForSpeed": True, "captureBeyondViewport": False,
                  "clip": {**clip, "scale": 1}}
        return base64.b64decode(session.cdp.send("Page.captureScreenshot", params)["data"])

    def _frame_screenshot(self, clip: dict[str, float]) -> bytes:
        """Draw one frame of the clip and take its screenshot (``HeadlessExperimental.beginFrame``).

        A frame's screenshot is the whole visible area, so the visible area is set to the clip
        (the ``viewport`` of ``Emulation.setDeviceMetricsOverride``, which the page does not see);
        the layout viewport, screen and scale stay those the context was created with, as
        Playwright set them, so layout is untouched."""
        session = self._session
        width, height = self.viewport
        session.cdp.send("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "screenWidth": width, "screenHeight": height,
            "deviceScaleFactor": self.scale, "mobile": False,
            "screenOrientation": {"angle": 0, "type": "landscapePrimary"},
            "viewport": {**clip, "scale": 1},
        })
        params = {"screenshot": {"format": "png", "optimizeForSpeed": True}}
        for _try in range(BEGIN_FRAME_TRIES):
            frame = session.cdp.send("HeadlessExperimental.beginFrame", params)
            if "screenshotData" in frame:
                return base64.b64decode(frame["screenshotData"])
        raise _BrowserFailure("browser-crash", f"no screenshot in {BEGIN_FRAME_TRIES} frames")


def _inside(url: str, folders: tuple[Path, ...]) -> bool:
    """Whether the ``file:`` URL names a file inside one of ``folders`` (links and ``..`` resolved)."""
    path = Path(unquote(urlparse(url).path)).resolve()
    return any(path.is_relative_to(folder) for folder in folders)


class _BrowserFailure(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail
