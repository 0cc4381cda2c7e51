"""License requests (SPEC §1 Request): a user asks for an app; an approver approves or denies; or it expires.

Built on the kernel (units of work, role checks, audit) and the assignments' seat rules. One decision per
request is the database's job: a decision is a conditional UPDATE … WHERE status = 'pending', so of two
approvers clicking at once one wins and the other is told who decided. An approval seats the requester
and records the decision in one transaction: without a free seat neither happens.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from bot.assignments import AssignmentService
from bot.domain import Action, Actor, AppSummary
from bot.errors import (
    AlreadyHeld,
    AlreadyRequested,
    AlreadyWaiting,
    OwnRequest,
    ReasonTooLong,
    RequestAlreadyDecided,
    RequestGone,
)
from bot.errors_lifecycle import InvalidDuration
from bot.kernel import Kernel
from bot.notify import RequestDecided, RequestFiled, RequestReminder
from bot.paging import Page, page_offset
from storage.models import AppRow, LicenseRequestRow
from storage.uow import IntegrityError, UnitOfWork

PENDING, APPROVED, DENIED, EXPIRED = "pending", "approved", "denied", "expired"
MAX_NOTE = 1000  # a reason, given by the requester or by the approver who denies
DURATIONS = (7, 30, 90)  # a request's "For how long", in days; None: permanently (issue 13)


@dataclass(frozen=True)
class LicenseRequest:
    id: int
    app: AppSummary  # seat counts as they were when the request was read
    requester: str
    reason: str
    status: str
    created_at: dt.datetime
    expires_at: dt.datetime
    decided_by: str | None = None
    decided_at: dt.datetime | None = None
    note: str = ""  # the denial's reason
    duration_days: int | None = None  # "For how long": the license ends this many days after the approval
    replayed: bool = False  # the same submit had filed it before: nobody is notified again

    @property
    def pending(self) -> bool:
        return self.status == PENDING

    @property
    def ttl_hours(self) -> int:
        return round((self.expires_at - self.created_at).total_seconds() / 3600)


@dataclass(frozen=True)
class MessageCopy:
    """One approver's copy of the approval message, to update once the request is decided."""

    approver: str
    channel: str
    ts: str


@dataclass
class Sweep:
    expired: list[LicenseRequest] = field(default_factory=list)
    reminded: list[LicenseRequest] = field(default_factory=list)


class RequestService:
    def __init__(self, kernel: Kernel, assignments: AssignmentService, *, ttl_hours: int) -> None:
        self.k = kernel
        self.assignments = assignments
        self.ttl = dt.timedelta(hours=ttl_hours)
        self._uow = kernel.uow

    def now(self) -> dt.datetime:
        return self.k.now()

    # ------------------------------------------------------------------ asking
    def check_can_request(self, user_id: str, query: str) -> str:
        """The app's name when the user may ask for it now; else a LicensingError saying why not."""
        with self._uow() as uow:
            row = self.k.resolve(uow, query)
            self._refuse_duplicate(uow, row, user_id)
            return row.name

    def create(
        self, actor: Actor, query: str, reason: str = "", *, duration_days: int | None = None,
        idempotency_key: str | None = None,
    ) -> LicenseRequest:
        """Files a request. `duration_days`: one of DURATIONS, or None for permanently. A holder of a direct
        time-limited license may ask again: approved, the request extends it (more time)."""
        reason = self._clean_note(reason)
        duration_days = check_duration(duration_days)
        requester = self.k.user_id(actor.user_id)  # a person asks; the operator assigns instead
        with self._uow(write=True) as uow:
            row = uow.apps.lock(self.k.resolve(uow, query).id)
            replay = self.k.replay(uow, idempotency_key)
            if replay is not None:
                return replace(self._value(uow, self._get(uow, int(replay["request"]))), replayed=True)
            self._refuse_duplicate(uow, row, requester)
            try:
                request = uow.requests.add(
                    LicenseRequestRow(
                        app_id=row.id, requester_id=requester, reason=reason, status=PENDING,
                        created_at=self.now(), decision_note="", duration_days=duration_days,
                    )
                )
            except IntegrityError:  # the partial unique index: a twin got in first
                raise self._already_asked(row, None) from None
            detail: dict[str, object] = {"request": request.id, "reason": reason}
            if duration_days is not None:
                detail["duration_days"] = duration_days
            self.k.audit(uow, actor, "request.create", row, [requester], detail)
            self.k.remember(uow, idempotency_key, "request.create", {"request": request.id})
            self.k.notify(uow, RequestFiled(request.id))
            value = self._value(uow, request, row)
            uow.commit()
        return value

    def _refuse_duplicate(self, uow: UnitOfWork, row: AppRow, user_id: str) -> None:
        # a direct license with an end date may be asked for again: "Request more time" (issue 13)
        extending = uow.lifetimes.untils(row.id, "user", [user_id]).get(user_id) is not None
        if not extending and uow.licenses.has_seat(row.id, user_id):
            raise AlreadyHeld(row.name)
        if not extending and uow.licenses.sources_of(row.id, [user_id]):
            raise AlreadyWaiting(row.name)
        pending = uow.requests.pending_for(row.id, user_id)
        if pending is not None:
            raise self._already_asked(row, pending)

    @staticmethod
    def _already_asked(row: AppRow, pending: LicenseRequestRow | None) -> AlreadyRequested:
        return AlreadyRequested(row.name, pending.created_at if pending is not None else None)

    # ------------------------------------------------------------------ deciding
    def approve(self, actor: Actor, request_id: int) -> LicenseRequest:
        """Seats the requester (the seat rules of assign) and decides the request, in one transaction."""
        with self._uow(write=True) as uow:
            self.k.require(uow, actor, Action.APPROVE)
            app_id = self._get(uow, request_id).app_id
            row = uow.apps.lock(app_id)
            request = uow.requests.reread(request_id)  # as it is now that this app is ours
            assert request is not None
            self._refuse_decided(request)
            if request.requester_id == actor.user_id:
                raise OwnRequest()
            self._decide(uow, request, actor, APPROVED, "")
            set_until, until = self._until(uow, row, request)
            outcome, counts = self.assignments.assign_within(uow, actor, row, [request.requester_id], [], {},
                                                             set_until=set_until, until=until)
            detail = {"request": request.id, "seated": outcome["seated"], "already_held": outcome["already_held"]}
            if "until" in outcome:
                detail["until"] = outcome["until"]
            self.k.audit(uow, actor, "request.approve", row, [request.requester_id], detail, counts=counts)
            self.k.notify(uow, RequestDecided(request.id))
            value = self._value(uow, self._get(uow, request_id, fresh=True), row)
            uow.commit()
        return value

    def _until(self, uow: UnitOfWork, row: AppRow, request: LicenseRequestRow) -> tuple[bool, dt.date | None]:
        """Whether the approval sets an end date, and which: the approval's day + the request's duration
        (None: permanent). A requester's direct assignment is never shortened by a request."""
        new = None if request.duration_days is None else self.now().date() + dt.timedelta(days=request.duration_days)
        untils = uow.lifetimes.untils(row.id, "user", [request.requester_id])
        if request.requester_id not in untils:
            return True, new  # a new direct assignment
        current = untils[request.requester_id]
        if current is None or (new is not None and new <= current):
            return False, None  # permanent already, or already longer
        return True, new

    def deny(self, actor: Actor, request_id: int, reason: str = "") -> LicenseRequest:
        note = self._clean_note(reason)
        with self._uow(write=True) as uow:
            self.k.require(uow, actor, Action.DENY)
            request = self._get(uow, request_id)
            self._decide(uow, request, actor, DENIED, note)
            row = uow.apps.get(request.app_id)
            self.k.audit(uow, actor, "request.deny", row, [request.requester_id],
                         {"request": request.id, "reason": note})
            self.k.notify(uow, RequestDecided(request.id))
            value = self._value(uow, self._get(uow, request_id, fresh=True), row)
            uow.commit()
        return value

    def deciding(self, actor: Actor, request_id: int) -> LicenseRequest:
        """The request an approver is about to decide (e.g. before the "Deny" modal opens); proves nothing
        about the decision itself, which checks everything again."""
        with self._uow() as uow:
            self.k.require(uow, actor, Action.DECIDE)
            request = self._get(uow, request_id)
            self._refuse_decided(request)
            return self._value(uow, request)

    def _decide(self, uow: UnitOfWork, request: LicenseRequestRow, actor: Actor, status: str, note: str) -> None:
        if not uow.requests.decide(request.id, status, actor.user_id, note, self.now()):
            current = uow.requests.reread(request.id)
            assert current is not None
            self._refuse_decided(current)

    @staticmethod
    def _refuse_decided(request: LicenseRequestRow) -> None:
        if request.status != PENDING:
            by = None if request.status == EXPIRED else request.decided_by  # nobody decided an expiry
            raise RequestAlreadyDecided(request.status, by)

    # ------------------------------------------------------------------ time: expiry and reminders
    def sweep(self, actor: Actor) -> Sweep:
        """Expires requests pending for the whole TTL, then reminds approvers of those pending for half of
        it (once per request). Each one is its own conditional update: safe beside other processes."""
        now = self.now()
        with self._uow() as uow:
            overdue = [r.id for r in uow.requests.pending_created_by(now - self.ttl)]
        result = Sweep()
        for request_id in overdue:
            if (expired := self._expire(actor, request_id)) is not None:
                result.expired.append(expired)
        with self._uow() as uow:
            due = [r.id for r in uow.requests.pending_created_by(now - self.ttl / 2, unreminded=True)]
        for request_id in due:
            if (reminded := self._remind(request_id)) is not None:
                result.reminded.append(reminded)
        return result

    def _expire(self, actor: Actor, request_id: int) -> LicenseRequest | None:
        with self._uow(write=True) as uow:
            request = uow.requests.get(request_id)
            if request is None or not uow.requests.decide(request_id, EXPIRED, actor.user_id, "", self.now()):
                return None  # decided meanwhile
            row = uow.apps.get(request.app_id)
            self.k.audit(uow, actor, "request.expire", row, [request.requester_id], {"request": request_id})
            self.k.notify(uow, RequestDecided(request_id))
            value = self._value(uow, self._get(uow, request_id, fresh=True), row)
            uow.commit()
        return value

    def _remind(self, request_id: int) -> LicenseRequest | None:
        with self._uow(write=True) as uow:
            if not uow.requests.mark_reminded(request_id, self.now()):
                return None  # decided, or reminded by another process meanwhile
            self.k.notify(uow, RequestReminder(request_id))
            value = self._value(uow, self._get(uow, request_id, fresh=True))
            uow.commit()
        return value

    # ------------------------------------------------------------------ reading
    def get(self, request_id: int) -> LicenseRequest:
        with self._uow() as uow:
            return self._value(uow, self._get(uow, request_id))

    def pending(self, actor: Actor) -> list[LicenseRequest]:
        """Every pending request, oldest first: for approvers."""
        with self._uow() as uow:
            self.k.require(uow, actor, Action.LIST_REQUESTS)
            return self._values(uow, uow.requests.pending())

    def pending_page(self, actor: Actor, page: int = 1, size: int = 20) -> Page[LicenseRequest]:
        """One page of the pending requests, oldest first: for approvers."""
        with self._uow() as uow:
            self.k.require(uow, actor, Action.LIST_REQUESTS)
            total = uow.requests.pending_count()
            offset = page_offset(page, size, total)
            return Page(self._values(uow, uow.requests.pending(offset=offset, limit=size)), total, offset, size)

    def pending_of(self, user_id: str) -> list[LicenseRequest]:
        with self._uow() as uow:
            return self._values(uow, uow.requests.pending(user_id))

    # ------------------------------------------------------------------ approvers' copies
    def copies(self, request_id: int) -> list[MessageCopy]:
        """Where the approvers' copies landed (recorded by the outbox as each one is delivered)."""
        with self._uow() as uow:
            return [MessageCopy(m.approver_id, m.channel, m.ts) for m in uow.requests.messages(request_id)]

    def copy_of(self, request_id: int, approver: str) -> MessageCopy | None:
        with self._uow() as uow:
            m = uow.requests.message_of(request_id, approver)
            return None if m is None else MessageCopy(m.approver_id, m.channel, m.ts)

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _get(uow: UnitOfWork, request_id: int, *, fresh: bool = False) -> LicenseRequestRow:
        request = uow.requests.reread(request_id) if fresh else uow.requests.get(request_id)
        if request is None:
            raise RequestGone()
        return request

    def _value(self, uow: UnitOfWork, request: LicenseRequestRow, row: AppRow | None = None) -> LicenseRequest:
        return self._values(uow, [request], {request.app_id: row} if row is not None else {})[0]

    def _values(
        self, uow: UnitOfWork, requests: Iterable[LicenseRequestRow], rows: dict[int, AppRow] | None = None
    ) -> list[LicenseRequest]:
        summaries: dict[int, AppSummary] = {}
        rows = dict(rows or {})
        requests = list(requests)
        wanted = {r.app_id for r in requests} - rows.keys()
        if len(wanted) > 1:  # a list of requests (approvers, the Home tab): every app's counts in one read
            summaries = {row.id: self.k.summary(row, seated, waiting)
                         for row, seated, waiting in uow.apps.summaries_of(sorted(wanted))}
        values = []
        for request in requests:
            if request.app_id not in summaries:
                row = rows.get(request.app_id) or uow.apps.get(request.app_id)
                assert row is not None  # requests go with their app (ON DELETE CASCADE)
                summaries[request.app_id] = self.k.summary_of(uow, row)
            values.append(
                LicenseRequest(
                    id=request.id,
                    app=summaries[request.app_id],
                    requester=request.requester_id,
                    reason=request.reason,
                    status=request.status,
                    created_at=request.created_at,
                    expires_at=request.created_at + self.ttl,
                    decided_by=request.decided_by,
                    decided_at=request.decided_at,
                    note=request.decision_note,
                    duration_days=request.duration_days,
                )
            )
        return values

    @staticmethod
    def _clean_note(text: str | None) -> str:
        # control characters (bar line breaks and tabs) are dropped: PostgreSQL refuses NUL in text
        text = "".join(ch for ch in (text or "") if ch.isprintable() or ch in "\n\t").strip()
        if len(text) > MAX_NOTE:
            raise ReasonTooLong(MAX_NOTE, len(text))
        return text


def check_duration(value: object) -> int | None:
    """A request's "For how long": one of DURATIONS (days), or None for permanently."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value not in DURATIONS:
        raise InvalidDuration(str(value)[:40], DURATIONS)
    return value
