"""Engines and schema upgrades.

SQLite: pysqlite's own transaction handling is turned off and we emit BEGIN ourselves, so a unit of
work that writes can take the write lock up front (BEGIN IMMEDIATE). Without it two processes can
both count the free seats and both insert: the check-then-insert race the seat rules forbid.
PostgreSQL: the service locks the app row (SELECT ... FOR UPDATE) before it counts seats.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import NullPool

DEFAULT_DATABASE_URL = "sqlite:///licensebot.db"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
MIGRATE_URL_ENV = "LICENSEBOT_MIGRATE_URL"  # how upgrade_schema_apart hands its child the database
# `serve` runs up to 16 request threads and 8 background workers at once (handlers/server.py, deps.py),
# and the outbox's workers (4 by default; on SQLite they share this pool, the overflow covers them).
SQLITE_POOL_SIZE = 24
SUPPORTED_BACKENDS = ("sqlite", "postgresql")
POSTGRES_POOL_SIZE = 12


def normalize_url(url: str | None) -> str:
    """An empty URL means the embedded default; plain postgresql:// means psycopg 3."""
    url = (url or "").strip() or DEFAULT_DATABASE_URL
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str | None, **kwargs: Any) -> Engine:
    url = normalize_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError("not a database URL (like sqlite:///licensebot.db or postgresql://user@host/db)") from None
    if parsed.get_backend_name() not in SUPPORTED_BACKENDS:
        raise ValueError(f"{parsed.get_backend_name()} is not supported: use sqlite:/// or postgresql://")
    if parsed.get_backend_name() == "sqlite":
        in_memory = parsed.database in (None, "", ":memory:")
        if in_memory:
            raise ValueError("an in-memory SQLite database is not shared between connections: name a file")
        kwargs.setdefault("connect_args", {}).update({"timeout": 60, "check_same_thread": False})
        # A connection per concurrent request and background task, kept: a new SQLite connection must
        # re-read the schema on its first statement, which under load cost more than the queries.
        if "poolclass" not in kwargs:
            kwargs.setdefault("pool_size", SQLITE_POOL_SIZE)
            kwargs.setdefault("max_overflow", 8)
        engine = create_engine(url, **kwargs)
        _install_sqlite_transaction_control(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if "poolclass" not in kwargs:
        # several bot processes share one server: keep fewer, and let bursts overflow
        kwargs.setdefault("pool_size", POSTGRES_POOL_SIZE)
        kwargs.setdefault("max_overflow", 16)
    return create_engine(url, **kwargs)


def fast_commit_engine(engine: Engine) -> Engine:
    """A PostgreSQL engine beside `engine`, on the same database, for statements that each stand alone:
    autocommit, and commits that do not wait for the WAL to reach the disk (synchronous_commit=off).

    What it writes is visible to every connection at once and survives any crash of ours; a crash of the
    database server itself may forget its last fraction of a second (3 x wal_writer_delay at most). The
    outbox's leases and delivery marks use it: forgetting one means a message is sent again, and waiting
    for the disk on each (one commit per message sent) cost more than sending it. It is disposed with
    `engine`."""
    url = engine.url
    options = url.query.get("options", "")
    options = " ".join(options) if isinstance(options, tuple) else options
    relaxed = url.update_query_dict({"options": f"{options} -c synchronous_commit=off".strip()})
    fast = make_engine(relaxed.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    event.listen(engine, "engine_disposed", lambda _engine: fast.dispose())
    return fast


def _install_sqlite_transaction_control(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we send BEGIN ourselves (see module doc)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")  # readers do not wait for the writer
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")  # wait for the write lock instead of failing
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        if mode != "NONE":  # NONE: a lone read runs in SQLite's autocommit, one statement, one snapshot
            conn.exec_driver_sql(f"BEGIN {mode}")


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


_REVISION = re.compile(r"^(down_)?revision\s*(?::[^=]*)?=\s*['\"]?([\w.-]+|None)['\"]?\s*$", re.M)


@functools.cache
def schema_head() -> str | None:
    """The newest revision, read from the migration files' own `revision` / `down_revision` lines (the one
    no other file builds on) without importing Alembic; tests/storage check it against Alembic's answer.
    None when the files do not name exactly one (a merge revision's tuple): then Alembic decides."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        for down, value in _REVISION.findall(path.read_text(encoding="utf-8")):
            (parents if down else revisions).add(value)
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def current_revision(engine: Engine) -> str | None:
    """The schema's revision as Alembic recorded it; None for a database it never touched."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def at_head(engine: Engine) -> bool:
    """Is the schema at the newest revision already? Answered without importing Alembic."""
    head = schema_head()
    return head is not None and current_revision(engine) == head


def upgrade_schema(engine: Engine) -> None:
    """Bring the schema to the newest revision; safe to run from several processes at once. A schema at
    the newest revision already (every start but the first after an upgrade) is left without importing
    Alembic: its ~11 MiB of modules would stay in `serve`'s long-lived process for nothing."""
    if at_head(engine):
        return
    from alembic import command

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # one migrator at a time when several bot processes start together
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7410021)")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


class SchemaUpgradeFailed(SQLAlchemyError):
    """The migrations, run in a child process, failed: the child's last line says why."""


def upgrade_schema_apart(engine: Engine) -> None:
    """`upgrade_schema` for a long-lived process (`serve`): at the newest revision already, nothing is
    imported; otherwise Alembic runs in a short-lived child process (storage/migrate.py), so its modules
    (~11 MiB with Mako and Pygments; Python never gives a module's memory back) stay out of this one."""
    if at_head(engine):
        return
    url = engine.url.render_as_string(hide_password=False)  # in the environment, never on a command line
    done = subprocess.run([sys.executable, "-m", "storage.migrate"], env={**os.environ, MIGRATE_URL_ENV: url},
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()] or [f"exit {done.returncode}"]
        raise SchemaUpgradeFailed(f"cannot upgrade the schema: {lines[-1].strip()}")


def single_use_engine(url: str | None) -> Engine:
    """For short-lived processes (the CLI): no pool to keep."""
    return make_engine(url, poolclass=NullPool)


class ProcessLock:
    """Held by one process at a time on a SQLite database file (an OS lock on `<file>.<name>.lock`, freed
    by the OS when the process dies, kill -9 included); always granted elsewhere (PostgreSQL)."""

    def __init__(self, engine: Engine, name: str) -> None:
        database = engine.url.database if is_sqlite(engine) else None
        self.path = Path(f"{Path(database).resolve()}.{name}.lock") if database else None
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Takes the lock if it is free (never waits); True while this process holds it."""
        if self.path is None or self._fd is not None:
            return True
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the lock
            self._fd = None


def backend_of(url: str | None) -> str:
    """`sqlite` or `postgresql` (or whatever else the URL names)."""
    try:
        return make_url(normalize_url(url)).get_backend_name()
    except ArgumentError:
        raise ValueError("not a database URL (like sqlite:///licensebot.db or postgresql://user@host/db)") from None


def sqlite_backup(url: str | None, target: Path) -> int:
    """Copies a SQLite database to `target` with SQLite's online backup API: a consistent copy of every
    committed transaction, safe while `serve` writes (WAL: the copy reads a snapshot, writers go on).
    Written beside the target and renamed into place, so a copy cut short never looks like a backup.
    Returns the size in bytes. Raises FileNotFoundError for a database that does not exist (never creates one).
    """
    import sqlite3

    database = make_url(normalize_url(url)).database or ""
    source_path = Path(database)
    if not source_path.is_file():
        raise FileNotFoundError(f"no SQLite database at {source_path}")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(f"{source_path.resolve().as_uri()}?mode=rw", uri=True, timeout=60)
    try:
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy)  # all pages in one step, under one read snapshot
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        finally:
            copy.close()
    finally:
        source.close()
    os.replace(partial, target)
    return target.stat().st_size
