"""Plugins: found by entry point, never imported by the engine by name."""

from __future__ import annotations

import ast
from pathlib import Path

from formflow.extensions import load_plugin_manager

ENGINE = Path(__file__).resolve().parents[2] / "platform" / "formflow"


def test_sales_performance_registers_through_the_entry_point():
    manager = load_plugin_manager()
    assert "sales_performance" in manager.plugin_names()
    bundle = manager.app("sales_performance")
    assert bundle is not None
    assert bundle.schemas.name == "sales_performance"
    assert bundle.schemas.is_dir()


def test_the_engine_never_imports_a_plugin():
    offenders = []
    for path in ENGINE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [
                f"{path.name}: {n}" for n in names if n.split(".")[0] == "sales_performance"
            ]
    assert offenders == []


def test_without_plugins_the_engine_still_runs():
    manager = load_plugin_manager(load_entry_points=False)
    assert manager.apps() == []
