"""The logs screen's view of error-log entries lives with the engine-control interface
(sync.control.logs); kept here under its old name for the screens that import it."""

from sync.control.logs import STATUSES, LogEntryView, LogSource, view_of

__all__ = ["STATUSES", "LogEntryView", "LogSource", "view_of"]
