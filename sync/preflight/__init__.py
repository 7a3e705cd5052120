"""The pre-flight (`atqbo doctor`): read-only checks of both connections, the settings against
live data, every eligible purchase order as the next scan would see it, and the API headroom.
The engine's own decision code does the work (sync.engine.preview); see doctor.py."""

from .doctor import run_doctor
from .readonly import ReadOnly, WriteRefused
from .report import DoctorReport, Finding, Headroom, Level, NewRecordCheck, PoCheck

__all__ = ["DoctorReport", "Finding", "Headroom", "Level", "NewRecordCheck", "PoCheck", "ReadOnly",
           "WriteRefused", "run_doctor"]
