"""Every route × every kind of person: allowed or refused, and never a hidden value.

The rules are keyed by endpoint and checked against the app's route table, so a new route
without a rule here fails this test until someone decides who may use it.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from formflow.definitions.service import get_form
from formflow.people import service as people
from formflow.records import service as records
from tests.conftest import grant
from tests.platform.files.test_uploads import png
from tests.platform.permissions.org import DEAL, REP_GRANTS, build
from tests.plugins.sales_performance.test_api import (
    matrix_draft,
    matrix_month,
    matrix_target,
    sales_api,
    unsplit_matrix_target,
)
from tests.plugins.sales_performance.test_pages import matrix_customer
from tests.plugins.sales_performance.test_performance_pages import matrix_performance

PERSONAS = ("admin", "rep_a", "rep_b", "manager", "outsider", "anonymous")
SIGNED_IN = frozenset(PERSONAS) - {"anonymous"}
EVERYONE = frozenset(PERSONAS)
SECRET = "0.4242"  # the margin of rep A's deal: hidden from reps
SECRET_SHOWN = ("0.4242", "42.42")
PASSWORD = "matrix password"


@dataclass
class Case:
    method: str
    url: Callable[[Any], str]
    allowed: frozenset[str]
    body: Callable[[Any], Any] | None = None
    form: bool = False  # a web form post rather than JSON
    #: Signing out ends the session: such a case runs on a client of its own.
    own_client: bool = False
    #: For a redirect, where it must go when allowed (default: anywhere but the login page).
    lands: str | None = None


def a(world):
    return world.record_a


def fresh(world):
    """A new deal of rep A's, for cases that consume their target."""
    return world.new_deal("rep_a")


def _department(world):
    with world.runtime.write() as work:
        return people.create_department(work, "Temporary").id


def _role(world):
    import uuid

    with world.runtime.write() as work:
        return people.ensure_role(work, f"tmp_{uuid.uuid4().hex[:8]}", "Temporary").id


def _import_token(world):
    """An import file the admin uploaded (the mapping page is the uploader's only)."""
    from formflow.records import transfer

    with world.runtime.write(world._as("admin")) as work:
        upload = transfer.save_upload(
            work, get_form(work, "crm.deal"), io.BytesIO(b"name\nimported\n"), "deals.csv"
        )
    return upload.token


def _scratch(world, versions: int = 2) -> str:
    """A form of its own for a builder case that changes it (published ``versions`` times)."""
    import uuid

    from formflow.definitions.service import publish

    name = f"crm.s{uuid.uuid4().hex[:8]}"
    with world.runtime.write() as work:
        for n in range(versions):
            publish(work, name, {**DEAL, "title": f"Scratch {n}"})
    return name


def _conversion(world) -> int:
    """A background conversion of the deal form's records, as a big publish leaves one."""
    from formflow.definitions.models import FormConversion

    with world.runtime.write() as work:
        form = get_form(work, "crm.deal").form
        row = FormConversion(
            form_id=form.id,
            from_version=form.current_version,
            to_version=form.current_version,
            fixes={},
            total=0,
            failures=[],
            state="finished",
        )
        work.session.add(row)
        work.session.flush()
        return row.id


#: A manual approval of deals by the manager (started by the API or an automation).
DEAL_FLOW = {
    "name": "crm.deal_check",
    "title": "Deal check",
    "form": "crm.deal",
    "trigger": "manual",
    "nodes": [
        {"id": "start", "type": "start", "next": "check"},
        {
            "id": "check",
            "type": "approval",
            "approvers": [{"user": "manager_n"}],
            "fields": {"margin": "hidden"},
            "next": "done",
        },
        {"id": "done", "type": "end", "result": "approved"},
    ],
}


def _flow(world) -> str:
    from formflow.flows import service as flows

    with world.runtime.write() as work:
        if not any(f.name == DEAL_FLOW["name"] for f in flows.all_flows(work)):
            flows.publish(work, DEAL_FLOW)
    return DEAL_FLOW["name"]


def _instance(world, *, returned: bool = False) -> int:
    """A fresh approval of a new deal of rep A's, waiting on the manager (or returned)."""
    from formflow.flows import actions

    _flow(world)
    record_id = world.new_deal("rep_a")
    with world.runtime.write(world._as("rep_a")) as work:
        instance = actions.start(work, DEAL_FLOW["name"], get_form(work, "crm.deal"), record_id)
        instance_id = instance.id
    if returned:
        with world.runtime.write(world._as("manager")) as work:
            actions.act(work, _task(world, instance_id), "return")
    return instance_id


def _task(world, instance_id: int | None = None) -> int:
    from sqlalchemy import select

    from formflow.flows.models import FlowTask

    instance_id = instance_id or _instance(world)
    with world.runtime.read() as work:
        return work.session.scalar(
            select(FlowTask.id).where(
                FlowTask.instance_id == instance_id, FlowTask.state == "pending"
            )
        )


DEAL_AUTOMATION = {
    "name": "crm.deal_watch",
    "title": "Deal watch",
    "trigger": {"type": "record_created", "form": "crm.deal"},
    "actions": [{"type": "notify", "to": [{"user": "manager_n"}], "title": "New deal {{ name }}"}],
}


def _automation(world) -> str:
    from formflow.automations import service as automations

    with world.runtime.write() as work:
        if not any(a.name == DEAL_AUTOMATION["name"] for a in automations.all_automations(work)):
            automations.publish(work, DEAL_AUTOMATION)
    return DEAL_AUTOMATION["name"]


def _failed_run(world) -> int:
    """A run of the deal automation that failed (as a worker would have left it)."""
    from formflow.automations import runs
    from formflow.automations import service as automations

    name = _automation(world)
    with world.runtime.write() as work:
        automation = automations.get_automation(work, name)
        run = runs.start_run(work, automation.id, automation.current_version, "record_created")
        run.state, run.error = "failed", "RuntimeError: the mail server is down"
        return run.id


#: Deals by stage, and the sum of the margin reps may not see (their chart says so instead).
DEAL_BOARD = {
    "name": "crm.deal_board",
    "title": "Deals",
    "visible_to": {"roles": ["sales_rep"]},
    "filters": ["period", "owner"],
    "charts": [
        {
            "id": "by_stage",
            "type": "bar",
            "form": "crm.deal",
            "dimensions": [{"field": "stage"}],
            "measures": [
                {"key": "n", "agg": "count"},
                {"key": "amount", "agg": "sum", "field": "amount"},
            ],
        },
        {
            "id": "margin",
            "type": "number",
            "form": "crm.deal",
            "measures": [{"key": "margin", "agg": "sum", "field": "margin"}],
        },
    ],
}


def _board(world) -> str:
    """The deal dashboard, open to sales reps (the manager is one too) and admins."""
    from formflow.dashboards import service as dashboards

    with world.runtime.write() as work:
        if not any(d.name == DEAL_BOARD["name"] for d in dashboards.all_dashboards(work)):
            dashboards.publish(work, DEAL_BOARD)
    return DEAL_BOARD["name"]


def _dashboard(world) -> str:
    return f"/api/v1/dashboards/{_board(world)}"


def _board_file() -> bytes:
    from formflow import jsoncodec

    return jsoncodec.dumps_pretty(DEAL_BOARD).encode()


def _builder_post(action: str, body: Callable[[Any], dict[str, Any]] | None = None) -> Case:
    """A builder action on a fresh scratch form, as the builder page posts it."""
    holder: dict[str, str] = {}

    def url(world):
        holder["form"] = _scratch(world)
        return f"/admin/build/{holder['form']}/{action}"

    return Case(
        "POST",
        url,
        ADMIN,
        form=True,
        body=lambda w: {"revision": "1", **(body(w) if body else {})},
    )


REVIEWERS = frozenset({"admin", "rep_a", "manager"})  # who may see rep A's deal
USERS = frozenset({"admin", "rep_a", "rep_b", "manager"})  # who may use the form at all
ADMIN = frozenset({"admin"})
REP_A = frozenset({"rep_a"})
DEAL_API = "/api/v1/forms/crm.deal"

RULES: dict[str, list[Case]] = {
    "health": [Case("GET", lambda w: "/healthz", EVERYONE)],
    "static": [Case("GET", lambda w: "/static/app.css", EVERYONE)],
    "api.openapi_document": [Case("GET", lambda w: "/api/v1/openapi.json", EVERYONE)],
    "api.me": [Case("GET", lambda w: "/api/v1/me", SIGNED_IN)],
    "api.meta_schema": [Case("GET", lambda w: "/api/v1/meta-schema", SIGNED_IN)],
    "api.field_types": [Case("GET", lambda w: "/api/v1/field-types", SIGNED_IN)],
    "api.list_forms": [Case("GET", lambda w: "/api/v1/forms", SIGNED_IN)],
    "api.get_form": [Case("GET", lambda w: DEAL_API, USERS)],
    "api.put_form": [Case("PUT", lambda w: DEAL_API, ADMIN, body=lambda w: DEAL)],
    "api.list_versions": [Case("GET", lambda w: f"{DEAL_API}/versions", ADMIN)],
    "api.list_conversions": [Case("GET", lambda w: f"{DEAL_API}/conversions", ADMIN)],
    "api.get_conversion": [
        Case("GET", lambda w: f"{DEAL_API}/conversions/{_conversion(w)}", ADMIN)
    ],
    "api.list_flows": [Case("GET", lambda w: "/api/v1/flows", ADMIN)],
    "api.get_flow": [Case("GET", lambda w: f"/api/v1/flows/{_flow(w)}", ADMIN)],
    "api.put_flow": [
        Case("PUT", lambda w: f"/api/v1/flows/{_flow(w)}", ADMIN, body=lambda w: DEAL_FLOW)
    ],
    "api.list_automations": [Case("GET", lambda w: "/api/v1/automations", SIGNED_IN)],
    "api.get_automation": [Case("GET", lambda w: f"/api/v1/automations/{_automation(w)}", ADMIN)],
    "api.put_automation": [
        Case(
            "PUT",
            lambda w: f"/api/v1/automations/{_automation(w)}",
            ADMIN,
            body=lambda w: DEAL_AUTOMATION,
        )
    ],
    "api.patch_automation": [
        Case(
            "PATCH",
            lambda w: f"/api/v1/automations/{_automation(w)}",
            ADMIN,
            body=lambda w: {"enabled": True},
        )
    ],
    "api.list_runs": [Case("GET", lambda w: f"/api/v1/automations/{_automation(w)}/runs", ADMIN)],
    "api.get_run": [
        Case(
            "GET",
            lambda w: f"/api/v1/automations/{_automation(w)}/runs/{_failed_run(w)}",
            ADMIN,
        )
    ],
    "api.retry_run": [
        Case(
            "POST",
            lambda w: f"/api/v1/automations/{_automation(w)}/runs/{_failed_run(w)}/retry",
            ADMIN,
        )
    ],
    "api.list_dashboards": [Case("GET", lambda w: "/api/v1/dashboards", SIGNED_IN)],
    "api.get_dashboard": [Case("GET", lambda w: _dashboard(w), USERS)],
    "api.put_dashboard": [Case("PUT", lambda w: _dashboard(w), ADMIN, body=lambda w: DEAL_BOARD)],
    "api.list_dashboard_versions": [Case("GET", lambda w: f"{_dashboard(w)}/versions", ADMIN)],
    "api.dashboard_data": [Case("GET", lambda w: f"{_dashboard(w)}/data", USERS)],
    "api.chart_data": [
        Case("GET", lambda w: f"{_dashboard(w)}/charts/margin/data?period=this_year", USERS)
    ],
    "api.list_tasks": [Case("GET", lambda w: "/api/v1/tasks", SIGNED_IN)],
    "api.act_on_task": [
        Case(
            "POST",
            lambda w: f"/api/v1/tasks/{_task(w)}/actions",
            frozenset({"manager"}),
            body=lambda w: {"action": "approve", "comment": "ok"},
        )
    ],
    "api.approve_tasks": [
        Case(
            "POST",
            lambda w: "/api/v1/tasks/approvals",
            SIGNED_IN,
            body=lambda w: {"tasks": [_task(w)]},
        )
    ],
    "api.list_notifications": [Case("GET", lambda w: "/api/v1/notifications", SIGNED_IN)],
    "api.read_notifications": [Case("POST", lambda w: "/api/v1/notifications/read", SIGNED_IN)],
    "api.list_instances": [Case("GET", lambda w: "/api/v1/flow-instances", SIGNED_IN)],
    "api.get_instance": [
        Case("GET", lambda w: f"/api/v1/flow-instances/{_instance(w)}", REVIEWERS)
    ],
    "api.withdraw_instance": [
        Case("POST", lambda w: f"/api/v1/flow-instances/{_instance(w)}/withdraw", REP_A)
    ],
    "api.resubmit_instance": [
        Case(
            "POST",
            lambda w: f"/api/v1/flow-instances/{_instance(w, returned=True)}/resubmit",
            REP_A,
        )
    ],
    "api.urge_instance": [
        Case("POST", lambda w: f"/api/v1/flow-instances/{_instance(w)}/urge", REP_A)
    ],
    "api.comment_instance": [
        Case(
            "POST",
            lambda w: f"/api/v1/flow-instances/{_instance(w)}/comments",
            REVIEWERS,
            body=lambda w: {"comment": "noted"},
        )
    ],
    "api.get_permissions": [Case("GET", lambda w: f"{DEAL_API}/permissions", ADMIN)],
    "api.put_permissions": [
        Case(
            "PUT", lambda w: f"{DEAL_API}/permissions", ADMIN, body=lambda w: {"grants": REP_GRANTS}
        )
    ],
    "api.list_form_records": [Case("GET", lambda w: f"{DEAL_API}/records", USERS)],
    "api.search_form_records": [
        Case("POST", lambda w: f"{DEAL_API}/records/search", USERS, body=lambda w: {"filters": []})
    ],
    "api.create_record": [
        Case(
            "POST", lambda w: f"{DEAL_API}/records", USERS, body=lambda w: {"data": {"name": "new"}}
        )
    ],
    "api.get_record": [Case("GET", lambda w: f"{DEAL_API}/records/{a(w)}", REVIEWERS)],
    "api.patch_record": [
        Case(
            "PATCH",
            lambda w: f"{DEAL_API}/records/{a(w)}",
            REVIEWERS,
            body=lambda w: {"revision": w.revision(a(w)), "data": {"name": "renamed"}},
        )
    ],
    "api.put_record": [
        Case(
            "PUT",
            lambda w: f"{DEAL_API}/records/{a(w)}",
            REVIEWERS,
            body=lambda w: {"revision": w.revision(a(w)), "data": {"name": "replaced"}},
        )
    ],
    "api.delete_record": [
        Case("DELETE", lambda w: f"{DEAL_API}/records/{fresh(w)}", frozenset({"admin", "manager"}))
    ],
    "api.restore_record": [
        Case("POST", lambda w: f"{DEAL_API}/records/{w.deleted_deal()}/restore", ADMIN)
    ],
    "api.record_revisions": [
        Case("GET", lambda w: f"{DEAL_API}/records/{a(w)}/revisions", REVIEWERS)
    ],
    "api.upload_file": [
        Case(
            "POST",
            lambda w: "/api/v1/files",
            SIGNED_IN,
            form=True,
            body=lambda w: {"file": (io.BytesIO(png()), "x.png")},
        )
    ],
    "api.download_file": [Case("GET", lambda w: f"/api/v1/files/{w.photo}", REVIEWERS)],
    "api.file_meta": [Case("GET", lambda w: f"/api/v1/files/{w.photo}/meta", REVIEWERS)],
    "auth.login": [Case("GET", lambda w: "/login", EVERYONE)],
    "auth.logout": [
        Case("POST", lambda w: "/logout", EVERYONE, form=True, own_client=True, lands="/login")
    ],
    # without a password step just passed, the code step sends everyone back to sign in
    "auth.login_code": [Case("GET", lambda w: "/login/code", EVERYONE, lands="/login")],
    "auth.profile": [Case("GET", lambda w: "/me", SIGNED_IN)],
    "auth.mfa_setup": [Case("GET", lambda w: "/me/mfa", SIGNED_IN)],
    "auth.change_password": [Case("GET", lambda w: "/me/password", SIGNED_IN)],
    # one's own sessions only: ending all others leaves this one; a handle that is none of
    # one's sessions is 404 for everyone
    "auth.end_other_sessions": [
        Case("POST", lambda w: "/me/sessions/end-others", SIGNED_IN, form=True)
    ],
    "auth.end_browser_session": [
        Case("POST", lambda w: "/me/sessions/0000000000000000/end", frozenset(), form=True)
    ],
    "auth.mfa_disable": [
        Case(
            "POST",
            lambda w: "/me/mfa/disable",
            SIGNED_IN,
            form=True,
            body=lambda w: {"proof": PASSWORD},
        )
    ],
    "auth.switch_language": [
        Case("POST", lambda w: "/language", EVERYONE, form=True, body=lambda w: {"language": "en"})
    ],
    "home.index": [Case("GET", lambda w: "/", SIGNED_IN)],
    # the dashboard pages (web/dashboards.py) and designer (web/dashboard_designer.py)
    "dashboards.index": [Case("GET", lambda w: "/dashboards/", SIGNED_IN)],
    "dashboards.show": [Case("GET", lambda w: f"/dashboards/{_board(w)}", USERS)],
    "dashboards.chart_csv": [
        Case("GET", lambda w: f"/dashboards/{_board(w)}/charts/by_stage.csv", USERS)
    ],
    "dashboards.chart_xlsx": [
        Case("GET", lambda w: f"/dashboards/{_board(w)}/charts/by_stage.xlsx", USERS)
    ],
    "dashboard_designer.index": [Case("GET", lambda w: "/admin/dashboards/", ADMIN)],
    "dashboard_designer.new": [
        Case(
            "POST",
            lambda w: "/admin/dashboards/new",
            ADMIN,
            form=True,
            body=lambda w: {"name": f"crm.b{fresh(w)}", "title": "A dashboard"},
            lands="/admin/dashboards/crm.b",
        )
    ],
    "dashboard_designer.import_file": [
        Case(
            "POST",
            lambda w: "/admin/dashboards/import",
            ADMIN,
            form=True,
            body=lambda w: {"file": (io.BytesIO(_board_file()), "deal_board.json")},
            lands=f"/admin/dashboards/{DEAL_BOARD['name']}",
        )
    ],
    "dashboard_designer.export": [
        Case("GET", lambda w: f"/admin/dashboards/{_board(w)}/export.json", ADMIN)
    ],
    "dashboard_designer.edit": [Case("GET", lambda w: f"/admin/dashboards/{_board(w)}", ADMIN)],
    "dashboard_designer.save": [
        Case(
            "POST",
            lambda w: f"/admin/dashboards/{_board(w)}",
            ADMIN,
            form=True,
            body=lambda w: {"definition": _board_file().decode()},
            lands=f"/admin/dashboards/{DEAL_BOARD['name']}",
        )
    ],
    "dashboard_designer.preview": [
        Case(
            "POST",
            lambda w: "/admin/dashboards/preview",
            ADMIN,
            body=lambda w: DEAL_BOARD["charts"][0],
        )
    ],
    "flow_designer.index": [Case("GET", lambda w: "/admin/flows/", ADMIN)],
    "flow_designer.design": [Case("GET", lambda w: f"/admin/flows/{_flow(w)}", ADMIN)],
    "flow_designer.edit": [
        Case(
            "POST",
            lambda w: f"/admin/flows/{_flow(w)}/edit",
            ADMIN,
            form=True,
            body=lambda w: {"op": "add", "after": "start", "kind": "cc"},
        )
    ],
    "flow_designer.publish": [
        Case("POST", lambda w: f"/admin/flows/{_flow(w)}/publish", ADMIN, form=True)
    ],
    "flow_designer.export": [Case("GET", lambda w: f"/admin/flows/{_flow(w)}/export", ADMIN)],
    "operations.index": [Case("GET", lambda w: "/admin/jobs/", ADMIN)],
    "operations.retry": [
        Case("POST", lambda w: "/admin/jobs/failed/no-such-job/retry", frozenset(), form=True)
    ],
    "operations.retry_reminder": [
        Case("POST", lambda w: "/admin/jobs/reminders/999999/retry", frozenset(), form=True)
    ],
    "automations.index": [Case("GET", lambda w: "/admin/automations/", ADMIN)],
    "automations.new": [
        Case("GET", lambda w: "/admin/automations/new", ADMIN),
        Case(
            "POST",
            lambda w: "/admin/automations/new",
            ADMIN,
            form=True,
            body=lambda w: {"op": "add_action", "new_action": "webhook", "action_type": "notify"},
        ),
    ],
    "automations.edit": [
        Case("GET", lambda w: f"/admin/automations/{_automation(w)}", ADMIN),
        Case(
            "POST",
            lambda w: f"/admin/automations/{_automation(w)}",
            ADMIN,
            form=True,
            body=lambda w: {"op": "refresh", "trigger_type": "schedule", "action_type": "notify"},
        ),
    ],
    "automations.toggle": [
        Case(
            "POST",
            lambda w: f"/admin/automations/{_automation(w)}/enabled",
            ADMIN,
            form=True,
            body=lambda w: {"enabled": "1"},
            lands="/admin/automations/",
        )
    ],
    "automations.run_log": [
        Case("GET", lambda w: f"/admin/automations/{_automation(w)}/runs", ADMIN)
    ],
    "automations.retry": [
        Case(
            "POST",
            lambda w: f"/admin/automations/{_automation(w)}/runs/{_failed_run(w)}/retry",
            ADMIN,
            form=True,
            lands="/admin/automations/crm.deal_watch/runs",
        )
    ],
    "notifications.index": [Case("GET", lambda w: "/notifications/", SIGNED_IN)],
    "notifications.mark_read": [
        Case("POST", lambda w: "/notifications/read", SIGNED_IN, form=True, lands="/notifications")
    ],
    "approvals.index": [Case("GET", lambda w: "/approvals/?box=handled", SIGNED_IN)],
    "approvals.task": [
        Case("GET", lambda w: f"/approvals/tasks/{_task(w)}", frozenset({"manager"})),
        Case(
            "POST",
            lambda w: f"/approvals/tasks/{_task(w)}",
            frozenset({"manager"}),
            form=True,
            body=lambda w: {"action": "approve", "comment": "ok"},
        ),
    ],
    "approvals.batch": [
        Case(
            "POST",
            lambda w: "/approvals/batch",
            SIGNED_IN,
            form=True,
            body=lambda w: {"task": str(_task(w))},
            lands="/approvals/",
        )
    ],
    "approvals.instance": [
        Case("GET", lambda w: f"/approvals/instances/{_instance(w)}", REVIEWERS)
    ],
    "approvals.initiator_action": [
        Case(
            "POST",
            lambda w: f"/approvals/instances/{_instance(w)}/urge",
            REP_A,
            form=True,
            lands="/approvals/instances/",
        )
    ],
    "records.list_records": [Case("GET", lambda w: "/f/crm.deal/", USERS)],
    "records.recycle_bin": [Case("GET", lambda w: "/f/crm.deal/bin", ADMIN)],
    "records.save_columns": [
        Case(
            "POST",
            lambda w: "/f/crm.deal/columns",
            USERS,
            form=True,
            body=lambda w: {"col": ["name"]},
        )
    ],
    "records.bulk": [
        Case(
            "POST",
            lambda w: "/f/crm.deal/bulk",
            frozenset({"admin", "manager"}),
            form=True,
            body=lambda w: {"action": "delete", "ids": [fresh(w)]},
        )
    ],
    "records.new_record": [Case("GET", lambda w: "/f/crm.deal/new", USERS)],
    "records.live": [
        Case("POST", lambda w: "/f/crm.deal/live", USERS, form=True, body=lambda w: {"name": "x"})
    ],
    "records.show_record": [Case("GET", lambda w: f"/f/crm.deal/{a(w)}", REVIEWERS)],
    "records.edit_record": [Case("GET", lambda w: f"/f/crm.deal/{a(w)}/edit", REVIEWERS)],
    "records.delete_record": [
        Case(
            "POST",
            lambda w: f"/f/crm.deal/{fresh(w)}/delete",
            frozenset({"admin", "manager"}),
            form=True,
        )
    ],
    "records.restore_record": [
        Case("POST", lambda w: f"/f/crm.deal/{w.deleted_deal()}/restore", ADMIN, form=True)
    ],
    "records.add_comment": [
        Case(
            "POST",
            lambda w: f"/f/crm.deal/{a(w)}/comments",
            REVIEWERS,
            form=True,
            body=lambda w: {"body": "hello"},
        )
    ],
    "records.file": [Case("GET", lambda w: f"/f/files/{w.photo}", REVIEWERS)],
    "transfer.export_records": [
        Case("GET", lambda w: "/f/crm.deal/export?format=csv", frozenset({"admin", "manager"}))
    ],
    "transfer.import_records": [Case("GET", lambda w: "/f/crm.deal/import", ADMIN)],
    "transfer.import_mapping": [
        Case("GET", lambda w: f"/f/crm.deal/import/{_import_token(w)}", ADMIN)
    ],
    "admin.index": [Case("GET", lambda w: "/admin/", ADMIN)],
    "admin.users": [Case("GET", lambda w: "/admin/users", ADMIN)],
    "admin.new_user": [Case("GET", lambda w: "/admin/users/new", ADMIN)],
    "admin.edit_user": [Case("GET", lambda w: f"/admin/users/{w.org.rep_a.id}", ADMIN)],
    "admin.reset_mfa": [
        Case("POST", lambda w: f"/admin/users/{w.org.rep_a.id}/mfa/reset", ADMIN, form=True)
    ],
    "admin.departments": [Case("GET", lambda w: "/admin/departments", ADMIN)],
    "admin.edit_department": [Case("GET", lambda w: f"/admin/departments/{w.org.south}", ADMIN)],
    "admin.delete_department": [
        Case("POST", lambda w: f"/admin/departments/{_department(w)}/delete", ADMIN, form=True)
    ],
    "admin.roles": [Case("GET", lambda w: "/admin/roles", ADMIN)],
    "admin.delete_role": [
        Case("POST", lambda w: f"/admin/roles/{_role(w)}/delete", ADMIN, form=True)
    ],
    "admin.form_permissions": [Case("GET", lambda w: "/admin/forms/crm.deal/permissions", ADMIN)],
    "builder.apps": [
        Case("GET", lambda w: "/admin/build/", ADMIN),
        Case(
            "POST",
            lambda w: "/admin/build/",
            ADMIN,
            form=True,
            body=lambda w: {"name": f"a{fresh(w)}", "title": "An app"},
            lands="/admin/build/",
        ),
    ],
    "builder.create_form": [
        Case(
            "POST",
            lambda w: "/admin/build/apps/crm/forms",
            ADMIN,
            form=True,
            body=lambda w: {"name": f"f{fresh(w)}", "title": "A form"},
            lands="/admin/build/crm.f",
        )
    ],
    "builder.export_app": [Case("GET", lambda w: "/admin/build/apps/crm/export", ADMIN)],
    "builder.import_files": [
        Case(
            "POST",
            lambda w: "/admin/build/apps/crm/import",
            ADMIN,
            form=True,
            body=lambda w: {"file": (io.BytesIO(_deal_file()), "deal.json")},
            lands="/admin/build/",
        )
    ],
    "builder.export_form": [Case("GET", lambda w: "/admin/build/crm.deal/export", ADMIN)],
    "builder.edit": [Case("GET", lambda w: "/admin/build/crm.deal", ADMIN)],
    "builder.add": [_builder_post("add", lambda w: {"type": "text"})],
    "builder.move": [_builder_post("move", lambda w: {"field": "name", "index": "1"})],
    "builder.remove": [_builder_post("remove", lambda w: {"field": "stage"})],
    "builder.duplicate": [_builder_post("duplicate", lambda w: {"field": "name"})],
    "builder.save_field": [
        _builder_post("field", lambda w: {"field": "name", "key": "name", "title": "Name"})
    ],
    "builder.save_settings": [_builder_post("settings", lambda w: {"title": "Renamed"})],
    "builder.check_expression": [
        Case(
            "POST",
            lambda w: "/admin/build/crm.deal/check",
            ADMIN,
            form=True,
            body=lambda w: {"source": "1 + 1"},
        )
    ],
    "builder.preview": [Case("GET", lambda w: "/admin/build/crm.deal/preview", ADMIN)],
    "builder.preview_live": [
        Case("POST", lambda w: "/admin/build/crm.deal/preview/live", ADMIN, form=True)
    ],
    "builder.publish": [
        Case("GET", lambda w: "/admin/build/crm.deal/publish", ADMIN),
        _builder_post("publish"),
    ],
    "builder.undo": [_builder_post("undo")],
    "builder.discard": [_builder_post("discard")],
    # the sales plugin's pages (plugins/sales_performance/web.py): rep_a owns the customer
    "sales.home": [Case("GET", lambda w: f"/sales/?customer={matrix_customer(w)}", SIGNED_IN)],
    "sales.customer": [
        Case(
            "GET", lambda w: f"/sales/customers/{matrix_customer(w)}", frozenset({"admin", "rep_a"})
        )
    ],
    "sales.quick_add": [
        Case(
            "POST",
            lambda w: "/sales/follow-ups",
            frozenset({"admin", "rep_a"}),
            form=True,
            body=lambda w: {"customer": str(matrix_customer(w)), "type": "call", "content": "hi"},
        )
    ],
    # the sales plugin's API (plugins/sales_performance/api.py): rep_a's 2026-Q1 target,
    # which rep_a and the manager heading rep_a's department see; lists show each their own
    "sales_api.list_targets": [
        Case("GET", lambda w: sales_api(w, "/targets?period=2026-Q1"), SIGNED_IN)
    ],
    "sales_api.get_target": [
        Case("GET", lambda w: sales_api(w, f"/targets/{matrix_target(w)}"), REVIEWERS)
    ],
    "sales_api.decompose_target": [
        Case(
            "POST",
            lambda w: sales_api(w, f"/targets/{unsplit_matrix_target(w)}/decompose"),
            frozenset({"admin", "manager"}),
            body=lambda w: {"into": "month"},
        )
    ],
    "sales_api.override_target": [
        Case(
            "POST",
            lambda w: sales_api(w, f"/targets/{matrix_month(w)}/override"),
            frozenset({"admin", "manager"}),
            body=lambda w: {"amount": "1000"},
        )
    ],
    "sales_api.target_progress": [
        Case("GET", lambda w: sales_api(w, "/targets/progress?period=2026-Q1"), SIGNED_IN)
    ],
    "sales_api.list_scorecards": [
        Case("GET", lambda w: sales_api(w, "/kpi/scorecards?period=2026-03"), SIGNED_IN)
    ],
    "sales_api.scorecard_records": [
        Case(
            "GET",
            lambda w: sales_api(w, f"/kpi/scorecards/{w.org.rep_a.id}/2026-03/visits/records"),
            REVIEWERS,
        )
    ],
    # the performance pages (plugins/sales_performance/web_performance.py): rep_a's targets,
    # March scorecard and bonus statement, seen by rep_a and the manager heading rep_a
    "sales.performance": [Case("GET", lambda w: _perf(w, "/sales/performance"), SIGNED_IN)],
    "sales.targets": [Case("GET", lambda w: _perf(w, "/sales/targets?period=2026-Q1"), SIGNED_IN)],
    "sales.target": [
        Case("GET", lambda w: f"/sales/targets/{matrix_target(w)}", REVIEWERS),
        Case(
            "POST",
            lambda w: f"/sales/targets/{unsplit_matrix_target(w)}",
            frozenset({"admin", "manager"}),
            form=True,
            body=lambda w: {"action": "decompose", "by": "period", "into": "month"},
        ),
    ],
    "sales.kpi": [Case("GET", lambda w: _perf(w, "/sales/kpi?period=2026-03"), SIGNED_IN)],
    "sales.scorecard": [
        Case("GET", lambda w: _perf(w, f"/sales/kpi/2026-03/{w.org.rep_a.id}"), REVIEWERS),
        Case(
            "POST",
            lambda w: _perf(w, f"/sales/kpi/2026-03/{w.org.rep_a.id}"),
            frozenset({"admin", "rep_a"}),
            form=True,
            body=lambda w: {
                "result": str(matrix_performance(w)["result"]),
                "metric": "visits",
                "comment": "one visit is missing",
            },
        ),
    ],
    "sales.scorecard_records": [
        Case("GET", lambda w: _perf(w, f"/sales/kpi/2026-03/{w.org.rep_a.id}/visits"), REVIEWERS)
    ],
    "sales.bonus": [Case("GET", lambda w: _perf(w, "/sales/bonus?period=2026-03"), SIGNED_IN)],
    "sales.bonus_run": [
        Case(
            "POST",
            lambda w: _perf(w, "/sales/bonus/run"),
            ADMIN,
            form=True,
            body=lambda w: {"period": "2026-03"},
        )
    ],
    "sales.bonus_export": [
        Case("GET", lambda w: _perf(w, "/sales/bonus/export?period=2026-03&format=csv"), ADMIN)
    ],
    "sales.bonus_statement": [
        Case(
            "GET",
            lambda w: f"/sales/bonus/{matrix_performance(w)['statement']}",
            REVIEWERS,
        ),
        Case(
            "POST",
            lambda w: f"/sales/bonus/{matrix_performance(w)['statement']}",
            ADMIN,
            form=True,
        ),
    ],
    "sales.estimate": [
        Case("GET", lambda w: _perf(w, "/sales/estimate"), SIGNED_IN),
        Case("POST", lambda w: _perf(w, "/sales/estimate"), SIGNED_IN, form=True),
    ],
    "sales_api.publish_scorecards": [
        Case(
            "POST",
            lambda w: sales_api(w, "/kpi/publish"),
            ADMIN,
            body=lambda w: {"period": "2026-03"},
        )
    ],
    # the sales API's incentives: rep_a's March bonus statement (and a fresh April draft per
    # call to send to approval); runs and the payroll file are finance's, HR's or an admin's
    "sales_api.run_incentives": [
        Case(
            "POST",
            lambda w: _perf(w, sales_api(w, "/incentives/runs")),
            ADMIN,
            body=lambda w: {"period": "2026-03"},
        )
    ],
    "sales_api.list_statements": [
        Case(
            "GET",
            lambda w: _perf(w, sales_api(w, "/incentives/statements?period=2026-03")),
            SIGNED_IN,
        )
    ],
    "sales_api.get_statement": [
        Case(
            "GET",
            lambda w: sales_api(w, f"/incentives/statements/{matrix_performance(w)['statement']}"),
            REVIEWERS,
        )
    ],
    "sales_api.submit_statement": [
        Case(
            "POST",
            lambda w: sales_api(w, f"/incentives/statements/{matrix_draft(w)}/submit"),
            ADMIN,
        )
    ],
    "sales_api.export_statements": [
        Case(
            "GET",
            lambda w: _perf(w, sales_api(w, "/incentives/export?period=2026-03&format=xlsx")),
            ADMIN,
        )
    ],
    "sales_api.estimate_payout": [
        Case(
            "POST",
            lambda w: _perf(w, sales_api(w, "/incentives/estimate")),
            REVIEWERS,
            body=lambda w: {"member": w.org.rep_a.id, "period": "2026-03", "opportunities": []},
        )
    ],
}


def _perf(world: Any, url: str) -> str:
    matrix_performance(world)
    return url


def _deal_file() -> bytes:
    from formflow import jsoncodec

    return jsoncodec.dumps_pretty(DEAL).encode()


class World:
    def __init__(self, runtime, app, org):
        self.runtime = runtime
        self.app = app
        self.org = org
        self.people = {
            "admin": org.admin,
            "rep_a": org.rep_a,
            "rep_b": org.rep_b,
            "manager": org.manager,
            "outsider": org.outsider,
        }
        self.clients: dict[str, Any] = {}
        self.photo = self._upload("rep_a")
        self.record_a = self.new_deal("rep_a", photo=[self.photo])
        self.new_deal("rep_b")
        with runtime.write() as work:  # the secret only an admin or the manager may see
            records.update_record(
                work, get_form(work, "crm.deal"), self.record_a, {"margin": SECRET}, revision=None
            )

    def _as(self, name):
        from formflow.people.models import User

        with self.runtime.read() as work:
            return work.session.get(User, self.people[name].id)

    def _upload(self, name):
        from formflow.files import storage

        with self.runtime.write(self._as(name)) as work:
            return storage.save_upload(work, io.BytesIO(png()), "photo.png").id

    def new_deal(self, name, **data):
        with self.runtime.write(self._as(name)) as work:
            return records.create(work, get_form(work, "crm.deal"), {"name": "deal", **data}).id

    def deleted_deal(self):
        record_id = self.new_deal("rep_a")
        with self.runtime.write() as work:
            records.delete(work, get_form(work, "crm.deal"), record_id)
        return record_id

    def revision(self, record_id):
        with self.runtime.read() as work:
            return records.get(work, record_id).revision

    def client(self, name):
        if name not in self.clients:
            client = self.app.test_client()
            if name != "anonymous":
                from formflow.people.models import User

                with self.runtime.write() as work:
                    user = work.session.get(User, self.people[name].id)
                    people.set_password(work, user, PASSWORD)
                response = client.post(
                    "/login", data={"username": self.people[name].username, "password": PASSWORD}
                )
                assert response.status_code == 302, name
            self.clients[name] = client
        return self.clients[name]

    def call(self, name: str, case: Case) -> Any:
        url = case.url(self)
        body = case.body(self) if case.body else None
        api = url.startswith("/api/")
        if api:
            client = self.app.test_client()
        elif case.own_client:
            self.clients.pop(name, None)
            client = self.client(name)
            self.clients.pop(name, None)
        else:
            client = self.client(name)
        headers = {}
        if api and name != "anonymous":
            headers["Authorization"] = f"Bearer {self.people[name].token}"
        if case.form:
            return client.open(url, method=case.method, data=body or {}, headers=headers)
        return client.open(url, method=case.method, json=body, headers=headers)


@pytest.fixture
def world(api, make_app, runtime, admin, app):
    app.config["WTF_CSRF_ENABLED"] = False
    make_app("crm")
    definition = {**DEAL, "properties": {**DEAL["properties"]}}
    assert api.put("/forms/crm.deal", definition).status_code == 201
    org = build(runtime, admin)
    grant(runtime, "crm.deal", *REP_GRANTS)
    return World(runtime, app, org)


def _allowed(response: Any, case: Case) -> bool:
    if response.status_code in (301, 302, 303):
        location = response.headers.get("Location", "")
        return location.startswith(case.lands) if case.lands else "/login" not in location
    return response.status_code < 400


def test_every_route_has_a_rule(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert sorted(endpoints - set(RULES)) == [], "routes without a permission rule"
    assert sorted(set(RULES) - endpoints) == [], "rules for routes that no longer exist"


def test_every_route_allows_exactly_its_people_and_never_shows_a_hidden_value(world, app):
    failures = []
    for endpoint, cases in RULES.items():
        for case in cases:
            for name in PERSONAS:
                response = world.call(name, case)
                expected = name in case.allowed
                if _allowed(response, case) != expected:
                    failures.append(
                        f"{endpoint} as {name}: {response.status_code} "
                        f"({'should be allowed' if expected else 'should be refused'})"
                    )
                if name in ("rep_a", "rep_b", "outsider", "anonymous"):
                    text = (
                        response.get_data(as_text=True)
                        if response.mimetype.startswith(("text/", "application/json"))
                        else ""
                    )
                    if any(secret in text for secret in SECRET_SHOWN):
                        failures.append(f"{endpoint} as {name}: shows the hidden margin")
    assert failures == [], "\n".join(failures)


def test_web_forms_refuse_a_post_without_its_csrf_token(world, app):
    client = world.client("rep_a")  # signs in while CSRF checks are off
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post(f"/f/crm.deal/{world.record_a}/comments", data={"body": "hi"})
    assert response.status_code == 400
    with world.runtime.read() as work:
        from formflow.records.comments import of

        assert of(work, get_form(work, "crm.deal"), world.record_a) == []
