"""Export a finished render run for fine-tuning tools: ms-swift, LLaMA-Factory, `datasets` (Parquet).

``gotforge export RUN --format swift|sharegpt|parquet --out DIR``, with exactly the trainer's prompts.

The shards listed in ``RUN/sizes.json`` are read with :func:`pipelines.shard_format.read_samples`,
in sorted order, samples in stored order. Every row carries the sample's ``key`` and its meta
``source`` (as text; ``null`` when the meta has none). The prompt is
:func:`got_model.prompts.query_for_meta`, the function the collator uses, preceded in the JSON-lines
formats by one ``<image>`` per image (per page of a multi-page sample). A multi-crop sample (meta
``crops``) is exported as its full image with the multi-crop prompt: GOT's processor cuts the tiles
when it trains, so the tool's processor decides them.

- ``swift``: ``DIR/samples.jsonl`` in ms-swift's standard ``messages`` format (a user turn with the
  ``<image>`` tags and the query, an assistant turn with the target) plus ``images``, for
  ``swift sft --dataset DIR/samples.jsonl``. ms-swift resolves a relative image path against its working
  directory and prefers absolute ones, so the paths are absolute.
- ``sharegpt``: ``DIR/samples.jsonl`` in LLaMA-Factory's sharegpt format, OpenAI-style
  (``role``/``content`` messages), with ``DIR/dataset_info.json`` holding its entry ``gotforge``
  (use ``dataset_dir: DIR``, ``dataset: gotforge``). Image paths are relative to DIR, where
  LLaMA-Factory looks for them by default (its ``media_dir`` is the ``dataset_dir``).
- ``parquet``: ``DIR/<renderer>/<renderer>-<shard>.parquet``, one file per tar, for
  ``datasets.load_dataset("parquet", data_files="DIR/*/*.parquet")``; columns ``key``, ``renderer``,
  ``images`` (``datasets`` Image structs, decoded to PIL), ``prompt`` (the query), ``target``,
  ``meta`` (the stored meta as JSON text, so a run mixing renderers is one table) and ``source``.

Images are the shard's PNG bytes, copied, never re-encoded. The export is written to a hidden
sibling folder and renamed to DIR when complete, so DIR is either absent or whole.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from got_model.prompts import query_for_meta
from pipelines.shard_format import image_names, read_samples

IMAGE_TAG = "<image>"  # ms-swift's and LLaMA-Factory's image placeholder alike
JSONL = "samples.jsonl"
ENTRY = "gotforge"  # the dataset name in the sharegpt export's dataset_info.json
ROW_GROUP = 100  # rows per Parquet row group: image rows are large, and `datasets` reads by row group

# LLaMA-Factory's dataset description for DIR/samples.jsonl (its data/README.md, "OpenAI Format").
DATASET_INFO = {ENTRY: {
    "file_name": JSONL,
    "formatting": "sharegpt",
    "columns": {"messages": "messages", "images": "images"},
    "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"},
}}

# The Parquet columns, all text but the images.
PARQUET_COLUMNS = ("key", "renderer", "images", "prompt", "target", "meta", "source")


class ExportError(ValueError):
    """An export that cannot start or finish; the message names what to fix."""


# --- the rows -----------------------------------------------------------------------------------


def source_text(meta: dict[str, Any]) -> str | None:
    """The meta's ``source`` as text (JSON unless a string), so every row's column has one type."""
    value = meta.get("source")
    return value if value is None or isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)


def messages_row(record: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """One JSON-lines row: a user turn (one ``<image>`` per image, then GOT's query) and the target."""
    query = IMAGE_TAG * len(paths) + query_for_meta(record["meta"])
    return {"messages": [{"role": "user", "content": query}, {"role": "assistant", "content": record["target"]}],
            "images": paths, "key": record["key"], "source": source_text(record["meta"])}


def parquet_row(record: dict[str, Any]) -> dict[str, Any]:
    meta = record["meta"]
    names = image_names(record["key"], len(record["images"]))
    return {"key": record["key"], "renderer": meta["renderer"],
            "images": [{"bytes": data, "path": name} for name, data in zip(names, record["images"])],
            "prompt": query_for_meta(meta), "target": record["target"],
            "meta": json.dumps(meta, ensure_ascii=False, sort_keys=True), "source": source_text(meta)}


# --- the run and the destination ------------------------------------------------------------------


def committed_shards(run: Path) -> list[tuple[str, int]]:
    """``(tar path relative to run, sample count)`` of every shard in ``run/sizes.json``, sorted."""
    render_hint = f"render one with `gotforge render ... --out {run}`"
    if not run.is_dir():
        raise ExportError(f"{run} is not a folder; give the --out folder of a finished `gotforge render` run")
    sizes_path = run / "sizes.json"
    if not sizes_path.is_file():
        raise ExportError(f"{run} holds no finished render run: no sizes.json (expected {run}/<renderer>/*.tar "
                          f"and {run}/sizes.json); {render_hint}, or rerun its render command to finish it")
    shards = sorted(json.loads(sizes_path.read_text(encoding="utf-8")).items())
    if not shards:
        raise ExportError(f"{run}/sizes.json lists no shards; {render_hint}")
    missing = [name for name, _ in shards if not (run / name).is_file()]
    if missing:
        raise ExportError(f"{run}/sizes.json lists shards that are not there: {missing[:3]}; rerun the run's "
                          f"render command to remake them")
    return shards


def check_destination(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"--out {out} exists and is not an empty folder; give a new folder, or remove {out} first")


def records(run: Path, shards: list[tuple[str, int]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(tar name, sample record)`` of every sample, checking each tar holds what sizes.json says."""
    for name, count in shards:
        found = 0
        for record in read_samples(run / name):
            found += 1
            yield name, record
        if found != count:
            raise ExportError(f"{run / name} holds {found} samples where {run}/sizes.json records {count}: the "
                              f"run changed after it was written; rerun its render command")


# --- the formats ----------------------------------------------------------------------------------


def _write_images(record: dict[str, Any], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / name for name in image_names(record["key"], len(record["images"]))]
    for path, data in zip(paths, record["images"]):
        path.write_bytes(data)
    return paths


def _write_jsonl(run: Path, shards: list[tuple[str, int]], work: Path, out: Path, absolute: bool) -> int:
    """Images under ``images/<renderer>/<tar stem>/`` and one row per sample in ``samples.jsonl``;
    paths absolute (inside ``out``, which ``work`` becomes) or relative to ``out``."""
    root = out if absolute else Path()
    written = 0
    with (work / JSONL).open("w", encoding="utf-8") as lines:
        for name, record in records(run, shards):
            folder = Path("images", name).with_suffix("")
            stored = _write_images(record, work / folder)
            row = messages_row(record, [str(root / folder / path.name) for path in stored])
            lines.write(json.dumps(row, ensure_ascii=False) + "\n")
            written += 1
    return written


def write_swift(run: Path, shards: list[tuple[str, int]], work: Path, out: Path) -> int:
    return _write_jsonl(run, shards, work, out, absolute=True)


def write_sharegpt(run: Path, shards: list[tuple[str, int]], work: Path, out: Path) -> int:
    written = _write_jsonl(run, shards, work, out, absolute=False)
    (work / "dataset_info.json").write_text(json.dumps(DATASET_INFO, indent=2) + "\n", encoding="utf-8")
    return written


def parquet_schema() -> pa.Schema:
    """The Parquet schema, with the ``datasets`` features it stands for in its metadata."""
    image = pa.struct([("bytes", pa.binary()), ("path", pa.string())])  # how `datasets` stores an Image
    fields = [(c, pa.list_(image) if c == "images" else pa.string()) for c in PARQUET_COLUMNS]
    # The image list in its plain-list form, which every `datasets` release reads; the newer
    # {"_type": "List"} fails before 4.0, which fine-tuning tools still pin.
    features = {c: [{"_type": "Image"}] if c == "images" else {"dtype": "string", "_type": "Value"}
                for c in PARQUET_COLUMNS}
    return pa.schema(fields, metadata={"huggingface": json.dumps({"info": {"features": features}})})


def write_parquet(run: Path, shards: list[tuple[str, int]], work: Path, out: Path) -> int:
    schema = parquet_schema()
    written = 0
    for name, count in shards:
        path = (work / name).with_suffix(".parquet")
        path.parent.mkdir(parents=True, exist_ok=True)
        with pq.ParquetWriter(path, schema) as writer:
            rows: list[dict[str, Any]] = []
            for _, record in records(run, [(name, count)]):
                rows.append(parquet_row(record))
                if len(rows) == ROW_GROUP:
                    writer.write_table(pa.Table.from_pylist(rows, schema=schema))
                    rows = []
            if rows:
                writer.write_table(pa.Table.from_pylist(rows, schema=schema))
        written += count
    return written


Writer = Callable[[Path, list[tuple[str, int]], Path, Path], int]
FORMATS: dict[str, Writer] = {"swift": write_swift, "sharegpt": write_sharegpt, "parquet": write_parquet}


def export_run(run: Path, fmt: str, out: Path) -> int:
    """Export every sample of ``run`` to ``out`` in format ``fmt``; returns the number of samples.

    Every check (format, run, destination) is made before anything is written.
    """
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    shards = committed_shards(run)
    out = out.resolve()
    check_destination(out)
    work = out.parent / f".{out.name}.export-partial"
    shutil.rmtree(work, ignore_errors=True)  # what a killed export left
    work.mkdir(parents=True)
    try:
        written = FORMATS[fmt](run, shards, work, out)
        os.replace(work, out)  # onto an absent or empty folder, so DIR appears whole
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """``gotforge export RUN --format swift|sharegpt|parquet --out DIR``."""
    parser = argparse.ArgumentParser(prog="gotforge export", description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="the --out folder of a finished `gotforge render` run")
    parser.add_argument("--format", required=True, help=f"one of {', '.join(FORMATS)}")
    parser.add_argument("--out", required=True, type=Path, help="a new or empty folder to write")
    args = parser.parse_args(argv)
    try:
        written = export_run(args.run, args.format, args.out)
    except ExportError as err:
        print(f"gotforge export: error: {err}", file=sys.stderr)
        return 2
    print(f"{args.out}: {written} samples ({args.format})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
