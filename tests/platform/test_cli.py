"""The ``formflow`` command line, run as a real process against a real instance."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from formflow import jsoncodec
from tests.platform.definitions_samples import QUOTE

CUSTOMER = {
    "title": "客户",
    "x-label": {"zh-CN": "客户", "en": "Customer"},
    "type": "object",
    "properties": {
        "name": {"x-field": "text", "type": "string", "title": "名称", "x-unique": True},
        "amount": {
            "x-field": "money",
            "type": "number",
            "title": "金额",
            "maximum": jsoncodec.loads("99999999.90"),
        },
    },
    "required": ["name"],
}


def formflow(env: dict[str, str], *args: str, stdin: str | None = None, check: bool = True):
    result = subprocess.run(
        [sys.executable, "-m", "formflow", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check and result.returncode != 0:
        raise AssertionError(result.stdout + result.stderr)
    return result


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> dict[str, str]:
    """An instance on each database."""
    return dict(os.environ, FORMFLOW_INSTANCE=str(tmp_path / "instance"), DATABASE_URL=db_url)


@pytest.fixture
def sqlite_env(tmp_path: Path) -> dict[str, str]:
    """An instance on its default database (SQLite in the instance folder)."""
    env = dict(os.environ, FORMFLOW_INSTANCE=str(tmp_path / "instance"))
    env.pop("DATABASE_URL", None)
    return env


def test_init_db_is_idempotent_and_create_user_prints_a_token(env):
    assert "database ready" in formflow(env, "init-db").stdout
    formflow(env, "init-db")
    out = formflow(
        env, "create-user", "li", "--admin", "--password-stdin", stdin="secret password\n"
    ).stdout
    assert "created user li" in out and "admin" in out
    token = out.split("API token: ")[1].strip()
    assert token.startswith("ff_")
    again = formflow(env, "create-user", "li", check=False)
    assert again.returncode == 1
    assert "username: 'li' is taken" in again.stderr
    short = formflow(env, "create-user", "wang", "--password", "short", check=False)
    assert short.returncode == 1 and "password: must be at least 12 characters" in short.stderr


def test_a_password_given_to_create_user_is_changed_at_first_sign_in(sqlite_env, monkeypatch):
    from formflow.config import Config
    from formflow.people import service as people
    from formflow.runtime import Runtime

    formflow(sqlite_env, "init-db")
    formflow(sqlite_env, "create-user", "li", "--password-stdin", stdin="secret password\n")
    formflow(sqlite_env, "create-user", "wang")  # a token only: no password to change
    monkeypatch.setenv("FORMFLOW_INSTANCE", sqlite_env["FORMFLOW_INSTANCE"])
    monkeypatch.delenv("DATABASE_URL", raising=False)
    runtime = Runtime(Config.from_env())
    try:
        with runtime.read() as work:
            assert people.password_change_due(work, people.get_user(work, "li").id)
            assert not people.password_change_due(work, people.get_user(work, "wang").id)
    finally:
        runtime.close()


def test_install_and_export_round_trip_is_exact(env, tmp_path):
    source = tmp_path / "app"
    source.mkdir()
    for name, definition in (("customer", CUSTOMER), ("quote", QUOTE)):
        (source / f"{name}.json").write_text(jsoncodec.dumps_pretty(definition), encoding="utf-8")
    formflow(env, "init-db")
    out = formflow(env, "install-app", "crm", "--path", str(source), "--title", "CRM").stdout
    assert "2 form(s) published" in out
    assert (
        "0 form(s) published, 2 unchanged"
        in formflow(env, "install-app", "crm", "--path", str(source)).stdout
    )
    target = tmp_path / "exported"
    formflow(env, "export-app", "crm", str(target))
    for name in ("customer", "quote"):
        assert (target / f"{name}.json").read_bytes() == (source / f"{name}.json").read_bytes()


def test_install_reports_problems_per_file_and_installs_nothing(sqlite_env, tmp_path):
    env = sqlite_env
    source = tmp_path / "app"
    source.mkdir()
    good = jsoncodec.dumps_pretty(CUSTOMER)
    (source / "customer.json").write_text(good)
    bad = dict(
        CUSTOMER, properties={"x": {"x-field": "money", "type": "number", "minimum": "zero"}}
    )
    (source / "broken.json").write_text(jsoncodec.dumps_pretty(bad))
    (source / "garbled.json").write_text("{not json")
    formflow(env, "init-db")
    result = formflow(env, "install-app", "crm", "--path", str(source), check=False)
    assert result.returncode == 1
    assert "broken.json/properties/x/minimum: must be a number" in result.stderr
    assert "garbled.json: is not valid JSON" in result.stderr
    (source / "garbled.json").unlink()
    result = formflow(env, "install-app", "crm", "--path", str(source), check=False)
    assert result.returncode == 1
    exported = formflow(env, "export-app", "crm", str(tmp_path / "out"), check=False)
    assert exported.returncode == 1 and "no app named 'crm'" in exported.stderr


def test_plugins_are_found_through_their_entry_point(sqlite_env):
    env = sqlite_env
    formflow(env, "init-db")
    out = formflow(env, "install-app").stdout
    assert "installed sales_performance" in out


def test_run_refuses_the_development_key_in_production_in_one_line(monkeypatch, tmp_path):
    from click.testing import CliRunner

    from formflow.cli import main

    monkeypatch.setenv("FORMFLOW_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("FORMFLOW_INSTANCE", str(tmp_path))
    result = CliRunner().invoke(main, ["run"])
    assert result.exit_code != 0
    assert "SECRET_KEY" in result.output and "Traceback" not in result.output
