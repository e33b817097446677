"""Formflow's expression language: one small, safe, Excel-flavoured language for formula
fields, visibility rules, workflow branch conditions and automation filters.

    >>> expression = compile_expression("ROUND(price * quantity * (1 - discount), 2)")
    >>> sorted(expression.references)
    ['discount', 'price', 'quantity']

Expressions are parsed by a real parser and compiled to closures, never ``eval``-ed; numbers
are Decimals; evaluation is bounded in steps, text and list sizes; every failure is an
:class:`ExpressionError` that knows its position (and, via ``with_field``, its field).
"""

from .context import EvalContext
from .errors import ExpressionError
from .expression import Expression, compile_expression
from .functions import FUNCTIONS, function_catalog
from .renaming import rename_reference

__all__ = [
    "FUNCTIONS",
    "EvalContext",
    "Expression",
    "ExpressionError",
    "compile_expression",
    "function_catalog",
    "rename_reference",
]
