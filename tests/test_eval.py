"""``gotforge eval`` and ``gotforge ocr`` on a real (untrained) got-tiny checkpoint and real shards."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from got_model.build import create, save_checkpoint
from got_model.tokenizer import train_tokenizer
from pipelines import cli
from pipelines.train import data, evaluate, ocr
from pipelines.train.tokenizer import iter_shard_targets
from tests.shard_helpers import render_lines


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("eval")
    tars = render_lines(root / "shards", samples=24, shard_size=12)
    tokenizer = train_tokenizer(iter_shard_targets(str(tars / "*.tar")), vocab_size=300)
    save_checkpoint(create("got-tiny", tokenizer=tokenizer, seed=1), root / "ckpt")
    return root / "ckpt", tars


def test_eval_command_prints_and_writes_metrics(setup: tuple[Path, Path], tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    ckpt, tars = setup
    out = tmp_path / "eval.json"
    assert cli.main(["eval", "--checkpoint", str(ckpt), "--shards", str(tars / "*.tar"), "--samples", "16",
                     "--max-new-tokens", "4", "--batch-size", "8", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "renderer=text-page" in printed and "task=ocr" in printed and "image use" in printed
    result = json.loads(out.read_text())
    overall = result["overall"]
    assert overall["samples"] == 16 and 1 <= overall["distinct_outputs"] <= 16
    for key in ("edit_distance", "precision", "recall", "f1", "bleu", "meteor", "cer", "exact", "first_char",
                "constant_baseline_cer"):
        assert 0.0 <= overall[key] <= (10.0 if key == "cer" else 1.0), key
    assert result["by_renderer"]["text-page"]["samples"] == 16 and result["by_task"]["ocr"]["samples"] == 16
    assert result["image_use"]["tokens"] > 0 and len(result["examples"]) == 10
    targets = [s["target"] for s in data.read_once(str(tars / "*.tar"), 16)]
    assert [e["target"] for e in result["examples"]] == targets[:10]


def test_metrics_are_those_of_the_predictions(setup: tuple[Path, Path]) -> None:
    ckpt, tars = setup
    built, collator = evaluate.load(ckpt)
    samples = list(data.read_once(str(tars / "*.tar"), 6))
    preds = evaluate.generate(built, samples, collator, max_new_tokens=3, batch_size=4)
    assert preds == evaluate.generate(built, samples, collator, max_new_tokens=3, batch_size=1)  # left padding
    result = evaluate.evaluate(built, str(tars / "*.tar"), 6, collator, max_new_tokens=3, batch_size=4)
    from pipelines.train.metrics import summarise

    expected = summarise(preds, [s["target"] for s in samples])
    assert result["overall"]["cer"] == pytest.approx(expected["cer"])
    assert [e["prediction"] for e in result["examples"]] == preds


def test_image_use_gap_is_zero_when_the_image_cannot_matter(setup: tuple[Path, Path]) -> None:
    ckpt, tars = setup
    built, collator = evaluate.load(ckpt)
    samples = list(data.read_once(str(tars / "*.tar"), 8))
    seeing = evaluate.image_use(built, samples, collator, batch_size=4)
    assert seeing["tokens"] > 0 and abs(seeing["shuffled_gap"]) > 1e-6  # a random model's output moves
    with torch.no_grad():  # image features become a constant: shuffling images changes nothing
        projector = built.model.model.multi_modal_projector.multimodal_projector
        projector.weight.zero_()
    blind = evaluate.image_use(built, samples, collator, batch_size=4)
    assert blind["shuffled_gap"] == pytest.approx(0.0, abs=1e-6)
    assert blind["loss_own_images"] == pytest.approx(blind["loss_shuffled_images"], abs=1e-6)


def test_ocr_prompts_follow_the_flags() -> None:
    image = Image.new("RGB", (200, 100), "white")
    assert ocr.box_to_1000([20, 10, 100, 50], (200, 100)) == [100, 100, 500, 500]
    with pytest.raises(ValueError, match="inside"):
        ocr.box_to_1000([20, 10, 300, 50], (200, 100))
    (sample,) = ocr.make_samples([image], fmt=True, box=[0, 0, 200, 100])
    assert sample["meta"] == {"task": "format", "box": [0, 0, 1000, 1000]}
    (sample,) = ocr.make_samples([image], color="red")
    assert sample["meta"] == {"task": "ocr", "color": "red"}
    pages = ocr.make_samples([image, image], multi_page=True)
    assert len(pages) == 1 and pages[0]["meta"]["pages"] == 2 and len(pages[0]["images"]) == 2
    assert len(ocr.make_samples([image, image])) == 2


def test_ocr_command_reads_images(setup: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ckpt, tars = setup
    sample = next(data.read_once(str(tars / "*.tar")))
    path = tmp_path / "line.png"
    sample["images"][0].save(path)
    built, collator = evaluate.load(ckpt)
    expected = evaluate.generate(built, [{"images": sample["images"], "target": "", "meta": {"task": "ocr"}}],
                                 collator, max_new_tokens=5)
    assert cli.main(["ocr", "--checkpoint", str(ckpt), str(path), "--max-new-tokens", "5"]) == 0
    assert capsys.readouterr().out == expected[0] + "\n"
    image = sample["images"][0]
    assert cli.main(["ocr", "--checkpoint", str(ckpt), str(path), str(path), "--multi-page",
                     "--max-new-tokens", "3"]) == 0
    (pages,) = ocr.read(ckpt, [image, image], max_new_tokens=3, multi_page=True)
    assert capsys.readouterr().out == pages + "\n"
    assert cli.main(["ocr", "--checkpoint", str(ckpt), str(path), "--box", "0,0,10,10", "--format",
                     "--max-new-tokens", "3"]) == 0
    (boxed,) = ocr.read(ckpt, [image], max_new_tokens=3, fmt=True, box=[0, 0, 10, 10])
    assert capsys.readouterr().out == boxed + "\n"
    assert cli.main(["ocr", "--checkpoint", str(ckpt), str(path), "--color", "green", "--crop",
                     "--max-new-tokens", "3"]) == 0
    (cropped,) = ocr.read(ckpt, [image], max_new_tokens=3, color="green", crop=True)
    assert capsys.readouterr().out == cropped + "\n"


def test_eval_reports_the_verbatim_overlap_with_the_training_shards(setup: tuple[Path, Path], tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """``--train-shards``: held-out targets that occur among the training targets are counted, and the
    unseen ones get metrics of their own; a held-out set from another split of the corpus overlaps 0."""
    ckpt, tars = setup
    first = tmp_path / "first"
    first.mkdir()
    (first / "a.tar").symlink_to(min(tars.glob("*.tar")))  # the first 12 samples
    out = tmp_path / "eval.json"
    assert cli.main(["eval", "--checkpoint", str(ckpt), "--shards", str(tars / "*.tar"), "--samples", "24",
                     "--max-new-tokens", "2", "--batch-size", "12", "--train-shards", str(first / "*.tar"),
                     "--out", str(out)]) == 0
    assert "overlap with training" in capsys.readouterr().out
    result = json.loads(out.read_text())
    targets = [s["target"] for s in data.read_once(str(tars / "*.tar"))]
    seen = set(targets[:12])
    overlap = result["train_overlap"]
    assert overlap["verbatim"] == sum(t in seen for t in targets) >= 12
    assert overlap["train_targets"] == len(seen) and overlap["heldout_samples"] == 24
    unseen = [t for t in targets if t not in seen]
    assert result["unseen"]["samples"] == len(unseen)



def test_the_demo_held_out_split_shares_no_target_with_training(setup: tuple[Path, Path], tmp_path: Path) -> None:
    """Lines from the held-out split of the corpus (as configs/render/tiny-lines-heldout.yaml draws them)
    against lines from the training split: the overlap eval reports is 0."""
    from pipelines.render.config import RendererJob, RunConfig
    from pipelines.render.run import render_run
    from tests.shard_helpers import LINES

    ckpt, _ = setup
    split = {"train": 0.95, "heldout": 0.05}
    for name, use, samples, seed in (("train", "train", 300, 0), ("held", "heldout", 12, 1)):
        job = RendererJob(name="text-page", samples=samples, options=LINES, split=split, use_split=use)
        render_run(RunConfig(seed=seed, shard_size=samples, renderers=(job,)), tmp_path / name, show_progress=False)
    built, collator = evaluate.load(ckpt)
    result = evaluate.evaluate(built, str(tmp_path / "held/text-page/*.tar"), 12, collator, max_new_tokens=2,
                               train_shards=str(tmp_path / "train/text-page/*.tar"))
    assert result["train_overlap"]["verbatim"] == 0 and result["train_overlap"]["heldout_samples"] == 12
    assert result["train_overlap"]["train_targets"] > 200
    assert "unseen" not in result  # every sample is unseen: "overall" is their figure
