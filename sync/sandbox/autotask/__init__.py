"""Autotask PSA REST v1.0 emulator (see app.py); its seed types are in seed.py."""

from .app import AutotaskEmulator
from .seed import AutotaskLimits, AutotaskSeed, PicklistValue, UdfDefinition, empty_autotask_seed

__all__ = ["AutotaskEmulator", "AutotaskLimits", "AutotaskSeed", "PicklistValue", "UdfDefinition",
           "empty_autotask_seed"]
