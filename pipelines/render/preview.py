"""A static, offline HTML gallery of a shard folder: each sample's image beside its target and meta.

Samples are drawn reproducibly (``seed``) and evenly across renderers; within a renderer each next
sample is the one that shows the most of what the run drew and the page does not show yet, rare
values first (:func:`facets`: languages, tasks, degradation presets, page counts, face styles), so a
language or a handwritten page drawn now and then is seen too. Images are embedded as data
URIs (downscaled for size), every text is HTML-escaped: the page loads nothing from anywhere.
When the run degrades a renderer's samples (``augment``), the page opens with one of its clean
pages, replayed from its seed, through every preset side by side.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from pipelines.shard_format import image_names, read_samples

PREVIEW_MAX_SIDE = 640
# Samples per renderer whose meta is read to choose from, so the preview of a large run stays quick.
CANDIDATES = 256


def _committed_shards(folder: Path) -> dict[str, list[tuple[Path, int]]]:
    sizes_path = folder / "sizes.json"
    if not sizes_path.exists():
        raise FileNotFoundError(f"{folder} has no sizes.json; is it a folder written by `gotforge render`?")
    sizes = json.loads(sizes_path.read_text(encoding="utf-8"))
    by_renderer: dict[str, list[tuple[Path, int]]] = defaultdict(list)
    for name, count in sorted(sizes.items()):
        by_renderer[name.split("/")[0]].append((folder / name, count))
    return dict(sorted(by_renderer.items()))


def facets(meta: dict[str, Any]) -> frozenset[tuple[str, Any]]:
    """What a sample shows of its run's variety: its language, task, degradation preset, page count,
    and the style of the face it is drawn in (a font recorded by ``fonts.FontFace.to_meta``)."""
    own = meta.get(meta.get("renderer", ""))
    font = own.get("font") if isinstance(own, dict) else None
    values = {"lang": meta.get("lang"), "task": meta.get("task"), "augment": (meta.get("augment") or {}).get("preset"),
              "pages": meta.get("pages"), "style": font.get("style") if isinstance(font, dict) else None}
    return frozenset((k, v) for k, v in values.items() if v is not None)


def _varied(pairs: list[tuple[Path, int]]) -> list[tuple[Path, int]]:
    """``pairs`` reordered: first, one after another, the candidate that shows the most facets not
    shown yet, the rarest among the candidates on a tie (then the first), until none shows anything
    new; then the rest, in order."""
    candidates = pairs[:CANDIDATES]
    by_tar: dict[Path, list[int]] = defaultdict(list)
    for tar, index in candidates:
        by_tar[tar].append(index)
    seen = {}
    for tar, indices in by_tar.items():
        records = read_samples(tar, images="skip", only=set(indices))
        seen.update(zip(((tar, i) for i in sorted(indices)), (facets(r["meta"]) for r in records)))
    counts = Counter(f for pair in candidates for f in seen[pair])
    left, shown, order = list(candidates), set(), []
    while left:
        best = max(left, key=lambda pair: (len(seen[pair] - shown), sum(1 / counts[f] for f in seen[pair] - shown)))
        if not seen[best] - shown:
            break
        order.append(best)
        left.remove(best)
        shown |= seen[best]
    return order + left + pairs[CANDIDATES:]


def pick_samples(folder: Path, n: int, seed: int) -> list[tuple[Path, int]]:
    """``n`` (tar, index) pairs, round-robin over renderers, each renderer's varied
    (:func:`_varied`), reproducible for a seed."""
    rng = np.random.default_rng(seed)
    pools = []
    for shards in _committed_shards(folder).values():
        pairs = [(tar, i) for tar, count in shards for i in range(count)]
        order = rng.permutation(len(pairs))
        pools.append(_varied([pairs[i] for i in order]))
    picked: list[tuple[Path, int]] = []
    depth = 0
    while len(picked) < n and any(depth < len(pool) for pool in pools):
        picked += [pool[depth] for pool in pools if depth < len(pool)]
        depth += 1
    return picked[:n]


def _data_uri(png: bytes, max_side: int = PREVIEW_MAX_SIDE) -> str:
    image = Image.open(io.BytesIO(png))
    image.thumbnail((max_side, max_side))
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def box_overlay(box: list[float]) -> str:
    """An outline over the image at a box-guided sample's box ([x1, y1, x2, y2], 0-1000 scale),
    placed in percent of the image so it follows the thumbnail's size."""
    x1, y1, x2, y2 = (v / 10 for v in box)
    return (f'<div class="box" style="left:{x1:g}%;top:{y1:g}%;width:{x2 - x1:g}%;height:{y2 - y1:g}%" '
            f'title="box {list(box)}"></div>')


def _card(sample: dict[str, Any]) -> str:
    meta, key = sample["meta"], sample["key"]
    names = image_names(key, len(sample["images"]))
    images = "".join(f'<img src="{_data_uri(data)}" alt="{html.escape(name)}">'
                     for name, data in zip(names, sample["images"]))
    if len(names) == 1 and meta.get("box"):
        images = f'<div class="boxed">{images}{box_overlay(meta["box"])}</div>'
    target = html.escape(sample["target"])
    title = html.escape(f"{key} · {meta.get('task')} · {meta.get('lang')} · prompt {meta.get('prompt')!r}")
    meta_text = html.escape(json.dumps(meta, ensure_ascii=False, indent=1, sort_keys=True))
    return (f'<section><h2>{title}</h2><div class="pair"><div class="img">{images}</div>'
            f'<div class="txt"><pre>{target}</pre><details><summary>meta</summary><pre>{meta_text}</pre>'
            f"</details></div></div></section>")


def read_picked(picked: list[tuple[Path, int]]) -> list[dict[str, Any]]:
    """The picked samples as records (images as their stored files), each tar read once, in ``picked`` order."""
    by_tar: dict[Path, set[int]] = defaultdict(set)
    for tar, index in picked:
        by_tar[tar].add(index)
    found = {}
    for tar, indices in by_tar.items():
        found.update(zip(((tar, i) for i in sorted(indices)), read_samples(tar, only=indices)))
    return [found[pair] for pair in picked]


STYLE = """body{font-family:sans-serif;margin:1em;background:#f4f4f4}section{background:#fff;margin:0 0 1em;
padding:.5em 1em;border-radius:6px}h2{font-size:.9em;color:#555;font-weight:normal}.pair{display:flex;gap:1em}
.img{flex:1;min-width:0}.img img{max-width:100%;border:1px solid #ddd;display:block;margin-bottom:4px}
.boxed{position:relative;width:fit-content;max-width:100%}.box{position:absolute;outline:2px solid #e0007a}
.txt{flex:1;min-width:0}pre{white-space:pre-wrap;word-break:break-word;font-size:.85em;background:#fafafa;
padding:.5em;margin:0}"""


def augment_section(folder: Path, config: dict[str, Any]) -> str:
    """The first degraded renderer's first sample, re-rendered clean from its seed and shown
    through every preset; empty when the run degrades nothing."""
    from pipelines.render.config import RunConfig
    from pipelines.render.seeding import sample_rng
    from pipelines.render.worker import build_renderer
    from renderers.augment import preview_grid

    run = RunConfig.model_validate(config)
    job = next((j for j in run.renderers if j.augment), None)
    tars = sorted((folder / job.name).glob("*.tar")) if job else []
    if not tars:
        return ""
    meta = next(read_samples(tars[0], images="skip"))["meta"]
    renderer = build_renderer(run, job.name)
    try:
        clean = renderer.render(sample_rng(meta["seed"]))
    finally:
        renderer.close()
    buffer = io.BytesIO()
    preview_grid(clean, seed=meta["seed"], height=360).save(buffer, format="PNG")
    title = html.escape(f"{job.name} sample seed {meta['seed']}: clean, then each degradation preset")
    return f'<section><h2>{title}</h2><img src="{_data_uri(buffer.getvalue(), max_side=3000)}" alt="presets" style="max-width:none"></section>'


def write_preview(folder: Path, out: Path, n: int = 48, seed: int = 0) -> int:
    """Write the gallery of ``n`` samples from ``folder`` to ``out``; returns the number shown."""
    picked = pick_samples(folder, n, seed)
    cards = [_card(sample) for sample in read_picked(picked)]
    manifest_path = folder / "manifest.json"
    summary = presets = ""
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        summary = html.escape(f"{manifest['totals']} · rejects {manifest['rejects']}")
        presets = augment_section(folder, manifest["config"])
    page = (f'<!doctype html><html><head><meta charset="utf-8"><title>gotforge preview: '
            f"{html.escape(str(folder))}</title><style>{STYLE}</style></head><body>"
            f"<h1>{html.escape(str(folder))}</h1><p>{summary}</p>{presets}{''.join(cards)}</body></html>")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return len(cards)
