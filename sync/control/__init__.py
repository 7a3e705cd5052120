"""The engine-control interface (api.py) and its implementations: local.py (the engine in this
process) and, over the control socket, server.py / remote.py. Front ends import from here."""

from .api import (
    Capabilities,
    CommandFailed,
    CommandRefused,
    ControlStatus,
    EngineControl,
    SyncOutcome,
)
from .logs import LogEntryView

__all__ = ["Capabilities", "CommandFailed", "CommandRefused", "ControlStatus", "EngineControl",
           "LogEntryView", "SyncOutcome"]
