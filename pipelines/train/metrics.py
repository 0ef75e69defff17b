"""GOT's OCR metrics (GOT paper section 4, Tables 1-2; its evaluation follows Nougat's ``get_metrics``),
plus the checks a small model needs before its CER means anything.

Per sample, on the prediction ``pred`` and the target ``gt``:

- ``edit_distance``: Levenshtein distance / max(len(pred), len(gt)) (GOT's normalised edit distance;
  rapidfuzz's ``normalized_distance``);
- ``precision``, ``recall``, ``f1``: over the *sets* of words (English) or characters (Chinese), as
  GOT/Nougat compute them with ``nltk.scores``;
- ``bleu``: NLTK's sentence BLEU on the same tokens, uniform weights, no smoothing, as GOT; the n-gram
  order is 4 (GOT's) capped at the shorter of reference and prediction, so a one- or two-word line
  scores 1 when read exactly instead of NLTK's ~0 for a sentence with no 4-gram (the brevity
  penalty still charges a short prediction);
- ``meteor``: NLTK's METEOR with exact, Porter-stem and WordNet-synonym matching. WordNet 3.0 comes
  from Debian's ``wordnet-base`` package (``/usr/share/wordnet``; NLTK's ``wordnet`` corpus is the same
  3.0 database, so no download): NLTK's reader also wants the ``lexnames`` table, which Debian ships
  only as a man page, so ``wordnet()`` writes it (45 fixed lines, lexnames(5WN)) beside a copy of
  the files in the temp folder, once per machine. Without that package METEOR falls back to exact + stem matching and says so
  (``meteor_variant``).
- ``cer``: Levenshtein distance / len(gt); ``exact``: pred == gt; ``first_char``: same first character.

Over a set of samples (``summarise``): the means, the number of distinct predictions, and the
*constant-string baseline*: the lowest mean CER any single string reaches on these samples when
predicted for all of them (searched over the set's own targets). A model that ignores the image can
still reach that baseline, so CER is only evidence of reading when it is below it.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from nltk.metrics import scores
from nltk.translate.bleu_score import sentence_bleu
from nltk.translate.meteor_score import meteor_score
from rapidfuzz.distance import Levenshtein
from rapidfuzz.process import cdist

DEBIAN_WORDNET = Path("/usr/share/wordnet")
LEXNAMES = (  # lexnames(5WN): the lexicographer files, in id order
    "adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act", "noun.animal", "noun.artifact",
    "noun.attribute", "noun.body", "noun.cognition", "noun.communication", "noun.event", "noun.feeling",
    "noun.food", "noun.group", "noun.location", "noun.motive", "noun.object", "noun.person",
    "noun.phenomenon", "noun.plant", "noun.possession", "noun.process", "noun.quantity", "noun.relation",
    "noun.shape", "noun.state", "noun.substance", "noun.time", "verb.body", "verb.change", "verb.cognition",
    "verb.communication", "verb.competition", "verb.consumption", "verb.contact", "verb.creation",
    "verb.emotion", "verb.motion", "verb.perception", "verb.possession", "verb.social", "verb.stative",
    "verb.weather", "adj.ppl",
)
_SYNTACTIC = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}  # lexnames(5WN): the third column
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]")


class _NoSynonyms:
    """A WordNet stand-in with no synsets: METEOR then matches exact words and Porter stems only."""

    @staticmethod
    def synsets(word: str) -> list[Any]:
        return []


@lru_cache(maxsize=1)
def wordnet() -> Any:
    """NLTK's WordNet reader over Debian's WordNet 3.0 files, or ``_NoSynonyms`` when they are absent."""
    if not (DEBIAN_WORDNET / "data.noun").is_file():
        return _NoSynonyms()
    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    root = Path(tempfile.gettempdir()) / "gotforge-wordnet-3.0"
    if not (root / "lexnames").is_file():  # built once per machine: copies (NLTK refuses links out of its root)
        tmp = Path(tempfile.mkdtemp(prefix="gotforge-wordnet-"))
        for file in DEBIAN_WORDNET.iterdir():
            shutil.copyfile(file, tmp / file.name)
        lines = [f"{i:02d}\t{name}\t{_SYNTACTIC[name.split('.')[0]]}" for i, name in enumerate(LEXNAMES)]
        (tmp / "lexnames").write_text("\n".join(lines) + "\n", encoding="utf-8")
        try:
            tmp.rename(root)
        except OSError:  # another process built it first
            shutil.rmtree(tmp, ignore_errors=True)
    if str(root) not in nltk.data.path:
        nltk.data.path.append(str(root))  # NLTK reads corpora only under its data path
    class EnglishWordNet(WordNetCorpusReader):
        def map_wn(self, version: str = "wordnet") -> None:
            return None  # the mapping to other WordNet versions serves multilingual data only

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "multilingual functions are not available": we use English only
        return EnglishWordNet(str(root), None)


def meteor_variant() -> str:
    return "exact+stem" if isinstance(wordnet(), _NoSynonyms) else "exact+stem+wordnet"


def is_chinese(text: str, lang: str | None = None) -> bool:
    if lang is not None:
        return lang == "zh"
    return len(_CJK.findall(text)) * 2 > len(text.replace(" ", ""))


def tokens(text: str, chinese: bool) -> list[str]:
    """Words (split on white space) for English, characters (spaces dropped) for Chinese."""
    return [c for c in text if not c.isspace()] if chinese else text.split()


def sample_metrics(pred: str, gt: str, lang: str | None = None) -> dict[str, float]:
    chinese = is_chinese(gt, lang)
    hyp, ref = tokens(pred, chinese), tokens(gt, chinese)
    hyp_set, ref_set = set(hyp), set(ref)
    precision = scores.precision(ref_set, hyp_set) if hyp_set else 0.0
    recall = scores.recall(ref_set, hyp_set) if ref_set else 0.0
    f1 = scores.f_measure(ref_set, hyp_set) if hyp_set and ref_set else 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NLTK warns when a hypothesis has no n-gram of the order
        order = min(4, len(ref), len(hyp))
        bleu = float(sentence_bleu([ref], hyp, weights=(1 / order,) * order)) if hyp and ref else 0.0
    meteor = float(meteor_score([ref], hyp, wordnet=wordnet())) if hyp and ref else 0.0
    distance = Levenshtein.distance(pred, gt)
    return {
        "edit_distance": Levenshtein.normalized_distance(pred, gt),
        "precision": float(precision or 0.0),
        "recall": float(recall or 0.0),
        "f1": float(f1 or 0.0),
        "bleu": bleu,
        "meteor": meteor,
        "cer": distance / max(1, len(gt)),
        "exact": float(pred == gt),
        "first_char": float(bool(pred) and bool(gt) and pred[0] == gt[0]),
    }


def constant_baseline(targets: Sequence[str]) -> tuple[float, str]:
    """(lowest mean CER of one string predicted for every target, that string), over the targets."""
    if not targets:
        return float("nan"), ""
    candidates = sorted(set(targets)) + [""]
    distances = cdist(candidates, list(targets), scorer=Levenshtein.distance, workers=1)  # (cands, targets)
    lengths = np.maximum(1, np.array([len(t) for t in targets], dtype=float))
    mean_cer = (distances / lengths[None, :]).mean(axis=1)
    best = int(np.argmin(mean_cer))
    return float(mean_cer[best]), candidates[best]


def summarise(preds: Sequence[str], targets: Sequence[str], langs: Sequence[str | None] | None = None) -> dict[str, Any]:
    """Mean metrics over the samples, distinct outputs and the constant-string baseline."""
    if len(preds) != len(targets):
        raise ValueError(f"{len(preds)} predictions for {len(targets)} targets")
    langs = list(langs) if langs is not None else [None] * len(targets)
    rows = [sample_metrics(p, t, lang) for p, t, lang in zip(preds, targets, langs)]
    out: dict[str, Any] = {"samples": len(rows)}
    for key in rows[0] if rows else ():
        out[key] = float(np.mean([r[key] for r in rows]))
    baseline, constant = constant_baseline(targets)
    out["constant_baseline_cer"] = baseline
    out["constant_baseline_string"] = constant
    out["distinct_outputs"] = len(set(preds))
    out["meteor_variant"] = meteor_variant()
    return out
