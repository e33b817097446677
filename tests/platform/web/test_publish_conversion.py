"""The builder's publish page when records are converted in the background: it shows
"converting records: done/total" with a progress bar that htmx refreshes every 2 s until the
conversion finishes, and publishing and undo wait for it."""

from __future__ import annotations

from typing import Any

import pytest

from formflow.definitions import conversions, drafts
from formflow.definitions.service import definition_text, ensure_app, get_form, publish
from formflow.people import service as people
from formflow.records import service as records
from tests.platform.conversion_samples import BATCH, BEFORE, MONEY, background_runtime, sample

PASSWORD = "publish pages password"
COUNT = 24


@pytest.fixture
def runtime(db_url, tmp_path, clock, redis_url):
    """A runtime with a queue of its own: more than 10 changed records go to a worker."""
    yield from background_runtime(db_url, tmp_path / "instance", clock, redis_url)


@pytest.fixture
def admin_browser(app: Any, runtime: Any) -> Any:
    app.config["WTF_CSRF_ENABLED"] = False
    with runtime.write() as work:
        people.create_user(work, "boss", password=PASSWORD, is_admin=True, language="en")
    client = app.test_client()
    assert client.post("/login", data={"username": "boss", "password": PASSWORD}).status_code == 302
    return client


@pytest.fixture
def deals(runtime: Any) -> str:
    with runtime.write() as work:
        ensure_app(work, "crm", "CRM")
        publish(work, "crm.deals", BEFORE)
    with runtime.write() as work:
        loaded = get_form(work, "crm.deals")
        for i in range(COUNT):
            records.create(work, loaded, sample(i, convertible=True))
    with runtime.write() as work:
        draft = drafts.open_draft(work, "crm.deals")
        drafts.save_draft(work, "crm.deals", MONEY, draft.revision)
    return "crm.deals"


def html(response: Any) -> str:
    return response.get_data(as_text=True)


def revision(runtime: Any, form: str) -> int:
    with runtime.read() as work:
        return drafts.open_draft(work, form).revision


def test_the_publish_page_follows_the_conversion_until_it_finishes(admin_browser, deals, runtime):
    page = f"/admin/build/{deals}/publish"
    published = admin_browser.post(page, data={"revision": revision(runtime, deals)})

    assert published.status_code == 302 and published.location.endswith(page)
    shown = html(admin_browser.get(page))
    total = sum(1 for i in range(COUNT) if "budget" in sample(i))
    assert "records are being converted in the background" in shown
    assert f"Converting records: 0/{total}" in shown
    assert 'hx-trigger="every 2s"' in shown and f'hx-get="{page}?progress=1"' in shown
    assert f'<progress max="{total}" value="0">' in shown
    assert 'class="primary big" disabled' in shown  # publishing waits

    with runtime.read() as work:
        conversion = conversions.unfinished(work, get_form(work, deals).form.id)
    assert conversions.step(runtime, conversion.id) is False  # one batch of 4 records
    done = sum(1 for i in range(BATCH) if "budget" in sample(i))
    polled = admin_browser.get(f"{page}?progress=1", headers={"HX-Request": "true"})
    part = html(polled)
    assert polled.status_code == 200 and "<html" not in part
    assert f"Converting records: {done}/{total}" in part and 'hx-trigger="every 2s"' in part
    assert "HX-Refresh" not in polled.headers

    conversions.convert(runtime, conversion.id)
    polled = admin_browser.get(f"{page}?progress=1", headers={"HX-Request": "true"})
    part = html(polled)
    assert f"Converting records: {total}/{total}" in part
    assert "hx-trigger" not in part  # the polling stops
    assert polled.headers["HX-Refresh"] == "true"  # and the page comes back publishable
    assert 'class="primary big" disabled' not in html(admin_browser.get(page))


def test_undo_while_converting_is_refused_with_a_clear_message(admin_browser, deals, runtime):
    admin_browser.post(f"/admin/build/{deals}/publish", data={"revision": revision(runtime, deals)})
    with runtime.read() as work:
        published = definition_text(work, deals)

    undone = admin_browser.post(f"/admin/build/{deals}/undo", follow_redirects=True)

    assert "records are still being converted to version 2" in html(undone)
    assert "undo version 2 when that has finished" in html(undone)
    with runtime.read() as work:
        assert definition_text(work, deals) == published
        assert get_form(work, deals).form.current_version == 2
