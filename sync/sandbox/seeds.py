"""The registry of seeds a sandbox can start from, by name: "empty" (a fresh company in both
systems), "demo" (a small MSP whose data exercises every path of the sync, failures included)
and "hostile" (every text field hostile: escape sequences, CR/LF, bidi overrides; see
hostile_text.py).

A seed is data, not code paths: each seed module builds a SeedData and imports nothing back
from here. To add a seed, write its module and add one line to SEEDS.
"""

from __future__ import annotations

from collections.abc import Callable

from .demo import demo_seed
from .empty import empty_seed
from .hostile_text import hostile_seed
from .seed_data import SeedData

SEEDS: dict[str, Callable[[], SeedData]] = {
    "demo": demo_seed,
    "empty": empty_seed,
    "hostile": hostile_seed,
}

__all__ = ["SEEDS", "SeedData", "seed_data"]


def seed_data(seed: "str | SeedData") -> SeedData:
    if isinstance(seed, SeedData):
        return seed
    factory = SEEDS.get(seed)
    if factory is None:
        raise ValueError(f"unknown seed {seed!r}; expected one of {', '.join(SEEDS)}")
    return factory()
