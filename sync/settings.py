"""The typed settings model (DESIGN.md §1), its validation, parsing and schema migrations.

Validation collects every problem at once, each naming its key, so the console and
`atqbo settings set KEY VALUE` can show them all. Values arrive either typed (from the settings
file) or as strings (from the command line); both go through the same parsers and messages.

Settings may be saved incomplete while the operator is still configuring; `missing_for_scan()`
says what a scan still needs. The SMTP password is not a setting: it is a secret kept by the
SecretStore under the name given by SMTP_PASSWORD_SECRET.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from enum import Enum
from typing import Any

from sync.ids import MAX_ID, whole_number

SCHEMA_VERSION = 1
SMTP_PASSWORD_SECRET = "smtp_password"


class PoNumberSource(str, Enum):
    QUICKBOOKS = "quickbooks"
    AUTOTASK = "autotask"


class TransferAs(str, Enum):
    """What a submitted Autotask PO becomes in QBO (issue 18): a bill at once (the seed app), a
    QBO purchase order, or a QBO purchase order and then a bill for each receipt of goods."""

    BILL = "bill"
    PURCHASE_ORDER = "purchase_order"
    PURCHASE_ORDER_THEN_BILL = "purchase_order_then_bill"


class MissingItem(str, Enum):
    CREATE = "create"
    ERROR = "error"


class ApplyMode(str, Enum):
    """What a scan may do without the operator's approval (issue 15)."""

    AUTO = "auto"  # everything (the behaviour before apply_mode existed)
    HOLD_NEW_RECORDS = "hold_new_records"  # a PO that would create a vendor, customer or item waits
    MANUAL = "manual"  # every PO waits


@dataclass(frozen=True)
class SettingProblem:
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


class SettingsError(ValueError):
    """One or more settings are invalid; `problems` lists each with its key."""

    def __init__(self, problems: list[SettingProblem], source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        head = f"invalid settings in {source}" if source else "invalid settings"
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in self.problems))


@dataclass(frozen=True)
class Settings:
    """Everything the operator configures. None = not set yet."""

    days_back: int | None = None
    po_number_source: PoNumberSource = PoNumberSource.QUICKBOOKS
    missing_item: MissingItem = MissingItem.ERROR
    apply_mode: ApplyMode = ApplyMode.AUTO
    transfer_as: TransferAs = TransferAs.BILL
    new_item_expense_account: str | None = None
    ap_account: str | None = None
    todo_action_type: int | None = None
    todo_resource: int | None = None
    scan_interval_minutes: int = 15
    notify_email: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_starttls: bool = True
    smtp_from: str | None = None
    # A name QBO holds nearly, not exactly (issue 16): "hold" (the PO waits for the operator to
    # link it), "create" (a new record, as before) or "link_above N" (link when the score ≥ N).
    near_match: str = "hold"
    # Error log retention: resolved entries older than this many days are removed (0 = never).
    log_retention_days: int = 365
    # At most this many entries are kept; the oldest resolved ones go first, open ones never.
    log_max_entries: int = 200_000
    # The percent of Autotask's requests per hour (10,000, read from ThresholdInformation) this
    # product may use: the other integrations of the MSP draw on the same budget.
    autotask_hourly_share: int = 50

    # --- construction -----------------------------------------------------------------------

    @classmethod
    def from_values(cls, values: Mapping[str, Any], source: str | None = None) -> "Settings":
        """Build from a mapping of key → typed value or string. Raises SettingsError listing all
        problems (unknown keys included)."""
        problems: list[SettingProblem] = []
        parsed: dict[str, Any] = {}
        for key, raw in values.items():
            if key not in PARSERS:
                problems.append(SettingProblem(key, _unknown_key_message(key)))
                continue
            try:
                parsed[key] = PARSERS[key](raw)
            except ValueError as exc:
                problems.append(SettingProblem(key, str(exc)))
        if problems:
            raise SettingsError(problems, source)
        return cls(**parsed)

    def with_value(self, key: str, raw: Any) -> "Settings":
        """A copy with `key` set from a string or typed value (None or '' clears an optional
        key back to its default). Raises SettingsError naming the key."""
        if key == SMTP_PASSWORD_SECRET:
            raise SettingsError(
                [SettingProblem(key, "is a secret: store it with the secret store, not in settings")]
            )
        if key not in PARSERS:
            raise SettingsError([SettingProblem(key, _unknown_key_message(key))])
        try:
            value = PARSERS[key](raw)
        except ValueError as exc:
            raise SettingsError([SettingProblem(key, str(exc))]) from None
        if value is None:
            value = _DEFAULTS[key]
        return replace(self, **{key: value})

    # --- checks -----------------------------------------------------------------------------

    def missing_for_scan(self) -> list[SettingProblem]:
        """What must still be set before a scan may run (empty list = ready)."""
        missing = []
        if self.days_back is None:
            missing.append(SettingProblem("days_back", "required: how many days back to look for purchase orders"))
        if self.ap_account is None:
            missing.append(SettingProblem("ap_account", "required: the QBO accounts-payable account for bills"))
        if self.todo_action_type is None:
            missing.append(SettingProblem("todo_action_type", "required: the Autotask action type for error to-dos"))
        if self.todo_resource is None:
            missing.append(SettingProblem("todo_resource", "required: the Autotask resource who gets error to-dos"))
        if self.missing_item is MissingItem.CREATE and self.new_item_expense_account is None:
            missing.append(
                SettingProblem(
                    "new_item_expense_account",
                    "required when missing_item = create: the expense account for new items",
                )
            )
        return missing

    def ready_to_scan(self) -> bool:
        return not self.missing_for_scan()

    def missing_for_email(self) -> list[SettingProblem]:
        """What e-mail notifications still need (empty = can send)."""
        missing = []
        if self.smtp_host is None:
            missing.append(SettingProblem("smtp_host", "required to send e-mail"))
        if self.smtp_from is None and not (self.smtp_username and _EMAIL.fullmatch(self.smtp_username)):
            missing.append(SettingProblem("smtp_from", "required to send e-mail (the sender address)"))
        return missing

    # --- persistence shape --------------------------------------------------------------------

    def to_values(self) -> dict[str, Any]:
        """JSON-ready key → value for every setting."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = value.value if isinstance(value, Enum) else value
        return out

    def to_document(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "values": self.to_values()}


# --- parsers: each accepts a typed value or a string and raises ValueError with the message ---


def _show(raw: Any) -> str:
    text = repr(raw)
    return text if len(text) <= 60 else text[:57] + "..."


def _whole(minimum: int, what: str = "", maximum: int = MAX_ID) -> Callable[[Any], int]:
    # ASCII digits only (int() also reads other scripts' digits), bounded: a huge value would
    # only fail later, inside every scan (days_back = 10**9 overflowed the date arithmetic).
    bound = f"from {minimum} to {maximum}" if maximum < MAX_ID else f"≥ {minimum}"

    def parse(raw: Any) -> int:
        text = raw.strip() if isinstance(raw, str) else raw
        if isinstance(text, str) and text.startswith("+"):
            text = text[1:]
        value = whole_number(text, minimum, maximum)
        if value is None:
            raise ValueError(f"must be a whole number {bound}{what}, got {_show(raw)}")
        return value

    return parse


def _percent(raw: Any) -> int:
    try:
        value = _whole(1)(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= 100:
        raise ValueError(f"must be a whole percent from 1 to 100, got {_show(raw)}")
    return value


def _optional(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    # None or blank = not set (back to the default; required keys are then reported by
    # missing_for_scan()).
    def wrapped(raw: Any) -> Any:
        if raw is None or (isinstance(raw, str) and raw.strip() == ""):
            return None
        return parse(raw)

    return wrapped


def _choice(enum: type[Enum]) -> Callable[[Any], Any]:
    options = " or ".join(repr(m.value) for m in enum)

    def parse(raw: Any) -> Any:
        if isinstance(raw, enum):
            return raw
        if isinstance(raw, str):
            try:
                return enum(raw.strip().lower())
            except ValueError:
                pass
        raise ValueError(f"must be {options}, got {_show(raw)}")

    return parse


def _text(max_len: int = 200) -> Callable[[Any], str]:
    def parse(raw: Any) -> str:
        if isinstance(raw, bool) or not isinstance(raw, (str, int)):
            raise ValueError(f"must be text, got {_show(raw)}")
        text = str(raw).strip()
        if any(c in text for c in "\r\n\t\x00"):
            raise ValueError(f"must be a single line without tabs, got {_show(raw)}")
        if len(text) > max_len:
            raise ValueError(f"must be at most {max_len} characters, got {len(text)}")
        return text

    return parse


# A practical address check: one @, no spaces, a dotted domain of valid labels.
_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)


def _email(raw: Any) -> str:
    if not isinstance(raw, str) or not _EMAIL.fullmatch(raw.strip()) or ".." in raw:
        raise ValueError(f"must be an e-mail address like name@example.com, got {_show(raw)}")
    return raw.strip()


def _host(raw: Any) -> str:
    if not isinstance(raw, str) or not re.fullmatch(r"[A-Za-z0-9.\-]{1,253}|\[[0-9A-Fa-f:.]+\]", raw.strip()):
        raise ValueError(f"must be a host name or IP address, got {_show(raw)}")
    return raw.strip()


def _port(raw: Any) -> int:
    try:
        value = _whole(1)(raw)
    except ValueError:
        value = None
    if value is None or value > 65535:
        raise ValueError(f"must be a port number from 1 to 65535, got {_show(raw)}")
    return value


def _boolean(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        word = raw.strip().lower()
        if word in ("true", "yes", "on", "1"):
            return True
        if word in ("false", "no", "off", "0"):
            return False
    raise ValueError(f"must be true or false, got {_show(raw)}")


def _id(what: str) -> Callable[[Any], int]:
    inner = _whole(1)

    def parse(raw: Any) -> int:
        try:
            return inner(raw)
        except ValueError:
            raise ValueError(f"must be a whole number ≥ 1 ({what} id), got {_show(raw)}") from None

    return parse


_NEAR_MATCH = re.compile(r"(hold|create)|link_above\s+([0-9]{1,3})")


def _near_match(raw: Any) -> str:
    text = " ".join(str(raw).split()).lower() if isinstance(raw, str) else ""
    found = _NEAR_MATCH.fullmatch(text)
    if found is None or (found.group(2) is not None and not 50 <= int(found.group(2)) <= 100):
        raise ValueError(f"must be 'hold', 'create' or 'link_above N' (N from 50 to 100), got {_show(raw)}")
    return found.group(1) or f"link_above {int(found.group(2))}"


def near_policy(value: str) -> tuple[str, int | None]:
    """("hold" | "create" | "link_above", N or None) of a near_match setting value."""
    mode, _, number = _near_match(value).partition(" ")
    return mode, int(number) if number else None

# Upper bounds (DESIGN §1 "Settings"): generous for any real use, small enough that the date
# and timer arithmetic of a scan cannot overflow.
MAX_DAYS_BACK = 3650  # ten years of purchase orders
MAX_SCAN_INTERVAL_MINUTES = 10080  # a week
MAX_LOG_RETENTION_DAYS = 36500  # a hundred years (0 = keep forever)
MAX_LOG_ENTRIES = 10_000_000

PARSERS: dict[str, Callable[[Any], Any]] = {
    "days_back": _optional(_whole(0, maximum=MAX_DAYS_BACK)),
    "po_number_source": _optional(_choice(PoNumberSource)),
    "missing_item": _optional(_choice(MissingItem)),
    "apply_mode": _optional(_choice(ApplyMode)),
    "transfer_as": _optional(_choice(TransferAs)),
    "new_item_expense_account": _optional(_text()),
    "ap_account": _optional(_text()),
    "todo_action_type": _optional(_id("Autotask action type")),
    "todo_resource": _optional(_id("Autotask resource")),
    "scan_interval_minutes": _optional(_whole(1, maximum=MAX_SCAN_INTERVAL_MINUTES)),
    "notify_email": _optional(_email),
    "smtp_host": _optional(_host),
    "smtp_port": _optional(_port),
    "smtp_username": _optional(_text()),
    "smtp_starttls": _optional(_boolean),
    "smtp_from": _optional(_email),
    "near_match": _optional(_near_match),
    "log_retention_days": _optional(_whole(0, " (0 = keep forever)", MAX_LOG_RETENTION_DAYS)),
    "log_max_entries": _optional(_whole(1000, maximum=MAX_LOG_ENTRIES)),
    "autotask_hourly_share": _optional(_percent),
}
_DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(Settings)}
SETTING_KEYS: tuple[str, ...] = tuple(PARSERS)
assert set(PARSERS) == set(_DEFAULTS), "every Settings field needs a parser"


def _unknown_key_message(key: str) -> str:
    return "unknown setting; known settings are " + ", ".join(SETTING_KEYS)


def parse_value(key: str, raw: Any) -> Any:
    """Parse one value for `key` (string or typed; None/'' = unset); raises SettingsError."""
    if key == SMTP_PASSWORD_SECRET:
        raise SettingsError(
            [SettingProblem(key, "is a secret: store it with the secret store, not in settings")]
        )
    if key not in PARSERS:
        raise SettingsError([SettingProblem(key, _unknown_key_message(key))])
    try:
        return PARSERS[key](raw)
    except ValueError as exc:
        raise SettingsError([SettingProblem(key, str(exc))]) from None
