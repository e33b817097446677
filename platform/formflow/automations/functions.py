"""Python functions an automation may call by name (``{"type": "function", "function":
"sales_performance.regrade_customer"}``).

Plugins offer them through the ``formflow_automation_actions`` hook; the engine never
imports a plugin. A function is called as ``function(work, call)`` inside the run's unit of
work (what it writes commits or rolls back with the run) and returns something JSON can
hold, which the run log shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..runtime import Runtime

Function = Callable[..., Any]

#: Functions registered by the engine itself or by a test, beside the plugins' ones.
_REGISTERED: dict[str, Function] = {}


@dataclass(frozen=True)
class Call:
    """What a function is told: the run, the record that triggered it (if any), and the
    action's ``arguments``."""

    automation: str
    run_id: int
    trigger: str
    form: str | None
    record_id: int | None
    values: dict[str, Any]
    arguments: dict[str, Any] = field(default_factory=dict)


def register(name: str, function: Function) -> Function:
    _REGISTERED[name] = function
    return function


def registered(runtime: Runtime) -> dict[str, Function]:
    found: dict[str, Function] = {}
    for offered in runtime.plugins.hook.formflow_automation_actions():
        found.update(offered or {})
    found.update(_REGISTERED)
    return found
