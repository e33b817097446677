"""The engine's extension points, declared in one place.

A plugin is a module named by an entry point in the ``formflow.plugins`` group that
implements some of these hooks with ``@formflow.hookimpl``. The engine finds plugins only
through that entry point group; it never imports a plugin by name.

Hooks:

* ``formflow_field_types`` — more field types for the registry;
* ``formflow_apps`` — the apps a plugin installs from its files (schemas/<plugin>/ and
  workflows/<plugin>/);
* ``formflow_blueprints`` — Flask blueprints mounted by ``create_app``;
* ``formflow_cli_commands`` — click commands added to the ``formflow`` CLI;
* ``formflow_automation_actions`` — Python functions automations may call by name;
* ``formflow_data_sources`` — named data sources for dashboards beyond forms;
* ``formflow_openapi`` — the OpenAPI paths and schemas of the API routes a plugin's
  blueprints add, merged into ``/api/v1/openapi.json``.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click
    from flask import Blueprint

    from .fields import FieldType, FieldTypeRegistry

PROJECT = "formflow"
ENTRY_POINT_GROUP = "formflow.plugins"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@dataclass(frozen=True)
class AppBundle:
    """An app shipped as files: its form definitions (``schemas``, one JSON file a form),
    its flows and automations (``workflows``) and its dashboards (``dashboards``)."""

    name: str
    title: str
    schemas: Path
    workflows: Path | None = None
    plugin: str | None = None
    #: The app's dashboards, one JSON file each (``dashboards/<app>/``).
    dashboards: Path | None = None


@dataclass(frozen=True)
class NavLink:
    """A link a plugin adds to the top bar: its label by language and the endpoint it opens
    (shown to every signed-in user; the page itself decides what they may see)."""

    label: dict[str, str]
    endpoint: str


class Hooks:
    """Hook specifications (the signatures plugins implement)."""

    @hookspec
    def formflow_field_types(self) -> list[type[FieldType]]:
        """Field type classes to register."""

    @hookspec
    def formflow_apps(self) -> list[AppBundle]:
        """Apps this plugin ships as definition files."""

    @hookspec
    def formflow_blueprints(self) -> list[Blueprint]:
        """Blueprints to mount on the web app."""

    @hookspec
    def formflow_cli_commands(self) -> list[click.Command]:
        """Commands to add to the ``formflow`` CLI."""

    @hookspec
    def formflow_automation_actions(self) -> dict[str, Callable[..., Any]]:
        """Functions automations may call, by name."""

    @hookspec
    def formflow_data_sources(self) -> dict[str, Any]:
        """Dashboard data sources, by name."""

    @hookspec
    def formflow_nav_links(self) -> list[NavLink]:
        """Links to the plugin's pages for the top bar."""

    @hookspec
    def formflow_app_installed(self, work: Any, app: str) -> None:
        """App ``app`` was just installed or upgraded (its forms, flows and automations), in
        the unit of work ``work``: create the records it needs to work (shipped defaults
        admins then edit), leaving any that exist alone."""

    @hookspec
    def formflow_openapi(self) -> dict[str, Any]:
        """The plugin's part of the OpenAPI document: ``{"paths": {...}, "schemas": {...}}``,
        paths relative to ``/api/v1`` (``/sales/targets``), schemas named so they cannot
        clash with the engine's (prefix them with the plugin's area, ``SalesTarget``)."""


class PluginManager(pluggy.PluginManager):
    """pluggy's manager with helpers that flatten each hook's results."""

    def __init__(self) -> None:
        super().__init__(PROJECT)
        self.add_hookspecs(Hooks)

    def register_field_types(self, registry: FieldTypeRegistry) -> None:
        for types in self.hook.formflow_field_types():
            for field_type in types:
                registry.register(field_type)

    def apps(self) -> list[AppBundle]:
        return [bundle for bundles in self.hook.formflow_apps() for bundle in bundles]

    def app(self, name: str) -> AppBundle | None:
        return next((bundle for bundle in self.apps() if bundle.name == name), None)

    def blueprints(self) -> list[Blueprint]:
        return [bp for bps in self.hook.formflow_blueprints() for bp in bps]

    def cli_commands(self) -> list[click.Command]:
        return [cmd for cmds in self.hook.formflow_cli_commands() for cmd in cmds]

    def nav_links(self) -> list[NavLink]:
        return [link for links in self.hook.formflow_nav_links() for link in links]

    def openapi_parts(self) -> list[dict[str, Any]]:
        return list(self.hook.formflow_openapi())

    def plugin_names(self) -> list[str]:
        return sorted(name for name, _ in self.list_name_plugin() if name)


@lru_cache(maxsize=1)
def _discovered() -> tuple[tuple[str, Any], ...]:
    """Plugins named by the entry point group (scanning installed packages once a process)."""
    return tuple(
        (entry_point.name, entry_point.load())
        for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    )


def load_plugin_manager(load_entry_points: bool = True) -> PluginManager:
    manager = PluginManager()
    if load_entry_points:
        for name, plugin in _discovered():
            manager.register(plugin, name=name)
    return manager
