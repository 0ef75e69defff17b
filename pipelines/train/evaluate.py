"""``gotforge eval --checkpoint DIR --shards GLOB``: GOT's metrics on held-out shards, and whether the
model uses its image at all.

Reads the shards once, in order (pipelines.train.data.read_once), decodes greedily with the task prompt each
sample's meta asks for (the collator's, in the prompt style the checkpoint was trained with), and
prints, per renderer, per task and per guide (box, colour or none), the metrics of pipelines.train.metrics beside the constant-string
baseline. Image use (see ARCHITECTURE.md, "Training"): the answer loss (nats per answer token) of
the samples with their own images against the same samples with the images rolled by one across the
batch; a model that learned only a text prior shows no gap. Also the number of distinct outputs.
With ``--train-shards GLOB``, the held-out set's verbatim overlap with the training shards' targets
(``train_overlap``: how many held-out samples have a target that occurs in training, 0 for an honest
set) and, when some do, the metrics of the unseen ones alone (``unseen``). The whole result is
written as JSON (``--out``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import yaml

from pipelines.train import data, metrics

IGNORE = -100


def trained_prompt_style(checkpoint: Path) -> str:
    """The prompt style a checkpoint was trained with (its saved train_config.yaml), else GOT's."""
    config = checkpoint / "train_config.yaml"
    if config.is_file():
        return (yaml.safe_load(config.read_text(encoding="utf-8")) or {}).get("data", {}).get("prompt_style", "got")
    return "got"


def load(checkpoint: str | Path, max_length: int = 4096) -> tuple[Any, Any]:
    """(Built, GotCollator) for a checkpoint folder, in eval mode."""
    from got_model.build import load_checkpoint
    from got_model.collator import GotCollator

    path = Path(checkpoint)
    built = load_checkpoint(path)
    built.model.eval()
    collator = GotCollator(built.processor, built.image_seq_length, max_length,
                           prompt_style=trained_prompt_style(path))  # type: ignore[arg-type]
    return built, collator


def _device(model: Any) -> torch.device:
    return next(model.parameters()).device


def prompt_batch(samples: Sequence[dict[str, Any]], collator: Any) -> dict[str, torch.Tensor]:
    """Left-padded prompts (everything before the answer) and their pixels, for generation."""
    from got_model.prompts import chat_prompt

    rows, pixels = [], []
    for sample in samples:
        images = sample["images"] if "images" in sample else [sample["image"]]
        values = collator.pixel_values(images, sample["meta"])  # (views, 3, S, S)
        prompt = chat_prompt(collator.query(sample["meta"]), collator.image_seq_length * values.shape[0])
        rows.append(collator.tokenizer(prompt, add_special_tokens=False)["input_ids"])
        pixels.append(values)
    length = max(len(r) for r in rows)
    input_ids = torch.full((len(rows), length), collator.pad_token_id, dtype=torch.long)  # (batch, seq)
    attention_mask = torch.zeros((len(rows), length), dtype=torch.long)
    for i, r in enumerate(rows):
        input_ids[i, length - len(r):] = torch.tensor(r)
        attention_mask[i, length - len(r):] = 1
    return {"input_ids": input_ids, "attention_mask": attention_mask, "pixel_values": torch.cat(pixels)}


@torch.no_grad()
def generate(built: Any, samples: Sequence[dict[str, Any]], collator: Any, max_new_tokens: int = 64,
             batch_size: int = 16) -> list[str]:
    """Greedy decoding of each sample's answer."""
    model, device = built.model, _device(built.model)
    out: list[str] = []
    for start in range(0, len(samples), batch_size):
        batch = {k: v.to(device) for k, v in prompt_batch(samples[start:start + batch_size], collator).items()}
        ids = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False)
        new = ids[:, batch["input_ids"].shape[1]:]
        out.extend(t.strip() for t in collator.tokenizer.batch_decode(new, skip_special_tokens=True))
    return out


@torch.no_grad()
def _answer_loss(model: Any, batch: dict[str, torch.Tensor]) -> tuple[float, int]:
    """Summed cross-entropy (nats) over the answer tokens, and their count."""
    labels = batch["labels"]
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                   pixel_values=batch["pixel_values"]).logits  # (batch, seq, vocab)
    shift_logits, shift_labels = logits[:, :-1].float(), labels[:, 1:]
    loss = torch.nn.functional.cross_entropy(
        shift_logits.reshape(-1, shift_logits.shape[-1]), shift_labels.reshape(-1),
        ignore_index=IGNORE, reduction="sum",
    )
    return float(loss), int((shift_labels != IGNORE).sum())


@torch.no_grad()
def image_use(built: Any, samples: Sequence[dict[str, Any]], collator: Any, batch_size: int = 16) -> dict[str, Any]:
    """Answer loss with the samples' own images vs. the images rolled by one within each batch."""
    model, device = built.model, _device(built.model)
    own = shuffled = 0.0
    tokens = 0
    for start in range(0, len(samples), batch_size):
        batch = collator(samples[start:start + batch_size])
        if batch is None:
            continue
        batch.pop("num_dropped")
        n = batch["input_ids"].shape[0]
        if n < 2 or batch["pixel_values"].shape[0] != n:  # one view per sample, or the roll mixes views
            continue
        batch = {k: v.to(device) for k, v in batch.items()}
        loss, count = _answer_loss(model, batch)
        rolled = dict(batch, pixel_values=batch["pixel_values"].roll(1, dims=0))
        loss_shuffled, _ = _answer_loss(model, rolled)
        own, shuffled, tokens = own + loss, shuffled + loss_shuffled, tokens + count
    if not tokens:
        return {"tokens": 0}
    return {
        "tokens": tokens,
        "loss_own_images": own / tokens,
        "loss_shuffled_images": shuffled / tokens,
        "shuffled_gap": (shuffled - own) / tokens,
    }


def guide(meta: dict[str, Any]) -> str:
    """What a sample's prompt points the model at: a box, a colour, or nothing (the whole image)."""
    return "box" if meta.get("box") is not None else "color" if meta.get("color") is not None else "none"


def _group(samples: Sequence[dict[str, Any]], preds: Sequence[str], key: str) -> dict[str, Any]:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(samples):
        groups[guide(s["meta"]) if key == "guide" else str(s["meta"].get(key, "?"))].append(i)
    return {
        name: metrics.summarise([preds[i] for i in idx], [samples[i]["target"] for i in idx],
                                [samples[i]["meta"].get("lang") for i in idx])
        for name, idx in sorted(groups.items())
    }


def training_targets(train_shards: str | Sequence[str]) -> set[str]:
    """Every target of the training shards (images never read)."""
    from pipelines.train.tokenizer import iter_shard_targets

    return set(iter_shard_targets(train_shards))


def overlap(targets: Sequence[str], seen: set[str], train_shards: str | Sequence[str]) -> dict[str, Any]:
    """How many held-out targets occur verbatim among the training targets ``seen``."""
    hits = [t in seen for t in targets]
    distinct = set(targets)
    return {
        "train_shards": [train_shards] if isinstance(train_shards, str) else list(train_shards),
        "train_targets": len(seen),
        "heldout_samples": len(targets),
        "verbatim": sum(hits),
        "fraction": sum(hits) / max(1, len(targets)),
        "heldout_distinct": len(distinct),
        "verbatim_distinct": len(distinct & seen),
        "examples": sorted(distinct & seen)[:10],
    }


def evaluate(built: Any, shards: str | Sequence[str], limit: int, collator: Any, max_new_tokens: int = 64,
             batch_size: int = 16, examples: int = 10,
             train_shards: str | Sequence[str] | None = None) -> dict[str, Any]:
    """Metrics overall, per renderer and per task; image use; a few examples; with ``train_shards``, the
    held-out targets' verbatim overlap with the training targets (and the unseen samples' metrics)."""
    patterns = [shards] if isinstance(shards, str) else list(shards)
    samples: list[dict[str, Any]] = []
    for pattern in patterns:
        samples.extend(data.read_once(pattern, limit - len(samples)))
        if len(samples) >= limit:
            break
    if not samples:
        raise data.DataError(f"no samples in {patterns}")
    preds = generate(built, samples, collator, max_new_tokens, batch_size)
    targets = [s["target"] for s in samples]
    result = {
        "shards": patterns,
        "overall": metrics.summarise(preds, targets, [s["meta"].get("lang") for s in samples]),
        "by_renderer": _group(samples, preds, "renderer"),
        "by_task": _group(samples, preds, "task"),
        "by_guide": _group(samples, preds, "guide"),  # box-, colour-guided (GOT's fine-grained OCR) or neither
        "image_use": image_use(built, samples, collator, batch_size),
        "examples": [{"key": s["key"], "target": t, "prediction": p}
                     for s, t, p in list(zip(samples, targets, preds))[:examples]],
    }
    if train_shards is not None:
        seen = training_targets(train_shards)
        result["train_overlap"] = overlap(targets, seen, train_shards)
        unseen = [i for i, t in enumerate(targets) if t not in seen]
        if len(unseen) < len(targets) and unseen:
            result["unseen"] = metrics.summarise([preds[i] for i in unseen], [targets[i] for i in unseen],
                                                 [samples[i]["meta"].get("lang") for i in unseen])
    return result


def headline(result: dict[str, Any]) -> dict[str, Any]:
    """The few numbers a learning curve tracks."""
    o, use = result["overall"], result["image_use"]
    return {
        "cer": round(o["cer"], 4), "exact": round(o["exact"], 4), "first_char": round(o["first_char"], 4),
        "constant_baseline_cer": round(o["constant_baseline_cer"], 4),
        "distinct_outputs": o["distinct_outputs"], "samples": o["samples"],
        "shuffled_gap": round(use.get("shuffled_gap", float("nan")), 4),
    }


COLUMNS = ("samples", "cer", "constant_baseline_cer", "exact", "first_char", "edit_distance", "precision",
           "recall", "f1", "bleu", "meteor", "distinct_outputs")


def format_report(result: dict[str, Any]) -> str:
    rows = [("group",) + COLUMNS]
    for title, groups in (("all", {"": result["overall"]}), ("renderer", result["by_renderer"]),
                          ("task", result["by_task"]), ("guide", result.get("by_guide", {}))):
        for name, m in groups.items():
            label = title if not name else f"{title}={name}"
            rows.append((label,) + tuple(
                str(m[c]) if isinstance(m[c], int) else f"{m[c]:.3f}" for c in COLUMNS))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    use = result["image_use"]
    if use.get("tokens"):
        lines.append(
            f"image use: answer loss {use['loss_own_images']:.3f} nats/token with own images, "
            f"{use['loss_shuffled_images']:.3f} with images shuffled across the batch "
            f"(gap {use['shuffled_gap']:.3f}; 0 = image ignored)")
    o = result["overall"]
    if "train_overlap" in result:
        ov = result["train_overlap"]
        lines.append(f"overlap with training: {ov['verbatim']} of {ov['heldout_samples']} held-out targets occur "
                     f"verbatim among the {ov['train_targets']} distinct training targets")
        if "unseen" in result:
            u = result["unseen"]
            lines.append(f"unseen targets only ({u['samples']}): CER {u['cer']:.3f}, exact match {u['exact']:.3f}")
    lines.append(f"constant-string baseline: {o['constant_baseline_string']!r} for every sample gives CER "
                 f"{o['constant_baseline_cer']:.3f}; METEOR matching: {o['meteor_variant']}")
    for ex in result["examples"]:
        lines.append(f"  {ex['target']!r} -> {ex['prediction']!r}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gotforge eval", description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, help="a checkpoint folder (Hugging Face format)")
    parser.add_argument("--shards", required=True, action="append", help="held-out tar glob (repeatable)")
    parser.add_argument("--samples", type=int, default=200, help="samples to evaluate (default 200)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--train-shards", action="append",
                        help="the training shards' tar glob (repeatable): report the held-out targets that occur "
                             "verbatim among their targets (train_overlap), and the metrics of the unseen ones")
    parser.add_argument("--out", help="write the full result as JSON here")
    args = parser.parse_args(argv)
    built, collator = load(args.checkpoint)
    result = evaluate(built, args.shards, args.samples, collator, args.max_new_tokens, args.batch_size,
                      train_shards=args.train_shards)
    result["checkpoint"] = str(args.checkpoint)
    print(format_report(result))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
        print(f"-> {args.out}", file=sys.stderr)
    return 0
