"""Emulator of the QuickBooks Online Accounting API v3 (one company, served under /v3/company/)."""

from .app import QboEmulator
from .seed import QboPrefs, QboSeed, empty_qbo_seed

__all__ = ["QboEmulator", "QboPrefs", "QboSeed", "empty_qbo_seed"]
