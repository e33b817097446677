"""The one exception the expression language lets escape."""

from __future__ import annotations

from typing import Any


class ExpressionError(Exception):
    """A formula that cannot be compiled or evaluated, with where it went wrong.

    ``position`` is a 0-based offset into the source; ``line`` and ``column`` are 1-based and
    filled in whenever the position is known. ``field`` names the form field whose formula or
    rule failed, set by the caller with :meth:`with_field`.
    """

    def __init__(
        self,
        message: str,
        position: int | None = None,
        *,
        line: int | None = None,
        column: int | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.line = line
        self.column = column
        self.field = field

    def with_field(self, field: str) -> ExpressionError:
        """Return a copy of this error that names the field it belongs to."""
        copy = self._copy()
        copy.field = field
        return copy

    def locate(self, source: str) -> ExpressionError:
        """Fill in line and column from the source, once the position is known.

        Errors are raised deep inside evaluation where only the offset is at hand; the public
        entry points call this on the way out so every error a caller sees is complete.
        """
        if self.position is not None and self.line is None:
            self.line, self.column = line_and_column(source, self.position)
        return self

    def __str__(self) -> str:
        text = f"{self.field}: {self.message}" if self.field else self.message
        if self.line is not None and self.column is not None:
            text += f" (line {self.line}, column {self.column})"
        elif self.position is not None:
            text += f" (position {self.position})"
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, position={self.position!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Jobs carry errors between processes (RQ pickles them); keep every attribute.
        return (_rebuild, (type(self), self.message, self.position, self.__dict__.copy()))

    def _copy(self) -> ExpressionError:
        copy = type(self)(self.message, self.position)
        copy.__dict__.update(self.__dict__)
        return copy


class LimitError(ExpressionError):
    """The evaluation step budget ran out; IFERROR does not swallow it."""


def line_and_column(source: str, position: int) -> tuple[int, int]:
    """1-based line and column of a 0-based offset into ``source``."""
    position = max(0, min(position, len(source)))
    line = source.count("\n", 0, position) + 1
    column = position - (source.rfind("\n", 0, position) + 1) + 1
    return line, column


def _rebuild(
    cls: type[ExpressionError], message: str, position: int | None, state: dict[str, Any]
) -> ExpressionError:
    error = cls(message, position)
    error.__dict__.update(state)
    return error
