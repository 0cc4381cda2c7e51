"""Helpers for statements over many users at once."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Table, bindparam, text
from sqlalchemy.orm import Session

from storage.models import (
    Base,
)

# Bulk statements are split so no single statement carries more bound parameters than a driver allows.
CHUNK = 2000


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def table_of(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def rowcount(result: Any) -> int:
    """Rows an UPDATE or DELETE touched (SQLAlchemy types execute()'s result without it)."""
    return int(result.rowcount)


def insert_per_user(
    session: Session, table: Table, same: dict[str, Any], users: Sequence[str], column: str = "user_id"
) -> None:
    """Inserts one row per user, in list order, the other columns the same for all: ONE statement whose user
    ids travel as a single JSON array parameter, expanded by the database.

    A group of 10,000 members is two such inserts. As an executemany, SQLAlchemy's per-row parameter
    processing and (on PostgreSQL) one statement per row on the wire cost several times the insert itself;
    a JSON text is also cheaper to send than a driver-built array of 10,000 strings.
    """
    if not users:
        return
    rows, order = json_rows(session)
    source = f"{rows} ORDER BY {order}"
    columns = ", ".join([*same, column])
    placeholders = ", ".join(f":{name}" for name in same)
    # only our own table and column names are formatted in: every value is a bound parameter
    statement = text(f"INSERT INTO {table.name} ({columns}) SELECT {placeholders}, u.value FROM {source}")  # noqa: S608
    # typed like the columns: UTC datetimes are stored as the ORM stores them
    statement = statement.bindparams(*(bindparam(name, type_=table.c[name].type) for name in same))
    session.execute(statement, {**same, "users": json.dumps(list(users))})




def json_rows(session: Session) -> tuple[str, str]:
    """A FROM item over the JSON array parameter `:users` (rows `u.value`), and the ORDER BY that keeps the
    array's order."""
    if session.get_bind().dialect.name == "postgresql":
        return "json_array_elements_text(CAST(:users AS JSON)) WITH ORDINALITY AS u(value, n)", "u.n"
    return "json_each(:users) AS u", "u.key"  # SQLite: JSON functions are built in since 3.38
