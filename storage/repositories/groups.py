"""The version of each user group's members the licenses follow (see GroupVersionRow)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.models import GroupVersionRow


class GroupVersionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def lock(self, group_id: str, at: dt.datetime) -> float | None:
        """Locks the group's row for the rest of the transaction (made on first use; SQLite holds its
        write lock) and returns the version applied so far (None: none known)."""
        dialect = self.session.get_bind().dialect.name
        insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
        self.session.execute(
            insert(GroupVersionRow).values(group_id=group_id, version=None, applied_at=at)
            .on_conflict_do_nothing(index_elements=["group_id"])
        )
        return self.session.scalar(
            select(GroupVersionRow.version).where(GroupVersionRow.group_id == group_id).with_for_update()
        )

    def set(self, group_id: str, version: float, at: dt.datetime) -> None:
        self.session.execute(
            update(GroupVersionRow).where(GroupVersionRow.group_id == group_id).values(version=version, applied_at=at)
            .execution_options(synchronize_session=False)
        )

    def forget(self, group_id: str) -> None:
        """The licenses no longer follow a known version (a group assigned from a directory's copy of
        unknown age): the next snapshot is applied whatever its version."""
        self.session.execute(
            update(GroupVersionRow).where(GroupVersionRow.group_id == group_id).values(version=None)
            .execution_options(synchronize_session=False)
        )
