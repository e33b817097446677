"""The compiled expression and the one way to get it: :func:`compile_expression`."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .compiler import compile_tree
from .context import EvalContext
from .errors import ExpressionError
from .evaluation import Evaluation
from .nodes import Name, walk
from .parser import parse
from .values import ZERO

logger = logging.getLogger(__name__)

_CACHE_SIZE = 4096


@dataclass(frozen=True, slots=True)
class Expression:
    """A parsed and compiled expression, immutable and safe to share between threads.

    ``references`` holds every field name the expression reads, as written (``"price"``,
    ``"lines.total"``), so a caller knows which fields a formula depends on.
    """

    source: str
    references: frozenset[str]
    _run: Callable[[Evaluation], Any] = field(repr=False, compare=False)
    _cost: int = field(repr=False, compare=False)

    def evaluate(self, scope: Mapping[str, Any], context: EvalContext | None = None) -> Any:
        """Evaluate against ``scope`` (field key → value); raises only ExpressionError.

        Without ``context`` the zone is Asia/Shanghai and TODAY()/NOW() read the clock.
        """
        try:
            result = self._run(Evaluation(scope, context, self._cost))
        except ExpressionError as error:
            error.locate(self.source)
            raise
        except Exception as error:
            # A bug, not a user's mistake: log it with the formula, but keep the promise that
            # evaluating never raises anything a caller does not expect.
            logger.exception("internal error evaluating expression %r", self.source)
            raise ExpressionError("internal error while evaluating the expression") from error
        if type(result) is Decimal and not result and result.is_signed():
            return ZERO
        return result


def compile_expression(source: str) -> Expression:
    """Parse and compile ``source``; raises ExpressionError for syntax errors, unknown
    functions, wrong argument counts and expressions past the sandbox bounds.

    Compiled expressions are cached by source text.
    """
    if not isinstance(source, str):
        raise ExpressionError("an expression must be text")
    return _compile_cached(str(source))


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _compile_cached(source: str) -> Expression:
    try:
        tree = parse(source)
        run, cost = compile_tree(tree)
    except ExpressionError as error:
        error.locate(source)
        raise
    except Exception as error:
        logger.exception("internal error compiling expression %r", source)
        raise ExpressionError("internal error while compiling the expression") from error
    references = frozenset(node.reference for node in walk(tree) if isinstance(node, Name))
    return Expression(source, references, run, cost)
