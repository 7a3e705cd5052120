"""The settings form's choices are read below the screens (sync.control.options), so the
console and a control-socket client get the same lists; kept here under its old name."""

from sync.control.options import Options, load_options

__all__ = ["Options", "load_options"]
