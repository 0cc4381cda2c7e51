"""Notices: what the people concerned must hear after a change commits, as plain values.

The core decides *that* someone is told and *what about*; a door decides how (Slack renders a DM in the
person's language). A unit of work hands its notices to the notifier only after it commits: a change
rolled back tells nobody.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class SeatsFilled:
    """Waiters who just got a seat of `app` from the waitlist."""

    app: str
    users: tuple[str, ...]


@dataclass(frozen=True)
class RequestFiled:
    """A new request: its approvers get a copy with "Approve" and "Deny"."""

    request_id: int


@dataclass(frozen=True)
class RequestDecided:
    """Approved, denied or expired: the requester is told, every approver's copy shows the outcome."""

    request_id: int


@dataclass(frozen=True)
class RequestReminder:
    """Pending for half its time to live: the approvers are reminded."""

    request_id: int


Notice = SeatsFilled | RequestFiled | RequestDecided | RequestReminder


class Notifier(Protocol):
    def notify(self, notice: Notice) -> None: ...


class NoNotifier:
    """Tells nobody: for a core used without any door that can reach people."""

    def notify(self, notice: Notice) -> None:
        return None


class Recorder:
    """Keeps every notice in order: what a door would have been asked to say (tests, dry runs)."""

    def __init__(self) -> None:
        self.notices: list[Notice] = []

    def notify(self, notice: Notice) -> None:
        self.notices.append(notice)

    def of(self, kind: type) -> list[Notice]:
        return [n for n in self.notices if isinstance(n, kind)]
