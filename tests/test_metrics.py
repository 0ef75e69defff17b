"""GOT's metrics against values computed by hand."""

from __future__ import annotations

import math

import pytest

from pipelines.train import metrics


def test_edit_distance_and_cer() -> None:
    m = metrics.sample_metrics("kitten", "sitting")  # k->s, e->i, +g: 3 edits
    assert m["edit_distance"] == pytest.approx(3 / 7)  # / max(6, 7)
    assert m["cer"] == pytest.approx(3 / 7)  # / len(target)
    m = metrics.sample_metrics("sitting", "kitten")
    assert m["edit_distance"] == pytest.approx(3 / 7) and m["cer"] == pytest.approx(3 / 6)
    assert metrics.sample_metrics("", "abc")["cer"] == 1.0
    assert metrics.sample_metrics("abcdef", "abc")["cer"] == 1.0  # 3 insertions / 3


def test_word_precision_recall_f1_are_over_sets() -> None:
    m = metrics.sample_metrics("a b c c", "a b d e")  # sets {a,b,c} vs {a,b,d,e}
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(2 / 4)
    assert m["f1"] == pytest.approx(2 * (2 / 3) * (1 / 2) / (2 / 3 + 1 / 2))  # 4/7


def test_chinese_is_scored_by_characters() -> None:
    m = metrics.sample_metrics("我爱你", "我爱他们", lang="zh")
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(2 / 4)
    assert metrics.is_chinese("我爱他们") and not metrics.is_chinese("hello 你")
    # Without a lang, the text decides; English of the same letters is one "word" per token
    assert metrics.sample_metrics("我爱你", "我爱他们")["recall"] == pytest.approx(2 / 4)


def test_bleu() -> None:
    assert metrics.sample_metrics("the quick brown fox", "the quick brown fox")["bleu"] == pytest.approx(1.0)
    assert metrics.sample_metrics("hello world", "hello world")["bleu"] == pytest.approx(1.0)  # order 2
    # unigram precision 2/2, bigram precision 1/1, brevity penalty exp(1 - 3/2): (1 * 1)^(1/2) * BP
    m = metrics.sample_metrics("the cat", "the cat sat")
    assert m["bleu"] == pytest.approx(math.exp(1 - 3 / 2))
    assert metrics.sample_metrics("dog", "the cat sat")["bleu"] == pytest.approx(0.0, abs=1e-9)


def test_meteor_matches_the_formula() -> None:
    # 3 exact matches in 1 chunk: P = R = 1, Fmean = 1, penalty = 0.5 * (1/3)^3
    assert metrics.sample_metrics("the cat sat", "the cat sat")["meteor"] == pytest.approx(1 - 0.5 / 27)
    # 1 word: 1 match in 1 chunk, penalty 0.5
    assert metrics.sample_metrics("cat", "cat")["meteor"] == pytest.approx(0.5)
    # P = 1/2, R = 1/3, Fmean = 10PR / (R + 9P) (alpha 0.9), one chunk of one match: penalty 0.5
    p, r = 1 / 2, 1 / 3
    assert metrics.sample_metrics("quick dog", "the quick fox")["meteor"] == pytest.approx(
        p * r / (0.9 * p + 0.1 * r) * 0.5)
    # Porter stems match too
    assert metrics.sample_metrics("running", "runs")["meteor"] > 0


def test_meteor_uses_wordnet_synonyms() -> None:
    assert metrics.meteor_variant() == "exact+stem+wordnet", "install Debian's wordnet-base (`make setup` does)"
    # "ill" ~ "sick" in WordNet: 2 matches in 1 chunk, P = R = 1, penalty 0.5 * (1/2)^3
    assert metrics.sample_metrics("ill today", "sick today")["meteor"] == pytest.approx(1 - 0.5 / 8)
    # exact and stem matching alone: 1 match of 2, Fmean 1/2, penalty 0.5
    from nltk.translate.meteor_score import meteor_score

    assert meteor_score([["sick", "today"]], ["ill", "today"], wordnet=metrics._NoSynonyms()) == pytest.approx(0.25)


def test_first_char_and_exact() -> None:
    m = metrics.sample_metrics("hat", "hello")
    assert m["first_char"] == 1.0 and m["exact"] == 0.0
    assert metrics.sample_metrics("", "hello")["first_char"] == 0.0
    assert metrics.sample_metrics("hello", "hello")["exact"] == 1.0


def test_constant_baseline() -> None:
    # "hello" for all: CER 0, 0, 2/4 -> mean 1/6; "help": 2/5, 2/5, 0 -> 4/15; "": 1
    cer, string = metrics.constant_baseline(["hello", "hello", "help"])
    assert string == "hello" and cer == pytest.approx(1 / 6)
    assert metrics.constant_baseline(["ab", "cd"]) == (pytest.approx(0.5), "ab")  # (0 + 2/2) / 2; ties: first
    # "": 1; "abcd": (0 + 2 + 2) / 3; "xy": (1 + 0 + 1) / 3
    assert metrics.constant_baseline(["abcd", "xy", "zw"]) == (pytest.approx(2 / 3), "xy")
    assert metrics.constant_baseline(["abcdef", "ghijkl"]) == (pytest.approx(0.5), "abcdef")


def test_summarise() -> None:
    out = metrics.summarise(["hello", "hello", "x"], ["hello", "help", "yes"])
    assert out["samples"] == 3 and out["distinct_outputs"] == 2
    assert out["exact"] == pytest.approx(1 / 3)
    assert out["cer"] == pytest.approx((0 + 2 / 4 + 3 / 3) / 3)
    assert out["first_char"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="2 predictions for 1 targets"):
        metrics.summarise(["a", "b"], ["a"])
