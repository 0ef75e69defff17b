"""GOT's byte-level BPE: trained locally, special tokens single ids, loads in transformers, round-trips."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from transformers import AutoTokenizer

from got_model.tokenizer import SPECIAL_TOKENS, check_special_tokens, train_tokenizer
from pipelines.train.tokenizer import iter_shard_targets, main

TEXTS = [f"Invoice {i}: total $ {i * 3.5:.2f}, café naïve 数学 \\frac{{a}}{{b}} CCO" for i in range(100)]


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(TEXTS, vocab_size=400)


def test_special_tokens_are_single_ids(tokenizer):
    ids = check_special_tokens(tokenizer)
    assert list(ids) == list(SPECIAL_TOKENS)
    assert sorted(ids.values()) == list(range(len(SPECIAL_TOKENS)))
    assert tokenizer.eos_token == tokenizer.pad_token == "<|endoftext|>"


@pytest.mark.parametrize(
    "text", ["Invoice 7: total $ 24.50", "数学 ∑ émoji 🙂 \t\n  spaces", "<|im_end|>a<imgpad><box>"]
)
def test_round_trip(tokenizer, text):
    ids = tokenizer.encode(text, add_special_tokens=False)
    assert tokenizer.decode(ids) == text


def test_saved_folder_loads_in_transformers(tokenizer, tmp_path):
    tokenizer.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    assert check_special_tokens(loaded) == check_special_tokens(tokenizer)
    text = "Invoice 12: café <|im_start|>"
    assert loaded.encode(text) == tokenizer.encode(text)
    assert loaded.pad_token_id == tokenizer.pad_token_id


def test_too_small_vocab_is_refused():
    with pytest.raises(ValueError, match="at least 266"):
        train_tokenizer(TEXTS, vocab_size=100)


def _write_shard(path: Path, targets: list[str]) -> None:
    with tarfile.open(path, "w") as tar:
        for i, target in enumerate(targets):
            for name, data in ((f"s-{i:06d}.txt", target.encode()), (f"s-{i:06d}.json", b"{}")):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))


def test_cli_trains_from_shards(tmp_path):
    (tmp_path / "shards").mkdir()
    _write_shard(tmp_path / "shards" / "a-000000.tar", TEXTS[:50])
    _write_shard(tmp_path / "shards" / "a-000001.tar", TEXTS[50:])
    assert list(iter_shard_targets(str(tmp_path / "shards" / "*.tar"))) == TEXTS
    out = tmp_path / "tok"
    assert (
        main(["--shards", str(tmp_path / "shards" / "*.tar"), "--vocab-size", "300", "--out", str(out)]) == 0
    )
    loaded = AutoTokenizer.from_pretrained(out)
    assert len(loaded) == 300
    check_special_tokens(loaded)
    with pytest.raises(FileNotFoundError):
        list(iter_shard_targets(str(tmp_path / "none" / "*.tar")))


def test_cli_vocabulary_holds_the_chat_template(tmp_path):
    from got_model.prompts import SYSTEM

    (tmp_path / "shards").mkdir()
    _write_shard(tmp_path / "shards" / "a-000000.tar", TEXTS)
    pattern = str(tmp_path / "shards" / "*.tar")
    sizes = {}
    for flags, name in (([], "with"), (["--no-chat-template"], "without")):
        assert main(["--shards", pattern, "--vocab-size", "400", "--out", str(tmp_path / name), *flags]) == 0
        sizes[name] = len(AutoTokenizer.from_pretrained(tmp_path / name).encode(SYSTEM, add_special_tokens=False))
    assert sizes["without"] > 40  # mostly one token per byte of the 80-character system prompt
    assert sizes["with"] <= 20  # about one per word


# --- the character-level vocabulary (train_char_tokenizer) ---------------------------------------------


def test_char_level_vocabulary_has_one_token_per_character(tmp_path):
    from got_model.prompts import chat_prompt
    from got_model.tokenizer import template_tokens, train_char_tokenizer

    tok = train_char_tokenizer(TEXTS)
    assert check_special_tokens(tok) == {t: i for i, t in enumerate(SPECIAL_TOKENS)}
    for word in ("Invoice", "total", "café", "数学", "unseen-word"):  # seen or not: one token per character
        ids = tok.encode(word, add_special_tokens=False)
        assert len(ids) == len(word), (word, tok.convert_ids_to_tokens(ids))
        assert tok.decode(ids) == word
    for text in ("数学 ∑ émoji 🙂 \t\n  spaces", "<|im_end|>a<imgpad><box>", "OCR: user\nassistant\n"):
        assert tok.decode(tok.encode(text, add_special_tokens=False)) == text
    prompt = chat_prompt("OCR: ", 16)
    assert len(tok.encode(prompt, add_special_tokens=False)) == 28  # the chat text as whole tokens
    assert all(len(tok.encode(t, add_special_tokens=False)) == 1 for t in template_tokens())
    tok.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    assert loaded.encode(prompt + "café") == tok.encode(prompt + "café")
    assert check_special_tokens(loaded) == check_special_tokens(tok)


def test_cli_char_level(tmp_path):
    (tmp_path / "shards").mkdir()
    _write_shard(tmp_path / "shards" / "a-000000.tar", TEXTS)
    pattern = str(tmp_path / "shards" / "*.tar")
    assert main(["--shards", pattern, "--char-level", "--out", str(tmp_path / "char")]) == 0
    loaded = AutoTokenizer.from_pretrained(tmp_path / "char")
    assert len(loaded.encode("Invoice", add_special_tokens=False)) == 7
    with pytest.raises(SystemExit):  # one kind or the other
        main(["--shards", pattern, "--char-level", "--vocab-size", "300", "--out", str(tmp_path / "x")])
    with pytest.raises(SystemExit):
        main(["--shards", pattern, "--out", str(tmp_path / "x")])
