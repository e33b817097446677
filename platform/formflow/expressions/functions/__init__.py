"""The built-in functions, one module per category, collected in one registry."""

# Importing a category module registers its functions.
from . import dates, logical, numeric, text  # noqa: F401
from .registry import CATEGORIES, FUNCTIONS, Function, function_catalog

__all__ = ["CATEGORIES", "FUNCTIONS", "Function", "function_catalog"]
