"""``formflow dev``: the whole system on one machine, for trying it out and developing.

Creates the instance folder and database, installs the plugins' apps, makes sure an
administrator exists, starts the embedded Redis-compatible server, one RQ worker, the
reminder scheduler and the web server, prints where to log in, and stops everything on
Ctrl-C (or when one part dies).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import click

from .config import Config
from .serving import gunicorn_command


def _admin_credentials(instance: Path) -> tuple[str, str]:
    """The development admin's password and token, created once and kept in the instance."""
    from .people import service, tokens
    from .runtime import Runtime

    secret_file = instance / "admin-credentials.txt"
    if secret_file.exists():
        password, token = secret_file.read_text().split("\n")[:2]
        return password, token
    password = os.environ.get("FORMFLOW_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
    runtime = Runtime(Config.from_env())
    with runtime.write() as work:
        try:
            user = service.get_user(work, "admin")
        except Exception:
            user = service.create_user(
                work, "admin", display_name="管理员 Admin", password=password, is_admin=True
            )
        else:
            user.password_hash = service.hash_password(password)
        token = tokens.issue(work, user, "dev")
    runtime.close()
    secret_file.write_text(f"{password}\n{token}\n")
    secret_file.chmod(0o600)
    return password, token


def _formflow(*args: str) -> list[str]:
    return [sys.executable, "-m", "formflow", *args]


def run_dev(host: str, port: int, demo: bool) -> None:
    from .jobs import redis_server

    config = Config.from_env()
    instance = config.instance_path
    instance.mkdir(parents=True, exist_ok=True)
    # the development secret key is fine here, and only here (Config.check_production)
    env = dict(
        os.environ,
        FORMFLOW_INSTANCE=str(instance),
        FORMFLOW_ENV=os.environ.get("FORMFLOW_ENV") or "development",
    )
    subprocess.run(_formflow("init-db"), check=True, env=env)
    subprocess.run(_formflow("install-app"), check=True, env=env)
    password, token = _admin_credentials(instance)
    if demo:
        from .extensions import load_plugin_manager

        if any(c.name == "seed-demo" for c in load_plugin_manager().cli_commands()):
            subprocess.run(_formflow("seed-demo"), check=True, env=env)

    server = None
    sink = None
    children: list[subprocess.Popen[bytes]] = []
    # Whatever stops this (Ctrl-C, a part that fails to start, the web server not
    # answering), the parts started so far stop with it: none is left holding the port.
    try:
        if not config.redis_url:
            server = redis_server.start(instance / "redis")
            env["REDIS_URL"] = redis_server.url_of(server)
        if not config.smtp_url:
            from .mail.sink import MailSink

            sink = MailSink(instance / "mail").start()
            env["SMTP_URL"] = sink.url
        children += [
            subprocess.Popen(_formflow("worker"), env=env),
            subprocess.Popen(_formflow("scheduler"), env=env),
            subprocess.Popen(
                gunicorn_command(f"{host}:{port}", workers=2, threads=4, access_log=False),
                env=env,
            ),
        ]
        url = f"http://{host}:{port}"
        _wait_for(url + "/healthz", children)
        click.echo("")
        click.echo(f"Formflow is running at {url}")
        click.echo(f"  log in as:  admin / {password}")
        click.echo(f"  API token:  {token}")
        click.echo(f"  API docs:   {url}/api/v1/openapi.json")
        click.echo(f"  Redis:      {env['REDIS_URL']}")
        if sink is not None:
            click.echo(f"  email:      kept in {sink.folder} (set SMTP_URL to send it for real)")
        click.echo(f"  data:       {instance}")
        click.echo("Press Ctrl-C to stop.", err=False)
        sys.stdout.flush()

        stopping = False

        def stop(*_: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.5)
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        if server is not None:
            server.stop()
        if sink is not None:
            sink.stop()


def _wait_for(url: str, children: list[subprocess.Popen[bytes]], timeout: float = 60) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(child.poll() is not None for child in children):
            raise SystemExit("a part of Formflow failed to start; see the messages above")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the web server did not answer at {url}")
