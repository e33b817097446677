"""The approval pages: inbox with counts, a task's one-tap decisions and adjustments, the
flow chart and history, the initiator's page, and the record page's approval status."""

from __future__ import annotations

import re

import pytest

from formflow.people import service as people
from tests.platform.flows.world import build

PASSWORD = "approval pages password"


@pytest.fixture
def world(runtime, admin, app):
    app.config["WTF_CSRF_ENABLED"] = False
    built = build(runtime, admin)
    with runtime.write() as work:
        for name in built.people:
            user = people.get_user(work, name)
            people.set_password(work, user, PASSWORD)
            user.language = "en"
    return built


def browser(app, name):
    client = app.test_client()
    answer = client.post("/login", data={"username": name, "password": PASSWORD})
    assert answer.status_code == 302
    return client


def text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def test_the_manager_sees_the_task_counted_on_every_page_and_approves_it(app, world):
    quote = world.submit(discount="0.2")
    manager = browser(app, "max")
    home = text(manager.get("/"))
    assert re.search(r'data-inbox>Approvals <span class="count"[^>]*>1</span>', home)
    inbox = text(manager.get("/approvals/"))
    assert "Door locks" in inbox and "Quotation discount approval" in inbox
    task = world.task_of(quote, "max")
    page = text(manager.get(f"/approvals/tasks/{task}"))
    assert "You may adjust" in page and 'name="discount"' in page
    assert 'name="amount"' not in page  # read-only for this step: shown, not editable
    assert 'data-node="manager"' in page and "is-active" in page
    answer = manager.post(
        f"/approvals/tasks/{task}",
        data={"action": "approve", "comment": "ok at 15", "discount": "15"},
    )
    assert answer.status_code == 302
    assert str(world.values(quote)["discount"]) == "0.15"
    assert re.search(r"data-inbox>Approvals\s*</a>", text(manager.get("/")))
    handled = text(manager.get("/approvals/?box=handled"))
    assert "Door locks" in handled


def test_an_invalid_adjustment_is_shown_and_nothing_is_decided(app, world):
    quote = world.submit(discount="0.2")
    manager = browser(app, "max")
    task = world.task_of(quote, "max")
    answer = manager.post(f"/approvals/tasks/{task}", data={"action": "approve", "discount": "90"})
    assert answer.status_code == 422
    assert "error" in text(answer)
    assert world.tasks(quote) == [("manager", "max")]
    assert str(world.values(quote)["discount"]) == "0.2"


def test_a_second_click_says_it_was_already_decided(app, world):
    quote = world.submit()
    manager = browser(app, "max")
    task = world.task_of(quote, "max")
    assert manager.post(f"/approvals/tasks/{task}", data={"action": "approve"}).status_code == 302
    again = manager.post(f"/approvals/tasks/{task}", data={"action": "approve"})
    assert again.status_code == 409 and "already" in text(again)


def test_the_initiator_follows_withdraws_and_the_record_shows_it(app, world):
    quote = world.submit()
    rep = browser(app, "rita")
    record = text(rep.get(f"/f/sales.quote/{quote}"))
    assert "in approval" in record and ">Edit<" not in record
    instance = world.instance(quote).id
    page = text(rep.get(f"/approvals/instances/{instance}"))
    assert "Withdraw" in page and "Urge" in page and 'data-node="manager"' in page
    assert rep.post(f"/approvals/instances/{instance}/urge").status_code == 302
    assert rep.post(f"/approvals/instances/{instance}/withdraw").status_code == 302
    assert world.instance(quote).state == "withdrawn"
    assert ">Edit<" in text(rep.get(f"/f/sales.quote/{quote}"))
    started = text(rep.get("/approvals/?box=started"))
    assert "Door locks" in started


def test_a_returned_record_is_edited_and_resubmitted_by_its_initiator(app, world):
    quote = world.submit(discount="0.2")
    manager = browser(app, "max")
    task = world.task_of(quote, "max")
    manager.post(f"/approvals/tasks/{task}", data={"action": "return", "to": "initiator"})
    rep = browser(app, "rita")
    instance = world.instance(quote).id
    page = text(rep.get(f"/approvals/instances/{instance}"))
    assert "Resubmit" in page and "Edit the record" in page
    assert rep.post(f"/approvals/instances/{instance}/resubmit").status_code == 302
    assert world.tasks(quote) == [("manager", "max")]


def test_others_cannot_open_someone_elses_task_or_approval(app, world):
    quote = world.submit()
    task = world.task_of(quote, "max")
    ron = browser(app, "ron")
    assert ron.get(f"/approvals/tasks/{task}").status_code == 404
    assert ron.post(f"/approvals/tasks/{task}", data={"action": "approve"}).status_code == 404
    assert ron.get(f"/approvals/instances/{world.instance(quote).id}").status_code == 404
    assert world.tasks(quote) == [("manager", "max")]


def test_withdrawing_after_a_decision_is_refused_with_the_reason(app, world):
    quote = world.submit(discount="0.2")
    world.act("max", quote)
    rep = browser(app, "rita")
    instance = world.instance(quote).id
    assert "Withdraw" not in text(rep.get(f"/approvals/instances/{instance}"))
    refused = rep.post(f"/approvals/instances/{instance}/withdraw")
    assert refused.status_code == 409
    assert "already decided" in text(refused)
    assert world.instance(quote).state == "running"


def test_batch_approve_from_the_inbox(app, world):
    quotes = [world.submit(title=f"Quote {i}") for i in range(3)]
    manager = browser(app, "max")
    inbox = text(manager.get("/approvals/"))
    assert inbox.count('name="task"') == 3 and "Approve the ticked" in inbox
    ticked = [world.task_of(q, "max") for q in quotes[:2]]
    answer = manager.post("/approvals/batch", data={"task": [str(t) for t in ticked]})
    assert answer.status_code == 302
    assert "Approved 2." in text(manager.get("/approvals/"))
    assert [world.instance(q).state for q in quotes] == ["approved", "approved", "running"]


def test_an_attachment_on_a_decision_is_readable_by_whoever_sees_the_approval(app, world):
    import io

    from tests.platform.files.test_uploads import png

    quote = world.submit(discount="0.2")
    manager = browser(app, "max")
    task = world.task_of(quote, "max")
    answer = manager.post(
        f"/approvals/tasks/{task}",
        data={
            "action": "approve",
            "comment": "see the site photo",
            "files": (io.BytesIO(png()), "site.png"),
        },
        content_type="multipart/form-data",
    )
    assert answer.status_code == 302
    rep = browser(app, "rita")
    page = text(rep.get(f"/approvals/instances/{world.instance(quote).id}"))
    found = re.search(r'href="(/f/files/[0-9a-f]{32})">📎 site.png', page)
    assert found, page
    assert rep.get(found.group(1)).status_code == 200  # the submitter
    assert browser(app, "dora").get(found.group(1)).status_code == 200  # the next approver
    assert browser(app, "ron").get(found.group(1)).status_code == 404  # someone else
