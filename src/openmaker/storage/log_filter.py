"""CloudWatch Logs filter patterns for unstructured text, compiled to a predicate on a message.

Supported: terms (``ERROR``), quoted phrases (``"Out of memory"``), all of which must appear (AND);
``?term`` alternatives (a message matches if any ``?`` term appears); ``-term`` exclusions (only
together with at least one positive term, as CloudWatch requires); the empty pattern and ``""``
(everything). Matching is case-sensitive, as in CloudWatch. JSON (``{ $.x = 1 }``) and
space-delimited (``[ip, user, ...]``) patterns are refused with :class:`FilterPatternError` rather than
silently matching the wrong events.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_TOKEN = re.compile(r"""\s*([?\-]?)(?:"((?:[^"\\]|\\.)*)"|(\S+))""")


class FilterPatternError(ValueError):
    """The pattern is invalid or uses a syntax openmaker does not evaluate."""


def compile_pattern(pattern: str | None) -> Callable[[str], bool]:
    """Return a function telling whether a message matches ``pattern``."""
    text = (pattern or "").strip()
    if not text or text == '""':
        return lambda _message: True
    if text.startswith("{") or text.startswith("["):
        raise FilterPatternError(
            "openmaker supports terms, quoted phrases, ?alternatives and -exclusions in filter patterns; "
            "JSON and space-delimited patterns are not supported."
        )
    required: list[str] = []
    optional: list[str] = []
    excluded: list[str] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            if text[pos:].strip():
                raise FilterPatternError(f"Invalid character(s) in term '{text[pos:].strip()}'")
            break
        pos = m.end()
        sign, quoted, bare = m.group(1), m.group(2), m.group(3)
        term = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare
        if term is None or term == "":
            continue
        {"": required, "?": optional, "-": excluded}[sign].append(term)
    if excluded and not (required or optional):
        raise FilterPatternError("Invalid filter pattern: an exclusion needs at least one term to match.")

    def match(message: str) -> bool:
        if any(t not in message for t in required):
            return False
        if optional and not any(t in message for t in optional):
            return False
        return not any(t in message for t in excluded)

    return match
