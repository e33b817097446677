"""JSON text in and out, with exact decimals.

Money and every other number read from a request, a definition or a stored record is a
``Decimal``; floats would turn 0.1 + 0.2 into 0.30000000000000004. Reading uses
simplejson's C scanner with ``use_decimal``; writing uses orjson (about six times faster
than simplejson here, measured on a 20-field record), with each ``Decimal`` embedded as
the exact number it holds.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import orjson
import simplejson


def loads(text: str | bytes) -> Any:
    """Parse JSON text; numbers with a fraction or exponent become ``Decimal``."""
    return simplejson.loads(text, use_decimal=True)


def dumps(value: Any) -> str:
    """Compact JSON text for storage and the wire (non-ASCII kept as is)."""
    return orjson.dumps(value, default=_fragment).decode()


def dumps_bytes(value: Any) -> bytes:
    return orjson.dumps(value, default=_fragment)


def _fragment(value: Any) -> Any:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise TypeError("NaN and infinity are not JSON numbers")
        return orjson.Fragment(format(value, "f"))
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps_pretty(value: Any) -> str:
    """The canonical text of a definition file: two-space indent, a final newline.

    Installing a file and exporting it again gives back the same bytes as long as the file
    was written in this form; the shipped definitions are.
    """
    return (
        simplejson.dumps(value, use_decimal=True, ensure_ascii=False, indent=2, default=_default)
        + "\n"
    )


def _default(value: Any) -> Any:
    isoformat = getattr(value, "isoformat", None)
    if isoformat is not None:
        return isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
