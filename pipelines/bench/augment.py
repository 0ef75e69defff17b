"""What each augment preset costs on text pages: ``python -m pipelines.bench.augment [--pages N]``.

Renders ``N`` text pages (text-page's default options, seeds 0..N-1, one warm-up page first),
then runs every preset of :mod:`renderers.augment` on each (preset ``i``-th page with generator
``default_rng([seed, i])``) on one core, and prints per preset: milliseconds per page (median and
mean over pages: steps run by chance, so a page's cost varies), the ratio of the median to the
median render time, the PNG encoding time and size of the result (the engine encodes every
augmented page; grain and texture compress worse than flat paper), and the whole added cost, augment
plus the extra encoding, as a share of render plus encoding of the clean page. Reported, never
asserted.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter
from typing import Any

import numpy as np

from pipelines.render.png import encode_png
from renderers import registry
from renderers.augment import PRESETS, augment
from renderers.base import Sample


def _timed(call: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = call()
    return (time.perf_counter() - start) * 1000, result


def render_pages(count: int, seed: int = 0) -> tuple[list[Sample], list[float]]:
    """``count`` text pages and the milliseconds each took to render."""
    cls = registry.load("text-page")
    renderer = cls(cls.Options(), None)
    renderer.render(np.random.default_rng([seed, 10**6]))  # warm-up: fonts and width caches
    pages, times = [], []
    for index in range(count):
        ms, sample = _timed(lambda index=index: renderer.render(np.random.default_rng([seed, index])))
        pages.append(sample)
        times.append(ms)
    return pages, times


def measure(pages: list[Sample], seed: int = 0) -> dict[str, dict[str, Any]]:
    """Per preset: augment and PNG milliseconds per page, and the output modes."""
    results = {}
    for name in PRESETS:
        augment_ms, png_ms, png_kb, modes = [], [], [], Counter()
        for index, page in enumerate(pages):
            rng = np.random.default_rng([seed, index])
            ms, out = _timed(lambda page=page, name=name, rng=rng: augment(page, name, rng))
            augment_ms.append(ms)
            ms, data = _timed(lambda out=out: encode_png(out.images[0]))
            png_ms.append(ms)
            png_kb.append(len(data) / 1000)
            modes[out.images[0].mode] += 1
        results[name] = {"augment_ms": augment_ms, "png_ms": png_ms, "png_kb": png_kb, "modes": modes}
    return results


def table(render_ms: list[float], results: dict[str, dict[str, Any]]) -> str:
    render = statistics.median(render_ms)
    clean_png = statistics.median(results["clean"]["png_ms"])
    header = ("preset", "ms/page median", "mean", "÷ render", "PNG ms", "PNG KB", "added ÷ (render+PNG)", "modes")
    rows = [header]
    for name, r in results.items():
        median, png = statistics.median(r["augment_ms"]), statistics.median(r["png_ms"])
        rows.append((
            name, f"{median:.1f}", f"{statistics.mean(r['augment_ms']):.1f}", f"{median / render:.2f}", f"{png:.1f}",
            f"{statistics.median(r['png_kb']):.0f}", f"{(median + png - clean_png) / (render + clean_png):.2f}",
            " ".join(f"{m}:{n}" for m, n in sorted(r["modes"].items())),
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [" | ".join(cell.ljust(w) if i in (0, len(header) - 1) else cell.rjust(w)
                        for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip() for row in rows]
    lines.insert(1, "-|-".join("-" * w for w in widths))
    lines.append(f"text-page render: {render:.1f} ms/page median over {len(render_ms)} pages; "
                 f"clean PNG {clean_png:.1f} ms")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=40, help="text pages to render and degrade (default 40)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    pages, render_ms = render_pages(args.pages, args.seed)
    print(table(render_ms, measure(pages, args.seed)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
