"""Source text → syntax tree, with lark's LALR parser and the grammar in ``grammar.lark``.

The tree is built by lark's inline transformer while parsing, bottom-up and without recursion,
so nesting is checked (and refused past :data:`MAX_DEPTH`) before anything recursive ever
walks the tree. Every lark error is turned into an :class:`ExpressionError` with a position.
"""

from __future__ import annotations

import functools
import re
from dataclasses import replace
from decimal import Decimal, DecimalException
from importlib import resources
from typing import Any

from lark import Lark, Token, Transformer
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from .errors import ExpressionError
from .limits import MAX_DECIMAL_EXPONENT, MAX_DEPTH, MAX_SOURCE_LENGTH
from .nodes import Boolean, Call, Chain, Comparison, Name, Node, Number, Percent, Text, Unary
from .values import DECIMAL_CONTEXT

_NONZERO_DIGIT = re.compile(r"[1-9]")
_VALUE_START = {"NUMBER", "STRING", "NAME", "LPAR", "SIGN"}
_CLOSERS = {"RPAR": "')'", "_COMMA": "','"}


def parse(source: str) -> Node:
    """Parse an expression into its syntax tree; raise ExpressionError if it is not valid."""
    if len(source) > MAX_SOURCE_LENGTH:
        raise ExpressionError(
            f"expression is too long ({len(source)} characters, at most {MAX_SOURCE_LENGTH})"
        )
    if not source.strip():
        raise ExpressionError("expression is empty", 0)
    try:
        return _lark().parse(source)
    except UnexpectedCharacters as error:
        raise _unexpected_character(source, error.pos_in_stream) from None
    except UnexpectedToken as error:
        raise _unexpected_token(source, error) from None
    except UnexpectedInput as error:
        position = getattr(error, "pos_in_stream", None)
        raise ExpressionError("syntax error", position) from None
    except LarkError:
        raise ExpressionError("syntax error") from None


@functools.cache
def _lark() -> Lark:
    grammar = resources.files(__package__).joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", transformer=_TreeBuilder(), maybe_placeholders=True)


def _unexpected_character(source: str, position: int) -> ExpressionError:
    char = source[position] if position < len(source) else ""
    if char in ("'", '"'):
        return ExpressionError(f"syntax error: text is not closed, missing {char}", position)
    return ExpressionError(f"syntax error: unexpected character {char!r}", position)


def _unexpected_token(source: str, error: UnexpectedToken) -> ExpressionError:
    token = error.token
    if token.type == "$END":
        position, found = len(source), "end of expression"
    else:
        position, found = token.start_pos, _describe_token(token)
    wanted = []
    expected = set(error.expected or ())
    if expected & _VALUE_START:
        wanted.append("a value")
    wanted.extend(shown for name, shown in _CLOSERS.items() if name in expected)
    message = f"syntax error: unexpected {found}"
    if wanted:
        message += ", expected " + " or ".join(wanted)
    return ExpressionError(message, position)


def _shown(text: str) -> str:
    return text if len(text) <= 20 else text[:20] + "…"


def _describe_token(token: Token) -> str:
    shown = _shown(token.value)
    if token.type == "NAME":
        return f"name {shown}"
    if token.type == "NUMBER":
        return f"number {shown}"
    if token.type == "STRING":
        return "text"
    return repr(shown)


def _depth(*children: Node) -> int:
    return 1 + max((child.depth for child in children), default=0)


def _checked(node: Node, position: int | None = None) -> Node:
    if node.depth > MAX_DEPTH:
        raise ExpressionError(
            f"expression is nested too deeply (more than {MAX_DEPTH} levels)",
            node.position if position is None else position,
        )
    return node


def _check_identifier(text: str, position: int) -> None:
    if text.startswith("__"):
        raise ExpressionError(
            f"syntax error: names may not start with '__' ({_shown(text)})", position
        )


class _TreeBuilder(Transformer[Token, Node]):
    """lark callbacks, one per grammar alias, each returning a syntax node.

    Stateless, so one instance serves every parse on every thread.
    """

    def number(self, children: list[Token]) -> Node:
        (token,) = children
        return Number(token.start_pos, 1, _decimal_literal(token))

    def text(self, children: list[Token]) -> Node:
        (token,) = children
        quote = token.value[0]
        return Text(token.start_pos, 1, token.value[1:-1].replace(quote * 2, quote))

    def name(self, children: list[Token]) -> Node:
        (token,) = children
        parts = token.value.split(".")
        for offset, part in zip(_part_offsets(token), parts, strict=True):
            _check_identifier(part, offset)
        if len(parts) > 2:
            raise ExpressionError(
                f"syntax error: {_shown(token.value)} has more than one dot; "
                "only one level (subform.field) is allowed",
                token.start_pos,
            )
        if len(parts) == 1 and parts[0].upper() in ("TRUE", "FALSE"):
            return Boolean(token.start_pos, 1, parts[0].upper() == "TRUE")
        return Name(token.start_pos, 1, parts[0], parts[1] if len(parts) == 2 else None)

    def call(self, children: list[Any]) -> Node:
        token, _, arguments, _ = children
        _check_identifier(token.value, token.start_pos)
        if "." in token.value:
            raise ExpressionError(f"unknown function {token.value.upper()}", token.start_pos)
        arguments = tuple(arguments or ())
        return _checked(Call(token.start_pos, _depth(*arguments), token.value.upper(), arguments))

    def arguments(self, children: list[Node]) -> list[Node]:
        return list(children)

    def group(self, children: list[Any]) -> Node:
        # Parentheses make no node of their own but do count towards the nesting depth.
        opening, inner, _ = children
        return _checked(replace(inner, depth=inner.depth + 1), opening.start_pos)

    def unary(self, children: list[Any]) -> Node:
        sign, operand = children
        return _checked(Unary(sign.start_pos, _depth(operand), sign.value, operand))

    def percent(self, children: list[Any]) -> Node:
        operand, sign = children
        return _checked(Percent(sign.start_pos, _depth(operand), operand))

    def comparison(self, children: list[Any]) -> Node:
        left, operator, right = children
        return _checked(
            Comparison(operator.start_pos, _depth(left, right), operator.value, left, right)
        )

    def chain(self, children: list[Any]) -> Node:
        operands = tuple(children[0::2])
        operators = tuple((token.value, token.start_pos) for token in children[1::2])
        return _checked(Chain(operators[0][1], _depth(*operands), operands, operators))

    concat = additive = multiplicative = power = chain


def _part_offsets(token: Token) -> list[int]:
    offsets, offset = [], token.start_pos
    for part in token.value.split("."):
        offsets.append(offset)
        offset += len(part) + 1
    return offsets


def _decimal_literal(token: Token) -> Decimal:
    text = token.value
    mantissa, _, exponent = text.lower().partition("e")
    out_of_range = ExpressionError(f"#NUM!: number {_shown(text)} is out of range", token.start_pos)
    if len(exponent.lstrip("+-")) > 9:
        raise out_of_range
    try:
        value = DECIMAL_CONTEXT.create_decimal(text)
    except DecimalException:
        raise out_of_range from None
    nonzero = _NONZERO_DIGIT.search(mantissa) is not None
    if nonzero and (not value or value.adjusted() < -MAX_DECIMAL_EXPONENT):
        raise out_of_range
    return value
