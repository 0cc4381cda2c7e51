"""The audit log's hash chain: each entry carries the hash of the one before it and its own hash over
that and its contents, so rewriting, removing or reordering entries shows (`licensebot audit verify`).

NEVER change `entry_hash` or `canonical`: every hash already stored was computed with them (the
migration that added the chain computed the old entries' hashes with them too)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

GENESIS = "0" * 64  # the "previous hash" of the first entry


def canonical(
    at: dt.datetime, actor: str, via: str, action: str, app: str | None, targets: Any, detail: Any,
    seats_total: int | None, seats_assigned: int | None, seats_available: int | None,
) -> str:
    """An entry's contents as one string, the same whichever database stored them (UTC, microseconds)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    stamp = at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    fields = [stamp, actor, via, action, app, targets, detail, seats_total, seats_assigned, seats_available]
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(previous: str, contents: str) -> str:
    return hashlib.sha256(f"{previous}\n{contents}".encode()).hexdigest()


def row_contents(row: Any) -> str:
    """`canonical` of an audit_log row (the model, or a row read by the migration)."""
    return canonical(row.at, row.actor, row.via, row.action, row.app, row.targets, row.detail,
                     row.seats_total, row.seats_assigned, row.seats_available)
