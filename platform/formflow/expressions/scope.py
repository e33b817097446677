"""Resolving names against the caller's scope: plain fields and ``subform.field`` columns.

The scope is any Mapping; a subform row is evaluated with ``ChainMap(row, parent)`` so the
row's own fields win. Values are only ever read through the Mapping interface, never through
attributes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import ExpressionError
from .evaluation import Evaluation
from .values import checked_list, normalize


def lookup_name(evaluation: Evaluation, key: str) -> Any:
    """The value of field ``key``; an unknown field is an error, not a blank."""
    value = _raw(evaluation, key)
    if isinstance(value, list | tuple):
        _charge_list(evaluation, value)
        for item in value:
            if isinstance(item, list | tuple):
                _charge_list(evaluation, item)
    return normalize(value)


def lookup_dotted(evaluation: Evaluation, key: str, part: str) -> Any:
    """``key.part``: a column of a subform (a list, one value per row) or a part of a mapping
    such as an address or a location."""
    value = _raw(evaluation, key)
    if value is None:
        return None
    if isinstance(value, Mapping):
        return normalize(value.get(part))
    if isinstance(value, list | tuple):
        _charge_list(evaluation, value)
        column = []
        for row in value:
            item = row.get(part) if isinstance(row, Mapping) else None
            if isinstance(item, list | tuple):
                _charge_list(evaluation, item)
            column.append(normalize(item, level=1))
        return column
    raise ExpressionError(f"#VALUE!: field '{key}' has no part '{part}'")


def _raw(evaluation: Evaluation, key: str) -> Any:
    try:
        return evaluation.scope[key]
    except KeyError:
        raise ExpressionError(f"unknown field '{key}'") from None


def _charge_list(evaluation: Evaluation, value: list[Any] | tuple[Any, ...]) -> None:
    # Checked and paid for before anything walks it, so a huge list costs nothing to refuse.
    checked_list(value)
    evaluation.charge(len(value))
