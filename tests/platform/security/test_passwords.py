"""V2.1/V2.4 passwords: a slow, salted argon2id hash with RFC 9106 parameters, any
characters, long passphrases whole, at least 12 characters, no common ones, and no
composition rules."""

from __future__ import annotations

import pytest
from argon2 import extract_parameters

from formflow.errors import ValidationFailed
from formflow.people import service as people
from formflow.people import tokens
from formflow.people.models import User
from formflow.people.passwords import common_passwords

from .conftest import PASSWORD, login


def _hash(runtime, user_id):
    with runtime.read() as work:
        return work.session.get(User, user_id).password_hash


def test_passwords_are_hashed_with_argon2id_a_random_salt_and_strong_parameters(runtime, li):
    with runtime.write() as work:
        twin = people.create_user(work, "twin", password="a good passphrase")
    stored, twin_hash = _hash(runtime, li), _hash(runtime, twin.id)
    assert stored.startswith("$argon2id$") and stored != twin_hash  # salted
    parameters = extract_parameters(stored)
    assert parameters.memory_cost >= 19 * 1024  # KiB (OWASP minimum: 19 MiB)
    assert parameters.time_cost >= 2
    assert parameters.salt_len >= 16 and parameters.hash_len >= 32


def test_long_passphrases_in_any_script_work_whole(browser, runtime, li):
    passphrase = "我的 密码 is long & has spaces, emoji 🙂 and more" * 3  # 150 characters
    with runtime.write() as work:
        people.set_password(work, work.session.get(User, li), passphrase)
    assert login(browser, password=passphrase[:-1]).status_code == 401  # never truncated
    assert login(browser, password=passphrase).status_code == 302


def test_no_composition_rules_only_a_length(runtime, li):
    with runtime.write() as work:
        me = work.session.get(User, li)
        people.set_password(work, me, "alllowercaseletters")  # no digit/symbol needed
        with pytest.raises(ValidationFailed):
            people.set_password(work, me, "short")
        with pytest.raises(ValidationFailed):
            people.set_password(work, me, "x" * 201)


def test_a_password_needs_at_least_12_characters_everywhere_one_is_set(runtime, li):
    with runtime.write() as work:
        me = work.session.get(User, li)
        people.set_password(work, me, "twelve chars")  # exactly 12
        for attempt in (
            lambda: people.set_password(work, me, "eleven char"),
            lambda: people.create_user(work, "wu", password="eleven char"),
            lambda: people.register_user(work, "wu", password="eleven char"),
        ):
            with pytest.raises(ValidationFailed) as refused:
                attempt()
            (error,) = refused.value.errors
            assert (error.field, error.code) == ("password", "minLength")
            assert error.params == {"limit": 12}
            assert error.message == "must be at least 12 characters"


def test_common_passwords_are_refused_whatever_their_letter_case(runtime, li):
    assert len(common_passwords()) > 19_000 and "qwerty123456" in common_passwords()
    with runtime.write() as work:
        me = work.session.get(User, li)
        for common in ("qwerty123456", "QWERTY123456", "1q2w3e4r5t6y", " 1qaz2wsx3edc "):
            with pytest.raises(ValidationFailed) as refused:
                people.set_password(work, me, common)
            (error,) = refused.value.errors
            assert (error.field, error.code) == ("password", "common")
        with pytest.raises(ValidationFailed) as refused:
            people.create_user(work, "wu", password="Password1234")
        assert [e.code for e in refused.value.errors] == ["common"]
        people.set_password(work, me, "qwerty123456 but longer")  # containing one is fine


def test_a_common_new_password_is_refused_on_the_account_page_in_the_readers_language(
    browser, runtime, li
):
    login(browser)
    change = {
        "language": "zh-CN",
        "current_password": PASSWORD,
        "new_password": "Qwerty123456",
        "confirm": "Qwerty123456",
    }
    refused = browser.post("/me", data=change, headers={"Accept-Language": "zh-CN"})
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert 'id="new_password-error"' in html and "常见" in html
    assert login(browser.application.test_client(), password="Qwerty123456").status_code == 401


# -- ASVS 2.3.1: a password an administrator sets is changed at the next sign-in ----------


def _admin_browser(app, runtime):
    app.config["WTF_CSRF_ENABLED"] = False  # CSRF itself is tested on its own
    with runtime.write() as work:
        people.create_user(work, "boss", password=PASSWORD, is_admin=True)
    admin = app.test_client()
    assert login(admin, "boss").status_code == 302
    return admin


def test_a_password_an_admin_sets_must_be_changed_before_anything_else(app, browser, runtime, li):
    admin = _admin_browser(app, runtime)
    given = "given by the admin"
    set_by_admin = admin.post(
        f"/admin/users/{li}",
        data={"username": "li", "display_name": "Li", "is_active": "1", "password": given},
    )
    assert set_by_admin.status_code == 302
    with runtime.write() as work:
        token = tokens.issue(work, work.session.get(User, li), "script")
    assert login(browser, "li", given).status_code == 302
    for path in ("/", "/me", "/notifications/", "/admin/users"):
        held = browser.get(path)
        assert held.status_code == 302 and held.location.startswith("/me/password"), path
    # API tokens are not a browser's sign-in: they keep working
    me = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    same = browser.post(
        "/me/password?next=/me",
        data={"current_password": given, "new_password": given, "confirm": given},
    )
    assert same.status_code == 400
    mine = "only li knows this"
    changed = browser.post(
        "/me/password?next=/me",
        data={"current_password": given, "new_password": mine, "confirm": mine},
    )
    assert changed.status_code == 302 and changed.location == "/me"
    assert browser.get("/").status_code == 200
    with runtime.read() as work:
        assert not people.password_change_due(work, li)


def test_a_user_an_admin_creates_changes_the_given_password_at_first_sign_in(app, runtime):
    admin = _admin_browser(app, runtime)
    created = admin.post(
        "/admin/users/new",
        data={"username": "wu", "display_name": "Wu", "password": "given by the admin"},
    )
    assert created.status_code == 302
    wu = app.test_client()
    assert login(wu, "wu", "given by the admin").status_code == 302
    assert wu.get("/").location.startswith("/me/password")


def test_ones_own_passwords_are_not_to_be_changed_again(app, browser, runtime, li):
    # people made in code (the `formflow dev` admin, tests) and passwords one sets oneself
    assert login(browser).status_code == 302
    assert browser.get("/").status_code == 200
    changed = browser.post(
        "/me",
        data={
            "language": "en",
            "current_password": PASSWORD,
            "new_password": "my own new passphrase",
            "confirm": "my own new passphrase",
        },
    )
    assert changed.status_code == 302
    assert browser.get("/").status_code == 200
    admin = _admin_browser(app, runtime)
    with runtime.read() as work:
        boss = people.get_user(work, "boss").id
    own = admin.post(
        f"/admin/users/{boss}",
        data={
            "username": "boss",
            "is_admin": "1",
            "is_active": "1",
            "password": "the admins own passphrase",
        },
    )
    assert own.status_code == 302
    assert admin.get("/admin/users").status_code == 200
