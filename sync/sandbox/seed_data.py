"""The data a sandbox starts from: one seed per emulator (seeds.py picks and builds them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class SeedData:
    name: str
    autotask: Any
    oauth: Any
    qbo: Any
