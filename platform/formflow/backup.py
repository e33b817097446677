"""Backups of an instance: its database and its uploaded files in one archive, and restoring
such an archive into a fresh instance.

An archive is a ``.tar.gz`` holding ``manifest.json`` first, then the database (an SQLite
file made with SQLite's online backup, or a ``pg_dump`` custom-format dump), then every
uploaded file under ``uploads/``. The manifest names the format version, the Formflow
version and Alembic revision that wrote it, the kind of database, the rows of every table and
the size and SHA-256 of every other member. The database is copied from one snapshot taken
while the application keeps running (SQLite's backup API reads one WAL snapshot; pg_dump
exports a repeatable-read snapshot), and the files copied are those that snapshot names:
an upload is on disk before the transaction that names it commits, and never changes.

A restore reads and checks the whole archive before it touches anything, refuses a database
or uploads folder that already holds data unless forced, and counts the rows it restored
against the manifest. A backup restores only into the same kind of database it was taken
from (SQLite into SQLite, PostgreSQL into PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
import glob
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from .config import Config
from .db import normalise_url
from .errors import FormflowError

FORMAT = "formflow-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATABASE_MEMBERS = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
UPLOADS = "uploads"
CHUNK = 1024 * 1024
_UPLOAD_MEMBER = re.compile(r"uploads/([0-9a-f]{2})/(\1[0-9a-f]{30})")


class BackupError(FormflowError):
    """A backup could not be written, or an archive cannot be restored; says why."""


@dataclass
class BackupReport:
    path: Path
    kind: str
    revision: str | None
    counts: dict[str, int]
    files: int
    #: Files the database names that were missing or whose bytes no longer match their
    #: recorded checksum: written as found, and listed here and in the manifest.
    warnings: list[str] = field(default_factory=list)


@dataclass
class RestoreReport:
    kind: str
    revision: str | None
    counts: dict[str, int]
    files: int
    #: The archive's schema is older than this Formflow's: run ``formflow init-db``.
    needs_upgrade: bool


# -- backup --------------------------------------------------------------------------------


def backup(config: Config, dest: Path) -> BackupReport:
    """Write a backup archive of the instance ``config`` describes to ``dest`` (a file, or
    a folder to put a dated file in). Safe while the application runs."""
    dest = Path(dest)
    if dest.is_dir():
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
        dest = dest / f"formflow-backup-{stamp}.tar.gz"
    if dest.exists():
        raise BackupError(f"{dest} already exists; give a new file name")
    dest.parent.mkdir(parents=True, exist_ok=True)
    engine = _engine(config.database_url)
    kind = _kind(engine)
    staging = Path(tempfile.mkdtemp(prefix=".formflow-backup-", dir=dest.parent))
    try:
        database = staging / DATABASE_MEMBERS[kind]
        snapshot = _snapshot_sqlite(engine, database) if kind == "sqlite" else None
        if kind == "postgresql":
            snapshot = _snapshot_postgresql(engine, database)
        assert snapshot is not None
        members = {database.name: _digest(database)}
        warnings: list[str] = []
        files: list[tuple[str, Path]] = []
        for file_id, name, sha256 in snapshot.files:
            path = config.upload_path / file_id[:2] / file_id
            if not path.is_file():
                warnings.append(f"file {file_id} ({name}) is missing from {config.upload_path}")
                continue
            found = _digest(path)
            if found["sha256"] != sha256:
                warnings.append(
                    f"file {file_id} ({name}) no longer matches the checksum recorded at upload"
                )
            member = f"{UPLOADS}/{file_id[:2]}/{file_id}"
            members[member] = found
            files.append((member, path))
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": dt.datetime.now(dt.UTC).isoformat(),
            "formflow_version": _formflow_version(),
            "alembic_revision": snapshot.revision,
            "database": {"kind": kind, "member": database.name},
            "counts": snapshot.counts,
            "files": len(files),
            "members": members,
            "warnings": warnings,
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
        partial = staging / "archive.tar.gz"
        with tarfile.open(partial, "w:gz", compresslevel=6) as archive:
            archive.add(staging / MANIFEST, MANIFEST)
            archive.add(database, database.name)
            for member, path in files:
                archive.add(path, member)
        os.replace(partial, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        engine.dispose()
    return BackupReport(dest, kind, snapshot.revision, snapshot.counts, len(files), warnings)


@dataclass
class _Snapshot:
    revision: str | None
    counts: dict[str, int]
    #: (id, name, sha256) of every file row.
    files: list[tuple[str, str, str]]


def _snapshot_sqlite(engine: Engine, target: Path) -> _Snapshot:
    source_path = engine.url.database
    if not source_path or source_path == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    if not Path(source_path).is_file():
        raise BackupError(f"there is no database at {source_path}")
    source = sqlite3.connect(source_path, timeout=60)
    copy = sqlite3.connect(target)
    try:
        # one step: the whole copy reads one WAL snapshot while writers carry on
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    finally:
        copy.close()
        source.close()
    copied = _engine(f"sqlite:///{target}")
    try:
        with copied.connect() as connection:
            return _read_snapshot(connection)
    finally:
        copied.dispose()


def _snapshot_postgresql(engine: Engine, target: Path) -> _Snapshot:
    """pg_dump from a snapshot exported by a transaction that also counts the rows and
    lists the files: the dump, the counts and the files agree."""
    with (
        engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection,
        connection.begin(),
    ):
        connection.execute(text("SET TRANSACTION READ ONLY"))
        snapshot_id = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        found = _read_snapshot(connection)
        _run_pg(
            "pg_dump", engine, "--format=custom", f"--snapshot={snapshot_id}", f"--file={target}"
        )
    return found


def _read_snapshot(connection: Connection) -> _Snapshot:
    counts = _counts(connection)
    files: list[tuple[str, str, str]] = []
    if "files" in counts:
        files = [
            (row.id, row.name, row.sha256)
            for row in connection.execute(text("SELECT id, name, sha256 FROM files ORDER BY id"))
        ]
    revision = None
    if "alembic_version" in counts:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return _Snapshot(revision, counts, files)


def _counts(connection: Connection) -> dict[str, int]:
    return {
        table: connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()
        for table in sorted(inspect(connection).get_table_names())
    }


# -- restore -------------------------------------------------------------------------------


def restore(config: Config, source: Path, *, force: bool = False) -> RestoreReport:
    """Restore the archive ``source`` into the instance ``config`` describes.

    Everything is checked first — the archive reads to its end, the manifest is one this
    Formflow understands, every member matches its size and checksum, the database is the
    same kind as the target's, the target holds no data (unless ``force``) — and only then
    is the target's database replaced and the uploads put in place.
    """
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"there is no backup at {source}")
    engine = _engine(config.database_url)
    kind = _kind(engine)
    # beside the uploads (a rename puts them in place), in a folder that exists already:
    # a refused restore leaves no trace, not even an instance folder
    near = config.instance_path
    while not near.exists():
        near = near.parent
    staging = Path(tempfile.mkdtemp(prefix=".formflow-restore-", dir=near))
    try:
        manifest = _unpack(source, staging)
        _check_revision(manifest)
        archived_kind = manifest["database"]["kind"]
        if archived_kind != kind:
            raise BackupError(
                f"{source} is a backup of a {_KIND_NAMES[archived_kind]} database and this "
                f"instance uses {_KIND_NAMES[kind]}: a backup restores only into the same "
                "kind of database"
            )
        database = staging / manifest["database"]["member"]
        if kind == "sqlite":
            _check_sqlite_file(database)
        else:
            _run_pg("pg_restore", None, "--list", str(database))
        held = _held_data(engine, config.upload_path)
        if held and not force:
            raise BackupError(
                f"the target instance already holds data ({', '.join(held)}); restore into "
                "a fresh instance, or pass --force to replace it"
            )
        if kind == "sqlite":
            _restore_sqlite(engine, database)
        else:
            _restore_postgresql(engine, database)
        with engine.connect() as connection:
            restored = _counts(connection)
        if restored != manifest["counts"]:
            wrong = sorted(
                t
                for t in set(restored) | set(manifest["counts"])
                if restored.get(t) != manifest["counts"].get(t)
            )
            raise BackupError(
                "the restored database does not hold the rows the manifest lists: "
                + ", ".join(
                    f"{t} has {restored.get(t, 0)}, expected {manifest['counts'].get(t, 0)}"
                    for t in wrong
                )
            )
        files = _place_uploads(staging / UPLOADS, config.upload_path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        engine.dispose()
    revision = manifest["alembic_revision"]
    return RestoreReport(
        kind, revision, manifest["counts"], files, needs_upgrade=revision != _head_revision()
    )


_KIND_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def _unpack(source: Path, staging: Path) -> dict[str, Any]:
    """Extract the archive into ``staging``, checking every member against the manifest."""
    found: dict[str, dict[str, Any]] = {}
    manifest: dict[str, Any] | None = None
    try:
        with tarfile.open(source, "r:gz") as archive:
            for member in archive:
                if not member.isfile():
                    raise BackupError(f"{source} holds an unexpected entry '{member.name}'")
                name = member.name
                if name == MANIFEST:
                    raw = archive.extractfile(member).read()  # type: ignore[union-attr]
                    try:
                        manifest = json.loads(raw)
                    except ValueError as error:
                        raise BackupError(f"{source}: {MANIFEST} is not valid JSON") from error
                    continue
                if name not in DATABASE_MEMBERS.values() and not _UPLOAD_MEMBER.fullmatch(name):
                    raise BackupError(f"{source} holds an unexpected entry '{name}'")
                if name in found:
                    raise BackupError(f"{source} holds '{name}' twice")
                target = staging / name
                target.parent.mkdir(parents=True, exist_ok=True)
                digest = hashlib.sha256()
                size = 0
                with archive.extractfile(member) as stream, target.open("wb") as out:  # type: ignore[union-attr]
                    while chunk := stream.read(CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                found[name] = {"sha256": digest.hexdigest(), "size": size}
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise BackupError(f"{source} is damaged and cannot be read: {error}") from error
    if manifest is None:
        raise BackupError(f"{source} has no {MANIFEST}: it is not a Formflow backup")
    _check_manifest(manifest, source)
    expected: dict[str, dict[str, Any]] = manifest["members"]
    problems = []
    for name in sorted(set(expected) | set(found)):
        if name not in found:
            problems.append(f"'{name}' is missing")
        elif name not in expected:
            problems.append(f"'{name}' is not listed in the manifest")
        elif found[name]["size"] != expected[name].get("size"):
            problems.append(
                f"'{name}' has {found[name]['size']} bytes, the manifest says "
                f"{expected[name].get('size')}"
            )
        elif found[name]["sha256"] != expected[name].get("sha256"):
            problems.append(f"'{name}' does not match its checksum in the manifest")
    if problems:
        raise BackupError(f"{source} is damaged: " + "; ".join(problems))
    return manifest


def _check_manifest(manifest: Any, source: Path) -> None:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{source}: {MANIFEST} does not describe a Formflow backup")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise BackupError(
            f"{source} is in backup format {version}; this Formflow reads format {FORMAT_VERSION}"
        )
    database = manifest.get("database")
    if (
        not isinstance(database, dict)
        or database.get("kind") not in DATABASE_MEMBERS
        or database.get("member") != DATABASE_MEMBERS[database["kind"]]
        or not isinstance(manifest.get("members"), dict)
        or database["member"] not in manifest["members"]
        or not isinstance(manifest.get("counts"), dict)
    ):
        raise BackupError(f"{source}: {MANIFEST} is incomplete (database, members or counts)")


def _check_revision(manifest: dict[str, Any]) -> None:
    from alembic.script import ScriptDirectory

    from .migrations import HERE

    revision = manifest.get("alembic_revision")
    if revision is None:
        return
    scripts = ScriptDirectory(str(HERE))
    try:
        scripts.get_revision(revision)
    except Exception as error:  # alembic raises several kinds for an unknown revision
        raise BackupError(
            f"the backup's schema (Alembic revision {revision}) is unknown to this Formflow "
            f"({_formflow_version()}): restore it with the version that wrote it "
            f"({manifest.get('formflow_version')}) or a newer one"
        ) from error


def _head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    from .migrations import HERE

    return ScriptDirectory(str(HERE)).get_current_head()


def _check_sqlite_file(path: Path) -> None:
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = connection.execute("PRAGMA integrity_check").fetchall()
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        raise BackupError(
            f"the backup's database is not a readable SQLite file: {error}"
        ) from error
    if result != [("ok",)]:
        raise BackupError(
            "the backup's database fails SQLite's integrity check: "
            + "; ".join(str(row[0]) for row in result[:5])
        )


def _held_data(engine: Engine, upload_path: Path) -> list[str]:
    """What the target already holds: tables with rows, and uploaded files."""
    held = []
    if engine.dialect.name == "sqlite" and not Path(engine.url.database or "").exists():
        tables: list[str] = []
    else:
        with engine.connect() as connection:
            tables = [
                t
                for t in sorted(inspect(connection).get_table_names())
                if t != "alembic_version"
                and connection.execute(text(f'SELECT EXISTS (SELECT 1 FROM "{t}")')).scalar()
            ]
    if tables:
        shown = ", ".join(tables[:5]) + (f" and {len(tables) - 5} more" if len(tables) > 5 else "")
        held.append(f"rows in {shown}")
    if upload_path.is_dir() and any(p.is_file() for p in upload_path.rglob("*")):
        held.append(f"uploaded files in {upload_path}")
    return held


def _restore_sqlite(engine: Engine, database: Path) -> None:
    """Copy the archived file into the target with the backup API: the target is replaced
    in one step, under SQLite's lock, whatever journal it had."""
    target = Path(engine.url.database or "")
    target.parent.mkdir(parents=True, exist_ok=True)
    engine.dispose()
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    copy = sqlite3.connect(target, timeout=60)
    try:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=WAL")
    finally:
        copy.close()
        source.close()


def _restore_postgresql(engine: Engine, database: Path) -> None:
    """Replace the target's tables with the backup's in ONE transaction: psql drops what
    is there and runs the backup as pg_restore writes it out as SQL, all or nothing, so a
    forced restore that fails half-way leaves the old data exactly as it was."""
    script = _restore_script(database)
    with engine.connect() as connection:
        tables = inspect(connection).get_table_names()
        sequences = [
            name
            for (name,) in connection.execute(
                text(
                    "SELECT sequence_name FROM information_schema.sequences "
                    "WHERE sequence_schema = current_schema()"
                )
            )
        ]
        # The engine's own functions (the triggers' of migration 0012), not an extension's
        # or an aggregate: the backup brings them back with the tables.
        functions = [
            signature
            for (signature,) in connection.execute(
                text(
                    "SELECT p.oid::regprocedure::text FROM pg_proc p "
                    "JOIN pg_namespace n ON n.oid = p.pronamespace "
                    "WHERE n.nspname = current_schema() AND p.prokind = 'f' "
                    "AND NOT EXISTS (SELECT 1 FROM pg_depend d "
                    "WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid "
                    "AND d.deptype = 'e')"
                )
            )
        ]
    drops = database.with_name("drop-current.sql")
    lines = []
    if tables:
        lines.append("DROP TABLE IF EXISTS " + ", ".join(f'"{t}"' for t in tables) + " CASCADE;")
    lines += [f'DROP SEQUENCE IF EXISTS "{s}";' for s in sequences]
    lines += [f"DROP FUNCTION IF EXISTS {f} CASCADE;" for f in functions]
    drops.write_text("\n".join(lines) + "\n", encoding="utf-8")
    engine.dispose()
    _run_pg(
        "psql",
        engine,
        "--no-psqlrc",
        "--quiet",
        "--single-transaction",
        "--set=ON_ERROR_STOP=1",
        f"--file={drops}",
        f"--file={script}",
    )


def _restore_script(database: Path) -> Path:
    """The archived custom-format dump as a plain SQL script (schema, then data)."""
    script = database.with_name("restore.sql")
    _run_pg("pg_restore", None, "--no-owner", "--no-privileges", f"--file={script}", str(database))
    return script


def _place_uploads(staged: Path, upload_path: Path) -> int:
    if upload_path.exists():
        shutil.rmtree(upload_path)  # empty, or the caller forced its replacement
    if not staged.is_dir():
        upload_path.mkdir(parents=True, exist_ok=True)
        return 0
    upload_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(staged, upload_path)
    return sum(1 for p in upload_path.rglob("*") if p.is_file())


# -- shared ----------------------------------------------------------------------------------


def _engine(url: str) -> Engine:
    return create_engine(normalise_url(url), poolclass=NullPool)


def _kind(engine: Engine) -> str:
    kind = engine.dialect.name
    if kind not in DATABASE_MEMBERS:
        raise BackupError(f"backups support SQLite and PostgreSQL, not {kind}")
    return kind


def _digest(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return {"sha256": digest.hexdigest(), "size": size}


def _formflow_version() -> str:
    try:
        return importlib_metadata.version("formflow")
    except importlib_metadata.PackageNotFoundError:
        return "unknown"


def pg_binary(name: str) -> str:
    """A PostgreSQL client program: the newest of Debian's ``/usr/lib/postgresql/*/bin``
    (a newer pg_dump reads older servers), else the one on PATH."""

    def version(path: str) -> tuple[int, ...]:
        number = Path(path).parent.parent.name
        return tuple(int(p) for p in number.split(".") if p.isdigit())

    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=version)
    if found:
        return found[-1]
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"PostgreSQL's {name} is not installed (apt-get install postgresql-client)"
        )
    return path


def _run_pg(program: str, engine: Engine | None, *args: str) -> None:
    """Run pg_dump, pg_restore or psql against ``engine``'s database; the password goes through
    the environment, never the command line."""
    command = [pg_binary(program)]
    env = dict(os.environ)
    if engine is not None:
        url = engine.url
        if url.password is not None:
            env["PGPASSWORD"] = str(url.password)
        libpq = url.set(drivername="postgresql", password=None)
        command.append(f"--dbname={libpq.render_as_string(hide_password=False)}")
    command.extend(args)
    result = subprocess.run(command, capture_output=True, env=env, check=False)
    if result.returncode != 0:
        detail = result.stderr.decode("utf-8", "replace").strip() or f"exit {result.returncode}"
        raise BackupError(f"{program} failed: {detail}")
