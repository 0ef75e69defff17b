"""GOT's tokenizer: a byte-level BPE trained on the shards' targets, with GOT's special tokens, or a
character-level vocabulary for a small reader.

GOT (paper section 3) decodes with Qwen's byte-level BPE vocabulary, whose chat and image markers are
single tokens. A run that starts from a checkpoint uses that checkpoint's tokenizer; a run from scratch
trains one here with the ``tokenizers`` library (its "byte-level BPE" recipe, as GPT-2 and Qwen2 use)
and saves it as a ``transformers`` fast tokenizer folder that ``GotOcr2Processor`` and
``AutoTokenizer.from_pretrained`` load.

``train_char_tokenizer`` is the same byte-level BPE with every merge kept inside one character: the
vocabulary is the 256 bytes, GOT's special tokens, and one token for each character (of two or more
bytes: Chinese, accented letters) seen often enough in the targets; nothing longer than a character,
so a model spells every word it reads, seen or not. GOT's fixed chat text (system prompt, roles, task
queries) is added as whole tokens (``TEMPLATE_TOKENS``), so a prompt stays as short as with word merges.

This module trains on any iterable of strings; ``gotforge tokenizer`` (``pipelines/train/tokenizer.py``)
reads them from shards.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

from .prompts import (
    FORMAT,
    IM_END,
    IM_START,
    IMG_END,
    IMG_PAD,
    IMG_START,
    MULTI_CROP,
    MULTI_PAGE,
    PLAIN,
    SYSTEM,
)

EOS = "<|endoftext|>"
REF_START, REF_END = "<ref>", "</ref>"
BOX_START, BOX_END = "<box>", "</box>"

# Order fixes their ids (0..9) in a freshly trained vocabulary.
SPECIAL_TOKENS: tuple[str, ...] = (
    EOS,
    IM_START,
    IM_END,
    IMG_START,
    IMG_END,
    IMG_PAD,
    REF_START,
    REF_END,
    BOX_START,
    BOX_END,
)


def train_tokenizer(texts: Iterable[str], vocab_size: int, min_frequency: int = 2) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE on ``texts`` and wrap it as a ``transformers`` fast tokenizer.

    The vocabulary holds the 256 byte symbols (so any text round-trips), GOT's special tokens as single
    ids, and merges up to ``vocab_size`` in all. ``<|endoftext|>`` is both eos and pad, as in Qwen2.
    """
    minimum = 256 + len(SPECIAL_TOKENS)
    if vocab_size < minimum:
        raise ValueError(
            f"vocab_size must be at least {minimum} (256 bytes + special tokens), found {vocab_size}"
        )
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return wrap_tokenizer(tok)


def template_tokens() -> tuple[str, ...]:
    """GOT's fixed chat text as whole tokens of a character-level vocabulary: the system prompt, the
    roles and the task queries (a box or colour query adds its prefix character by character)."""
    return (SYSTEM, "user\n", "assistant\n", PLAIN, FORMAT, MULTI_CROP, MULTI_PAGE)


def train_char_tokenizer(texts: Iterable[str], min_frequency: int = 2,
                         max_vocab_size: int = 50_000) -> PreTrainedTokenizerFast:
    """A character-level vocabulary: byte-level BPE whose merges never cross a character boundary.

    Every text still round-trips (the 256 byte symbols stay); a character of several bytes seen at
    least ``min_frequency`` times becomes one token (its intermediate byte pairs take slots too). GOT's
    special tokens keep ids 0..9; the chat text of ``template_tokens`` comes last, one token each.
    """
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated"),  # one pre-token per character
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=max_vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    tok.add_tokens([AddedToken(t, normalized=False) for t in template_tokens()])
    return wrap_tokenizer(tok)


def wrap_tokenizer(tok: Tokenizer) -> PreTrainedTokenizerFast:
    """A ``tokenizers.Tokenizer`` as a ``transformers`` fast tokenizer with GOT's roles set."""
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=EOS,
        pad_token=EOS,
        unk_token=None,
        additional_special_tokens=[t for t in SPECIAL_TOKENS if t != EOS],
        padding_side="right",
        clean_up_tokenization_spaces=False,
    )
    fast.model_max_length = 1_000_000
    return fast


def check_special_tokens(tokenizer: PreTrainedTokenizerFast) -> dict[str, int]:
    """The id of each GOT special token; raises if one is missing or splits into several ids."""
    ids: dict[str, int] = {}
    for token in SPECIAL_TOKENS:
        encoded = tokenizer.encode(token, add_special_tokens=False)
        if len(encoded) != 1:
            raise ValueError(
                f"tokenizer encodes GOT's special token {token!r} as {len(encoded)} ids {encoded}; "
                "expected a single id (train one with `gotforge tokenizer` or add it as a special token)"
            )
        ids[token] = encoded[0]
    return ids


def with_chat_template(targets: Iterable[str]) -> Iterator[str]:
    """Each target, then GOT's fixed chat text (system prompt, roles, task queries).

    Every training sequence repeats that text, so its words belong in the vocabulary, as they are in
    Qwen's: weighted like the targets, BPE merges them into whole words first, and a small vocabulary
    trained on targets alone no longer spends one token per byte of the system prompt.
    """
    template = f"{SYSTEM} user assistant {PLAIN}{FORMAT}{MULTI_CROP}{MULTI_PAGE}"
    for target in targets:
        yield target
        yield template
