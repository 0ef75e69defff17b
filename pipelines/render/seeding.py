"""Per-sample seeds (ARCHITECTURE.md, "Determinism").

A sample's seed depends only on (run seed, renderer name, shard, index, attempt), never on which
worker made it or when, so any worker count and any number of resumes give the same bytes.
``numpy.random.default_rng(meta["seed"])`` replays a sample. In in-order rendering (``order: cover``)
the seed of a corpus item's parts is :func:`item_seed` of (run seed, renderer name, item, pass,
attempt): it does not depend on the shard size, and each pass draws the item anew.
"""

from __future__ import annotations

import zlib

import numpy as np


def sample_seed(run_seed: int, renderer: str, shard: int, index: int, attempt: int) -> int:
    """A 63-bit seed from the sample's coordinates, mixed by numpy's SeedSequence."""
    entropy = [run_seed & 0xFFFFFFFF, run_seed >> 32 & 0xFFFFFFFF, zlib.crc32(renderer.encode()), shard, index, attempt]
    state = np.random.SeedSequence(entropy).generate_state(2, dtype=np.uint32)
    return int(state[0]) << 31 ^ int(state[1])


COVER = 0x434F564552  # keeps item seeds apart from sample seeds


def item_seed(run_seed: int, renderer: str, item: int, pass_: int, attempt: int) -> int:
    """The 63-bit seed of corpus item ``item``'s parts in pass ``pass_``, mixed by SeedSequence."""
    entropy = [run_seed & 0xFFFFFFFF, run_seed >> 32 & 0xFFFFFFFF, zlib.crc32(renderer.encode()),
               item & 0xFFFFFFFF, item >> 32, pass_, attempt, COVER]
    state = np.random.SeedSequence(entropy).generate_state(2, dtype=np.uint32)
    return int(state[0]) << 31 ^ int(state[1])


def sample_rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)
