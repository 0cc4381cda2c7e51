"""Repositories: the only place with queries. They add, find and count rows; the rules live in bot/."""

from storage.repositories.alerts import AlertRepository
from storage.repositories.assignees import AssigneeRepository
from storage.repositories.groups import GroupVersionRepository
from storage.repositories.holdings import HoldingsRepository
from storage.repositories.licenses import AppRepository, LicenseRepository
from storage.repositories.lifetimes import LifetimeRepository
from storage.repositories.outbox import OutboxRepository
from storage.repositories.people import (
    AuditRepository,
    IdempotencyRepository,
    ProcessedEventRepository,
    RequestRepository,
    RoleRepository,
)
from storage.repositories.provisioning import ProvisioningRepository, TokenRepository
from storage.repositories.reclaims import ReclaimRepository, UsageRepository

__all__ = [
    "AlertRepository",
    "AppRepository",
    "AssigneeRepository",
    "AuditRepository",
    "GroupVersionRepository",
    "HoldingsRepository",
    "IdempotencyRepository",
    "LicenseRepository",
    "LifetimeRepository",
    "OutboxRepository",
    "ProcessedEventRepository",
    "ProvisioningRepository",
    "ReclaimRepository",
    "RequestRepository",
    "RoleRepository",
    "TokenRepository",
    "UsageRepository",
]
