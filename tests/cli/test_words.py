"""handlers/words.py: the core's errors in the sentences people read, with ids (the CLI) or mentions
(Slack). The core's tests check the facts of each error; these check the words."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.domain import ADMINS, ASSIGNERS, BILLERS, ROLE_MANAGERS, Action
from bot.errors import (
    AlreadyRequested,
    AmbiguousApp,
    AppInUse,
    AppNameMissing,
    AppNameTaken,
    DuplicateEntry,
    EntryBelowAssigned,
    EntryMissingField,
    GroupNotAssigned,
    LicensingError,
    NotDirectlyAssigned,
    NotEnoughLicenses,
    PermissionDenied,
    ProviderPurchase,
    RequestAlreadyDecided,
    RoleFromSettings,
    SeatsBelowAssigned,
    UnknownApp,
    UnknownRole,
)
from handlers.slack.ui import MENTIONS
from handlers.words import PLAIN, error_text


@pytest.mark.parametrize(
    ("error", "plain"),
    [
        (PermissionDenied(Action.ASSIGN, ASSIGNERS), "You need to be a license, user or global admin to assign licenses."),
        (PermissionDenied(Action.CHANGE_SEATS, BILLERS),
         "You need to be a billing or global admin to add or remove licenses."),
        (PermissionDenied(Action.GRANT_ROLES, ROLE_MANAGERS), "You need to be a global admin to grant roles."),
        (PermissionDenied(Action.READ_AUDIT, ADMINS), "You need to be an admin to read the audit log."),
        (NotEnoughLicenses(3, 1), "Not enough licenses: 3 needed, 1 available"),
        (SeatsBelowAssigned(2, 5), "5 licenses are assigned: unassign 3 first to go down to 2."),
        (ProviderPurchase("Fabrikam", ""), "Fabrikam was bought through its provider: contact the provider to change "
                                           "its licenses."),
        (UnknownApp("Contso", ["Contoso CRM"]), 'No app is called "Contso". Did you mean: Contoso CRM?'),
        (UnknownApp("Jira", []), 'No app is called "Jira".'),
        (AmbiguousApp("zo", ["Zoom", "Zoom Rooms"]), '"zo" matches several apps: Zoom, Zoom Rooms. Which one?'),
        (AppNameMissing(), "Name an app."),
        (UnknownRole("superuser"),
         'Unknown role "superuser". Roles: global-admin, billing-admin, license-admin, user-admin.'),
        (DuplicateEntry(3, "contoso  CRM", 1), 'entry 3 ("contoso  CRM"): the same name as entry 1'),
        (EntryBelowAssigned(2, "Figma", 1, 3), 'entry 2 ("Figma"): 1 seats is below the 3 assigned; unassign 2 first'),
        (EntryMissingField(2, "Figma", "seats"), 'entry 2 ("Figma"): a new app needs "seats"'),
        (AppNameTaken("Figma", True), "A retired app is already named Figma: choose another name."),
        (AppInUse("Figma", 2, 1), "Figma can't be retired while it is assigned (2 users, 1 groups): unassign them "
                                  "first."),
        (AppInUse("Figma", 0, 0, 3), "Figma can't be retired while 3 requests for it wait: approve or deny them "
                                     "first."),
        (AlreadyRequested("Figma", dt.datetime(2026, 11, 27, 9, 30, tzinfo=dt.UTC)),
         "You already asked for Figma on 2026-11-27 09:30 UTC; your request is waiting for an approver."),
    ],
)
def test_each_error_reads_as_one_plain_sentence(error: LicensingError, plain: str) -> None:
    assert error_text(error, PLAIN) == plain
    assert "\n" not in error_text(error, PLAIN)


@pytest.mark.parametrize(
    ("error", "plain", "slack"),
    [
        (NotDirectlyAssigned("U0ANN", "Contoso CRM", ["SDESIGN1"]),
         "U0ANN has no direct license of Contoso CRM (they hold it through SDESIGN1: unassign the group instead).",
         "<@U0ANN> has no direct license of Contoso CRM (they hold it through <!subteam^SDESIGN1>: unassign the group "
         "instead)."),
        (GroupNotAssigned("SOTHER01", "Contoso CRM"), "SOTHER01 is not assigned Contoso CRM.",
         "<!subteam^SOTHER01> is not assigned Contoso CRM."),
        (RoleFromSettings("UADMIN01"), "UADMIN01 is a global admin through LICENSEBOT_GLOBAL_ADMINS: change it there.",
         "<@UADMIN01> is a global admin through LICENSEBOT_GLOBAL_ADMINS: change it there."),
        (RequestAlreadyDecided("approved", "UBOB"), "This request was already approved by UBOB.",
         "This request was already approved by <@UBOB>."),
        (RequestAlreadyDecided("denied", "cli"), "This request was already denied by the operator.",
         "This request was already denied by the operator."),
        (RequestAlreadyDecided("expired", None), "This request has expired: nobody decided it in time.",
         "This request has expired: nobody decided it in time."),
    ],
)
def test_people_and_groups_are_ids_for_the_cli_and_mentions_on_slack(
    error: LicensingError, plain: str, slack: str
) -> None:
    assert error_text(error, PLAIN) == plain
    assert error_text(error, MENTIONS) == slack


def test_every_error_of_the_core_has_its_own_sentence() -> None:
    """A new error without words would fall back to its code: each concrete error class is named here."""
    import bot.errors as errors
    import bot.reclaim_errors as reclaim_errors

    concrete = {cls for module in (errors, reclaim_errors) for cls in vars(module).values()
                if isinstance(cls, type) and issubclass(cls, LicensingError) and cls.code not in
                ("error", "invalid-input", "not-assigned")}
    fallback = "That can't be done"
    for cls in concrete:
        error = cls.__new__(cls)
        LicensingError.__init__(error)
        for name in ("query", "candidates", "value", "group_id", "needed", "available", "requested", "assigned",
                     "to_unassign", "maximum", "app", "contact", "user_id", "via_groups", "action", "allowed",
                     "index", "name", "first", "seats", "since", "length", "status", "by", "users", "groups",
                     "requests", "retired", "needs", "reason", "ends_at", "idle_days",
                     "group_holders", "state", "ended"):
            setattr(error, name, {"candidates": [], "via_groups": [], "allowed": ADMINS, "action": Action.ASSIGN,
                                  "since": None, "by": None, "status": "approved", "retired": False,
                                  "ends_at": dt.datetime(2026, 1, 1), "idle_days": None, "group_holders": 0,
                                  "ended": False}.get(
                name, 1 if name in ("needed", "available", "requested", "assigned", "to_unassign", "maximum",
                                    "index", "first", "seats", "length", "users", "groups", "requests") else "x"))
        assert not error_text(error).startswith(fallback), cls.__name__


def test_the_life_cycles_errors_have_their_sentences() -> None:
    """Issue 13's errors (bot/errors_lifecycle.py), in the CLI's words."""
    from bot.errors_lifecycle import InvalidDuration, UntilInPast

    assert error_text(UntilInPast(dt.date(2026, 11, 30), dt.date(2026, 12, 1))) == (
        "2026-11-30 is in the past: choose today (2026-12-01) or a later day.")
    assert error_text(InvalidDuration("31", [7, 30, 90])) == '"31" is not a duration: choose 7, 30, 90 days, or permanently.'
