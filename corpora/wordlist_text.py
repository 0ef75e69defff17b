"""Built-in text for languages Debian packages no fortunes for: sentences of frequent words.

Each passage is 2-4 paragraphs of 2-5 sentences of 4-12 words drawn from the language's 5,000 most
frequent words in ``wordfreq`` (only words written wholly in the language's script), each word
about as likely as its rank in the list says (Zipf), the sentences ended and cut by the script's own
punctuation (Arabic's ``،`` and ``؟``, Devanagari's ``।``, Japanese ``、`` and ``。``). It is word salad,
but in the right script, with its real letters, words, joins and conjuncts: what an OCR model
must read, without a sentence to understand. A text corpus of real sentences (``--corpus``) is better.

The corpus is data, the same in every run and process: it is made once from a generator seeded by
the language's name, never from a sample's generator.
"""

from __future__ import annotations

import functools
import unicodedata
import zlib

import numpy as np

from corpora.langs import LANG_SCRIPT, script_of_char

PASSAGES = 300
TOP_WORDS = 5000
# script: (comma, full stop, question mark, word joiner)
PUNCTUATION = {
    "arabic": ("،", ".", "؟", " "),
    "devanagari": (",", "।", "?", " "),
    "bengali": (",", "।", "?", " "),
    "kana": ("、", "。", "？", ""),
    "greek": (",", ".", ";", " "),
}
DEFAULT_PUNCTUATION = (",", ".", "?", " ")


@functools.cache
def _words(lang: str) -> tuple[str, ...]:
    import wordfreq

    scripts = {"kana", "han"} if lang == "ja" else {LANG_SCRIPT[lang]}
    picked: list[str] = []
    for word in wordfreq.iter_wordlist(lang, wordlist="best"):
        if all(script_of_char(ch) in scripts or unicodedata.category(ch).startswith("M") for ch in word) \
                and any(ch.isalpha() for ch in word):
            picked.append(word)
            if len(picked) >= TOP_WORDS:
                break
    return tuple(picked)


def wordlist_passages(lang: str) -> list[tuple[str, str]]:
    """``(location, passage)`` pairs of ``lang``: paragraphs separated by blank lines."""
    words = _words(lang)
    if not words:
        return []
    comma, stop, question, joiner = PUNCTUATION.get(LANG_SCRIPT[lang], DEFAULT_PUNCTUATION)
    rank = np.arange(1, len(words) + 1, dtype=np.float64)
    p = 1.0 / (rank + 10.0)
    p /= p.sum()
    rng = np.random.default_rng(zlib.crc32(f"wordfreq-{lang}".encode()))
    out = []
    for i in range(PASSAGES):
        paragraphs = []
        for _ in range(int(rng.integers(2, 5))):
            sentences = []
            for _ in range(int(rng.integers(2, 6))):
                chosen = [words[int(k)] for k in rng.choice(len(words), size=int(rng.integers(4, 13)), p=p)]
                if len(chosen) > 6 and rng.random() < 0.4:
                    cut = int(rng.integers(2, len(chosen) - 2))
                    chosen[cut] += comma
                sentences.append(joiner.join(chosen) + (question if rng.random() < 0.1 else stop))
            paragraphs.append(joiner.join(sentences))
        out.append((f"wordfreq:{lang}#{i}", "\n\n".join(paragraphs)))
    return out
