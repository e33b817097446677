"""V2.1/V2.4 passwords: a slow, salted argon2id hash with RFC 9106 parameters, any
characters, long passphrases whole, and no composition rules."""

from __future__ import annotations

import pytest
from argon2 import extract_parameters

from formflow.errors import ValidationFailed
from formflow.people import service as people
from formflow.people.models import User

from .conftest import login


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
