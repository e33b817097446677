"""Conditions as rows (field, operator, value) ⇄ an expression.

The condition builder that admins use for visibility rules — and, later, flow branches and
automation filters — writes ordinary expressions (``AND(stage = "lost", amount > 1000)``), so
every rule is also readable and editable as text. ``rows_of`` reads such an expression back
into rows when it has that shape, or returns None (the rule is then edited as text).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from .errors import ExpressionError
from .nodes import Boolean, Call, Comparison, Name, Node, Number, Text
from .parser import parse

#: Row operators: how each is written, and the comparison symbol it reads back from.
OPERATORS = {"eq": "=", "ne": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
FUNCTIONS = {"contains": "CONTAINS", "empty": "ISBLANK"}


@dataclass(frozen=True)
class Row:
    field: str
    op: str  # eq ne gt gte lt lte contains empty not_empty
    value: str = ""


def _literal(value: str, numeric: bool) -> str:
    text = value.strip()
    if numeric:
        try:
            Decimal(text)
        except InvalidOperation:
            pass
        else:
            return text
    if text.upper() in ("TRUE", "FALSE"):
        return text.upper()
    return '"' + value.replace('"', '""') + '"'


def build(rows: list[Row], join: str = "AND", numeric: set[str] | None = None) -> str:
    """The expression for ``rows`` joined by AND or OR (one row needs no function)."""
    numeric = numeric or set()
    parts = []
    for row in rows:
        if not row.field:
            continue
        if row.op in OPERATORS:
            parts.append(
                f"{row.field} {OPERATORS[row.op]} {_literal(row.value, row.field in numeric)}"
            )
        elif row.op == "contains":
            parts.append(f"CONTAINS({row.field}, {_literal(row.value, False)})")
        elif row.op == "empty":
            parts.append(f"ISBLANK({row.field})")
        elif row.op == "not_empty":
            parts.append(f"NOT(ISBLANK({row.field}))")
        else:
            raise ValueError(f"unknown operator {row.op}")
    if not parts:
        return ""
    if len(parts) == 1:
        return parts[0]
    return f"{'OR' if join == 'OR' else 'AND'}({', '.join(parts)})"


def _value(node: Node) -> str | None:
    if isinstance(node, Text):
        return node.value
    if isinstance(node, Number):
        return format(node.value, "f")
    if isinstance(node, Boolean):
        return "TRUE" if node.value else "FALSE"
    return None


def _row(node: Node) -> Row | None:
    if isinstance(node, Comparison) and isinstance(node.left, Name) and node.left.part is None:
        value = _value(node.right)
        op = next(
            (
                k
                for k, v in OPERATORS.items()
                if v == node.operator or (node.operator == "!=" and k == "ne")
            ),
            None,
        )
        if value is not None and op is not None:
            return Row(node.left.key, op, value)
    if isinstance(node, Call) and node.name == "CONTAINS" and len(node.arguments) == 2:
        field, value = node.arguments
        if isinstance(field, Name) and field.part is None and _value(value) is not None:
            return Row(field.key, "contains", _value(value) or "")
    if isinstance(node, Call) and node.name == "ISBLANK" and len(node.arguments) == 1:
        (field,) = node.arguments
        if isinstance(field, Name) and field.part is None:
            return Row(field.key, "empty")
    if isinstance(node, Call) and node.name == "NOT" and len(node.arguments) == 1:
        inner = _row(node.arguments[0])
        if inner is not None and inner.op == "empty":
            return Row(inner.field, "not_empty")
    return None


def rows_of(expression: str) -> tuple[str, list[Row]] | None:
    """(join, rows) when ``expression`` is a condition the builder could have written."""
    if not expression.strip():
        return ("AND", [])
    try:
        tree = parse(expression)
    except ExpressionError:
        return None
    single = _row(tree)
    if single is not None:
        return ("AND", [single])
    if isinstance(tree, Call) and tree.name in ("AND", "OR") and tree.arguments:
        rows = [_row(argument) for argument in tree.arguments]
        if all(row is not None for row in rows):
            return (tree.name, [row for row in rows if row is not None])
    return None
