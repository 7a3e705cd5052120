"""Properties of the one rule for text from outside (sync/text.py) and of the QBO name rule
built on it (sync/engine/names.py): nothing it returns holds a control character, printable
text goes through unchanged, and it is idempotent where it should be."""

from __future__ import annotations

import json

from hypothesis import example, given, settings
from hypothesis import strategies as st

from sync.engine.names import InvalidName, qbo_name
from sync.text import CONTROL, for_qbo, is_control, json_text, shown, shown_fields, shown_lines

CONTROLS = ([chr(c) for c in range(0x20)] + [chr(c) for c in range(0x7F, 0xA0)]
            + ["\u061c", "\u200e", "\u200f", "\u2028", "\u2029"]
            + [chr(c) for c in range(0x202A, 0x202F)] + [chr(c) for c in range(0x2066, 0x206A)])

# Any text, with the hostile characters much more likely than chance would make them.
hostile = st.text(st.one_of(st.characters(blacklist_categories=("Cs",)), st.sampled_from(CONTROLS)),
                  max_size=80)
printable = st.text(st.characters(blacklist_categories=("Cs",)), max_size=80).filter(
    lambda s: not any(is_control(c) for c in s))

ATTACK = "Evil\x1b]0;PWNED\x07\x1b[31mRED\u202e\r\n\x00\x9b"


def test_the_set_of_control_characters_is_the_documented_one():
    everything = [chr(c) for c in range(0x3000)]
    assert sorted(c for c in everything if is_control(c)) == sorted(CONTROLS)


@settings(max_examples=300, deadline=None)
@given(text=hostile)
@example(text=ATTACK)
def test_shown_never_holds_a_control_character_and_is_idempotent(text):
    out = shown(text)
    assert CONTROL.search(out) is None
    assert shown(out) == out
    lines = shown_lines(text)
    assert all(not is_control(c) or c == "\n" for c in lines)
    assert lines.count("\n") == text.count("\n")
    assert shown_lines(lines) == lines


@settings(max_examples=200, deadline=None)
@given(text=printable)
@example(text="O'Brien & \"Sons\": C:\\path [b]x[/b] Łódź 東京 😀")
def test_printable_text_is_unchanged_everywhere(text):
    assert shown(text) == text
    assert shown_lines(text) == text
    assert for_qbo(text) == text
    assert for_qbo(text, multiline=True) == text


def test_shown_uses_visible_escapes():
    assert shown(ATTACK) == "Evil\\x1b]0;PWNED\\x07\\x1b[31mRED\\u202e\\r\\n\\x00\\x9b"
    assert shown_lines("a\r\nb\tc") == "a\\r\nb\\tc"


@settings(max_examples=300, deadline=None)
@given(text=hostile)
@example(text=ATTACK)
def test_for_qbo_removes_controls_keeps_words_apart_and_is_idempotent(text):
    out = for_qbo(text)
    assert CONTROL.search(out) is None
    assert for_qbo(out) == out
    multi = for_qbo(text, multiline=True)
    assert all(not is_control(c) or c == "\n" for c in multi)
    assert for_qbo(multi, multiline=True) == multi
    # A whitespace control stands for a space: the words on either side stay apart.
    assert for_qbo("Acme\nWest\tLtd") == "Acme West Ltd"
    assert for_qbo("a\r\nb\rc", multiline=True) == "a\nb\nc"


@settings(max_examples=300, deadline=None)
@given(text=hostile, kind=st.sampled_from(["vendor", "customer", "item"]))
@example(text=ATTACK, kind="vendor")
@example(text="\x1b\x07\x00\u202e", kind="vendor")
def test_qbo_names_never_hold_control_characters_and_are_stable(text, kind):
    try:
        name = qbo_name(text, kind)
    except InvalidName as exc:
        assert CONTROL.search(str(exc)) is None  # the message is shown, never raw
        return
    assert CONTROL.search(name) is None and ":" not in name
    assert qbo_name(name, kind) == name  # what is looked up is what was created


@settings(max_examples=200, deadline=None)
@given(value=st.dictionaries(hostile, st.one_of(hostile, st.integers(), st.lists(hostile, max_size=3)),
                             max_size=4))
def test_json_text_is_the_same_value_with_no_raw_control_character(value):
    line = json_text(json.dumps(value, ensure_ascii=False))
    assert CONTROL.search(line) is None
    assert json.loads(line) == value


def test_shown_fields_shows_every_text_field_of_an_event():
    from sync import events as ev

    event = ev.PoFailed(po_id=1, po_number=ATTACK, cause_code="x", cause="c\x1b", fix="", log_id="1",
                        todo_id=None)
    out = shown_fields(event)
    assert out.po_number == shown(ATTACK) and out.cause == "c\\x1b" and out.at == event.at
    changed = shown_fields(ev.SettingsReloaded(changed=("a\x1b", "b")))
    assert changed.changed == ("a\\x1b", "b")
    clean = ev.PoStarted(po_id=1, po_number="PO-1", source="scan")
    assert shown_fields(clean) is clean
