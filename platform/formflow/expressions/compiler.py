"""Syntax tree → nested Python closures, compiled once and evaluated many times.

Each node becomes a closure ``run(evaluation) -> value``. Evaluating is then a chain of plain
function calls with no tree walking, no dispatch on node types and no allocation beyond the
values themselves.

Steps are charged in batches rather than node by node: every node of a subtree that is always
evaluated is charged once, up front, at the subtree's root; an argument a lazy function may skip
(the branches of IF, the tail of AND…) is charged only when it is actually evaluated. The count
is the same as charging each node as it runs, for a fraction of the cost. On top of that, work
that grows with the data is charged as it happens: one step per list element walked, one per
:data:`TEXT_CHARACTERS_PER_STEP` characters of text built.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from .errors import ExpressionError
from .evaluation import Evaluation
from .functions import FUNCTIONS
from .limits import (
    MAX_DECIMAL_EXPONENT,
    MAX_LIST_LENGTH,
    MAX_TEXT_LENGTH,
    TEXT_CHARACTERS_PER_STEP,
)
from .nodes import Boolean, Call, Chain, Comparison, Name, Node, Number, Percent, Text, Unary
from .operators import BINARY, DECIMAL_FAST_PATHS, UNARY, arithmetic_error, percent
from .scope import lookup_dotted, lookup_name

Compiled = Callable[[Evaluation], Any]

_MIN_ADJUSTED, _MAX_ADJUSTED = -MAX_DECIMAL_EXPONENT, MAX_DECIMAL_EXPONENT


def compile_tree(node: Node) -> tuple[Compiled, int]:
    """Compile a syntax tree into its closure and the steps it always costs when it runs,
    which the caller charges before running it."""
    match node:
        case Number(value=value) | Text(value=value) | Boolean(value=value):
            return _constant(value), 1
        case Name(key=key, part=None, position=position):
            return _name(key, position), 1
        case Name(key=key, part=str(part), position=position):
            return _dotted_name(key, part, position), 1
        case Unary():
            return _unary(node)
        case Percent():
            return _percent(node)
        case Chain():
            return _chain(node)
        case Comparison():
            return _comparison(node)
        case Call():
            return _call(node)
    raise ExpressionError(f"cannot compile {type(node).__name__}", node.position)


def _charging(run: Compiled, cost: int) -> Compiled:
    def charged(evaluation: Evaluation) -> Any:
        evaluation.charge(cost)
        return run(evaluation)

    return charged


def _located(error: ExpressionError | ArithmeticError, position: int) -> ExpressionError:
    # Errors from deeper nodes already point at their own node; only fill in the blanks.
    located = error if isinstance(error, ExpressionError) else arithmetic_error(error)
    if located.position is None:
        located.position = position
    return located


def _constant(value: Any) -> Compiled:
    def constant(evaluation: Evaluation) -> Any:
        return value

    return constant


def _name(key: str, position: int) -> Compiled:
    def name(evaluation: Evaluation) -> Any:
        try:
            value = evaluation.scope[key]
        except KeyError:
            raise ExpressionError(f"unknown field '{key}'", position) from None
        # Fast path for the values formulas mostly see; everything else is checked in full.
        cls = type(value)
        if cls is Decimal:
            if value.is_finite() and _MIN_ADJUSTED <= value.adjusted() <= _MAX_ADJUSTED:
                return value
        elif value is None or cls is bool or (cls is str and len(value) <= MAX_TEXT_LENGTH):
            return value
        try:
            return lookup_name(evaluation, key)
        except ExpressionError as error:
            raise _located(error, position) from None

    return name


def _dotted_name(key: str, part: str, position: int) -> Compiled:
    def dotted_name(evaluation: Evaluation) -> Any:
        try:
            return lookup_dotted(evaluation, key, part)
        except ExpressionError as error:
            raise _located(error, position) from None

    return dotted_name


def _unary(node: Unary) -> tuple[Compiled, int]:
    return _prefix(node.operand, UNARY[node.operator], node.position)


def _percent(node: Percent) -> tuple[Compiled, int]:
    return _prefix(node.operand, percent, node.position)


def _prefix(
    operand_node: Node, operator: Callable[[Any], Any], position: int
) -> tuple[Compiled, int]:
    operand, cost = compile_tree(operand_node)

    def prefix(evaluation: Evaluation) -> Any:
        value = operand(evaluation)
        try:
            return operator(value)
        except (ExpressionError, ArithmeticError) as error:
            raise _located(error, position) from None

    return prefix, cost + 1


def _binary(left: Compiled, symbol: str, position: int, right: Compiled) -> Compiled:
    operator, fast = BINARY[symbol], DECIMAL_FAST_PATHS.get(symbol)

    if symbol == "&":

        def concatenation(evaluation: Evaluation) -> Any:
            a = left(evaluation)
            b = right(evaluation)
            try:
                return _bounded(evaluation, operator(a, b, evaluation.timezone))
            except (ExpressionError, ArithmeticError) as error:
                raise _located(error, position) from None

        return concatenation

    if fast is None:

        def binary(evaluation: Evaluation) -> Any:
            a = left(evaluation)
            b = right(evaluation)
            try:
                return operator(a, b, evaluation.timezone)
            except (ExpressionError, ArithmeticError) as error:
                raise _located(error, position) from None

        return binary

    def numeric_binary(evaluation: Evaluation) -> Any:
        a = left(evaluation)
        b = right(evaluation)
        try:
            if type(a) is Decimal and type(b) is Decimal:
                return fast(a, b)
            return operator(a, b, evaluation.timezone)
        except (ExpressionError, ArithmeticError) as error:
            raise _located(error, position) from None

    return numeric_binary


def _chain(node: Chain) -> tuple[Compiled, int]:
    compiled = [compile_tree(operand) for operand in node.operands]
    cost = 1 + sum(operand_cost for _, operand_cost in compiled)
    first = compiled[0][0]
    if len(compiled) == 2:
        (symbol, position), right = node.operators[0], compiled[1][0]
        return _binary(first, symbol, position, right), cost
    rest = [
        (BINARY[symbol], DECIMAL_FAST_PATHS.get(symbol), operand, position)
        for (symbol, position), (operand, _) in zip(node.operators, compiled[1:], strict=True)
    ]

    def chain(evaluation: Evaluation) -> Any:
        result = first(evaluation)
        for operator, fast, operand, position in rest:
            value = operand(evaluation)
            try:
                if fast is not None and type(result) is Decimal and type(value) is Decimal:
                    result = fast(result, value)
                else:
                    result = operator(result, value, evaluation.timezone)
                    if type(result) is str:
                        _bounded(evaluation, result)
            except (ExpressionError, ArithmeticError) as error:
                raise _located(error, position) from None
        return result

    return chain, cost


def _comparison(node: Comparison) -> tuple[Compiled, int]:
    left, left_cost = compile_tree(node.left)
    right, right_cost = compile_tree(node.right)
    return _binary(left, node.operator, node.position, right), 1 + left_cost + right_cost


def _call(node: Call) -> tuple[Compiled, int]:
    function = FUNCTIONS.get(node.name)
    if function is None:
        raise ExpressionError(f"unknown function {node.name}", node.position)
    problem = function.arity_error(len(node.arguments))
    if problem:
        raise ExpressionError(problem, node.position)
    compiled = [compile_tree(argument) for argument in node.arguments]
    impl, position = function.impl, node.position

    if function.lazy:
        # The first argument is always evaluated; the rest are charged only if they run.
        arguments = [compiled[0][0]] + [_charging(run, cost) for run, cost in compiled[1:]]
        cost = 1 + compiled[0][1]

        def lazy_call(evaluation: Evaluation) -> Any:
            try:
                return impl(evaluation, arguments)
            except (ExpressionError, ArithmeticError) as error:
                raise _located(error, position) from None

        return lazy_call, cost

    cost = 1 + sum(argument_cost for _, argument_cost in compiled)
    runs = [run for run, _ in compiled]
    if len(runs) == 1:
        (only,) = runs

        def call_one(evaluation: Evaluation) -> Any:
            value = only(evaluation)
            try:
                return _bounded(evaluation, impl(evaluation, value))
            except (ExpressionError, ArithmeticError) as error:
                raise _located(error, position) from None

        return call_one, cost

    def call(evaluation: Evaluation) -> Any:
        values = [run(evaluation) for run in runs]
        try:
            return _bounded(evaluation, impl(evaluation, *values))
        except (ExpressionError, ArithmeticError) as error:
            raise _located(error, position) from None

    return call, cost


def _bounded(evaluation: Evaluation, result: Any) -> Any:
    # A last guard on what any function hands back (the functions that could build something
    # huge check its size before building it), and the bill for building long text.
    cls = type(result)
    if cls is str and len(result) >= TEXT_CHARACTERS_PER_STEP:
        if len(result) > MAX_TEXT_LENGTH:
            raise ExpressionError(f"#VALUE!: text longer than {MAX_TEXT_LENGTH} characters")
        evaluation.charge(len(result) // TEXT_CHARACTERS_PER_STEP)
    if cls is list and len(result) > MAX_LIST_LENGTH:
        raise ExpressionError(f"#VALUE!: list longer than {MAX_LIST_LENGTH} items")
    if cls is Decimal and not result.is_finite():
        raise ExpressionError("#NUM!: not a finite number")
    return result
