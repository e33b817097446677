"""V4.2.2/V13.2.3 CSRF: every state-changing route of the web UI refuses a post without
its token (the API is exempt: it takes bearer tokens, never cookies)."""

from __future__ import annotations

import re

from werkzeug.routing import Rule

from .conftest import login

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
SAMPLE = {"int": "1", "path": "a/b", "string": "crm.deal", "default": "crm.deal"}


def _url(rule: Rule) -> str:
    def fill(match: re.Match[str]) -> str:
        converter = (match.group(1) or "default").split("(")[0]
        return SAMPLE.get(converter, "x")

    return re.sub(r"<(?:([a-z]+(?:\([^)]*\))?):)?[a-z_]+>", fill, rule.rule)


def test_every_state_changing_web_route_refuses_a_post_without_its_csrf_token(app, li):
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    assert login(client).status_code == 302
    app.config["WTF_CSRF_ENABLED"] = True
    checked, failures = [], []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") or not (rule.methods or set()) & STATE_CHANGING:
            continue
        for method in sorted((rule.methods or set()) & STATE_CHANGING):
            url = _url(rule)
            response = client.open(url, method=method, data={"x": "1"})
            checked.append(url)
            if response.status_code != 400 or "This form expired" not in response.get_data(
                as_text=True
            ):
                failures.append(f"{method} {url} ({rule.endpoint}): {response.status_code}")
    assert failures == []
    assert "/login" in checked and "/logout" in checked and len(checked) > 30


def test_a_post_with_a_token_from_another_session_is_refused(app, li):
    app.config["WTF_CSRF_ENABLED"] = True
    mine, theirs = app.test_client(), app.test_client()
    page = theirs.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = mine.post("/login", data={"username": "li", "password": "x", "csrf_token": token})
    assert response.status_code == 400


def test_the_api_takes_no_cookies_so_needs_no_csrf_token(api, app):
    app.config["WTF_CSRF_ENABLED"] = True
    refused = api.post("/files", data={}, content_type="multipart/form-data")
    assert refused.status_code == 400 and refused.body["errors"][0]["field"] == "file"
    assert api.get("/forms").status_code == 200
