"""V14 configuration: production refuses the development secret key; secrets come from
the environment; security settings are on by default."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from formflow import Runtime, create_app
from formflow.config import DEV_SECRET_KEY, Config, InsecureConfiguration

REAL_KEY = "k" * 64


def production(tmp_path: Path, sqlite_url: str, **settings) -> Config:
    return Config(
        instance_path=tmp_path / "instance",
        database_url=sqlite_url,
        environment="production",
        **settings,
    )


def test_production_refuses_to_start_with_the_development_secret_key(tmp_path, sqlite_url):
    runtime = Runtime(production(tmp_path, sqlite_url), load_plugins=False)
    try:
        with pytest.raises(InsecureConfiguration, match="development SECRET_KEY"):
            create_app(runtime=runtime)
    finally:
        runtime.close()


def test_production_refuses_a_short_secret_key(tmp_path, sqlite_url):
    config = production(tmp_path, sqlite_url, secret_key="changeme")
    with pytest.raises(InsecureConfiguration, match="at least 32"):
        config.check_production()


def test_production_starts_with_a_long_random_key(tmp_path, sqlite_url):
    runtime = Runtime(production(tmp_path, sqlite_url, secret_key=REAL_KEY), load_plugins=False)
    try:
        app = create_app(runtime=runtime)
        assert app.config["SECRET_KEY"] == REAL_KEY
    finally:
        runtime.close()


def test_development_and_tests_may_use_the_development_key(tmp_path, sqlite_url):
    Config(instance_path=tmp_path, database_url=sqlite_url).check_production()
    production(tmp_path, sqlite_url, testing=True).check_production()


def test_the_environment_is_production_unless_it_says_development(monkeypatch):
    monkeypatch.delenv("FORMFLOW_ENV", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    config = Config.from_env()
    assert config.production and config.secret_key == DEV_SECRET_KEY
    monkeypatch.setenv("FORMFLOW_ENV", "development")
    assert not Config.from_env().production
    monkeypatch.setenv("FORMFLOW_ENV", "staging")
    with pytest.raises(InsecureConfiguration, match="FORMFLOW_ENV"):
        Config.from_env().check_production()


def test_secrets_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", REAL_KEY)
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:pw@db/formflow")
    monkeypatch.setenv("SMTP_URL", "smtps://mail:pw@smtp.example:465")
    config = Config.from_env()
    assert config.secret_key == REAL_KEY
    assert config.database_url == "postgresql://app:pw@db/formflow"
    assert config.smtp_url == "smtps://mail:pw@smtp.example:465"
    monkeypatch.setenv("SECRET_KEY", "")  # set but empty is not a key
    assert Config.from_env().secret_key == DEV_SECRET_KEY


def test_the_wsgi_entry_point_refuses_the_development_key_with_a_clear_message(tmp_path):
    """What ``formflow run`` (gunicorn formflow.wsgi:app) does without SECRET_KEY."""
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "FORMFLOW_ENV")}
    env["FORMFLOW_INSTANCE"] = str(tmp_path / "instance")
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", "import formflow.wsgi"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "refusing to start in production with the development SECRET_KEY" in done.stderr
    env["SECRET_KEY"] = REAL_KEY
    started = subprocess.run(
        [sys.executable, "-c", "import formflow.wsgi"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode == 0, started.stderr


def test_session_and_csrf_settings_are_safe_by_default(app):
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config.get("WTF_CSRF_ENABLED", True) is True
    assert app.jinja_env.autoescape(  # every template of the engine is escaped
        "records/show.html"
    )
    assert not app.debug
