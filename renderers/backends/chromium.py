"""The Chromium processes behind :mod:`renderers.backends.browser`: Debian's binaries and the switches
they run with, the one Playwright driver of a process, a launched browser (:class:`Session`) whose
process is found by a marker and can be killed by a signal alone, and every live page closed at exit.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import threading
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from renderers.backends.browser import BrowserPage

CHROMIUM = Path("/usr/bin/chromium")
# Debian's ``chromium-headless-shell``: the same Blink as ``chromium`` without the browser around it.
# Used when installed: with ``--deterministic-mode`` it draws a frame only when asked
# (``HeadlessExperimental.beginFrame``) and returns the screenshot with that frame, instead of waiting
# for the compositor's next frame as ``Page.captureScreenshot`` does, whatever the clip's size.
# Same PNG bytes but for fallback glyphs (:mod:`renderers.backends.browser`). The binary itself, not
# /usr/bin's wrapper script, which stays alive beside it and would hold our marker.
HEADLESS_SHELL = Path("/usr/lib/chromium/chromium-headless-shell")
BEGIN_FRAME_ARGS = ("--deterministic-mode",)  # begin-frame control, all compositor stages before a draw
# Headless Chromium as root on this machine: no sandbox, no GPU, nothing that phones home.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--font-render-hinting=none",
)


# --------------------------------------------------------------------------- the Playwright driver

_DRIVER: Any = None  # one Playwright driver per process, started on first use
_DRIVER_THREAD: int | None = None
# Every BrowserPage not yet collected; each adds itself, so the exit handler can close it.
LIVE: weakref.WeakSet[BrowserPage] = weakref.WeakSet()


def driver() -> Any:
    global _DRIVER, _DRIVER_THREAD
    if _DRIVER is None:
        from playwright.sync_api import sync_playwright

        _DRIVER = sync_playwright().start()
        _DRIVER_THREAD = threading.get_ident()
    elif _DRIVER_THREAD != threading.get_ident():
        raise RuntimeError("Playwright's sync API is bound to the thread that started it; render from one thread")
    return _DRIVER


@atexit.register
def _close_all() -> None:
    """Close every live page's browser, then the driver (also after Ctrl-C)."""
    global _DRIVER
    for page in list(LIVE):
        page.close()
    if _DRIVER is not None:
        with contextlib.suppress(Exception):
            _DRIVER.stop()
        _DRIVER = None


def find_pid(marker: str) -> int | None:
    """The pid of the Chromium browser process launched with ``marker`` among its arguments."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/cmdline", "rb") as handle:
                args = handle.read().split(b"\0")
        except OSError:
            continue
        if marker.encode() in args and not any(a.startswith(b"--type=") for a in args):
            return int(entry.name)
    return None


class Session:
    """One launched browser with its loaded page. Holds no reference to the
    :class:`~renderers.backends.browser.BrowserPage`, so it can be closed by a finaliser."""

    def __init__(self) -> None:
        self.browser: Any = None
        self.page: Any = None
        self.cdp: Any = None
        self.pid: int | None = None
        self.begin_frames = False  # the headless shell under begin-frame control (see HEADLESS_SHELL)
        self.blocked: list[str] = []
        self.killed_by_watchdog = False

    @property
    def alive(self) -> bool:
        return self.browser is not None and self.browser.is_connected()

    def kill_process(self) -> None:
        """SIGKILL the browser; safe from another thread (no Playwright call)."""
        pid = self.pid
        if pid is not None:
            self.killed_by_watchdog = True
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)

    def terminate(self) -> None:
        """SIGKILL the browser without any Playwright call (for finalisers)."""
        pid, self.pid = self.pid, None
        if pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)

    def kill(self) -> None:
        """Kill the browser process (a hung page may not answer a polite close), then close."""
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self.pid, signal.SIGKILL)
        self.close()

    def close(self) -> None:
        browser, self.browser, self.page, self.cdp, self.pid = self.browser, None, None, None, None
        if browser is not None:
            with contextlib.suppress(Exception):
                browser.close()
