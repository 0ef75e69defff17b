"""The ``gotforge`` command: one thin ``main(argv)`` that tests call; the work lives elsewhere.

Subcommands import what they need when they run, so ``gotforge renderers`` never pays for torch.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def _renderers(args: argparse.Namespace) -> int:
    from renderers import registry

    rows = [("name", "markup", "task", "version", "package")]
    for name, entry in registry.entries().items():
        try:
            cls = entry.load()
            rows.append((name, cls.markup, cls.task, str(cls.version), entry.package))
        except Exception as err:  # noqa: BLE001 - a broken plugin is shown, not fatal to the listing
            rows.append((name, "-", "-", "-", f"{entry.package} (cannot load: {err})"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for number, row in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
        if number == 0:
            print("  ".join("-" * width for width in widths))
    return 0


# Defaults of a run without --config; with it, the file's own values stand unless given here.
RENDER_DEFAULTS = {"samples": None, "shard_size": 1000, "seed": 0}  # samples: see render_config.from_args


def _render(args: argparse.Namespace) -> int:
    from pipelines.config import ConfigError
    from pipelines.render import config as render_config
    from pipelines.render.run import render_run

    given = {k: v for k in RENDER_DEFAULTS if (v := getattr(args, k)) is not None}
    if args.config:
        if args.renderer:
            raise ConfigError("give either --config or --renderer, not both")
        if args.corpus:
            raise ConfigError(f"--corpus is per renderer in a config file: set renderers.<name>.corpus in {args.config}")
        config, settings = render_config.load_mix(args.config, args.set, given)
    else:
        if not args.renderer:
            raise ConfigError("name at least one --renderer (see `gotforge renderers`) or give --config")
        run = {**RENDER_DEFAULTS, **given}
        config = render_config.from_args(args.renderer, run["samples"], run["shard_size"], run["seed"], args.corpus,
                                         args.set)
        settings = {"out": None, "workers": None, "distributor": "local", "ray_address": None}
    out = args.out or settings["out"]
    if not out:
        raise ConfigError("no output folder: pass --out DIR (or set out: in the config file)")
    distributor = args.distributor or settings["distributor"]
    address = args.ray_address or settings["ray_address"]
    if distributor != "ray":
        if address:
            raise ConfigError(f"--ray-address {address}: the cluster is for --distributor ray")
        manifest = render_run(config, Path(out), workers=args.workers or settings["workers"] or 1,
                              show_progress=not args.quiet, distributor=distributor)
    else:
        from pipelines.render.distribute import ray_module

        ray_distributor = ray_module()
        with ray_distributor.connected(address):  # by default, an actor per CPU of the cluster
            workers = args.workers or settings["workers"] or ray_distributor.cluster_cpus()
            manifest = render_run(config, Path(out), workers=workers, show_progress=not args.quiet,
                                  distributor="ray")
    totals = manifest["totals"]
    print(f"{out}: {totals['samples']} samples in {totals['shards']} shards, {totals['rejects']} rejected "
          f"{manifest['rejects'] or ''}".rstrip())
    return 0


def _preview(args: argparse.Namespace) -> int:
    from pipelines.render.preview import write_preview

    written = write_preview(Path(args.dir), Path(args.out), n=args.n, seed=args.seed)
    print(f"{args.out}: {written} samples")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from pipelines.bench.renderers import main as bench_main

    return bench_main(args)


# Subcommands whose module parses its own arguments (each a ``main(argv)``), imported only when used.
DELEGATED = {
    "tokenizer": ("pipelines.train.tokenizer", "train GOT's byte-level BPE tokenizer on shard targets"),
    "model-info": ("got_model.info", "parameter counts per part and the image-token arithmetic"),
    "train": ("pipelines.train.loop", "train GOT from a config (configs/train/*.yaml); torchrun for several processes"),
    "eval": ("pipelines.train.evaluate", "GOT's metrics and image use of a checkpoint on held-out shards"),
    "ocr": ("pipelines.train.ocr", "read images with a checkpoint"),
    "export": ("pipelines.export", "a render run as ms-swift, LLaMA-Factory (sharegpt) or Parquet files"),
    "learn-stages": ("pipelines.train.stages", "GOT's three training stages chained at CPU size, and what each buys"),
    "gpu-check": ("pipelines.bench.gpu_check", "got-base on one GPU, bf16: speed, step split, memory, loss"),
}


def _delegate(args: argparse.Namespace) -> int:
    import importlib

    return importlib.import_module(DELEGATED[args.command][0]).main(args.rest)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gotforge", description="OCR-2.0 data engine and GOT trainer")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("renderers", help="list registered renderers")
    p.set_defaults(func=_renderers)

    p = sub.add_parser("render", help="render samples into WebDataset shards")
    p.add_argument("--renderer", action="append", default=[], metavar="NAME", help="renderer to run (repeatable)")
    p.add_argument("--config", help="a render config YAML (weighted mix), e.g. configs/render/demo.yaml")
    p.add_argument("--out", help="output folder (shards, sizes.json, manifest.json)")
    p.add_argument("--samples", type=int, default=None,
                   help="samples per renderer (default 100; a covered --corpus: every item x passes); "
                        "with --config, replaces the file's total")
    p.add_argument("--shard-size", type=int, default=None,
                   help="samples per shard (default 1000); with --config, replaces the file's")
    p.add_argument("--seed", type=int, default=None, help="run seed (default 0); with --config, replaces the file's")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes (default 1); with --distributor ray, actors (default: the cluster's CPUs)")
    p.add_argument("--distributor", choices=["local", "ray"], default=None,
                   help="where shards are made: local processes (default) or a Ray cluster (pip install 'gotforge[ray]')")
    p.add_argument("--ray-address", metavar="ADDR",
                   help="with --distributor ray: the cluster to join, e.g. auto or HOST:6379 (default: RAY_ADDRESS, "
                        "else a new one on this machine)")
    p.add_argument("--corpus", help="user corpus: a file of one item per line, a .jsonl file or a folder")
    p.add_argument("--set", action="append", default=[], metavar="R.KEY=VALUE",
                   help="renderer option, the value read as YAML (e.g. text-page.slice=true; repeatable)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_render)

    p = sub.add_parser("preview", help="write a static HTML gallery of a shard folder")
    p.add_argument("dir", help="a folder written by `gotforge render`")
    p.add_argument("--out", required=True, help="the HTML file to write")
    p.add_argument("--n", type=int, default=48, help="samples to show (default 48)")
    p.add_argument("--seed", type=int, default=0, help="which samples to show (default 0)")
    p.set_defaults(func=_preview)

    p = sub.add_parser("bench", help="measure renderer and engine speed (prints tables)")
    p.add_argument("--renderer", action="append", default=[], metavar="NAME", help="renderer(s) to measure (default all)")
    p.add_argument("--samples", type=int, default=0, help="samples per measurement (default per renderer)")
    p.add_argument("--out", default="runs/bench", help="scratch folder (default runs/bench)")
    p.add_argument("--skip-training", action="store_true", help="leave out the training-loop measurement")
    p.add_argument("--memory", action="store_true",
                   help="also measure browser workers' memory after 200 and 2,000 samples (several minutes)")
    p.set_defaults(func=_bench)

    for name, (_, text) in DELEGATED.items():
        p = sub.add_parser(name, help=text, add_help=False)  # `gotforge NAME --help` is the module's
        p.set_defaults(func=_delegate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from corpora.base import CorpusError
    from pipelines.config import ConfigError
    from pipelines.render.run import RunError
    from renderers.registry import RegistryError

    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if args.command in DELEGATED:
        args.rest = rest
    elif rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        return args.func(args)
    except (ConfigError, CorpusError, RegistryError, RunError) as err:
        print(f"gotforge {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
