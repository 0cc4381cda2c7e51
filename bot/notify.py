"""Notices: what the people concerned must hear after a change, as plain values, and the messages they
become.

The core decides *that* someone is told and *what about*; a door decides how (Slack renders a DM in the
person's language, when it is sent). `Kernel.notify(uow, notice)` writes one outbox message per person
and Slack message, in the change's own transaction (bot/outbox.py): a change rolled back tells nobody,
a change committed is told even if the process dies the next moment.

Each message has a lane: the messages of one lane are delivered in order, one at a time. A request's
messages share the request's lane, so an approver's copy is posted before it is updated; the messages
to one person about seats share that person's lane.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from storage.uow import UnitOfWork


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


@dataclass(frozen=True)
class LicensesEnded:
    """Issue 13: time-limited assignments of `app` ended; `users` lost their seat, each with the last day
    of the assignment that licensed them (ISO)."""

    app: str
    users: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class LicenseEnding:
    """Issue 13: `user`'s direct license of `app` ends after `until` (ISO), `days` days from now."""

    app: str
    user: str
    until: str
    days: int


@dataclass(frozen=True)
class ReclaimStarted:
    """ "Keep or release?": each holder asked gets the question with its two buttons."""

    reclaim_id: int


@dataclass(frozen=True)
class ReclaimReminder:
    """Half the reclaim's time gone: those who have not answered are asked again."""

    reclaim_id: int


@dataclass(frozen=True)
class ReclaimClosed:
    """The reclaim ended: those released for no answer are told, the admin who started it gets the summary."""

    reclaim_id: int


class Alert(StrEnum):
    """What an alert is about (bot/alerts.py)."""

    RENEWAL = "renewal"  # the renewal date is 90, 30 or 7 days away
    LOW = "low"  # available licenses fell to the app's threshold or below
    WAITLIST = "waitlist"  # someone started waiting for a license


@dataclass(frozen=True)
class AppAlert:
    """An app needs the billing admins' eye: told to the alerts channel, or to each billing and global admin
    (`recipients`, chosen by bot/alerts.py). A renewal names its date and how many days were left."""

    app_id: int
    alert: Alert
    recipients: tuple[str, ...]
    renewal_date: str | None = None  # ISO date (renewal)
    days: int | None = None  # days left before it (renewal)


Notice = (SeatsFilled | RequestFiled | RequestDecided | RequestReminder | LicensesEnded | LicenseEnding
          | ReclaimStarted | ReclaimReminder | ReclaimClosed | AppAlert)


class Kind(StrEnum):
    """One Slack message each (a door renders it from the facts and the state when it is sent)."""

    SEATED = "seat.filled"  # to a waiter who got a seat: facts {"app"}
    APPROVAL = "request.copy"  # an approver's copy with "Approve" / "Deny"; where it lands is recorded
    APPROVAL_UPDATE = "request.update"  # an approver's copy shows the request as it is now
    REMINDER = "request.reminder"  # a reply under an approver's copy
    OUTCOME = "request.outcome"  # to the requester: approved, denied or expired
    # to the requester, only when no approver's copy went out: facts {"approvers": how many were asked}
    UNREACHED = "request.unreached"
    # not a Slack message: the user's account at the vendor of a provisioned app made to match their seat
    # (bot/provisioning.py; delivered through the vendor's SCIM endpoint): facts {"app_id"}
    PROVISION = "provision"
    # issue 13: to a holder whose time-limited license ended: facts {"app", "until"}
    ENDED = "license.ended"
    # issue 13: to a direct holder, 7 and 1 days before the end, with "Request more time": facts {"app", "until"}
    ENDING = "license.ending"
    # reclaims (bot/reclaims.py): facts {"ask"} (one holder's question) or {"reclaim"} (the summary)
    RECLAIM_ASK = "reclaim.ask"  # "Do you still use APP?" with "Keep my license" / "Release it"
    RECLAIM_REMINDER = "reclaim.reminder"  # the same question again, once, to those who have not answered
    RECLAIM_RELEASED = "reclaim.released"  # to a holder released for no answer
    RECLAIM_SUMMARY = "reclaim.summary"  # to the admin who started it: kept, released, no answer, not asked
    # to the alerts channel or a billing / global admin: facts {"app_id", "alert", and for a renewal
    # "renewal_date", "days"}; the app's numbers are read when it is sent
    ALERT = "alert"


@dataclass(frozen=True)
class Message:
    kind: Kind
    recipient: str  # a Slack user id: who reads it (and in whose language)
    lane: str
    facts: dict[str, Any] = field(default_factory=dict)


def request_lane(request_id: int) -> str:
    return f"request:{request_id}"


def messages_for(uow: UnitOfWork, notice: Notice, approvers: Sequence[str]) -> list[Message]:
    """What `notice` means for each person, read in the change's unit of work (`approvers`: everyone who
    may approve now)."""
    match notice:
        case SeatsFilled(app=app, users=users):
            return [Message(Kind.SEATED, user, f"user:{user}", {"app": app}) for user in users]
        case RequestFiled(request_id=request_id):
            request = uow.requests.get(request_id)
            assert request is not None  # filed in this very unit of work
            asked = [a for a in approvers if a != request.requester_id]
            lane, facts = request_lane(request_id), {"request": request_id}
            return [
                *(Message(Kind.APPROVAL, approver, lane, facts) for approver in asked),
                Message(Kind.UNREACHED, request.requester_id, lane, {**facts, "approvers": len(asked)}),
            ]
        case RequestDecided(request_id=request_id):
            request = uow.requests.get(request_id)
            assert request is not None
            lane, facts = request_lane(request_id), {"request": request_id}
            return [
                *(Message(Kind.APPROVAL_UPDATE, a, lane, facts) for a in _holders(uow, request_id)),
                Message(Kind.OUTCOME, request.requester_id, lane, facts),
            ]
        case RequestReminder(request_id=request_id):
            lane, facts = request_lane(request_id), {"request": request_id}
            return [
                message
                for approver in _holders(uow, request_id)
                for message in (Message(Kind.APPROVAL_UPDATE, approver, lane, facts),
                                Message(Kind.REMINDER, approver, lane, facts))
            ]
        case LicensesEnded(app=app, users=ended):
            return [Message(Kind.ENDED, user, f"user:{user}", {"app": app, "until": until}) for user, until in ended]
        case LicenseEnding(app=app, user=user, until=until, days=days):
            return [Message(Kind.ENDING, user, f"user:{user}", {"app": app, "until": until, "days": days})]
        case ReclaimStarted(reclaim_id=reclaim_id) | ReclaimReminder(reclaim_id=reclaim_id):
            kind = Kind.RECLAIM_ASK if isinstance(notice, ReclaimStarted) else Kind.RECLAIM_REMINDER
            return [Message(kind, a.user_id, f"user:{a.user_id}", {"ask": a.id})
                    for a in uow.reclaims.asks(reclaim_id, "asked")]
        case ReclaimClosed(reclaim_id=reclaim_id):
            reclaim = uow.reclaims.get(reclaim_id)
            assert reclaim is not None
            told = [Message(Kind.RECLAIM_RELEASED, a.user_id, f"user:{a.user_id}", {"ask": a.id})
                    for a in uow.reclaims.asks(reclaim_id, "no-answer")]
            if reclaim.started_by != "cli":  # the operator reads `licensebot audit export`
                told.append(Message(Kind.RECLAIM_SUMMARY, reclaim.started_by, f"user:{reclaim.started_by}",
                                    {"reclaim": reclaim_id}))
            return told
        case AppAlert(app_id=app_id, alert=alert, recipients=recipients):
            about: dict[str, Any] = {"app_id": app_id, "alert": alert.value}
            if notice.renewal_date is not None:
                about.update(renewal_date=notice.renewal_date, days=notice.days)
            # a lane per app and reader: its writers hold the app's lock, so ids follow commit order
            return [Message(Kind.ALERT, to, f"alert:{app_id}:{to}", about) for to in recipients]
    raise TypeError(f"not a notice: {notice!r}")


def _holders(uow: UnitOfWork, request_id: int) -> list[str]:
    """The approvers who have a copy of the request, or will have once the outbox delivers it.

    The outbox is read before the copies: a copy delivered between the two reads (marked delivered and
    recorded in one transaction) is seen by one of them whatever the isolation level."""
    waiting = uow.outbox.pending_recipients(request_lane(request_id), Kind.APPROVAL)
    recorded = [m.approver_id for m in uow.requests.messages(request_id)]
    return list(dict.fromkeys([*recorded, *waiting]))
