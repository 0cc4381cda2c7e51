"""The unit of work (storage/uow.py): what is not committed is undone, on both databases, whether the block
ends normally or by an error; and the connection it gave back holds no transaction."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, func, select

from storage.models import AppRow
from storage.uow import UnitOfWorkFactory


def app_count(factory: UnitOfWorkFactory) -> int:
    with factory(lone_read=True) as uow:
        assert uow.session is not None
        return int(uow.session.scalar(select(func.count()).select_from(AppRow)) or 0)


def add_app(factory: UnitOfWorkFactory, name: str, *, commit: bool, fail: bool = False) -> None:
    with factory(write=True) as uow:
        assert uow.session is not None
        now = dt.datetime.now(dt.UTC)
        uow.session.add(AppRow(name=name, name_key=name.lower(), vendor="V", purchased_via="marketplace",
                               total_seats=1, created_at=now, updated_at=now))
        uow.flush()  # the row is in the database's transaction now, not only in the session
        if fail:
            raise RuntimeError("boom")
        if commit:
            uow.commit()


def test_uncommitted_work_is_undone_and_the_next_one_starts_clean(engine: Engine) -> None:
    factory = UnitOfWorkFactory(engine)
    before = app_count(factory)
    add_app(factory, "Left open", commit=False)
    with pytest.raises(RuntimeError):
        add_app(factory, "Failed", commit=False, fail=True)
    assert app_count(factory) == before
    add_app(factory, "Kept", commit=True)  # the connection came back without a transaction: this one commits
    assert app_count(factory) == before + 1
    with factory(lone_read=True) as uow:
        assert uow.session is not None
        assert uow.session.scalars(select(AppRow.name)).all()[-1] == "Kept"
