"""The ``formflow`` command line: set up, manage and run an instance."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from .config import Config
from .errors import FormflowError
from .runtime import Runtime


def _runtime() -> Runtime:
    return Runtime(Config.from_env())


def _fail(error: FormflowError) -> None:
    for item in error.errors:
        prefix = f"{item.field}: " if item.field else ""
        click.echo(f"error: {prefix}{item.message}", err=True)
    sys.exit(1)


@click.group()
def main() -> None:
    """Formflow: forms, records, flows — and the plugins that build on them.

    Settings come from the environment: FORMFLOW_INSTANCE (folder, default ./instance),
    DATABASE_URL (default SQLite in the instance folder), REDIS_URL.
    """


@main.command("init-db")
def init_db() -> None:
    """Create or upgrade the database tables (Alembic migrations)."""
    from .migrations import upgrade

    runtime = _runtime()
    runtime.config.instance_path.mkdir(parents=True, exist_ok=True)
    upgrade(runtime.db.engine)
    click.echo(f"database ready: {runtime.db.engine.url.render_as_string(hide_password=True)}")


@main.command("analyze")
def analyze() -> None:
    """Refresh the query planner's statistics (run nightly, and after large imports)."""
    from .db import refresh_statistics

    runtime = _runtime()
    seconds = refresh_statistics(runtime.db)
    click.echo(f"statistics refreshed in {seconds:.1f}s")


@main.command("create-user")
@click.argument("username")
@click.option("--admin", is_flag=True, help="Make the user an administrator.")
@click.option("--display-name", default=None)
@click.option("--email", default=None)
@click.option("--password", default=None, help="Set a password (or use --password-stdin).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user(
    username: str,
    admin: bool,
    display_name: str | None,
    email: str | None,
    password: str | None,
    password_stdin: bool,
) -> None:
    """Create a user and print an API token for it (shown only once)."""
    from .people import service, tokens

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    runtime = _runtime()
    try:
        with runtime.write() as work:
            user = service.create_user(
                work,
                username,
                display_name=display_name,
                email=email,
                password=password,
                is_admin=admin,
            )
            if password:
                # chosen by whoever ran this, so the person picks their own at sign-in
                service.require_password_change(work, user.id)
            token = tokens.issue(work, user, "cli")
    except FormflowError as error:
        _fail(error)
    click.echo(f"created user {username} (id {user.id}{', admin' if admin else ''})")
    click.echo(f"API token: {token}")


@main.command("issue-token")
@click.argument("username")
@click.option("--name", default="cli")
def issue_token(username: str, name: str) -> None:
    """Print a new API token for an existing user."""
    from .people import service, tokens

    runtime = _runtime()
    try:
        with runtime.write() as work:
            token = tokens.issue(work, service.get_user(work, username), name)
    except FormflowError as error:
        _fail(error)
    click.echo(token)


@main.command("install-app")
@click.argument("name", required=False)
@click.option(
    "--path",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Install from this folder of definition files instead of a plugin's.",
)
@click.option("--title", default=None, help="The app's title (with --path).")
@click.option(
    "--flows",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also install the approval flows and automations of this folder (with --path).",
)
@click.option(
    "--dashboards",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also install the dashboards of this folder (with --path).",
)
def install_app(
    name: str | None,
    path: Path | None,
    title: str | None,
    flows: Path | None,
    dashboards: Path | None,
) -> None:
    """Install (or upgrade) an app from its definition files: forms, then flows, then
    automations, then what its plugin creates on install (roles, default records), then
    dashboards.

    Without arguments, installs every app the installed plugins ship.
    """
    from .apps.files import install
    from .automations import files as automation_files
    from .dashboards import files as dashboard_files
    from .flows import files as flow_files

    runtime = _runtime()
    if path is not None:
        if not name:
            raise click.UsageError("give the app's NAME with --path")
        targets = [(name, title or name, path, None, flows, dashboards)]
    else:
        bundles = runtime.plugins.apps()
        if name:
            bundles = [b for b in bundles if b.name == name]
            if not bundles:
                raise click.UsageError(f"no plugin ships an app named '{name}'")
        targets = [
            (b.name, b.title, b.schemas, b.plugin, b.workflows, b.dashboards) for b in bundles
        ]
    for app_name, app_title, folder, plugin, flow_folder, dashboard_folder in targets:
        try:
            with runtime.write() as work:
                report = install(work, app_name, app_title, folder, plugin=plugin)
                flows_report = (
                    flow_files.install(work, app_name, flow_folder)
                    if flow_folder
                    else flow_files.FlowsReport()
                )
                automations_report = (
                    automation_files.install(work, app_name, flow_folder)
                    if flow_folder
                    else automation_files.AutomationsReport()
                )
                # before the dashboards: they may be shown to roles the plugin creates
                runtime.plugins.hook.formflow_app_installed(work=work, app=app_name)
                dashboards_report = (
                    dashboard_files.install(work, app_name, dashboard_folder)
                    if dashboard_folder
                    else dashboard_files.DashboardsReport()
                )
        except FormflowError as error:
            _fail(error)
        click.echo(
            f"installed {app_name}: {len(report.published)} form(s) published, "
            f"{len(report.unchanged)} unchanged; {len(flows_report.published)} flow(s) "
            f"published, {len(flows_report.unchanged)} unchanged; "
            f"{len(automations_report.published)} automation(s) published, "
            f"{len(automations_report.unchanged)} unchanged; "
            f"{len(dashboards_report.published)} dashboard(s) published, "
            f"{len(dashboards_report.unchanged)} unchanged"
        )


@main.command("export-app")
@click.argument("name")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--flows",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also write the app's approval flows and automations to this folder, a file each.",
)
@click.option(
    "--dashboards",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also write the app's dashboards to this folder, a file each.",
)
def export_app(name: str, folder: Path, flows: Path | None, dashboards: Path | None) -> None:
    """Write app NAME's current definitions to FOLDER, one file per form."""
    from .apps.files import export
    from .automations import files as automation_files
    from .dashboards import files as dashboard_files
    from .flows import files as flow_files

    runtime = _runtime()
    try:
        with runtime.read() as work:
            written = export(work, name, folder)
            flow_paths = flow_files.export(work, name, flows) if flows else []
            automation_paths = automation_files.export(work, name, flows) if flows else []
            dashboard_paths = dashboard_files.export(work, name, dashboards) if dashboards else []
    except FormflowError as error:
        _fail(error)
    click.echo(f"exported {len(written)} form(s) to {folder}")
    if flows:
        click.echo(
            f"exported {len(flow_paths)} flow(s) and {len(automation_paths)} automation(s) "
            f"to {flows}"
        )
    if dashboards:
        click.echo(f"exported {len(dashboard_paths)} dashboard(s) to {dashboards}")


@main.command("backup")
@click.argument("dest", type=click.Path(path_type=Path))
def backup_instance(dest: Path) -> None:
    """Write a backup of the database and the uploaded files to DEST (a new .tar.gz file,
    or a folder to put a dated one in). Safe while the app runs: the database is copied
    from one consistent snapshot (SQLite's online backup, or pg_dump)."""
    from .backup import backup

    try:
        report = backup(Config.from_env(), dest)
    except FormflowError as error:
        _fail(error)
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(
        f"backed up {report.kind} database (revision {report.revision}, "
        f"{report.counts.get('records', 0)} records) and {report.files} file(s) "
        f"to {report.path}"
    )


@main.command("restore")
@click.argument("src", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database or uploads folder that holds data.")
def restore_instance(src: Path, force: bool) -> None:
    """Restore the backup SRC into this instance (DATABASE_URL and its uploads folder);
    stop its web processes and workers first.

    The whole archive is checked first (manifest, every checksum); a database or uploads
    folder that already holds data is refused unless --force. A backup restores only into
    the same kind of database it was taken from: SQLite into SQLite, PostgreSQL into
    PostgreSQL (PostgreSQL needs Debian's postgresql-client for pg_dump/pg_restore).
    """
    from .backup import restore

    try:
        report = restore(Config.from_env(), src, force=force)
    except FormflowError as error:
        _fail(error)
    click.echo(
        f"restored {report.kind} database (revision {report.revision}, "
        f"{report.counts.get('records', 0)} records) and {report.files} file(s) from {src}"
    )
    if report.needs_upgrade:
        click.echo("the backup's schema is older than this Formflow's: run `formflow init-db`")


@main.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--workers", default=2, show_default=True, help="gunicorn worker processes")
@click.option("--threads", default=4, show_default=True, help="threads per worker process")
def run(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the web app and API with gunicorn (see formflow.serving)."""
    from .config import InsecureConfiguration
    from .serving import gunicorn_command

    try:  # one clear line here rather than a traceback from each gunicorn worker
        Config.from_env().check_production()
    except InsecureConfiguration as error:
        raise click.ClickException(str(error)) from None
    command = gunicorn_command(f"{host}:{port}", workers=workers, threads=threads)
    os.execvp(command[0], command)


@main.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--simple", is_flag=True, help="Run jobs in this process (no fork per job).")
@click.argument("queues", nargs=-1)
def worker(burst: bool, simple: bool, queues: tuple[str, ...]) -> None:
    """Run an RQ worker (any number may run, on any host).

    It first enqueues again every record conversion left unfinished (a worker that died
    mid-way, Redis flushed): the database holds where each one stopped.
    """
    from .definitions.conversions import resume
    from .jobs.worker import run_worker

    config = Config.from_env()
    if not config.redis_url:
        raise click.UsageError("set REDIS_URL (formflow dev starts an embedded server for you)")
    runtime = Runtime(config)
    try:
        resumed = resume(runtime)
    finally:
        runtime.close()
    if resumed:
        click.echo(f"resumed conversions: {', '.join(f'#{i}' for i in resumed)}")
    run_worker(config.redis_url, list(queues) or None, burst=burst, simple=simple)


@main.command("scheduler")
@click.option("--interval", default=10.0, show_default=True, help="seconds between sweeps")
@click.option("--once", is_flag=True, help="Sweep once and stop.")
def scheduler(interval: float, once: bool) -> None:
    """Sweep due reminders and flow timeouts into the queue (two running do no harm: each
    reminder is claimed by one sweep)."""
    from .reminders.sweep import run_scheduler

    config = Config.from_env()
    if not config.redis_url:
        raise click.UsageError("set REDIS_URL (formflow dev starts an embedded server for you)")
    runtime = Runtime(config)
    try:
        run_scheduler(runtime, interval=interval, once=once)
    finally:
        runtime.close()


@main.command("dev")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--no-demo", is_flag=True, help="Do not seed demo data.")
def dev(host: str, port: int, no_demo: bool) -> None:
    """Everything on one machine: database, embedded Redis, a worker and the web server."""
    from .dev import run_dev

    run_dev(host=host, port=port, demo=not no_demo)


def _add_plugin_commands() -> None:
    from .extensions import load_plugin_manager

    for command in load_plugin_manager().cli_commands():
        main.add_command(command)


_add_plugin_commands()
