"""The tables. Every change to them goes with a new Alembic revision in storage/migrations/versions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# BIGINT autoincrement on PostgreSQL, INTEGER PRIMARY KEY (rowid) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Stores aware datetimes; always hands back aware UTC ones (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    pass


class AppRow(Base):
    __tablename__ = "apps"
    __table_args__ = (CheckConstraint("total_seats >= 0", name="ck_apps_total_seats_nonnegative"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # lower-cased name: names are unique case-insensitively on every database
    name_key: Mapped[str] = mapped_column(String(200), unique=True)
    vendor: Mapped[str] = mapped_column(String(200), default="")
    total_seats: Mapped[int] = mapped_column(Integer)
    purchased_via: Mapped[str] = mapped_column(String(20))
    provider_contact: Mapped[str] = mapped_column(String(500), default="")
    install_url: Mapped[str] = mapped_column(String(2000), default="")
    renewal_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # the folded name and vendor (bot/names.py fold): what `/licenses list WORDS`, the typeaheads and a
    # typed name match; the folded name orders every list of apps
    name_fold: Mapped[str] = mapped_column(String(200), default="", index=True)
    vendor_fold: Mapped[str] = mapped_column(String(200), default="")
    # warn billing admins when available seats fall to this (None: never)
    low_seat_threshold: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # a retired app leaves every list and picker; its rows (and audit) stay
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # SCIM 2.0 provisioning into the vendor's app (SPEC §7): none without a URL. The bearer token is never
    # stored: only the name of the environment variable that holds it.
    provisioning_scim_url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    provisioning_token_env: Mapped[str | None] = mapped_column(String(200), nullable=True)
    provisioning_deprovision: Mapped[str | None] = mapped_column(String(12), nullable=True)  # deactivate | delete


class AssignmentRow(Base):
    """An app licensed to one user (kind 'user') or one user group (kind 'group')."""

    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("app_id", "kind", "subject_id", name="uq_assignment_subject"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    subject_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    # the last day of a direct assignment (`assignments import`'s optional column); NULL: no end date
    until: Mapped[dt.date | None] = mapped_column(Date, nullable=True, index=True)
    # issue 13, time-limited licenses: when `until` was last set (re-arms the reminders) and the last reminder
    # sent, in days before the end (7, then 1; NULL: none yet). Set by conditional UPDATEs (bot/expiry.py).
    until_set_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reminded_days: Mapped[int | None] = mapped_column(Integer, nullable=True)


class GrantRow(Base):
    """One user covered by one assignment. A user with a grant but no seat is waiting."""

    __tablename__ = "grants"
    __table_args__ = (
        UniqueConstraint("assignment_id", "user_id", name="uq_grant_assignment_user"),
        Index("ix_grants_app_user", "app_id", "user_id"),
        Index("ix_grants_app_id", "app_id", "id"),  # an app's grants in waitlist order, read a page at a time
    )

    # The id orders the waitlist: the lowest id among a user's grants is when they started waiting.
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"))
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class SeatRow(Base):
    """A user holding one seat of an app, whatever the number of sources."""

    __tablename__ = "seats"
    __table_args__ = (UniqueConstraint("app_id", "user_id", name="uq_seat_app_user"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    since: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class RoleBindingRow(Base):
    __tablename__ = "role_bindings"
    __table_args__ = (UniqueConstraint("user_id", "role", name="uq_role_binding"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(32))
    granted_by: Mapped[str] = mapped_column(String(64))
    granted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class AuditRow(Base):
    """Append-only: triggers in the migrations refuse UPDATE, DELETE, TRUNCATE (PostgreSQL) and an INSERT
    over an existing id (SQLite's REPLACE). Tamper-evident: each entry's `hash` chains over the one before
    (storage/audit_chain.py), written under the chain's lock (AuditChainRow)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    via: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(40))
    app: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    targets: Mapped[list[str]] = mapped_column(JSON)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    seats_total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    seats_assigned: Mapped[int | None] = mapped_column(Integer, nullable=True)
    seats_available: Mapped[int | None] = mapped_column(Integer, nullable=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the entry before's `hash`
    hash: Mapped[str | None] = mapped_column(String(64), nullable=True)  # over prev_hash and the contents


class AuditChainRow(Base):
    """The audit chain's head: one row, locked by every transaction that appends to the log (so entries
    are chained and numbered in one order), naming the last entry; removing entries from the end shows."""

    __tablename__ = "audit_chain"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    last_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_hash: Mapped[str] = mapped_column(String(64))


class IdempotencyKeyRow(Base):
    """A change already made under this key: a double click or a retried delivery acts once."""

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    action: Mapped[str] = mapped_column(String(40))
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)  # pruned past the retention


class LicenseRequestRow(Base):
    __tablename__ = "license_requests"
    __table_args__ = (
        # one pending request per user and app, enforced by the database
        Index(
            "uq_request_pending",
            "app_id",
            "requester_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_requests_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    requester_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decision_note: Mapped[str] = mapped_column(Text, default="")
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # issue 13: how long the license lasts once approved, in days (NULL: permanently)
    duration_days: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ApprovalMessageRow(Base):
    """Where each approver's copy of a request message lives, to update it after the decision."""

    __tablename__ = "approval_messages"
    __table_args__ = (UniqueConstraint("request_id", "approver_id", name="uq_approval_message"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("license_requests.id", ondelete="CASCADE"))
    approver_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(64))
    ts: Mapped[str] = mapped_column(String(32))


class ProcessedEventRow(Base):
    """Slack event ids already applied: Slack redelivers on timeouts."""

    __tablename__ = "processed_events"

    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)  # pruned past the retention


class GroupVersionRow(Base):
    """Which version of a user group's members the licenses follow: Slack's `date_update` of the last
    snapshot applied. Membership is applied under this row's lock, and an older snapshot than the one
    applied is discarded (several processes, each with its own cached copy, never undo each other)."""

    __tablename__ = "group_versions"

    group_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[float | None] = mapped_column(Float, nullable=True)  # None: no version known yet
    applied_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class OutboxRow(Base):
    """One message to one person (or one Slack call), written in the transaction of the change it follows
    and delivered by `licensebot serve`. A lane is delivered in id order, one message at a time."""

    __tablename__ = "outbox"
    __table_args__ = (
        # the deliverer's scan: pending messages in id order
        Index("ix_outbox_pending", "id", sqlite_where=text("status = 'pending'"),
              postgresql_where=text("status = 'pending'")),
        # is this message the head of its lane? (no older pending message in the same lane)
        Index("ix_outbox_lane_pending", "lane", "id", sqlite_where=text("status = 'pending'"),
              postgresql_where=text("status = 'pending'")),
        # pruning: delivered and dropped messages past the retention period
        Index("ix_outbox_done", "done_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    lane: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(64))
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending | delivered | dropped
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # not before this time (the deliverer's clock, set on a retry); NULL: at once
    available_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # a deliverer's lease: which one is sending it, and until when nobody else may (after a crash: expired)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ProvisioningStateRow(Base):
    """Where one user of a provisioned app stands at the vendor: `want` is what the seat asks for (active
    while the user holds a seat, inactive once they lost it); `state` is pending, provisioned or failed
    (`reason`: the vendor's answer). A row whose user lost the seat goes once the vendor has caught up."""

    __tablename__ = "provisioning_states"
    __table_args__ = (
        UniqueConstraint("app_id", "user_id", name="uq_provisioning_app_user"),
        Index("ix_provisioning_app_state", "app_id", "state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(64))
    want: Mapped[str] = mapped_column(String(10))  # active | inactive
    state: Mapped[str] = mapped_column(String(12))  # pending | provisioned | failed
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    vendor_id: Mapped[str | None] = mapped_column(String(200), nullable=True)  # the SCIM resource id
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class AppTokenRow(Base):
    """A usage-rights API token of one app: only its SHA-256 is kept."""

    __tablename__ = "app_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


# ------------------------------------------------------------------ issue 13: usage and reclaims
class UsageRow(Base):
    """When one user last used one app (`licensebot usage import`), replaced by the next file naming them."""

    __tablename__ = "app_usage"
    __table_args__ = (UniqueConstraint("app_id", "user_id", name="uq_app_usage_app_user"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(64))
    last_active: Mapped[dt.date] = mapped_column(Date)
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ReclaimRow(Base):
    """ "Keep or release?" asked of one app's direct holders until `ends_at`; one open per app; `reminded_at`
    and `status` change once each, by conditional updates (once across processes)."""

    __tablename__ = "reclaims"
    __table_args__ = (
        Index("uq_reclaims_open_app", "app_id", unique=True, sqlite_where=text("status = 'open'"),
              postgresql_where=text("status = 'open'")),
        Index("ix_reclaims_status_ends", "status", "ends_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    started_by: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    remind_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    idle_days: Mapped[int | None] = mapped_column(Integer, nullable=True)  # only those idle this long were asked
    status: Mapped[str] = mapped_column(String(10), default="open")  # open | ended
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # holders licensed only through a group when it started: not asked, listed in the summary
    group_holders: Mapped[list[str]] = mapped_column(JSON, default=list)


class ReclaimAskRow(Base):
    """One holder asked by a reclaim: asked, kept, released, or no-answer (released at the deadline)."""

    __tablename__ = "reclaim_asks"
    __table_args__ = (UniqueConstraint("reclaim_id", "user_id", name="uq_reclaim_ask_user"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reclaim_id: Mapped[int] = mapped_column(ForeignKey("reclaims.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(12), default="asked")
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
class AlertStateRow(Base):
    """One app's low-license and waitlist alerts: sent when a flag turns on, re-armed when it turns off."""

    __tablename__ = "alert_states"

    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True)
    low: Mapped[bool] = mapped_column(Boolean, default=False)  # available at or below the threshold
    waiting: Mapped[bool] = mapped_column(Boolean, default=False)  # someone waits for a seat
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class RenewalAlertRow(Base):
    """A renewal milestone (90, 30, 7 days) told for one renewal date of one app, once (its unique key)."""

    __tablename__ = "renewal_alerts"
    __table_args__ = (UniqueConstraint("app_id", "renewal_date", "milestone", name="uq_renewal_alert"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    renewal_date: Mapped[dt.date] = mapped_column(Date)
    milestone: Mapped[int] = mapped_column(Integer)  # days before the renewal date
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class CatalogVersionRow(Base):
    """One row, bumped by every change to apps, seats or grants: see storage/catalog_version.py."""

    __tablename__ = "catalog_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(BigInteger, default=0)
