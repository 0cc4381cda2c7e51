"""The unit of work: one session, one transaction, rolled back unless committed.

A new session per unit of work: bolt runs listeners on a thread pool, and a session is not
thread-safe. A unit of work that will change seats is opened with ``write=True``: on SQLite it
takes the database write lock at BEGIN (see storage.db).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType
from typing import Self

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.catalog_version import BUMP, catalog_written, track_catalog_writes
from storage.db import ProcessLock, fast_commit_engine, is_sqlite
from storage.repositories import (
    AlertRepository,
    AppRepository,
    AssigneeRepository,
    AuditRepository,
    GroupVersionRepository,
    HoldingsRepository,
    IdempotencyRepository,
    LicenseRepository,
    LifetimeRepository,
    OutboxRepository,
    ProcessedEventRepository,
    ProvisioningRepository,
    ReclaimRepository,
    RequestRepository,
    RoleRepository,
    TokenRepository,
    UsageRepository,
)

BeforeCommit = Callable[["UnitOfWork"], None]


class UnitOfWork:
    def __init__(
        self,
        bind: Engine,
        before_commit: dict[str, BeforeCommit] | None = None,
        catalog_listeners: list[Callable[[], None]] | None = None,
    ) -> None:
        self._bind = bind
        self._before_commit = before_commit if before_commit is not None else {}
        self._catalog_listeners = catalog_listeners if catalog_listeners is not None else []
        self.session: Session | None = None
        self._after_commit: list[Callable[[], None]] = []

    def __enter__(self) -> Self:
        self.session = Session(bind=self._bind, expire_on_commit=False, autoflush=False)
        session = self.session
        self.apps = AppRepository(session)
        self.licenses = LicenseRepository(session)
        self.assignees = AssigneeRepository(session)
        self.roles = RoleRepository(session)
        self.audit = AuditRepository(session)
        self.idempotency = IdempotencyRepository(session)
        self.requests = RequestRepository(session)
        self.events = ProcessedEventRepository(session)
        self.outbox = OutboxRepository(session)
        self.holdings = HoldingsRepository(session)
        self.provisioning = ProvisioningRepository(session)
        self.tokens = TokenRepository(session)
        self.groups = GroupVersionRepository(session)
        self.lifetimes = LifetimeRepository(session)  # issue 13: time-limited licenses
        self.usage = UsageRepository(session)
        self.reclaims = ReclaimRepository(session)
        self.alerts = AlertRepository(session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self.session is not None
        # close() rolls back whatever was not committed and gives the connection back; an explicit
        # rollback() first would also expire every object read (half the cost of a short read, for
        # objects about to be detached anyway)
        self.session.close()

    def commit(self) -> None:
        assert self.session is not None
        # what follows seat changes is written in their transaction; so are the alerts of the apps it locked
        if self.licenses.seat_changes or self.apps.locked:
            for hook in list(self._before_commit.values()):
                hook(self)
            self.licenses.seat_changes.clear()
            self.apps.locked.clear()
        # apps, seats or grants changed: the shared version moves with them (storage/catalog_version.py)
        self.session.flush()
        catalog_changed = self.session.in_transaction() and catalog_written(self.session.connection())
        if catalog_changed:
            self.session.execute(BUMP)
        self.audit.seal()  # the audit entries of this change, chained: the last lock taken before COMMIT
        self.session.commit()
        if catalog_changed:  # before anything else learns of the change: a read after it never finds the old
            for listener in self._catalog_listeners:
                listener()
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Runs ``callback`` once this unit of work has committed; never if it rolls back."""
        self._after_commit.append(callback)

    def flush(self) -> None:
        assert self.session is not None
        self.session.flush()


class UnitOfWorkFactory:
    """What the service holds: makes a fresh unit of work per call."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        sqlite = is_sqlite(engine)
        self._write_bind = engine.execution_options(sqlite_begin="IMMEDIATE") if sqlite else engine
        # a read of one statement needs no BEGIN/ROLLBACK round trips (each gives up the GIL under load)
        self._lone_read_bind = engine.execution_options(sqlite_begin="NONE") if sqlite else engine
        # each statement its own transaction (SQLite: no BEGIN; PostgreSQL: see fast_commit_engine, made
        # on first use)
        self._autocommit_bind: Engine | None = self._lone_read_bind if sqlite else None
        self._autocommit_guard = threading.Lock()
        # run inside a unit of work that changed seats or locked an app, just before it commits, once each
        # by name (bot/provisioning.py, bot/alerts.py)
        self.before_commit: dict[str, BeforeCommit] = {}
        # told after a unit of work of this process committed a change to apps, seats or grants
        self.catalog_listeners: list[Callable[[], None]] = []
        track_catalog_writes(engine)

    def __call__(self, *, write: bool = False, lone_read: bool = False, autocommit: bool = False) -> UnitOfWork:
        """write: takes SQLite's write lock at BEGIN. lone_read: for reads whose statements need no
        common snapshot (one statement, or names that do not change together). autocommit: every
        statement commits as it runs, and on PostgreSQL without waiting for the disk (storage.db.
        fast_commit_engine): for statements that each stand alone and may be forgotten by a crash of
        the database server, like the outbox's leases and delivery marks."""
        if write:
            bind = self._write_bind
        elif autocommit:
            bind = self._fast_commit_bind()
        else:
            bind = self._lone_read_bind if lone_read else self.engine
        return UnitOfWork(bind, self.before_commit, self.catalog_listeners)

    def _fast_commit_bind(self) -> Engine:
        with self._autocommit_guard:
            if self._autocommit_bind is None:
                self._autocommit_bind = fast_commit_engine(self.engine)
            return self._autocommit_bind

    @property
    def skip_locked(self) -> bool:
        """Can several processes claim queued work at once (PostgreSQL's FOR UPDATE SKIP LOCKED)?"""
        return not is_sqlite(self.engine)

    def process_lock(self, name: str) -> ProcessLock:
        """A lock one process holds at a time on this database (SQLite; granted at once on PostgreSQL)."""
        return ProcessLock(self.engine, name)

    def ping(self) -> None:
        """Raises unless the database answers a trivial query."""
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")


__all__ = ["IntegrityError", "ProcessLock", "UnitOfWork", "UnitOfWorkFactory"]
