"""The sync engine (DESIGN §1): scans Autotask for eligible purchase orders and turns each into
one QuickBooks Online bill, reporting every step as a typed event (sync.events).

    from sync.engine import Engine
    engine = Engine(store, autotask_client, qbo_client, notifier=None)
"""

from .engine import Engine, ScanSummary
from .notify import FailureNotice, Notifier
from .po_sync import PoOutcome
from .recovery import RecoveryFinished

__all__ = ["Engine", "FailureNotice", "Notifier", "PoOutcome", "RecoveryFinished", "ScanSummary"]
