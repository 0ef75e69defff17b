"""A test-only gotforge renderer: each corpus line is drawn as text, unless it names a fault.

``kill``: the process kills itself with SIGKILL (the OOM killer, a crashing back-end library).
``kill-once <path>``: the same, only while ``<path>`` does not exist (it is created first), so the
shard is made on the next try. ``hang``: sleeps in Python (a hung call the watchdog's signal
stops). ``hang-native``: sleeps with the watchdog's signal blocked, as native code that never
returns to the interpreter. The option ``close_log`` names a file that gets a line at each close().
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from corpora.indexed import open_corpus
from renderers.base import RendererDefaults, RendererOptions, Sample


def _line(raw: str) -> str:
    return raw.strip()


class FaultsRenderer(RendererDefaults):
    name = "faults"
    markup = "text"
    task = "ocr"
    version = "1"

    class Options(RendererOptions):
        close_log: str | None = None  # a file that gets a line per close(), to count restarts

    def __init__(self, options: Options, corpus_path: Path | None = None) -> None:
        self.options = options
        self.font = ImageFont.load_default(size=20)
        self.corpus = open_corpus(corpus_path, _line) if corpus_path is not None else None

    def render(self, rng: np.random.Generator) -> Sample:
        return self.render_item(self.corpus.sample(rng) if self.corpus is not None else "12345", rng)[0]

    def render_item(self, item: str, rng: np.random.Generator) -> list[Sample]:
        fault, _, argument = item.partition(" ")
        if fault == "kill" or (fault == "kill-once" and not Path(argument).exists()):
            if fault == "kill-once":
                Path(argument).touch()
            os.kill(os.getpid(), signal.SIGKILL)
        if fault == "hang":
            time.sleep(3600)
        if fault == "hang-native":
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
            time.sleep(3600)
        ink = int(rng.integers(0, 80))
        image = Image.new("RGB", (24 + 12 * len(item), 40), "white")
        ImageDraw.Draw(image).text((12, 8), item, fill=(ink, ink, ink), font=self.font)
        return [Sample([image], item, {"lang": "en", "ink": ink})]

    def close(self) -> None:
        if self.options.close_log:
            with open(self.options.close_log, "a") as log:
                log.write("closed\n")
