"""A signed-in browser and a person with a password, for the security tests."""

from __future__ import annotations

from typing import Any

import pytest

from formflow.people import service as people

PASSWORD = "a good passphrase"


@pytest.fixture
def li(runtime: Any) -> int:
    with runtime.write() as work:
        user = people.create_user(work, "li", password=PASSWORD, display_name="李雷")
    return user.id


@pytest.fixture
def browser(app: Any) -> Any:
    """A browser whose forms skip the CSRF token (CSRF itself is tested on its own)."""
    app.config["WTF_CSRF_ENABLED"] = False
    return app.test_client()


def login(client: Any, username: str = "li", password: str = PASSWORD) -> Any:
    return client.post("/login", data={"username": username, "password": password})
