"""V2.1/V2.4 passwords: a slow, salted argon2id hash with RFC 9106 parameters, any
characters, long passphrases whole, at least 12 characters, no common ones, and no
composition rules."""

from __future__ import annotations

import pytest
from argon2 import extract_parameters

from formflow.errors import ValidationFailed
from formflow.people import service as people
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
