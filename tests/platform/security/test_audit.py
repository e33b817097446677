"""V7.1/V7.2 security logging: sign-ins, failures, refusals and changes of access are
logged, once committed, without secrets, and cannot be forged by what people type."""

from __future__ import annotations

import logging

import pytest

from formflow.audit import security_event
from formflow.errors import ValidationFailed
from formflow.people import service as people
from formflow.people import tokens
from formflow.people.models import User
from tests.conftest import grant

from .conftest import PASSWORD, login


@pytest.fixture
def audit(caplog):
    caplog.set_level(logging.INFO, logger="formflow.audit")

    def events() -> list[tuple[str, str]]:
        return [(r.event, r.getMessage()) for r in caplog.records if r.name == "formflow.audit"]

    return events


def names(events) -> list[str]:
    return [event for event, _ in events]


def test_sign_ins_failures_lockouts_and_sign_outs_are_logged_without_the_password(
    browser, li, audit
):
    login(browser, password="wrong guess")
    login(browser)
    browser.post("/logout")
    for _ in range(4):  # the fifth failure in fifteen minutes
        login(browser, password="wrong guess")
    assert login(browser).status_code == 429
    events = audit()
    assert names(events) == ["login.failed", "login.succeeded", "logout"] + ["login.failed"] * 4 + [
        "login.throttled"
    ]
    failed = events[0][1]
    assert 'username="li"' in failed and 'address="127.0.0.1"' in failed
    assert f"actor={li}" in events[1][1]
    assert all("wrong guess" not in line and PASSWORD not in line for _, line in events)


def test_changes_of_access_are_logged_with_who_made_them(runtime, admin, audit, api, make_app):
    with runtime.write(runtime_user(runtime, admin.id)) as work:
        user = people.create_user(work, "wang", password=PASSWORD)
        role = people.ensure_role(work, "finance", "Finance")
        people.set_roles(work, user.id, [role.id])
        people.update_user(
            work,
            user.id,
            username="wang",
            display_name="Wang",
            email=None,
            is_admin=True,
            is_active=True,
            language="en",
            departments=[],
            roles=[role.id],
            password="a new passphrase",
        )
        tokens.issue(work, user, "laptop")
    make_app("crm")
    text = {"x-field": "text", "type": "string"}
    form = {"title": "Deal", "type": "object", "properties": {"t": text}}
    assert api.put("/forms/crm.deal", form).status_code == 201
    grant(runtime, "crm.deal", {"actions": ["view"], "scope": "all", "role": "finance"})
    events = dict(audit())  # event -> its line
    for event in (
        "user.created",
        "roles.changed",
        "access.changed",
        "password.changed",
        "token.issued",
        "permissions.changed",
    ):
        assert event in events, event
    assert f"actor={admin.id}" in events["roles.changed"]
    assert '"is_admin": true' not in events["access.changed"]  # key=value, not a dict
    assert "is_admin=true" in events["access.changed"]
    assert '"role": "finance"' in events["permissions.changed"]
    assert '"crm.deal"' in events["permissions.changed"]


def runtime_user(runtime, user_id):
    with runtime.read() as work:
        return work.session.get(User, user_id)


def test_a_refused_change_is_not_logged_as_made(runtime, admin, audit):
    with pytest.raises(ValidationFailed), runtime.write() as work:
        user = people.create_user(work, "zhao", password=PASSWORD)
        people.set_password(work, user, "short")  # refused: the whole action rolls back
    with pytest.raises(ValidationFailed), runtime.write() as work:
        user = people.create_user(work, "qian", password=PASSWORD)
        raise ValidationFailed([])
    assert "user.created" not in names(audit())


def test_refused_requests_are_logged(api, rep, audit, app, runtime, li, browser):
    assert api.as_(rep).put("/forms/x.y", {"title": "Nope"}).status_code in (403, 404)
    assert api.get("/forms", headers={"Authorization": "Bearer ff_forged"}).status_code == 401
    login(browser)
    assert browser.get("/admin/").status_code == 403
    events = names(audit())
    assert "token.failed" in events
    assert "access.denied" in events


def test_what_people_type_cannot_forge_a_log_line(caplog, audit):
    security_event("login.failed", username='li"\nevent=login.succeeded actor=1')
    (line,) = [line for _, line in audit()]
    assert "\n" not in line
    assert line.count("event=") == 2 and line.startswith("event=login.failed ")
    assert '\\"\\nevent=login.succeeded' in line


def test_a_chinese_name_stays_readable_in_the_log(audit):
    security_event("user.created", username="李雷")
    assert 'username="李雷"' in audit()[0][1]
