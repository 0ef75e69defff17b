"""The browser back-end (renderers/backends/browser.py) with real Chromium: lazy launch, blocked network,
hung-page and killed-browser recovery with no sample lost, recycling, and closing (also on Ctrl-C)."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipelines.render.plan import ShardJob
from pipelines.render.worker import make_shard
from renderers import registry
from renderers.backends.browser import JS_DIR, BrowserPage
from renderers.backends.chromium import HEADLESS_SHELL
from renderers.base import Reject
from renderers.formula import FormulaRenderer

# A page of the back-end's contract with one well-behaved function and three misbehaving ones.
TEST_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><script>
window.draw = async (p) => {
  const stage = document.getElementById("stage");
  stage.textContent = p.text;
  const r = stage.getBoundingClientRect();
  return {clip: {x: 0, y: 0, width: Math.ceil(r.width), height: Math.ceil(r.height)}, text: stage.textContent};
};
window.hang = (p) => { while (true) {} };
window.offset = async (p) => {
  const stage = document.getElementById("stage");
  stage.textContent = p.text;
  return {clip: {x: 3, y: 2, width: 30, height: 20}};
};
window.view = () => ({width: innerWidth, height: innerHeight, screen: [screen.width, screen.height],
  ratio: devicePixelRatio, landscape: matchMedia("(orientation: landscape)").matches});
window.image = async (p) => {
  const img = document.createElement("img");
  img.src = p.url;
  document.getElementById("stage").replaceChildren(img);
  await img.decode().catch(() => null);
  return {clip: {x: 0, y: 0, width: 20, height: 20}};
};
window.gotforgeReady = true;
</script></head><body style="margin:0;background:#fff"><div id="stage"
 style="display:inline-block;font:24px 'DejaVu Sans';padding:4px">x</div></body></html>"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A killed child stays a zombie until the driver reaps it: that is not a running browser.
    with open(f"/proc/{pid}/stat") as handle:
        return handle.read().split(")")[-1].split()[0] != "Z"


def wait_gone(pid: int, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if not alive(pid):
                return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module")
def test_page(tmp_path_factory) -> Path:
    # Beside the real pages, so the relative-path conventions match; written to a temp dir it would
    # work the same (the back-end only needs a file URL).
    path = tmp_path_factory.mktemp("pages") / "contract.html"
    path.write_text(TEST_PAGE, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def page(test_page):
    browser_page = BrowserPage(test_page, viewport=(400, 200), timeout_s=3.0)
    yield browser_page
    browser_page.close()


def test_nothing_launches_before_the_first_sample(test_page):
    fresh = BrowserPage(test_page)
    renderer = FormulaRenderer()
    assert fresh.pid is None and fresh.launches == 0
    assert renderer.page.pid is None and renderer.page.launches == 0


def test_draws_and_returns_the_page_result(page):
    captured = page.render("draw", {"text": "hello"})
    image = Image.open(io.BytesIO(captured.png))
    assert captured.result["text"] == "hello"
    assert image.size == (captured.result["clip"]["width"], captured.result["clip"]["height"])
    assert np.asarray(image.convert("L")).min() < 100  # ink was drawn


def test_non_local_request_is_blocked_and_the_sample_rejected(page, tmp_path):
    with pytest.raises(Reject) as info:
        page.render("image", {"url": "http://example.com/pixel.png"})
    assert info.value.reason == "network-request"
    assert "http://example.com/pixel.png" in info.value.detail
    # A file beside the page is served, and the page goes on working.
    beside = page.html.parent / "pixel.png"
    Image.new("RGB", (4, 4), "red").save(beside)
    assert page.render("image", {"url": beside.as_uri()}).png is not None
    with pytest.raises(Reject, match="network-request"):
        page.render("image", {"url": "https://127.0.0.1:9/x.png"})


def test_files_outside_the_readable_folders_are_blocked_and_the_sample_rejected(test_page, tmp_path):
    corpus, elsewhere = tmp_path / "corpus", tmp_path / "elsewhere"
    for folder in (corpus, elsewhere):
        folder.mkdir()
        Image.new("RGB", (4, 4), "red").save(folder / "pixel.png")
    (corpus / "link.png").symlink_to(elsewhere / "pixel.png")
    reader = BrowserPage(test_page, viewport=(400, 200), timeout_s=3.0, readable=(corpus,))
    try:
        assert reader.render("image", {"url": (corpus / "pixel.png").as_uri()}).png is not None
        for url in ("file:///etc/passwd", (elsewhere / "pixel.png").as_uri(), (corpus / "link.png").as_uri(),
                    (corpus / ".." / "elsewhere" / "pixel.png").as_uri()):
            with pytest.raises(Reject) as info:
                reader.render("image", {"url": url})
            assert info.value.reason == "local-file-request" and "file://" in info.value.detail
        assert reader.render("image", {"url": (corpus / "pixel.png").as_uri()}).png is not None
    finally:
        reader.close()


def test_hung_page_is_timed_out_and_the_browser_restarted(test_page):
    hung = BrowserPage(test_page, viewport=(400, 200), timeout_s=1.0)
    try:
        reference = hung.render("draw", {"text": "before"}).png
        first_pid = hung.pid
        started = time.monotonic()
        with pytest.raises(Reject) as info:
            hung.render("hang", {})
        assert info.value.reason == "browser-timeout"
        assert time.monotonic() - started < 15
        assert hung.restarts == 1 and hung.launches == 2  # killed, relaunched, retried once, killed
        assert wait_gone(first_pid)
        # The next sample gets a fresh browser and the same bytes as before the hang.
        assert hung.render("draw", {"text": "before"}).png == reference
        assert hung.launches == 3
    finally:
        hung.close()


def shard_bytes(renderer, out: Path, kill_at: int | None = None) -> bytes:
    job = ShardJob("formula", 0, 6)

    written = [0]

    def progress(done: int, rejects: int) -> None:
        written[0] += done
        if written[0] == kill_at:  # between two samples of the shard
            os.kill(renderer.page.pid, signal.SIGKILL)

    stats = make_shard(renderer, 7, 1, job, out, progress)
    assert stats["count"] == 6
    return job.tar_path(out).read_bytes()


def test_killed_browser_is_replaced_mid_run_with_no_sample_lost(tmp_path):
    renderer = registry.load("formula")()  # completed with the default hooks, as the engine builds it
    try:
        killed = shard_bytes(renderer, tmp_path / "killed", kill_at=3)
        assert renderer.page.restarts == 1 and renderer.page.launches == 2
        # The same shard again from the replacement browser, undisturbed (a used instance renders
        # like a fresh one: the contract tests check that).
        reference = shard_bytes(renderer, tmp_path / "reference")
        assert renderer.page.launches == 2
    finally:
        renderer.close()
    with tarfile.open(fileobj=io.BytesIO(killed)) as tar:
        names = tar.getnames()
    assert len([n for n in names if n.endswith(".png")]) == 6
    assert len(set(names)) == len(names)
    assert killed == reference  # same samples, same bytes, nothing lost or duplicated


def test_browser_is_recycled_every_k_samples_without_changing_output(test_page, page):
    recycled = BrowserPage(test_page, viewport=(400, 200), recycle_every=2)
    try:
        texts = [f"sample {i}" for i in range(3)]
        launches = page.launches
        a = [recycled.render("draw", {"text": t}).png for t in texts]
        b = [page.render("draw", {"text": t}).png for t in texts]
        assert recycled.launches == 2 and page.launches == launches
        assert recycled.restarts == 0
        assert a == b
    finally:
        recycled.close()


def test_close_is_idempotent_and_ends_the_browser(test_page):
    closing = BrowserPage(test_page, viewport=(400, 200))
    closing.render("draw", {"text": "x"})
    pid = closing.pid
    assert pid is not None and alive(pid)
    closing.close()
    closing.close()
    assert closing.pid is None
    assert wait_gone(pid)


CTRL_C_SCRIPT = """
import os, signal, sys
# Python leaves SIGINT ignored when it starts ignored, as in a background job of a script
# (`make test &`); an interactive run, the case tested, has Python's own handler.
signal.signal(signal.SIGINT, signal.default_int_handler)
import numpy as np
from renderers.formula import FormulaRenderer
renderer = FormulaRenderer()
renderer.render(np.random.default_rng(0))
print(renderer.page.pid, flush=True)
os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C in the middle of a run: KeyboardInterrupt, no close()
renderer.render(np.random.default_rng(1))
"""


def test_ctrl_c_closes_the_browser():
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, "-c", CTRL_C_SCRIPT], cwd=root, capture_output=True, text=True,
                            check=False, timeout=120)
    assert "KeyboardInterrupt" in result.stderr, result.stderr[-2000:]
    pid = int(result.stdout.split()[0])
    assert wait_gone(pid), f"browser {pid} outlived its process after Ctrl-C"


def test_pages_load_only_local_files():
    for html in JS_DIR.glob("*.html"):
        text = html.read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text, html


def test_purging_memory_changes_no_pixel(page):
    before = page.render("draw", {"text": "purge"}).png
    page.purge_memory()
    assert page.render("draw", {"text": "purge"}).png == before


def test_make_setup_installed_the_headless_shell():
    """`make setup` installs Debian's chromium-headless-shell (the Makefile's APT_PACKAGES); the
    browser renderers fall back to chromium without it, so its absence would only show as speed."""
    assert HEADLESS_SHELL.exists(), f"{HEADLESS_SHELL} is missing: run `make setup`"


def test_headless_shell_draws_the_bytes_chromium_draws(test_page):
    """The binary is picked by what is installed, so it must not change a sample: same PNG bytes
    from the headless shell's frame screenshot as from Chromium's captureScreenshot, also for a
    clip away from the page's corner. (Not for a glyph that no named font has: the test page names
    only DejaVu Sans, and a Chinese character there would come from a fallback font, which the two
    draw differently; see renderers/backends/browser.py.)"""
    from renderers.mathpix_doc import MathpixDocRenderer

    pages = {shell: BrowserPage(test_page, viewport=(400, 200), headless_shell=shell) for shell in (False, True)}
    documents = {shell: MathpixDocRenderer() for shell in (False, True)}
    try:
        for shell, renderer in documents.items():
            renderer.page.headless_shell = shell
        for function, text in (("draw", "shell"), ("offset", "corner"), ("draw", "Ångström ½ ≤ ∑")):
            shots = [pages[shell].render(function, {"text": text}).png for shell in (False, True)]
            assert shots[0] == shots[1], function
        for seed in range(3):
            shots = [documents[shell].render(np.random.default_rng(seed)).png[0] for shell in (False, True)]
            assert shots[0] == shots[1], seed
        assert documents[True].page._session.begin_frames and not documents[False].page._session.begin_frames
    finally:
        for closable in (*pages.values(), *documents.values()):
            closable.close()


def test_frame_screenshot_leaves_what_the_page_sees_unchanged(test_page):
    shell = BrowserPage(test_page, viewport=(400, 200), headless_shell=True)
    try:
        before = shell.render("view", {}, capture=False).result
        image = Image.open(io.BytesIO(shell.render("offset", {"text": "x"}).png))
        assert image.size == (30, 20)
        after = shell.render("view", {}, capture=False).result
        assert before == after == {"width": 400, "height": 200, "screen": [400, 200], "ratio": 1, "landscape": True}
    finally:
        shell.close()
