"""The first line of an error: the one place that turns an exception into the short text users see.

TensorFlow's messages run over many lines and often start with a `{{function_node ...}}` tag;
the one-line error rule (docs/design.md) needs only their first meaningful line.
"""

import re

_FUNCTION_NODE_RE = re.compile(r"^\{\{[^}]*\}\}\s*")
_OP_SUFFIX_RE = re.compile(r"\s*\[Op:\w+\]$")  # TensorFlow's eager-op tag at the end


def first_line(exc_or_text, with_type=False):
    """The first non-empty line of an exception's message (or of a text), without TensorFlow's
    `{{function_node ...}}` prefix and `[Op:Name]` suffix. An exception with no message gives
    its type's name.

    With `with_type`, an exception reads `Type: first line` (just `Type` when it has no message).
    """
    is_exc = isinstance(exc_or_text, BaseException)
    text = getattr(exc_or_text, "message", None) if is_exc else None
    text = text if isinstance(text, str) and text.strip() else str(exc_or_text)
    lines = [_FUNCTION_NODE_RE.sub("", ln).strip() for ln in text.strip().splitlines()]
    lines = [_OP_SUFFIX_RE.sub("", ln) for ln in lines]
    line = next((ln for ln in lines if ln), "")
    if not is_exc:
        return line
    name = type(exc_or_text).__name__
    if with_type:
        return f"{name}: {line}" if line else name
    return line or name
