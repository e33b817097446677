"""The admin pages, driven as an admin's browser drives them: users, departments, roles and
each form's permission editor. Refused changes show their errors and save nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest

from formflow.definitions.service import ensure_app, get_form, publish
from formflow.people import service as people
from formflow.permissions.service import grants_of
from tests.conftest import grant, snapshot

PASSWORD = "s3cret-passphrase"
DEAL = {
    "title": "Deal",
    "type": "object",
    "properties": {
        "name": {"x-field": "text", "type": "string", "title": "Name"},
        "amount": {"x-field": "money", "type": "number", "title": "Amount"},
        "stage": {"x-field": "select", "type": "string", "enum": ["open", "won", "lost"]},
    },
}


@pytest.fixture
def app(app: Any) -> Any:
    app.config["WTF_CSRF_ENABLED"] = False  # one test below turns it back on
    return app


def sign_in(app: Any, runtime: Any, username: str, *, admin: bool) -> Any:
    """A browser signed in as a new user (in English: the engine's own error wording)."""
    with runtime.write() as work:
        people.create_user(work, username, password=PASSWORD, is_admin=admin, language="en")
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture
def browser(app: Any, runtime: Any) -> Any:
    """A signed-in admin's browser."""
    return sign_in(app, runtime, "boss", admin=True)


@pytest.fixture
def deal(runtime: Any) -> str:
    with runtime.write() as work:
        ensure_app(work, "crm", "CRM")
        publish(work, "crm.deal", DEAL)
    return "crm.deal"


def page(response: Any) -> str:
    return response.get_data(as_text=True)


def card(html: str, index: int) -> str:
    """The HTML of one permission card (``data-grant`` section) of the editor."""
    sections = re.findall(r"<section class=\"card stack\" data-grant.*?</section>", html, re.S)
    return sections[index]


def user_id(runtime: Any, username: str) -> int:
    with runtime.read() as work:
        return people.get_user(work, username).id


# -- access ----------------------------------------------------------------------------------------


def test_admin_pages_are_for_admins_only(app, runtime, deal):
    with runtime.write() as work:
        department = people.create_department(work, "Sales")
        role = people.ensure_role(work, "rep", "Rep")
    rep = sign_in(app, runtime, "rep", admin=False)
    rep_id = user_id(runtime, "rep")
    pages = [
        "/admin/",
        "/admin/users",
        "/admin/users/new",
        f"/admin/users/{rep_id}",
        "/admin/departments",
        f"/admin/departments/{department.id}",
        "/admin/roles",
        f"/admin/forms/{deal}/permissions",
    ]
    posts = [
        *pages[2:],
        f"/admin/departments/{department.id}/delete",
        f"/admin/roles/{role.id}/delete",
    ]
    before = snapshot(runtime)
    for url in pages:
        assert rep.get(url).status_code == 403, url
    for url in posts:
        assert rep.post(url, data={"name": "x", "username": "x"}).status_code == 403, url
    assert snapshot(runtime) == before
    anonymous = app.test_client().get("/admin/users")
    assert anonymous.status_code == 302 and "/login" in anonymous.location
    assert "/admin/" not in page(rep.get("/"))  # no Admin link for a rep


def test_a_post_without_the_csrf_token_is_refused(app, runtime, browser):
    app.config["WTF_CSRF_ENABLED"] = True
    before = snapshot(runtime)
    refused = browser.post("/admin/roles", data={"name": "finance", "title": "Finance"})
    assert refused.status_code == 400
    assert snapshot(runtime) == before
    token = re.search(r'name="csrf_token" value="([^"]+)"', page(browser.get("/admin/roles")))
    created = browser.post(
        "/admin/roles", data={"name": "finance", "title": "Finance", "csrf_token": token[1]}
    )
    assert created.status_code == 302
    with runtime.read() as work:
        assert [r.name for r in people.all_roles(work)] == ["finance"]


def test_the_overview_lists_every_form_with_its_permission_page(browser, deal):
    html = page(browser.get("/admin/"))
    assert "/admin/forms/crm.deal/permissions" in html
    assert "/admin/users" in html and "/admin/departments" in html and "/admin/roles" in html
    assert 'href="/admin/"' in page(browser.get("/"))  # the Admin link in the top bar


# -- users -----------------------------------------------------------------------------------------


def test_create_a_user_with_departments_and_roles_who_can_then_sign_in(app, runtime, browser):
    with runtime.write() as work:
        north = people.create_department(work, "North").id
        south = people.create_department(work, "South").id
        rep = people.ensure_role(work, "sales_rep", "Sales rep").id
        manager = people.ensure_role(work, "sales_manager", "Sales manager").id
    form = browser.get("/admin/users/new")
    assert form.status_code == 200
    assert 'for="username"' in page(form) and 'id="username"' in page(form)
    response = browser.post(
        "/admin/users/new",
        data={
            "username": "li.lei",
            "display_name": "Li Lei",
            "email": "li@example.com",
            "password": "a-long-password",
            "language": "en",
            "primary_department": str(south),
            "departments": [str(north), str(south)],
            "roles": [str(rep), str(manager)],
        },
    )
    assert response.status_code == 302, page(response)
    assert response.location.endswith("/admin/users")
    with runtime.read() as work:
        user = people.get_user(work, "li.lei")
        assert (user.display_name, user.email, user.language) == ("Li Lei", "li@example.com", "en")
        assert not user.is_admin and user.is_active
        assert people.user_departments(work, user.id) == [south, north]  # primary first
        assert sorted(people.roles_of(work, user.id)) == sorted([rep, manager])
    listing = page(browser.get("/admin/users?q=li@EXAMPLE"))
    assert "li.lei" in listing and "South" in listing and "Sales manager" in listing
    boss = f'/admin/users/{user_id(runtime, "boss")}"'
    assert boss in page(browser.get("/admin/users"))
    assert boss not in page(browser.get("/admin/users?q=li"))
    signed_in = app.test_client()
    login = signed_in.post("/login", data={"username": "li.lei", "password": "a-long-password"})
    assert login.status_code == 302
    # the admin chose the password: li.lei chooses their own before anything else
    assert signed_in.get("/").location.startswith("/me/password")


def test_a_refused_user_keeps_the_input_and_saves_nothing(runtime, browser):
    with runtime.write() as work:
        north = people.create_department(work, "North").id
    before = snapshot(runtime)
    typed = {
        "username": "x",
        "display_name": "Han Meimei",
        "email": "not-an-email",
        "password": "short",
        "primary_department": str(north),
    }
    refused = browser.post("/admin/users/new", data=typed)
    assert refused.status_code == 422
    html = page(refused)
    assert 'value="Han Meimei"' in html and 'value="not-an-email"' in html and 'value="x"' in html
    assert f'<option value="{north}" selected>' in html
    for field in ("username", "email", "password"):
        assert f'id="err-{field}"' in html, field
        assert f'aria-describedby="err-{field}"' in html, field
    assert "Nothing was saved" in html
    # every rule but one passes: the missing department still rolls the user back
    forged = browser.post(
        "/admin/users/new",
        data={**typed, "username": "han", "email": "", "password": PASSWORD, "departments": "9999"},
    )
    assert forged.status_code == 422
    assert 'id="err-departments"' in page(forged)
    taken = browser.post(
        "/admin/users/new", data={"username": "boss", "password": PASSWORD, "display_name": "B2"}
    )
    assert taken.status_code == 409 and "is taken" in page(taken)
    assert snapshot(runtime) == before


def test_edit_a_user_password_and_activity_but_never_lock_yourself_out(app, runtime, browser):
    with runtime.write() as work:
        user = people.create_user(work, "wang", password=PASSWORD)
        uid = user.id
    form = page(browser.get(f"/admin/users/{uid}"))
    assert 'value="wang"' in form and 'name="is_active" value="1" checked' in form
    deactivated = browser.post(
        f"/admin/users/{uid}",
        data={"username": "wang", "display_name": "Wang", "password": "brand-new-pass"},
    )
    assert deactivated.status_code == 302, page(deactivated)
    login = {"username": "wang", "password": "brand-new-pass"}
    assert app.test_client().post("/login", data=login).status_code == 401
    reactivated = browser.post(
        f"/admin/users/{uid}", data={"username": "wang", "display_name": "Wang", "is_active": "1"}
    )
    assert reactivated.status_code == 302
    assert app.test_client().post("/login", data=login).status_code == 302
    # the admin cannot drop their own rights or deactivate themselves
    me = user_id(runtime, "boss")
    before = snapshot(runtime)
    refused = browser.post(f"/admin/users/{me}", data={"username": "boss", "display_name": "Z"})
    assert refused.status_code == 422
    html = page(refused)
    assert 'id="err-is_admin"' in html and 'id="err-is_active"' in html
    assert 'value="Z"' in html
    assert snapshot(runtime) == before
    # changing one's own password keeps one signed in
    mine = browser.post(
        f"/admin/users/{me}",
        data={"username": "boss", "is_admin": "1", "is_active": "1", "password": "another-pass"},
    )
    assert mine.status_code == 302
    assert browser.get("/admin/users").status_code == 200


# -- departments -----------------------------------------------------------------------------------


def test_department_tree_create_edit_and_refusals(runtime, browser):
    with runtime.write() as work:
        head = people.create_user(work, "zhao", display_name="Zhao Head").id
    assert browser.post("/admin/departments", data={"name": "Company"}).status_code == 302
    with runtime.read() as work:
        company = people.department_tree(work)[None][0].id
    created = browser.post(
        "/admin/departments", data={"name": "Sales", "parent": str(company), "head": str(head)}
    )
    assert created.status_code == 302
    with runtime.write() as work:
        sales = people.department_tree(work)[company][0].id
        people.set_memberships(work, head, [sales])
    tree = page(browser.get("/admin/departments")).split('<main id="main"', 1)[1]
    assert tree.index("Company") < tree.index("Sales")
    assert "padding-left:1.5rem" in tree and "Zhao Head" in tree
    assert re.search(r"Members\">1<", tree)

    before = snapshot(runtime)
    blank = browser.post("/admin/departments", data={"name": "  ", "parent": str(company)})
    assert blank.status_code == 422 and 'id="err-name"' in page(blank)
    assert f'<option value="{company}" selected>' in page(blank)  # keeps the chosen parent
    cycle = browser.post(
        f"/admin/departments/{company}", data={"name": "Company", "parent": str(sales)}
    )
    assert cycle.status_code == 422
    assert "cannot sit under itself or its children" in page(cycle)
    has_children = browser.post(f"/admin/departments/{company}/delete")
    assert has_children.status_code == 409
    assert "move or delete its sub-departments first" in page(has_children)
    has_members = browser.post(f"/admin/departments/{sales}/delete")
    assert has_members.status_code == 409
    assert "move its members to another department first" in page(has_members)
    assert snapshot(runtime) == before

    renamed = browser.post(
        f"/admin/departments/{sales}", data={"name": "Sales East", "parent": "", "head": ""}
    )
    assert renamed.status_code == 302
    with runtime.write() as work:
        people.set_memberships(work, head, [])
    assert browser.post(f"/admin/departments/{sales}/delete").status_code == 302
    assert browser.post(f"/admin/departments/{company}/delete").status_code == 302
    with runtime.read() as work:
        assert people.department_tree(work) == {}
    assert browser.post("/admin/departments/999/delete").status_code == 404


# -- roles -----------------------------------------------------------------------------------------


def test_roles_create_and_delete_with_their_grants(runtime, browser, deal):
    created = browser.post("/admin/roles", data={"name": "sales_rep", "title": "Sales rep"})
    assert created.status_code == 302
    before = snapshot(runtime)
    taken = browser.post("/admin/roles", data={"name": "sales_rep", "title": "Again"})
    assert taken.status_code == 409 and "is taken" in page(taken)
    assert 'value="Again"' in page(taken)
    bad = browser.post("/admin/roles", data={"name": "Sales Rep!", "title": "x" * 121})
    assert bad.status_code == 422
    assert 'id="err-name"' in page(bad) and 'id="err-title"' in page(bad)
    assert snapshot(runtime) == before

    grant(runtime, deal, {"role": "sales_rep", "actions": ["view"], "scope": "own"})
    with runtime.write() as work:
        role = people.all_roles(work)[0].id
        people.set_roles(work, user_id(runtime, "boss"), [role])
    listing = page(browser.get("/admin/roles"))
    assert re.search(r'Members">1<', listing) and re.search(r'Form permissions">1<', listing)
    assert browser.post(f"/admin/roles/{role}/delete").status_code == 302
    with runtime.read() as work:
        assert people.all_roles(work) == []
        assert people.roles_of(work, user_id(runtime, "boss")) == []
        assert grants_of(work, get_form(work, deal)) == []
    assert browser.post(f"/admin/roles/{role}/delete").status_code == 404


# -- form permissions ------------------------------------------------------------------------------


def test_the_permission_editor_round_trip(runtime, browser, deal):
    with runtime.write() as work:
        people.ensure_role(work, "sales_rep", "Sales rep")
    empty = page(browser.get(f"/admin/forms/{deal}/permissions"))
    assert "No permission groups" in empty
    assert 'id="grant-template"' in empty
    saved = browser.post(
        f"/admin/forms/{deal}/permissions",
        data={
            # cards as the page's script numbers them: gaps where a card was removed
            "grant": ["0", "3"],
            "g-0-name": "Reps: own open deals",
            "g-0-role": "sales_rep",
            "g-0-actions": ["view", "create", "edit"],
            "g-0-scope": "own",
            "g-0-cf": ["stage", "amount", ""],
            "g-0-co": ["eq", "between", "eq"],
            "g-0-cv": ["open", "0,5000", ""],  # the last row is the blank one
            "g-0-field-name": "edit",  # the default: stays unlisted
            "g-0-field-amount": "read",
            "g-0-field-stage": "hidden",
            "g-3-role": "",
            "g-3-actions": ["view"],
            "g-3-scope": "all",
            "g-3-cf": ["name"],
            "g-3-co": ["is_empty"],
            "g-3-cv": [""],
            "g-3-field-name": "read",
            "g-3-field-amount": "hidden",
            "g-3-field-stage": "read",
        },
    )
    assert saved.status_code == 302, page(saved)
    expected = [
        {
            "name": "Reps: own open deals",
            "role": "sales_rep",
            "actions": ["view", "create", "edit"],
            "scope": "own",
            "conditions": [
                {"field": "stage", "op": "eq", "value": "open"},
                {"field": "amount", "op": "between", "value": "0,5000"},
            ],
            "fields": {"amount": "read", "stage": "hidden"},
        },
        {
            "name": "",
            "role": None,
            "actions": ["view"],
            "scope": "all",
            "conditions": [{"field": "name", "op": "is_empty", "value": "true"}],
            "fields": {"amount": "hidden"},
        },
    ]
    with runtime.read() as work:
        assert grants_of(work, get_form(work, deal)) == expected
    html = page(browser.get(f"/admin/forms/{deal}/permissions"))
    first, second = card(html, 0), card(html, 1)
    assert '<option value="sales_rep" selected>' in first
    assert 'name="g-0-actions" value="edit" data-action checked' in first
    assert 'value="0,5000"' in first
    assert 'name="g-0-field-stage" value="hidden" checked' in first
    assert "data-field-access data-follows" in first  # "name" follows the actions
    assert '<option value="all" selected>' in second
    assert 'name="g-1-field-amount" value="hidden" checked' in second
    # saving the page unchanged keeps the grants as they are
    assert browser.post(f"/admin/forms/{deal}/permissions", data=_resubmit(html)).status_code == 302
    with runtime.read() as work:
        assert grants_of(work, get_form(work, deal)) == expected
    # removing every card removes every grant
    assert browser.post(f"/admin/forms/{deal}/permissions", data={}).status_code == 302
    with runtime.read() as work:
        assert grants_of(work, get_form(work, deal)) == []
    assert browser.get("/admin/forms/crm.nope/permissions").status_code == 404


def _resubmit(html: str) -> dict[str, list[str]]:
    """What a browser posts for the page's form as rendered (outside the card template)."""
    html = re.sub(r"<template.*?</template>", "", html, flags=re.S)
    html = html[html.index('id="permissions"') :]
    data: dict[str, list[str]] = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        kind = re.search(r'type="([^"]+)"', tag)
        if not name or name[1] == "csrf_token":
            continue
        if kind and kind[1] in ("checkbox", "radio") and " checked" not in tag:
            continue
        data.setdefault(name[1], []).append(value[1] if value else "")
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', body)
        first = re.search(r'<option value="([^"]*)"', body)
        data.setdefault(name, []).append((chosen or first)[1])
    return data


def test_permission_errors_show_on_their_card_and_save_nothing(runtime, browser, deal):
    grant(runtime, deal, {"actions": ["view"], "scope": "all"})
    before = snapshot(runtime)
    refused = browser.post(
        f"/admin/forms/{deal}/permissions",
        data={
            "grant": ["0", "1"],
            "g-0-actions": ["view"],
            "g-0-scope": "own",
            "g-1-role": "ghost",
            "g-1-scope": "own",
            "g-1-cf": ["amount", "stage"],
            "g-1-co": ["gt", "eq"],
            "g-1-cv": ["lots", "open"],
        },
    )
    assert refused.status_code == 422
    assert snapshot(runtime) == before
    html = page(refused)
    assert "Nothing was saved" in html
    first, second = card(html, 0), card(html, 1)
    assert "field-error" not in first
    assert 'id="err-grants-1-role"' in second and "no role named &#39;ghost&#39;" in second
    assert 'id="err-grants-1-actions"' in second and "must list some of" in second
    assert 'id="err-grants-1-conditions-0"' in second
    assert 'id="err-grants-1-conditions-1"' not in second
    assert 'value="lots"' in second  # what the admin typed is still there
    assert '<option value="ghost" selected>' in second
