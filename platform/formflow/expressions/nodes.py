"""The syntax tree of an expression, as the parser builds it and the compiler reads it.

Every node keeps ``position``, the 0-based offset in the source that an error about it should
point at, and ``depth``, its nesting depth as written (parentheses included), which bounds
compilation and evaluation recursion.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Node:
    """Base of all syntax nodes."""

    position: int
    depth: int

    def children(self) -> tuple[Node, ...]:
        return ()


@dataclass(frozen=True, slots=True)
class Number(Node):
    """A numeric literal, already a Decimal rounded to the working precision."""

    value: Decimal


@dataclass(frozen=True, slots=True)
class Text(Node):
    """A string literal, with its doubled quotes already unescaped."""

    value: str


@dataclass(frozen=True, slots=True)
class Boolean(Node):
    """TRUE or FALSE."""

    value: bool


@dataclass(frozen=True, slots=True)
class Name(Node):
    """A field reference: ``price``, or ``lines.total`` (``key`` = "lines", ``part`` = "total")."""

    key: str
    part: str | None = None

    @property
    def reference(self) -> str:
        """The name as written, dotted form kept."""
        return self.key if self.part is None else f"{self.key}.{self.part}"


@dataclass(frozen=True, slots=True)
class Unary(Node):
    """Prefix ``-`` or ``+``; ``position`` is the sign's."""

    operator: str
    operand: Node

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True, slots=True)
class Percent(Node):
    """Postfix ``%`` (divide by 100); ``position`` is the percent sign's."""

    operand: Node

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True, slots=True)
class Chain(Node):
    """A left-associative run of same-precedence operators: ``a + b - c``, ``a & b``, ``a ^ b``.

    Kept flat rather than as nested binary nodes so that a long sum is shallow: depth measures
    nesting a reader can see, not the length of a formula. ``operators[i]`` (symbol and source
    offset) sits between ``operands[i]`` and ``operands[i + 1]``.
    """

    operands: tuple[Node, ...]
    operators: tuple[tuple[str, int], ...]

    def children(self) -> tuple[Node, ...]:
        return self.operands


@dataclass(frozen=True, slots=True)
class Comparison(Node):
    """``left op right`` for ``= <> != < <= > >=``; ``position`` is the operator's."""

    operator: str
    left: Node
    right: Node

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@dataclass(frozen=True, slots=True)
class Call(Node):
    """A function call; ``name`` is upper-cased and ``position`` is the name's."""

    name: str
    arguments: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.arguments


def walk(node: Node) -> list[Node]:
    """Every node of a tree, parents before children."""
    found: list[Node] = []
    stack = [node]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(reversed(current.children()))
    return found
