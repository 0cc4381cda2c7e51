"""Repositories: the only place with queries. They add, find and count rows; the rules live in bot/."""

from storage.repositories.groups import GroupVersionRepository
from storage.repositories.licenses import AppRepository, LicenseRepository
from storage.repositories.outbox import OutboxRepository
from storage.repositories.people import (
    AuditRepository,
    IdempotencyRepository,
    ProcessedEventRepository,
    RequestRepository,
    RoleRepository,
)

__all__ = [
    "AppRepository",
    "AuditRepository",
    "GroupVersionRepository",
    "IdempotencyRepository",
    "LicenseRepository",
    "OutboxRepository",
    "ProcessedEventRepository",
    "RequestRepository",
    "RoleRepository",
]
