"""``gotforge learn-stages``: GOT's three training stages chained at CPU size on gotforge's data, and what
each stage buys against the same steps without it (GOT paper section 3.2; ``make learn-stages``).

    render    OUT/mix        stage 1's mixed renderer data (configs/render/tiny-stages-mix.yaml)
              OUT/lines      1-2-word lines, training split (configs/render/tiny-lines.yaml)
              OUT/heldout    held-out lines, the corpus's other split (configs/render/tiny-lines-heldout.yaml)
              OUT/fine       box- and colour-guided pages, training split (configs/render/tiny-fine.yaml)
              OUT/fine-heldout  the same from the held-out split (configs/render/tiny-fine-heldout.yaml)
    tokenizer OUT/tokenizer  character-level, on every training target
    stage 1   OUT/stage1     got-tiny's vision tower + a small OPT decoder on OUT/mix (tiny-stage1.yaml)
    stage 2   OUT/stage2     got-tiny (Qwen2 decoder) on OUT/lines, encoder from stage 1 (tiny-stage2.yaml)
              OUT/stage2-scratch  the same steps from a fresh encoder: what stage 1 bought
    stage 3   OUT/stage3     stage 2's model, encoder frozen, on OUT/fine (tiny-stage3.yaml): what
                             box- and colour-guided reading stage 3 bought, against stage 2's model

Every checkpoint is evaluated by ``gotforge eval`` (its JSON beside the checkpoint: ``OUT/<run>/eval-*.json``)
with ``--train-shards`` naming everything the chain trained on, so each figure says how many held-out
targets were seen in training. The chain's figures go to ``OUT/stages.json``: per stage its training
CPU-minutes and steps, held-out answer loss (nats per token), CER, exact match; stage 2 with and without
the stage-1 encoder; stage 3's box- and colour-guided CER before (stage 2's checkpoint) and after.

``--quick`` shrinks every size so the test suite runs the whole chain in a couple of minutes.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RENDER = ROOT / "configs" / "render"
TRAIN = ROOT / "configs" / "train"

# The chain's renders: name -> render config.
RENDERS = {
    "mix": "tiny-stages-mix.yaml",
    "lines": "tiny-lines.yaml",
    "heldout": "tiny-lines-heldout.yaml",
    "fine": "tiny-fine.yaml",
    "fine-heldout": "tiny-fine-heldout.yaml",
}
TRAINED_ON = ("mix", "lines", "fine")
QUICK_SAMPLES = {"mix": 96, "lines": 96, "heldout": 16, "fine": 48, "fine-heldout": 16}
HELDOUT_SAMPLES = 200  # evaluated per held-out set (the quick run: all of its 16)

log = logging.getLogger("gotforge.stages")


def _cli(*args: str) -> None:
    from pipelines import cli

    code = cli.main(list(args))
    if code:
        raise SystemExit(f"gotforge {' '.join(args)} failed ({code})")


def render_all(out: Path, workers: int, quick: bool) -> dict[str, str]:
    """Each render of the chain into OUT/<name>; returns the tar glob of each."""
    globs = {}
    for name, config in RENDERS.items():
        args = ["render", "--config", str(RENDER / config), "--out", str(out / name), "--workers", str(workers),
                "--quiet"]
        if quick:
            args += ["--samples", str(QUICK_SAMPLES[name]), "--shard-size", str(QUICK_SAMPLES[name] // 2)]
        _cli(*args)
        globs[name] = str(out / name / "*" / "*.tar")
    return globs


def train(config_name: str, sets: list[str], quick: bool) -> dict[str, Any]:
    from pipelines.train import config as train_config
    from pipelines.train.loop import train as run

    if quick:
        sets = [*sets, "max_steps=3", "max_minutes=null", "log_every=1", "save_every=3", "data.shuffle_buffer=8"]
    config = train_config.load(TRAIN / config_name, [*sets, "resume=false", "progress=false"])
    started = time.perf_counter()
    summary = run(config)
    summary["wall_minutes"] = round((time.perf_counter() - started) / 60, 3)
    return summary


def evaluate(checkpoint: Path, shards: str, name: str, train_shards: Sequence[str], quick: bool) -> dict[str, Any]:
    """``gotforge eval`` of one checkpoint on one held-out set, its JSON beside the checkpoint."""
    out = checkpoint.parent / f"eval-{name}.json"
    args = ["eval", "--checkpoint", str(checkpoint), "--shards", shards, "--out", str(out),
            "--samples", str(HELDOUT_SAMPLES), "--max-new-tokens", "8" if quick else "40"]
    for glob in train_shards:
        args += ["--train-shards", glob]
    _cli(*args)
    return json.loads(out.read_text(encoding="utf-8"))


def figures(result: dict[str, Any], group: str | None = None) -> dict[str, Any]:
    """Held-out answer loss, CER, exact match (of one guide group, or overall), the baseline and overlap."""
    metrics = result["overall"] if group is None else result["by_guide"].get(group)
    if metrics is None:
        return {}
    out = {"samples": metrics["samples"], "cer": round(metrics["cer"], 4), "exact": round(metrics["exact"], 4),
           "constant_baseline_cer": round(metrics["constant_baseline_cer"], 4),
           "distinct_outputs": metrics["distinct_outputs"]}
    if group is None:
        use = result["image_use"]
        out["heldout_loss"] = round(use.get("loss_own_images", float("nan")), 4)
        out["shuffled_gap"] = round(use.get("shuffled_gap", float("nan")), 4)
        out["train_overlap"] = result.get("train_overlap", {}).get("verbatim")
    return out


def run(out: Path, workers: int, quick: bool) -> dict[str, Any]:
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    globs = render_all(out, workers, quick)
    trained_on = [globs[n] for n in TRAINED_ON]
    tokenizer = out / "tokenizer"
    _cli("tokenizer", "--char-level", "--out", str(tokenizer), *[a for g in trained_on for a in ("--shards", g)])
    paths = {f"{n}_glob": g for n, g in globs.items()}
    common = [f"tokenizer={tokenizer}"]
    runs: dict[str, dict[str, Any]] = {}

    def sources(name: str) -> str:
        return f"data.sources=[{{shards: '{globs[name]}'}}]"

    mix_sources = "data.sources=[" + ", ".join(
        f"{{shards: '{out / 'mix' / r / '*.tar'}', weight: {w}}}" for r, w in mix_weights().items()) + "]"
    runs["stage1"] = train("tiny-stage1.yaml", [*common, f"out={out / 'stage1'}", mix_sources], quick)
    stage1 = out / "stage1" / "final"
    runs["stage2"] = train("tiny-stage2.yaml", [*common, f"out={out / 'stage2'}", sources("lines"),
                                                f"init_encoder_from={stage1}"], quick)
    runs["stage2-scratch"] = train("tiny-stage2.yaml", [*common, f"out={out / 'stage2-scratch'}", sources("lines"),
                                                        "init_encoder_from=null"], quick)
    runs["stage3"] = train("tiny-stage3.yaml", [f"model={out / 'stage2' / 'final'}", f"out={out / 'stage3'}",
                                                sources("fine")], quick)

    evals: dict[str, dict[str, Any]] = {}
    for name in ("stage1", "stage2", "stage2-scratch", "stage3"):
        evals[f"{name}/lines"] = evaluate(out / name / "final", globs["heldout"], "lines", trained_on, quick)
    for name in ("stage2", "stage3"):
        evals[f"{name}/fine"] = evaluate(out / name / "final", globs["fine-heldout"], "fine", trained_on, quick)

    def stage(name: str) -> dict[str, Any]:
        s = runs[name]
        return {"steps": s["step"], "cpu_minutes": s["minutes"], "wall_minutes": s["wall_minutes"],
                "final_train_loss": round(s["loss"], 4)}

    with_1, without_1 = figures(evals["stage2/lines"]), figures(evals["stage2-scratch/lines"])
    fine_before = {g: figures(evals["stage2/fine"], g) for g in ("box", "color")}
    fine_after = {g: figures(evals["stage3/fine"], g) for g in ("box", "color")}
    result = {
        "stage1": {**stage("stage1"), "model": "got-tiny-stage1 (OPT decoder)", "data": "mix",
                   "heldout_lines": figures(evals["stage1/lines"])},
        "stage2": {
            **stage("stage2"), "model": "got-tiny (Qwen2 decoder)", "data": "lines",
            "with_stage1_encoder": with_1,
            "from_scratch": {**stage("stage2-scratch"), **without_1},
            "stage1_buys": {"heldout_loss": round(without_1["heldout_loss"] - with_1["heldout_loss"], 4),
                            "cer": round(without_1["cer"] - with_1["cer"], 4),
                            "exact": round(with_1["exact"] - without_1["exact"], 4)},
        },
        "stage3": {
            **stage("stage3"), "data": "fine (box- and colour-guided pages), encoder frozen",
            "before": fine_before, "after": fine_after,
            "stage3_buys": {g: {"cer": round(fine_before[g]["cer"] - fine_after[g]["cer"], 4)}
                            for g in ("box", "color") if fine_before[g] and fine_after[g]},
            "heldout_lines_after": figures(evals["stage3/lines"]),
        },
        "shards": paths,
        "evals": {k: str(out / k.split("/")[0] / f"eval-{k.split('/')[1]}.json") for k in evals},
        "wall_minutes": round((time.perf_counter() - started) / 60, 2),
        "quick": quick,
    }
    (out / "stages.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    return result


def mix_weights() -> dict[str, float]:
    """Stage 1's mixing weight per renderer: each renderer's share of the mix render config."""
    import yaml

    config = yaml.safe_load((RENDER / RENDERS["mix"]).read_text(encoding="utf-8"))
    return {name: float((job or {}).get("weight", 1.0)) for name, job in config["renderers"].items()}


def format_result(r: dict[str, Any]) -> str:
    s1, s2, s3 = r["stage1"], r["stage2"], r["stage3"]
    w, s = s2["with_stage1_encoder"], s2["from_scratch"]
    lines = [
        (f"stage 1: {s1['steps']} steps, {s1['cpu_minutes']:.1f} CPU-min; held-out lines CER {s1['heldout_lines']['cer']:.3f}, "
         f"exact {s1['heldout_lines']['exact']:.3f}"),
        (f"stage 2: {s2['steps']} steps, {s2['cpu_minutes']:.1f} CPU-min each; held-out lines with the stage-1 encoder: "
         f"loss {w['heldout_loss']:.3f}, CER {w['cer']:.3f}, exact {w['exact']:.3f}; from scratch: "
         f"loss {s['heldout_loss']:.3f}, CER {s['cer']:.3f}, exact {s['exact']:.3f}"),
    ]
    for g in ("box", "color"):
        before, after = s3["before"].get(g), s3["after"].get(g)
        if before and after:
            lines.append(f"stage 3 ({s3['steps']} steps, {s3['cpu_minutes']:.1f} CPU-min): {g}-guided CER "
                         f"{before['cer']:.3f} -> {after['cer']:.3f} (constant baseline {after['constant_baseline_cer']:.3f})")
    lines.append(f"whole chain: {r['wall_minutes']:.1f} wall-minutes")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gotforge learn-stages", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/stages", help="output folder (default runs/stages)")
    parser.add_argument("--workers", type=int, default=2, help="render workers")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a few steps: the chain's plumbing only")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    result = run(Path(args.out), args.workers, args.quick)
    print(format_result(result))
    print(f"-> {Path(args.out) / 'stages.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
