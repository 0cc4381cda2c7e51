"""The core's errors, roles and actions in words, for every door.

A door passes how it names people and groups (`Names`: the CLI prints ids, Slack mentions them) and its
reader's translations (`Translations`: English is the message ids themselves).
"""

from __future__ import annotations

import gettext
from typing import Protocol

from bot.domain import ADMINS, ASSIGNERS, BILLERS, ROLE_MANAGERS, Action, Role
from bot.errors import (
    AlreadyHeld,
    AlreadyRequested,
    AlreadyWaiting,
    AmbiguousApp,
    AppInUse,
    AppNameMissing,
    AppNameTaken,
    BulkImportRefused,
    BulkProblem,
    DirectoryLoading,
    DuplicateEntry,
    EntryBelowAssigned,
    EntryMissingField,
    GroupNotAssigned,
    InvalidGroupId,
    InvalidSeats,
    InvalidUserId,
    LicensingError,
    NotDirectlyAssigned,
    NotEnoughLicenses,
    NothingPicked,
    NotProvisioned,
    OwnRequest,
    PermissionDenied,
    ProviderPurchase,
    ReasonTooLong,
    RequestAlreadyDecided,
    RequestGone,
    RoleFromSettings,
    SeatsBelowAssigned,
    TooManySeats,
    UnknownApp,
    UnknownGroup,
    UnknownRole,
    UnknownUser,
    VendorUnreachable,
)
from bot.errors_lifecycle import InvalidDuration, UntilInPast
from bot.reclaim_errors import AskAnswered, AskGone, InvalidIdleDays, NobodyToAsk, NotYourAsk, ReclaimOpen


class Translations(Protocol):
    def gettext(self, message: str) -> str: ...

    def ngettext(self, singular: str, plural: str, n: int) -> str: ...


ENGLISH: Translations = gettext.NullTranslations()


class Names(Protocol):
    def user(self, user_id: str) -> str: ...

    def group(self, group_id: str) -> str: ...


class PlainNames:
    """Ids as they are: the CLI's and the logs' way."""

    def user(self, user_id: str) -> str:
        return user_id

    def group(self, group_id: str) -> str:
        return group_id


PLAIN = PlainNames()


def role_title(role: Role, tr: Translations = ENGLISH) -> str:
    return {
        Role.GLOBAL_ADMIN: tr.gettext("a global admin"),
        Role.BILLING_ADMIN: tr.gettext("a billing admin"),
        Role.LICENSE_ADMIN: tr.gettext("a license admin"),
        Role.USER_ADMIN: tr.gettext("a user admin"),
    }[role]


def who_may(roles: frozenset[Role], tr: Translations = ENGLISH) -> str:
    """Who may do something, in one phrase: "a license, user or global admin"."""
    known = {
        ASSIGNERS: tr.gettext("a license, user or global admin"),
        BILLERS: tr.gettext("a billing or global admin"),
        ROLE_MANAGERS: tr.gettext("a global admin"),
        ADMINS: tr.gettext("an admin"),
    }
    if roles in known:
        return known[roles]
    return tr.gettext(" or ").join(role_title(r, tr) for r in sorted(roles, key=list(Role).index))


def action_words(action: Action, tr: Translations = ENGLISH) -> str:
    return {
        Action.ASSIGN: tr.gettext("assign licenses"),
        Action.UNASSIGN: tr.gettext("unassign licenses"),
        Action.PREVIEW_ASSIGNMENT: tr.gettext("see what an assignment takes"),
        Action.CHANGE_SEATS: tr.gettext("add or remove licenses"),
        Action.EDIT_APPS: tr.gettext("edit app records"),
        Action.GRANT_ROLES: tr.gettext("grant roles"),
        Action.REVOKE_ROLES: tr.gettext("revoke roles"),
        Action.LIST_ROLES: tr.gettext("list roles"),
        Action.READ_AUDIT: tr.gettext("read the audit log"),
        Action.APPROVE: tr.gettext("approve requests"),
        Action.DENY: tr.gettext("deny requests"),
        Action.DECIDE: tr.gettext("decide requests"),
        Action.LIST_REQUESTS: tr.gettext("see pending requests"),
        Action.EXPORT_ASSIGNMENTS: tr.gettext("export who holds which license"),
        Action.RETRY_PROVISIONING: tr.gettext("retry provisioning"),
        Action.RECLAIM: tr.gettext("reclaim licenses"),
        Action.IMPORT_USAGE: tr.gettext("import usage"),
    }[action]


def error_text(error: LicensingError, names: Names = PLAIN, tr: Translations = ENGLISH) -> str:
    """The sentence a person reads for one of the core's errors."""
    _ = tr.gettext
    match error:
        case AppNameMissing():
            return _("Name an app.")
        case UnknownApp(query=query, candidates=candidates):
            text = _('No app is called "{query}".').format(query=query)
            if candidates:
                text += " " + _("Did you mean: {candidates}?").format(candidates=", ".join(candidates))
            return text
        case AmbiguousApp(query=query, candidates=candidates):
            return _('"{query}" matches several apps: {candidates}. Which one?').format(
                query=query, candidates=", ".join(candidates))
        case InvalidUserId(value=value):
            return _('"{value}" is not a Slack user id (like U0123ABCD).').format(value=value)
        case InvalidGroupId(value=value):
            return _('"{value}" is not a Slack user group id (like S0123ABCD).').format(value=value)
        case NothingPicked():
            return _("Pick at least one user or group.")
        case UnknownUser(user_id=user_id):
            return _("Nobody with the id {user} is in this workspace.").format(user=user_id)
        case DirectoryLoading():
            return _("The workspace's people and groups are still loading: nothing was done. Try again in a "
                     "moment.")
        case UnknownGroup(group_id=group_id):
            return _("The user group {group} does not exist or is disabled.").format(group=group_id)
        case NotEnoughLicenses(needed=needed, available=available):
            return _("Not enough licenses: {needed} needed, {available} available").format(
                needed=needed, available=available)
        case SeatsBelowAssigned(requested=requested, assigned=assigned, to_unassign=to_unassign):
            return _("{assigned} licenses are assigned: unassign {count} first to go down to {requested}.").format(
                assigned=assigned, count=to_unassign, requested=requested)
        case InvalidSeats(value=value):
            return _('"{value}" is not a whole number of licenses.').format(value=value)
        case TooManySeats(maximum=maximum):
            return _("At most {maximum:,} licenses.").format(maximum=maximum)
        case ProviderPurchase(app=app, contact=contact):
            return _("{app} was bought through its provider: contact {contact} to change its licenses.").format(
                app=app, contact=contact or _("the provider"))
        case NotDirectlyAssigned(user_id=user_id, app=app, via_groups=via):
            if via:
                return _("{user} has no direct license of {app} (they hold it through {groups}: unassign the group "
                         "instead).").format(user=names.user(user_id), app=app,
                                             groups=", ".join(names.group(g) for g in via))
            return _("{user} has no direct license of {app}.").format(user=names.user(user_id), app=app)
        case GroupNotAssigned(group_id=group_id, app=app):
            return _("{group} is not assigned {app}.").format(group=names.group(group_id), app=app)
        case PermissionDenied(action=action, allowed=allowed):
            return _("You need to be {who} to {action}.").format(who=who_may(allowed, tr),
                                                                  action=action_words(action, tr))
        case UnknownRole(value=value):
            roles = ", ".join(r.value for r in Role)
            return _('Unknown role "{value}". Roles: {roles}.').format(value=value, roles=roles)
        case RoleFromSettings(user_id=user_id):
            return _("{user} is a global admin through LICENSEBOT_GLOBAL_ADMINS: change it there.").format(
                user=names.user(user_id))
        case DuplicateEntry(index=index, name=name, first=first):
            return _('entry {index} ("{name}"): the same name as entry {first}').format(
                index=index, name=name, first=first)
        case EntryBelowAssigned(index=index, name=name, seats=seats, assigned=assigned):
            return _('entry {index} ("{name}"): {seats} seats is below the {assigned} assigned; unassign {count} '
                     "first").format(index=index, name=name, seats=seats, assigned=assigned, count=assigned - seats)
        case EntryMissingField(index=index, name=name, needs=needs):
            return _('entry {index} ("{name}"): a new app needs "{field}"').format(index=index, name=name,
                                                                                   field=needs)
        case AppNameTaken(name=name, retired=retired):
            if retired:
                return _("A retired app is already named {name}: choose another name.").format(name=name)
            return _("An app is already named {name}: choose another name.").format(name=name)
        case AppInUse(app=app, users=users, groups=groups, requests=requests):
            if not users and not groups:
                return _("{app} can't be retired while {requests} requests for it wait: approve or deny them "
                         "first.").format(app=app, requests=requests)
            return _("{app} can't be retired while it is assigned ({users} users, {groups} groups): unassign "
                     "them first.").format(app=app, users=users, groups=groups)
        case AlreadyHeld(app=app):
            return _("You already hold a license of {app}.").format(app=app)
        case AlreadyWaiting(app=app):
            return _("{app} is already assigned to you and you are waiting for a license: you get the next one "
                     "freed.").format(app=app)
        case AlreadyRequested(app=app, since=since):
            if since is not None:
                return _("You already asked for {app} on {when} UTC; your request is waiting for an approver.").format(
                    app=app, when=f"{since:%Y-%m-%d %H:%M}")
            return _("You already asked for {app}; your request is waiting for an approver.").format(app=app)
        case RequestGone():
            return _("That request does not exist any more.")
        case ReasonTooLong(maximum=maximum, length=length):
            return _("Keep the reason under {maximum:,} characters (this one has {length:,}).").format(
                maximum=maximum, length=length)
        case OwnRequest():
            return _("You can't approve your own request: another approver decides it.")
        case RequestAlreadyDecided(status=status, by=by):
            return decided_text(status, by, names, tr)
        case BulkImportRefused(problems=problems):
            return tr.ngettext("The file was refused ({count} problem): nothing was written.",
                               "The file was refused ({count} problems): nothing was written.",
                               len(problems)).format(count=len(problems))
        case NotProvisioned(app=app):
            return _("{app} is not provisioned: its catalog entry names no SCIM endpoint.").format(app=app)
        case VendorUnreachable(app=app, reason=reason):
            return _("The SCIM endpoint of {app} did not answer as it should: {reason}").format(app=app, reason=reason)
        case UntilInPast(until=until, today=today):
            return _("{until} is in the past: choose today ({today}) or a later day.").format(
                until=until.isoformat(), today=today.isoformat())
        case InvalidDuration(value=value, allowed=allowed):
            return _('"{value}" is not a duration: choose {days} days, or permanently.').format(
                value=value, days=", ".join(str(d) for d in allowed))
        case _ if (said := reclaim_error_text(error, names, tr)) is not None:
            return said
    return _("That can't be done: {code}.").format(code=error.code)


def reclaim_error_text(error: LicensingError, names: Names = PLAIN, tr: Translations = ENGLISH) -> str | None:
    """The errors of usage and reclaims (bot/reclaim_errors.py); None for any other."""
    _ = tr.gettext
    match error:
        case InvalidIdleDays(value=value, maximum=maximum):
            return _('"{value}" is not a number of days (1 to {maximum}).').format(value=value, maximum=maximum)
        case ReclaimOpen(app=app, ends_at=ends_at):
            return _("A reclaim of {app} is already open: it ends {when} UTC. Start another one after it.").format(
                app=app, when=f"{ends_at:%Y-%m-%d %H:%M}")
        case NobodyToAsk(app=app, idle_days=idle_days, group_holders=group_holders):
            text = (_("Nobody holds {app} directly: there is nobody to ask.") if idle_days is None else
                    _("No direct holder of {app} is idle for {days} days or more by the imported usage: there is "
                      "nobody to ask.")).format(app=app, days=idle_days)
            if group_holders:
                text += " " + tr.ngettext("{count} holder has it through a group (never asked).",
                                          "{count} holders have it through a group (never asked).",
                                          group_holders).format(count=group_holders)
            return text
        case AskGone():
            return _("This question does not exist any more.")
        case NotYourAsk(user_id=user_id, app=app):
            return _("This question is for {user}: only they can answer it. Nothing was changed.").format(
                user=names.user(user_id), app=app)
        case AskAnswered(app=app, state=state):
            said = {"kept": _("You already answered: you keep your license of {app}."),
                    "released": _("You already answered: your license of {app} was released."),
                    "no-answer": _("This reclaim of {app} has ended: your license was released for no answer."),
                    }.get(state, _("This reclaim of {app} has ended: nothing was changed."))
            return said.format(app=app) + (" " + _("Nothing was changed.") if state != "asked" else "")
    return None


def decided_text(status: str, by: str | None, names: Names = PLAIN, tr: Translations = ENGLISH) -> str:
    _ = tr.gettext
    if status == "expired":
        return _("This request has expired: nobody decided it in time.")
    if by == "cli":
        return {"approved": _("This request was already approved by the operator."),
                "denied": _("This request was already denied by the operator.")}.get(
            status, _("This request was already decided by the operator."))
    if by:
        template = {"approved": _("This request was already approved by {who}."),
                    "denied": _("This request was already denied by {who}.")}.get(
            status, _("This request was already decided by {who}."))
        return template.format(who=names.user(by))
    return _("This request was already decided.")


def bulk_problem_text(problem: BulkProblem, tr: Translations = ENGLISH) -> str:
    """One problem of an assignments file, as one line: `line 4: …`, or the app's for counts."""
    _ = tr.gettext
    f = problem.facts
    text = {
        "unknown-app": lambda: _('no app is called "{value}"').format(value=f["value"]) + (
            " " + _("(did you mean: {candidates}?)").format(candidates=", ".join(f["candidates"]))
            if f.get("candidates") else ""),
        "ambiguous-app": lambda: _('"{value}" matches several apps: {candidates}').format(
            value=f["value"], candidates=", ".join(f["candidates"])),
        "no-app": lambda: _("the app is missing"),
        "bad-user": lambda: _('"{value}" is neither a Slack user id (like U0123ABCD) nor an email').format(
            value=f["value"]),
        "unknown-user": lambda: (_("unknown person {value}: no user has this email in the directory") if f["by_email"]
                                 else _("unknown person {value}: not in the database nor in the directory")).format(
            value=f["value"]),
        "bad-until": lambda: _('until "{value}" is not a date (YYYY-MM-DD)').format(value=f["value"]),
        "past-until": lambda: _("until {value} is in the past").format(value=f["value"]),
        "two-untils": lambda: _("{value} is on line {first} too, with another until").format(
            value=f["value"], first=f["first_line"]),
        "bad-last-active": lambda: _('last_active "{value}" is not a date (YYYY-MM-DD)').format(value=f["value"]),
        "future-last-active": lambda: _("last_active {value} is in the future").format(value=f["value"]),
        "not-enough": lambda: _("{app}: not enough licenses: {needed} needed, {available} available").format(
            app=f["app"], needed=f["needed"], available=f["available"]),
    }.get(problem.code, lambda: problem.code)()
    return _("line {line}: {problem}").format(line=problem.line, problem=text) if problem.line else text
