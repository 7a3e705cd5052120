"""The one parser for ids an operator types (sync/ids.py), and the places that take one."""

from __future__ import annotations

import pytest

from sync.ids import MAX_ID, IdError, parse_log_id, parse_po_id, whole_number
from sync.store import Store


@pytest.mark.parametrize("text,value", [("1", 1), (" 42 ", 42), ("007", 7), (str(MAX_ID), MAX_ID),
                                        ("0" * 30 + "5", 5)])
def test_ascii_ids_in_range(text, value):
    assert parse_po_id(text) == value and parse_log_id(text) == value


@pytest.mark.parametrize("text", ["0", "-1", "+1", str(MAX_ID + 1), "9" * 5000, "٣", "²", "１", "1.0", "1e3", "",
                                  "1 2", "\u00a01"])
def test_anything_else_is_refused_with_a_bounded_quote(text):
    with pytest.raises(IdError) as caught:
        parse_po_id(text)
    assert "digits 0-9" in str(caught.value) and len(str(caught.value)) < 250
    assert whole_number(text, 1, MAX_ID) is None


async def _log_entry(store: Store, text: str):
    from types import SimpleNamespace

    from sync.control.local import LocalEngineControl

    engine = SimpleNamespace(subscribe=lambda handler: (lambda: None))
    control = LocalEngineControl(SimpleNamespace(store=store, engine=engine))
    return await control.log_entry(text)


@pytest.mark.parametrize("text", ["²", "٣", "1²", str(2**63), "-1", ""])
def test_the_console_asks_for_a_log_entry_only_by_an_ascii_id(tmp_path, text):
    import anyio

    with Store.open(tmp_path) as store:
        entry = store.errors.add(po_id=5, cause_code="missing_item", cause="c", fix="f")
        assert anyio.run(_log_entry, store, str(entry.id)) is not None
        assert anyio.run(_log_entry, store, text) is None  # (isdigit() took '²'; int() then raised)

