"""Browser tests: Debian's Chromium driven by Playwright against a real server on 127.0.0.1."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from formflow import Config, Runtime, create_app
from formflow.migrations import upgrade
from formflow.people import service as people

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
DESKTOP = {"viewport": {"width": 1280, "height": 860}}
PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: scripts/setup.sh --test installs Debian's chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield browser
        browser.close()


@dataclass
class Site:
    url: str
    runtime: Runtime

    def user(self, username: str, *, admin: bool = False, display: str | None = None) -> int:
        with self.runtime.write() as work:
            user = people.create_user(
                work, username, display_name=display or username, password=PASSWORD, is_admin=admin
            )
        return user.id


@pytest.fixture
def site(tmp_path: Path, sqlite_template: Path) -> Iterator[Site]:
    """The whole app over HTTP (werkzeug, threaded) on a fresh SQLite database."""
    import shutil

    from werkzeug.serving import make_server

    db = tmp_path / "formflow.db"
    shutil.copy(sqlite_template, db)
    runtime = Runtime(Config(instance_path=tmp_path / "instance", database_url=f"sqlite:///{db}"))
    upgrade(runtime.db.engine)
    app = create_app(runtime=runtime)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Site(f"http://127.0.0.1:{server.server_port}", runtime)
    server.shutdown()
    thread.join(timeout=10)
    runtime.close()


def new_page(browser: Any, site: Site, device: dict[str, Any], **extra: Any) -> Any:
    context = browser.new_context(base_url=site.url, locale="zh-CN", **device, **extra)
    context.set_default_timeout(15000)
    return context.new_page()


def sign_in(page: Any, username: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def shoot(page: Any, name: str, full_page: bool = True) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    if full_page:  # a full-page shot would paint the sticky bars mid-page; show them in place
        page.add_style_tag(content=".top, .form-actions { position: static !important; }")
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)
