"""The seeds a sandbox can start from: "empty" (a fresh company in both systems) and "demo"
(a small MSP whose data exercises every path of the sync, failures included).

A seed is data, not code paths: each emulator defines its own seed type and reads it; this
module only picks the data and builds the emulators from it.
"""

from __future__ import annotations

from typing import Any

from .seed_data import SeedData

SEEDS = ("demo", "empty")


def seed_data(seed: "str | SeedData") -> SeedData:
    if isinstance(seed, SeedData):
        return seed
    if seed == "empty":
        from .empty import empty_seed

        return empty_seed()
    if seed == "demo":
        from .demo import demo_seed

        return demo_seed()
    raise ValueError(f"unknown seed {seed!r}; expected one of {', '.join(SEEDS)}")


def build_emulators(seed: "str | SeedData", sandbox: Any) -> list[Any]:
    """The emulators of a server.Sandbox (which imports this module late), from the seed."""
    from .autotask import AutotaskEmulator
    from .oauth import OAuthEmulator
    from .qbo import QboEmulator

    data = seed_data(seed)
    oauth = OAuthEmulator(data.oauth, sandbox)
    return [AutotaskEmulator(data.autotask, sandbox), oauth, QboEmulator(data.qbo, sandbox, oauth)]
