"""Text from outside, made safe for a terminal before the audit commands print it: control
characters (ESC, CR, BEL, ...) shown as visible escapes, never sent raw. Kept to one function so
the shared sanitising rule replaces it in one place."""

from __future__ import annotations

import unicodedata


def visible(text: object) -> str:
    out = []
    for ch in str(text if text is not None else ""):
        if ch == "\n" or not (unicodedata.category(ch).startswith("C")):
            out.append(ch)
        else:
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
    return "".join(out)
