"""The pre-flight (`atqbo doctor`): read-only checks of both connections, the settings against
live data, every eligible purchase order as the next scan would see it, and the API headroom.
The engine's own decision code does the work (sync.engine.preview); see doctor.py."""

from .doctor import run_doctor
from .readonly import ReadOnly, WriteRefused
from .report import CannotRun, DoctorReport, Finding, Headroom, Level, NewRecordCheck, PoCheck, check_can_run

__all__ = ["CannotRun", "check_can_run", "DoctorReport", "Finding", "Headroom", "Level", "NewRecordCheck", "PoCheck", "ReadOnly",
           "WriteRefused", "run_doctor"]
