"""Rewriting the field names an expression refers to, for a field whose key was renamed.

The rewrite works on the syntax tree's positions, so text, function names and everything
else in the source stay exactly as the admin wrote them.
"""

from __future__ import annotations

from .errors import ExpressionError
from .nodes import Name, walk
from .parser import parse


def rename_reference(source: str, old: str, new: str) -> str:
    """``source`` with every reference to ``old`` written as ``new``.

    ``old`` is a field key (``amount`` → ``total``; ``lines`` also renames the head of
    ``lines.qty``) or a subform column (``lines.qty`` → ``lines.quantity``). An expression
    that does not parse comes back unchanged: its error is reported where it is used.
    """
    try:
        tree = parse(source)
    except ExpressionError:
        return source
    head, _, column = old.partition(".")
    new_tail = new.rpartition(".")[2]
    spans: list[tuple[int, int, str]] = []
    for node in walk(tree):
        if not isinstance(node, Name) or node.key != head:
            continue
        if not column:
            spans.append((node.position, node.position + len(head), new))
        elif node.part == column:
            start = node.position + len(head) + 1
            spans.append((start, start + len(column), new_tail))
    for start, end, text in sorted(spans, reverse=True):
        source = source[:start] + text + source[end:]
    return source
