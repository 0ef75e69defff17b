"""Train GOT's byte-level BPE tokenizer, or a character-level one, on the targets of rendered shards.

``gotforge tokenizer --shards GLOB --vocab-size N --out DIR``: the targets are read from the tars
with :mod:`pipelines.shard_format` (images never read) and trained on by
:func:`got_model.tokenizer.train_tokenizer`, by default beside GOT's chat text
(:func:`got_model.tokenizer.with_chat_template`).
``gotforge tokenizer --shards GLOB --char-level --out DIR``: one token per character
(:func:`got_model.tokenizer.train_char_tokenizer`; the chat text as whole tokens), what the tiny recipe reads with.
"""

from __future__ import annotations

import argparse
import glob
from collections.abc import Iterator, Sequence
from pathlib import Path

from got_model.tokenizer import train_char_tokenizer, train_tokenizer, with_chat_template
from pipelines.shard_format import read_samples


def iter_shard_targets(pattern: str | Sequence[str]) -> Iterator[str]:
    """The targets of every sample in the tar shards matching ``pattern`` (globs), tars in sorted
    path order and samples in stored order, so the trained vocabulary is reproducible."""
    patterns = [pattern] if isinstance(pattern, str) else list(pattern)
    paths = sorted({p for pat in patterns for p in glob.glob(pat, recursive=True)})
    if not paths:
        raise FileNotFoundError(f"no shard matches {patterns}")
    for path in paths:
        for sample in read_samples(path, images="skip"):
            yield sample["target"]


def main(argv: Sequence[str] | None = None) -> int:
    """``gotforge tokenizer --shards GLOB --vocab-size N --out DIR``."""
    parser = argparse.ArgumentParser(prog="gotforge tokenizer", description=__doc__.splitlines()[0])
    parser.add_argument("--shards", required=True, action="append", help="tar shard glob (repeatable)")
    parser.add_argument("--vocab-size", type=int, help="BPE: tokens in all (required without --char-level)")
    parser.add_argument("--char-level", action="store_true",
                        help="one token per character seen --min-frequency times (bytes otherwise), GOT's chat "
                             "text as whole tokens; no merges across characters")
    parser.add_argument("--min-frequency", type=int, default=2)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--no-chat-template", action="store_true",
                        help="train on the targets alone (default: also on GOT's prompt text, see with_chat_template)")
    args = parser.parse_args(argv)
    if args.char_level == (args.vocab_size is not None):
        parser.error("give --vocab-size N (byte-level BPE) or --char-level, one of them")
    texts = iter_shard_targets(args.shards)
    if args.char_level:
        tokenizer = train_char_tokenizer(texts, args.min_frequency)
    else:
        if not args.no_chat_template:
            texts = with_chat_template(texts)
        tokenizer = train_tokenizer(texts, args.vocab_size, args.min_frequency)
    args.out.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(args.out)
    print(f"tokenizer: {len(tokenizer)} tokens -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
