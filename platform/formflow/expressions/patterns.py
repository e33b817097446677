"""Excel wildcard patterns (``*`` any run, ``?`` any one character, ``~`` escapes), as used by
COUNTIF criteria and SEARCH, always case-insensitive.

A pattern is split at its ``*``s into fixed-length segments, matched greedily left to right.
That keeps matching linear in the number of segments, where translating ``*`` to ``.*`` would
let a pattern like ``*a*a*a*a*b`` backtrack exponentially. A segment without ``?`` is found with
``str.find`` on lower-cased text (linear); one with ``?`` needs a regular expression whose worst
case is (text length × segment length), which callers pay for in evaluation steps
(:func:`cost`) so an adversarial pattern runs out of budget instead of running for long.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from .errors import ExpressionError
from .limits import MAX_PATTERN_LENGTH

_FLAGS = re.IGNORECASE | re.DOTALL
_CHARACTERS_PER_STEP = 32


@dataclass(frozen=True, slots=True)
class _Segment:
    """A run of the pattern between two ``*``s: fixed length, maybe with ``?``s."""

    length: int
    literal: str | None  # lower-cased text when the segment has no ``?``
    regex: re.Pattern[str]

    def find(self, text: str, folded: str | None, start: int, end: int) -> int:
        if self.literal is not None and folded is not None:
            return folded.find(self.literal, start, end)
        found = self.regex.search(text, start, end)
        return -1 if found is None else found.start()

    def starts(self, text: str, folded: str | None, position: int) -> bool:
        if self.literal is not None and folded is not None:
            return folded.startswith(self.literal, position)
        return self.regex.match(text, position) is not None


@functools.lru_cache(maxsize=256)
def _segments(pattern: str) -> tuple[_Segment, ...]:
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ExpressionError(
            f"#VALUE!: a wildcard pattern may be at most {MAX_PATTERN_LENGTH} characters"
        )
    runs: list[list[str | None]] = [[]]  # None stands for ``?``
    chars = iter(pattern)
    for char in chars:
        if char == "~":
            runs[-1].append(next(chars, "~"))
        elif char == "*":
            runs.append([])
        else:
            runs[-1].append(None if char == "?" else char)
    return tuple(_segment(run) for run in runs)


def _segment(run: list[str | None]) -> _Segment:
    regex = re.compile("".join("." if c is None else re.escape(c) for c in run), _FLAGS)
    literal = None
    if None not in run:
        text = "".join(c for c in run if c is not None)
        if len(text.lower()) == len(text):
            literal = text.lower()
    return _Segment(len(run), literal, regex)


def _folded(text: str) -> str | None:
    # Lower-casing may lengthen a few characters (İ → i̇); then offsets would shift, so such
    # text is matched by regular expression only.
    folded = text.lower()
    return folded if len(folded) == len(text) else None


def has_wildcards(pattern: str) -> bool:
    """Whether a criteria text uses ``*``, ``?`` or ``~`` and so must be matched as a pattern."""
    return any(char in pattern for char in "*?~")


def cost(pattern: str, text_length: int) -> int:
    """Evaluation steps to charge before matching ``pattern`` against that much text."""
    slow = sum(segment.length for segment in _segments(pattern) if segment.literal is None)
    return text_length * slow // _CHARACTERS_PER_STEP


def matches(pattern: str, text: str) -> bool:
    """Whether the whole of ``text`` matches ``pattern``."""
    segments, folded = _segments(pattern), _folded(text)
    if len(segments) == 1:
        return segments[0].length == len(text) and segments[0].starts(text, folded, 0)
    first, last = segments[0], segments[-1]
    end = len(text) - last.length
    if end < first.length or not first.starts(text, folded, 0):
        return False
    if not last.starts(text, folded, end):
        return False
    position = first.length
    for segment in segments[1:-1]:
        found = segment.find(text, folded, position, end)
        if found < 0:
            return False
        position = found + segment.length
    return True


def search(pattern: str, text: str, start: int = 0) -> int:
    """0-based offset of the leftmost match of ``pattern`` in ``text`` at or after ``start``,
    or -1 if there is none."""
    segments, folded = _segments(pattern), _folded(text)
    first = segments[0]
    found_at = first.find(text, folded, start, len(text)) if first.length else start
    if found_at < 0:
        return -1
    # Later segments can only lose room if the first one matched further right, so the
    # leftmost match of the first segment decides.
    position = found_at + first.length
    for segment in segments[1:]:
        if segment.length:
            found = segment.find(text, folded, position, len(text))
            if found < 0:
                return -1
            position = found + segment.length
    return found_at
