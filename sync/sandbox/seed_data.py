"""What a sandbox starts from: one seed per emulator, under a name. Each emulator defines its
own seed type and reads it; this holds them together and imports nothing of the sandbox."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class SeedData:
    name: str
    autotask: Any
    oauth: Any
    qbo: Any
