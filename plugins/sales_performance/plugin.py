"""The sales_performance plugin's registration with the engine (its ``hooks.py``).

Found by the engine through the ``formflow.plugins`` entry point; everything the plugin
adds to the engine is declared here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from formflow import AppBundle, hookimpl
from formflow.extensions import NavLink

APP_NAME = "sales_performance"


def _shipped(kind: str) -> Path:
    """The plugin's definition folder: inside the wheel, or in the source checkout."""
    packaged = Path(__file__).parent / "_shipped" / kind
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / kind / APP_NAME


@hookimpl
def formflow_apps() -> list[AppBundle]:
    return [
        AppBundle(
            name=APP_NAME,
            title="销售绩效 Sales performance",
            schemas=_shipped("schemas"),
            workflows=_shipped("workflows"),
            plugin=APP_NAME,
            dashboards=_shipped("dashboards"),
        )
    ]


@hookimpl
def formflow_automation_actions() -> dict[str, Any]:
    from .functions import FUNCTIONS
    from .incentives.functions import FUNCTIONS as INCENTIVES
    from .kpi.functions import FUNCTIONS as KPI
    from .regrading import FUNCTIONS as REGRADING
    from .targets.functions import FUNCTIONS as TARGETS

    return {**FUNCTIONS, **REGRADING, **TARGETS, **KPI, **INCENTIVES}


def _install_guards() -> None:
    """An approved quotation is locked (records' guards: the engine asks before an edit)."""
    from formflow.records import lifecycle

    from .credit import check_credit_split
    from .functions import quotation_locked
    from .incentives.plans import refuse_bad_plan as refuse_bad_incentive_plan
    from .incentives.statements import statement_locked
    from .kpi.appeals import check_appeal
    from .kpi.plans import refuse_bad_plan
    from .kpi.scorecards import check_manual_score

    lifecycle.guard(quotation_locked)
    lifecycle.guard(statement_locked)
    lifecycle.on_created(check_credit_split)
    lifecycle.on_updated(check_credit_split)
    lifecycle.on_created(refuse_bad_incentive_plan)
    lifecycle.on_updated(refuse_bad_incentive_plan)
    lifecycle.on_created(refuse_bad_plan)
    lifecycle.on_updated(refuse_bad_plan)
    lifecycle.on_created(check_appeal)
    lifecycle.on_created(check_manual_score)
    lifecycle.on_updated(check_manual_score)


_install_guards()


def _register_reminder_kinds() -> None:
    """The nightly regrading's batches are reminders of the plugin's own kind: registered
    when the plugin loads, so whichever worker the sweep hands a batch to can deliver it."""
    from . import regrading  # noqa: F401 - importing registers the kind


_register_reminder_kinds()


@hookimpl
def formflow_cli_commands() -> list[Any]:
    from .demo import seed_demo_command

    return [seed_demo_command]


@hookimpl
def formflow_blueprints() -> list[Any]:
    from . import web_performance  # noqa: F401 - its pages join the sales blueprint
    from .api import blueprint as api
    from .web import blueprint as pages

    return [pages, api]


@hookimpl
def formflow_data_sources() -> dict[str, Any]:
    """What the sales dashboards chart beyond forms: target progress, scorecards, payouts,
    measures by person, stage flow, receivables, follow-up gaps."""
    from .sources import data_sources

    return data_sources()


@hookimpl
def formflow_nav_links() -> list[NavLink]:
    """One link on the phone's crowded top bar: the sales home leads to the rest."""
    return [NavLink({"zh-CN": "销售", "en": "Sales"}, "sales.home")]


#: The roles the plugin's grants, scopes and dashboards name (``org.COMPANY_WIDE``, the
#: dashboards' ``visible_to``): created with the app, so its dashboards install on a fresh
#: database. Admins give them to people and may retitle them.
ROLES = (
    ("sales_rep", "销售代表"),
    ("sales_manager", "销售经理/总监"),
    ("sales_vp", "销售副总裁"),
    ("finance", "财务"),
    ("hr", "人力资源"),
)


@hookimpl
def formflow_app_installed(work: Any, app: str) -> None:
    """The plugin's roles, and the shipped measures, KPI plans and incentive plans as
    records admins edit."""
    if app != APP_NAME:
        return
    from formflow.people import service as people

    from .incentives.plans import ensure_defaults as incentive_plans
    from .kpi.plans import ensure_defaults as kpi_plans

    for name, title in ROLES:
        people.ensure_role(work, name, title)
    kpi_plans(work)  # and the measures they count
    incentive_plans(work)


@hookimpl
def formflow_openapi() -> dict[str, Any]:
    from .openapi import document_part

    return document_part()
