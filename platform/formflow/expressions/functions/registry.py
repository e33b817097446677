"""The function registry: every callable name, its arity, and its entry in the picker.

Each function is registered with :func:`function` right beside its implementation, with its
signature and description in English and Chinese, so the form builder's function picker can
never fall out of step with what the language accepts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

CATEGORIES = ("logical", "math", "text", "date")
"""Categories in the order the picker shows them."""


@dataclass(frozen=True, slots=True)
class Function:
    """One built-in function.

    An eager function is called as ``impl(evaluation, *values)``. A lazy one (IF, AND,
    IFERROR…) is called as ``impl(evaluation, arguments)`` with the compiled arguments, and
    evaluates only the ones it needs by calling ``arguments[i](evaluation)``.
    """

    name: str
    category: str
    impl: Callable[..., Any]
    min_args: int
    max_args: int | None
    signature: str
    description: Mapping[str, str]
    lazy: bool = False
    paired: bool = False

    def arity_error(self, count: int) -> str | None:
        """Why ``count`` arguments are wrong for this function, or None if they are fine."""
        if self.max_args is None:
            if count < self.min_args:
                return f"{self.name} expects at least {_arguments(self.min_args)}, got {count}"
        elif not self.min_args <= count <= self.max_args:
            if self.min_args == self.max_args:
                expected = _arguments(self.min_args)
            else:
                expected = f"{self.min_args} to {_arguments(self.max_args)}"
            return f"{self.name} expects {expected}, got {count}"
        if self.paired and count % 2:
            return f"{self.name} expects its arguments in condition/value pairs, got {count}"
        return None

    def catalog_entry(self) -> dict[str, Any]:
        """This function as the form builder's picker shows it."""
        return {
            "name": self.name,
            "category": self.category,
            "signature": self.signature,
            "description": dict(self.description),
        }


_REGISTRY: dict[str, Function] = {}

FUNCTIONS: Mapping[str, Function] = MappingProxyType(_REGISTRY)
"""Every built-in function by its upper-case name (read-only)."""


def function(
    name: str,
    category: str,
    *,
    args: int | tuple[int, int | None],
    signature: str,
    en: str,
    zh: str,
    lazy: bool = False,
    paired: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated implementation as the built-in ``name``.

    ``args`` is an exact count or ``(min, max)``, ``max`` None for any number.
    """
    if category not in CATEGORIES:
        raise ValueError(f"unknown function category {category!r}")
    min_args, max_args = (args, args) if isinstance(args, int) else args

    def register(impl: Callable[..., Any]) -> Callable[..., Any]:
        if name in _REGISTRY:
            raise ValueError(f"function {name} is registered twice")
        _REGISTRY[name] = Function(
            name=name,
            category=category,
            impl=impl,
            min_args=min_args,
            max_args=max_args,
            signature=signature,
            description=MappingProxyType({"en": en, "zh-CN": zh}),
            lazy=lazy,
            paired=paired,
        )
        return impl

    return register


def function_catalog() -> list[dict[str, Any]]:
    """Every function for the form builder's picker, by category then name.

    Each entry is ``{name, category, signature, description: {"en", "zh-CN"}}``.
    """
    ordered = sorted(_REGISTRY.values(), key=lambda f: (CATEGORIES.index(f.category), f.name))
    return [entry.catalog_entry() for entry in ordered]


def _arguments(count: int) -> str:
    return f"{count} argument" if count == 1 else f"{count} arguments"
