"""Text from outside inside console markup (a name, a cause, what an API said).

The screens compose markup strings such as "[$error]{cause}[/]". A "[" in the text would open
a tag of its own (or fail to parse), and a backslash at its end would escape our closing tag.
Control characters are not this module's business: the screens' texts have already passed
sync.text's rule (screens.state, screens.log_source).
"""

from __future__ import annotations

# Textual's markup has no escaped backslash: a backslash right before our own tag would turn
# the tag into text. A zero-width space between them keeps both as they are.
_ZERO_WIDTH_SPACE = "\u200b"


def escape(text: str) -> str:
    """`text` as literal content inside console markup."""
    out = text.replace("[", r"\[")
    return out + _ZERO_WIDTH_SPACE if out.endswith("\\") else out
