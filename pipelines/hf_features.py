"""``datasets`` features for a gotforge run, so a mixed run loads as one table with nothing lost.

``datasets.load_dataset("webdataset", data_files=…)`` infers its columns from the first five
samples of the first tar and silently drops any meta key they lack: in a run that mixes
renderers, every renderer but the first would lose its own choices (stored under its name, see
``pipelines.render.stored_meta.shard_meta``). :func:`features_for_run` reads every stored meta of
the run once and gives the union, to pass as ``features=``::

    files = sorted(glob.glob(f"{run}/*/*.tar"))
    features = features_for_run(run)
    ds = datasets.load_dataset("webdataset", data_files={"train": files}, features=features, split="train")

Every meta key has one type within a renderer (the contract test checks the stored meta of each
renderer, and a type that changed from sample to sample fails here, naming the renderer).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipelines.shard_format import read_samples


def features_for_run(run: str | Path) -> Any:
    """The ``datasets.Features`` of every sample under ``run`` (``png`` or ``p0.png``… images,
    ``txt`` target, ``json`` meta)."""
    import datasets
    import pyarrow as pa

    run = Path(run)
    tables, max_pages = [], 1
    for folder in sorted(p for p in run.iterdir() if p.is_dir()):
        metas = [record["meta"] for tar in sorted(folder.glob("*.tar")) for record in read_samples(tar, images="skip")]
        if not metas:
            continue
        max_pages = max([max_pages] + [int(m.get("pages", 1)) for m in metas])
        try:
            tables.append(pa.concat_tables([pa.Table.from_pylist([m]) for m in metas], promote_options="default"))
        except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
            raise TypeError(f"renderer folder {folder}: a meta key changes type between samples ({err})") from err
    if not tables:
        raise FileNotFoundError(f"{run} holds no shards (expected {run}/<renderer>/*.tar)")
    meta = datasets.Features.from_arrow_schema(pa.concat_tables(tables, promote_options="default").schema)
    features = {"json": meta, "txt": datasets.Value("string"), "png": datasets.Image()}
    if max_pages > 1:
        features.update({f"p{page}.png": datasets.Image() for page in range(max_pages)})
    return datasets.Features(features)
