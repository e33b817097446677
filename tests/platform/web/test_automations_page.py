"""The automations pages, driven as an admin's browser drives them: build an automation in
the editor (trigger, condition rows, actions added, moved and removed), see it listed,
refusals shown beside the input they name with nothing saved, the on/off switch, the run
log with a failed run retried, and the pages closed to everyone but admins."""

from __future__ import annotations

import dataclasses
import re
from html.parser import HTMLParser
from typing import Any

import pytest

from formflow import jsoncodec
from formflow.automations import functions
from formflow.automations import service as automations
from formflow.people import service as people
from tests.conftest import snapshot
from tests.platform.automations.world import World, automation, build, drain

PASSWORD = "automations page password"


@pytest.fixture
def world(runtime, admin, app) -> World:
    app.config["WTF_CSRF_ENABLED"] = False
    built = build(runtime, admin)
    with runtime.write() as work:
        for name in ("admin", "rita"):
            user = people.get_user(work, name)
            people.set_password(work, user, PASSWORD)
            user.language = "en"
    return built


def sign_in(app, username: str) -> Any:
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302
    return client


@pytest.fixture
def browser(app, world) -> Any:
    return sign_in(app, "admin")


class _Form(HTMLParser):
    """What a browser would post from a page's form (the one whose action ends with
    ``action``): every named input, checked box, chosen option and textarea, in order."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action = action
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self.select: str | None = None
        self.options: list[tuple[str, bool]] = []
        self.textarea: str | None = None
        self.text = ""
        self.option: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("action", "").endswith(
                self.action
            ) and "automation-editor" in a.get("class", "")
        if not self.inside:
            return
        if tag == "input" and "name" in a:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.append((a["name"], a.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select" and "name" in a:
            self.select, self.options = a["name"], []
        elif tag == "option" and self.select is not None:
            self.option = {"value": a.get("value"), "selected": "selected" in a, "text": ""}
            self.options.append(self.option)  # type: ignore[arg-type]
        elif tag == "textarea" and "name" in a:
            self.textarea, self.text = a["name"], ""

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.text += data
        elif self.option is not None:
            self.option["text"] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "option":
            self.option = None
        elif tag == "select" and self.select is not None:
            options = self.options
            chosen = next((o for o in options if o["selected"]), options[0] if options else None)
            if chosen is not None:
                value = chosen["value"] if chosen["value"] is not None else chosen["text"]
                self.fields.append((self.select, value))
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            self.fields.append((self.textarea, self.text.removeprefix("\n")))
            self.textarea = None


def form_of(response: Any, action: str) -> list[tuple[str, str]]:
    parser = _Form(action)
    parser.feed(response.get_data(as_text=True))
    return parser.fields


def change(fields: list[tuple[str, str]], **values: Any) -> list[tuple[str, str]]:
    """The form with some inputs set: a list value sets each input of that name in turn
    (rows of a list; ``None`` in it leaves that one), ``None`` drops the input (a box
    unticked)."""
    out, seen = [], {}
    for name, value in fields:
        if name in values:
            wanted = values[name]
            if wanted is None:
                continue
            if isinstance(wanted, list):
                index = seen[name] = seen.get(name, -1) + 1
                if index < len(wanted) and wanted[index] is not None:
                    value = wanted[index]
            else:
                value = wanted
        out.append((name, value))
    for name, wanted in values.items():  # inputs the page did not have (ticked boxes)
        if wanted is not None and name not in seen and not any(n == name for n, _ in fields):
            out += [(name, v) for v in (wanted if isinstance(wanted, list) else [wanted])]
    return out


def post(client: Any, url: str, fields: list[tuple[str, str]], op: str) -> Any:
    from werkzeug.datastructures import MultiDict

    return client.post(url, data=MultiDict([*fields, ("op", op)]))


def text(response: Any) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def published(runtime: Any, name: str) -> dict[str, Any]:
    with runtime.read() as work:
        found = automations.get_automation(work, name)
        return jsoncodec.loads(automations.definition_text(work, found))


def test_an_automation_is_built_in_the_editor_saved_listed_and_runs(browser, world, runtime):
    url = "/admin/automations/new"
    page = browser.get(url)
    assert page.status_code == 200
    fields = form_of(page, url)
    # choosing the form brings back its fields for the condition rows
    page = post(browser, url, change(fields, trigger_form="crm.customer"), "refresh")
    assert page.status_code == 200 and 'value="potential"' in text(page)
    fields = change(form_of(page, url), new_action="create_record")
    page = post(browser, url, fields, "add_action")
    assert text(page).count('class="card action-card stack"') == 2
    page = post(browser, url, change(form_of(page, url), a1_form="crm.task"), "refresh")
    assert 'name="a1_key"' in text(page) and '<option value="title">Title</option>' in text(page)
    fields = change(
        form_of(page, url),
        name="crm.welcome",
        title_zh="新客户提醒",
        title_en="New customer",
        condition_field=["potential"],
        condition_op=["gte"],
        condition_value=["10000"],
        a0_to_kind=["field"],
        a0_to_value=["owner"],
        a0_title_zh="新客户：{{ name }}",
        a0_title_en="New customer: {{ name }}",
        a1_key=["title"],
        a1_expr=['"Call " & name'],
    )
    # each list shows one empty row more after a round trip
    page = post(browser, url, fields, "refresh")
    fields = change(
        form_of(page, url), a0_to_kind=[None, "role"], a0_to_value=[None, "sales_manager"]
    )
    page = post(browser, url, fields, "refresh")
    fields = change(
        form_of(page, url), a0_to_kind=[None, None, "user"], a0_to_value=[None, None, "max"]
    )
    saved = post(browser, url, fields, "save")
    assert saved.status_code == 302, text(saved)
    assert saved.headers["Location"].endswith("/admin/automations/crm.welcome")
    assert published(runtime, "crm.welcome") == {
        "name": "crm.welcome",
        "title": {"zh-CN": "新客户提醒", "en": "New customer"},
        "trigger": {"type": "record_created", "form": "crm.customer"},
        "condition": "potential >= 10000",
        "actions": [
            {
                "type": "notify",
                "to": [{"field": "owner"}, {"role": "sales_manager"}, {"user": "max"}],
                "title": {"zh-CN": "新客户：{{ name }}", "en": "New customer: {{ name }}"},
            },
            {"type": "create_record", "form": "crm.task", "values": {"title": '"Call " & name'}},
        ],
    }
    listed = text(browser.get("/admin/automations/"))
    assert "New customer" in listed and "When a Customer is added" in listed
    assert "never" in listed
    world.customer(name="Acme", potential="50000")
    drain(runtime)
    assert [t["title"] for t in world.records("crm.task")] == ["Call Acme"]
    listed = text(browser.get("/admin/automations/"))
    assert re.search(r'state-done">done<', listed)
    log = text(browser.get("/admin/automations/crm.welcome/runs"))
    assert 'data-state="done"' in log and "Added record #" in log
    assert re.search(r'href="/f/crm.customer/\d+">#\d+</a>', log)


ROUND_TRIPS = {
    "conditions, updates and a webhook": automation(
        condition='AND(potential >= 10000, grade = "A")',
        actions=[
            automation()["actions"][0],
            {
                "type": "update_records",
                "form": "crm.customer",
                "where": [
                    {"field": "name", "op": "eq", "value": "name"},
                    {"field": "grade", "op": "is_empty"},
                ],
                "set": {"grade": '"B"', "visits": "visits + 1"},
                "limit": 5,
            },
            {"type": "webhook", "url": "http://127.0.0.1:9/crm", "event": "customer"},
        ],
    ),
    "a date field": automation(
        trigger={
            "type": "date_field",
            "form": "crm.customer",
            "field": "renewal",
            "offset": "-P7D",
            "at": "10:30",
        },
        actions=[
            {
                "type": "notify",
                "to": [{"manager": 1}, {"user": "max"}],
                "channels": ["inbox", "email"],
                "title": "Renewal of {{ name }}",
            }
        ],
    ),
    "a schedule": {
        "$comment": "every Monday morning",
        "name": "crm.weekly",
        "title": "Weekly review",
        "trigger": {"type": "schedule", "cron": "0 9 * * 1"},
        "actions": [{"type": "function", "function": "test.noop", "arguments": {"n": 1}}],
    },
    "watched fields and a condition as text": automation(
        trigger={
            "type": "record_updated",
            "form": "crm.customer",
            "fields": ["grade", "visits"],
        },
        condition="visits + 1 > 3",
        actions=[
            {"type": "function", "title": "Regrade", "function": "test.noop"},
            {"type": "notify", "to": [{"role": "sales_manager"}], "title": "Regraded"},
        ],
    ),
    "an offset the inputs cannot show": automation(
        trigger={
            "type": "date_field",
            "form": "crm.customer",
            "field": "next_visit",
            "offset": "-P1DT2H",
        },
    ),
}


@pytest.mark.parametrize("definition", list(ROUND_TRIPS.values()), ids=list(ROUND_TRIPS))
def test_an_unchanged_editor_saves_the_same_definition(browser, world, runtime, definition):
    runtime.config = dataclasses.replace(runtime.config, webhook_allow_private=True)
    functions.register("test.noop", lambda work, call: None)
    world.publish(definition)
    url = f"/admin/automations/{definition['name']}"
    page = browser.get(url)
    assert page.status_code == 200
    saved = post(browser, url, form_of(page, url), "save")
    assert saved.status_code == 302, text(saved)
    assert published(runtime, definition["name"]) == definition
    with runtime.read() as work:
        assert automations.get_automation(work, definition["name"]).current_version == 2


def test_a_webhook_action_shows_how_its_hook_delivers_and_its_secret(browser, world, runtime):
    from formflow.automations.actions import hook_key
    from formflow.webhooks.service import hook_for

    runtime.config = dataclasses.replace(runtime.config, webhook_allow_private=True)
    hooked = {"type": "webhook", "url": "http://127.0.0.1:9/crm"}
    world.publish(automation(actions=[automation()["actions"][0], hooked]))
    with runtime.write() as work:
        found = automations.get_automation(work, "crm.welcome")
        hook = hook_for(work, hook_key(found.id, hooked["url"]), hooked["url"])
        before = hook.secret
    # The hook exists from the publish on: its secret can go to the receiver before the
    # first delivery.
    assert before in text(browser.get("/admin/automations/crm.welcome"))
    with runtime.write() as work:
        hook = hook_for(work, hook_key(found.id, hooked["url"]), hooked["url"])
        hook.failures, hook.consecutive_failures = 7, 3
        hook.last_status, hook.last_error = 502, "502 Bad Gateway"
        secret = hook.secret
    for url in ("/admin/automations/crm.welcome", "/admin/automations/crm.welcome/runs"):
        page = text(browser.get(url))
        assert "Failed attempts: 7" in page and "3 in a row" in page
        assert "Last error: 502 Bad Gateway" in page and secret in page


def test_a_chinese_reader_sees_the_problems_in_chinese(app, world, runtime):
    with runtime.write() as work:
        people.create_user(work, "boss", password=PASSWORD, is_admin=True, language="zh-CN")
    boss = sign_in(app, "boss")
    url = "/admin/automations/new"
    page = post(boss, url, change(form_of(boss.get(url), url), trigger_type="schedule"), "refresh")
    assert "定时计划（cron）" in text(page)
    fields = change(
        form_of(page, url), name="crm.weekly", title_zh="周报", trigger_cron="0 25 * * *"
    )
    refused = text(post(boss, url, fields, "save"))
    assert "请修改下方标出的字段" in refused
    assert re.search(r'id="err-actions-0-to">至少需要一项', refused)
    assert re.search(r'id="err-actions-0-title">必填', refused)
    fields = change(
        fields, a0_to_kind=["role"], a0_to_value=["sales_manager"], a0_title_zh="周报提醒"
    )
    refused = text(post(boss, url, fields, "save"))
    assert re.search(r'id="err-trigger-cron">不是有效的 cron 计划', refused)


def test_a_bad_cron_and_a_bad_url_are_shown_beside_their_inputs_and_nothing_is_saved(
    browser, world, runtime
):
    url = "/admin/automations/new"
    fields = form_of(browser.get(url), url)
    page = post(browser, url, change(fields, trigger_type="schedule"), "refresh")
    page = post(browser, url, change(form_of(page, url), new_action="webhook"), "add_action")
    before = snapshot(runtime)
    fields = change(
        form_of(page, url),
        name="crm.weekly",
        title_en="Weekly",
        trigger_cron="every monday",
        a0_to_kind=["role"],
        a0_to_value=["sales_manager"],
        a0_title_en="Weekly review",
        a1_url="ftp://files.example.com/x",
    )
    refused = post(browser, url, fields, "save")
    assert refused.status_code == 422
    html = text(refused)
    assert "Nothing was saved" in html
    cron = re.search(r'<p class="field-error" id="err-trigger-cron">([^<]*)</p>', html)
    assert cron and "five fields" in cron[1]
    assert re.search(
        r'<input id="f-trigger-cron" name="trigger_cron" value="every monday"[^>]*'
        r'aria-invalid="true" aria-describedby="err-trigger-cron"',
        html,
    )
    address = re.search(r'id="err-actions-1-url">([^<]*)<', html)
    assert address and "http" in address[1]
    assert 'value="ftp://files.example.com/x"' in html and 'value="Weekly review"' in html
    assert snapshot(runtime) == before


def test_bad_arguments_and_a_taken_name_are_refused_with_what_was_typed(browser, world, runtime):
    functions.register("test.noop", lambda work, call: None)
    world.publish(automation())
    url = "/admin/automations/new"
    page = post(
        browser, url, change(form_of(browser.get(url), url), new_action="function"), "add_action"
    )
    page = post(browser, url, change(form_of(page, url)), "remove:0")
    assert text(page).count('class="card action-card stack"') == 1
    fields = change(
        form_of(page, url),
        name="crm.welcome",
        title_en="Twice",
        trigger_form="crm.customer",
        a0_function="test.noop",
        a0_arguments="{not json",
    )
    refused = post(browser, url, fields, "save")
    assert refused.status_code == 422
    html = text(refused)
    assert re.search(r'id="err-name">An automation with this name already exists', html)
    assert re.search(r'id="err-actions-0-arguments">Write the arguments as a JSON object', html)
    assert "{not json</textarea>" in html
    assert published(runtime, "crm.welcome") == automation()


def test_actions_move_up_and_down_with_what_was_typed(browser, world):
    url = "/admin/automations/new"
    page = browser.get(url)
    page = post(browser, url, change(form_of(page, url), new_action="webhook"), "add_action")
    fields = change(form_of(page, url), a0_title_en="First", a1_url="https://example.com/x")
    page = post(browser, url, fields, "up:1")
    moved = form_of(page, url)
    assert [v for n, v in moved if n == "action_type"] == ["webhook", "notify"]
    assert ("a0_url", "https://example.com/x") in moved and ("a1_title_en", "First") in moved
    page = post(browser, url, moved, "down:0")
    assert [v for n, v in form_of(page, url) if n == "action_type"] == ["notify", "webhook"]


def test_the_switch_turns_an_automation_off_and_on(browser, world, runtime):
    world.publish(automation())
    answer = browser.post(
        "/admin/automations/crm.welcome/enabled",
        data={"enabled": "0", "next": "/admin/automations/"},
    )
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/admin/automations/")
    with runtime.read() as work:
        assert automations.get_automation(work, "crm.welcome").enabled is False
    listed = text(browser.get("/admin/automations/"))
    assert 'aria-checked="false"' in listed and ">Off<" in listed
    world.customer()
    assert world.runs() == []
    browser.post("/admin/automations/crm.welcome/enabled", data={"enabled": "1"})
    with runtime.read() as work:
        assert automations.get_automation(work, "crm.welcome").enabled is True


def test_a_failed_run_is_shown_with_its_error_and_retried(browser, world, runtime, clock):
    def closed(work, call):
        raise RuntimeError("the ledger is closed")

    functions.register("test.ledger", closed)
    world.publish(
        automation(
            name="crm.ledger",
            actions=[
                automation()["actions"][0],
                {"type": "function", "function": "test.ledger", "arguments": {"n": 1}},
            ],
        )
    )
    world.customer()
    drain(runtime)
    log = text(browser.get("/admin/automations/crm.ledger/runs"))
    assert 'data-state="retrying"' in log and "Next attempt" in log
    for _ in range(10):
        clock.advance(hours=1)
        drain(runtime)
    [run] = world.runs("crm.ledger")
    assert run.state == "failed"
    listed = text(browser.get("/admin/automations/"))
    assert re.search(
        r'state-failed" href="/admin/automations/crm.ledger/runs\?state=failed"', listed
    )
    log = text(browser.get("/admin/automations/crm.ledger/runs?state=failed"))
    assert 'data-state="failed"' in log and "RuntimeError: the ledger is closed" in log
    assert "rolled back" in log  # the notify before it
    assert f'action="/admin/automations/crm.ledger/runs/{run.id}/retry"' in log
    assert "No runs with this state." in text(
        browser.get("/admin/automations/crm.ledger/runs?state=done")
    )
    functions.register("test.ledger", lambda work, call: {"posted": call.arguments["n"]})
    answer = browser.post(f"/admin/automations/crm.ledger/runs/{run.id}/retry")
    assert answer.status_code == 302
    assert world.runs("crm.ledger")[0].state == "pending"
    drain(runtime)
    log = text(browser.get("/admin/automations/crm.ledger/runs"))
    assert 'data-state="done"' in log and "{&#34;posted&#34;:1}" in log
    again = browser.post(f"/admin/automations/crm.ledger/runs/{run.id}/retry")
    assert "only a failed or stopped run is retried" in text(browser.get(again.headers["Location"]))


def test_the_run_log_pages_back_through_older_runs(browser, world, runtime, monkeypatch):
    from formflow.web import automations as pages

    monkeypatch.setattr(pages, "PAGE", 2)
    world.publish(automation())
    for n in range(3):
        world.customer(name=f"C{n}")
    ids = [r.id for r in world.runs()]
    first = text(browser.get("/admin/automations/crm.welcome/runs"))
    assert re.findall(r'data-run="(\d+)"', first) == [str(ids[2]), str(ids[1])]
    older = re.search(r'href="([^"]*before=\d+[^"]*)">Older runs', first)
    assert older
    second = text(browser.get(older[1].replace("&amp;", "&")))
    assert re.findall(r'data-run="(\d+)"', second) == [str(ids[0])]


def test_the_pages_are_for_admins_only(app, world):
    world.publish(automation())
    rita = sign_in(app, "rita")
    for url in ("/admin/automations/", "/admin/automations/new", "/admin/automations/crm.welcome"):
        assert rita.get(url).status_code == 403
    assert rita.get("/admin/automations/crm.welcome/runs").status_code == 403
    assert (
        rita.post("/admin/automations/crm.welcome/enabled", data={"enabled": "0"}).status_code
        == 403
    )
    assert app.test_client().get("/admin/automations/").status_code == 302  # to sign in
