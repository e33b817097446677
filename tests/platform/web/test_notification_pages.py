"""The in-app inbox: the unread count on every page, reading a notification opens its link."""

from __future__ import annotations

import re

from formflow.notifications.service import notify
from formflow.people import service as people

PASSWORD = "notification password"


def test_unread_count_on_every_page_and_reading_opens_the_link(app, runtime, admin):
    app.config["WTF_CSRF_ENABLED"] = False
    with runtime.write() as work:
        user = people.get_user(work, "admin")
        user.password_hash = people.hash_password(PASSWORD)  # no "password changed" note
        user.language = "en"
        first = notify(work, user.id, "Waiting for your approval", None, "/approvals/")
        notify(work, user.id, "Escalated to you")
        work.session.flush()
        first_id = first.id
    client = app.test_client()
    client.post("/login", data={"username": "admin", "password": PASSWORD})
    home = client.get("/").get_data(as_text=True)
    assert re.search(r'data-notifications[^>]*>.*?</svg> <span class="count"[^>]*>2</span>', home)
    page = client.get("/notifications/").get_data(as_text=True)
    assert "Waiting for your approval" in page and "Escalated to you" in page
    opened = client.post("/notifications/read", data={"id": str(first_id)})
    assert opened.status_code == 302 and opened.headers["Location"].endswith("/approvals/")
    assert re.search(r'class="count"[^>]*>1</span>', client.get("/").get_data(as_text=True))
    client.post("/notifications/read")
    assert re.search(
        r"data-notifications[^>]*>.*?</svg></a>", client.get("/").get_data(as_text=True)
    )


def test_notifications_through_the_api(api, runtime, admin):
    from formflow.api.openapi import build_document
    from tests.platform.api.test_openapi import _check

    document = build_document()
    with runtime.write() as work:
        notify(work, admin.id, "Waiting for your approval", None, "/approvals/")
        notify(work, admin.id, "Escalated to you")
    listed = api.get("/notifications")
    _check(document, "/notifications", "get", listed)
    assert listed.body["unread"] == 2
    newest = listed.body["notifications"][0]
    assert newest["title"] == "Escalated to you"
    marked = api.post("/notifications/read", {"id": newest["id"]})
    _check(document, "/notifications/read", "post", marked)
    assert marked.body == {"marked": 1, "unread": 1}
    assert api.post("/notifications/read").body == {"marked": 1, "unread": 0}
    assert api.post("/notifications/read", {"id": "x"}).status_code == 400
