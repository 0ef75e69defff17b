"""Per-sample seeds (ARCHITECTURE.md, "Determinism").

A sample's seed depends only on (run seed, renderer name, shard, index, attempt), never on which
worker made it or when, so any worker count and any number of resumes give the same bytes.
``numpy.random.default_rng(meta["seed"])`` replays a sample.
"""

from __future__ import annotations

import zlib

import numpy as np


def sample_seed(run_seed: int, renderer: str, shard: int, index: int, attempt: int) -> int:
    """A 63-bit seed from the sample's coordinates, mixed by numpy's SeedSequence."""
    entropy = [run_seed & 0xFFFFFFFF, run_seed >> 32 & 0xFFFFFFFF, zlib.crc32(renderer.encode()), shard, index, attempt]
    state = np.random.SeedSequence(entropy).generate_state(2, dtype=np.uint32)
    return int(state[0]) << 31 ^ int(state[1])


def sample_rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)
