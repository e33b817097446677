"""Signing in and out: slow hashes, throttling, cookie flags, sessions ended by a new password."""

from __future__ import annotations

import pytest

from formflow.people import service as people
from formflow.people.models import User

PASSWORD = "a good passphrase"


@pytest.fixture
def li(runtime):
    with runtime.write() as work:
        user = people.create_user(work, "li", password=PASSWORD, display_name="李雷")
    return user.id


@pytest.fixture
def client(app):
    app.config["WTF_CSRF_ENABLED"] = False
    return app.test_client()


def login(client, password=PASSWORD, username="li"):
    return client.post("/login", data={"username": username, "password": password})


def test_passwords_are_stored_with_argon2(runtime, li):
    with runtime.read() as work:
        stored = work.session.get(User, li).password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_sign_in_sets_a_httponly_samesite_cookie_and_sign_out_ends_it(client, li):
    response = login(client)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/").status_code == 200
    client.post("/logout")
    assert client.get("/").status_code == 302


def test_wrong_password_and_unknown_user_look_the_same(client, li):
    wrong = login(client, "not it")
    unknown = login(client, username="nobody")
    assert wrong.status_code == unknown.status_code == 401

    def message(response):
        text = response.get_data(as_text=True)
        return text[text.index('class="error-box"') :].split("</p>")[0]

    assert message(wrong) == message(unknown)


def test_five_failures_lock_the_username_for_a_while(client, li, clock):
    for _ in range(5):
        assert login(client, "wrong").status_code == 401
    locked = login(client)  # even the right password waits now
    assert locked.status_code == 429
    clock.advance(minutes=16)
    assert login(client).status_code == 302


def test_next_only_goes_to_this_site(client, li):
    response = client.post(
        "/login?next=https://evil.example/x", data={"username": "li", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/"
    response = client.post("/login?next=/me", data={"username": "li", "password": PASSWORD})
    assert response.headers["Location"] == "/me"


def test_changing_the_password_signs_out_other_sessions(app, client, li):
    other = app.test_client()
    login(client)
    login(other)
    bad = client.post(
        "/me",
        data={
            "language": "en",
            "current_password": "nope",
            "new_password": "another passphrase",
            "confirm": "another passphrase",
        },
    )
    assert bad.status_code == 400
    assert (
        client.post(
            "/me",
            data={
                "language": "en",
                "current_password": PASSWORD,
                "new_password": "another passphrase",
                "confirm": "another passphrase",
            },
        ).status_code
        == 302
    )
    assert client.get("/").status_code == 200  # this session goes on
    assert other.get("/").status_code == 302  # the other one must sign in again
    assert login(other, "another passphrase").status_code == 302


def test_language_follows_the_user(client, li):
    login(client)
    page = client.get("/me").get_data(as_text=True)
    assert 'lang="zh-CN"' in page
    client.post("/language", data={"language": "en", "next": "/me"})
    assert 'lang="en"' in client.get("/me").get_data(as_text=True)
