"""Unassigning: `/licenses unassign APP` and the details modal's "Unassign licenses" button.

The flow is two views: "Unassign licenses" (pick from the current assignees, submit "Next") pushes a
confirmation dialog that names what goes and how many licenses it frees. Only that dialog's "Unassign"
changes anything; "Cancel" or closing leaves everything as it was. Its submission carries an idempotency
key made from the dialog's view id, so a double submit acts once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from slack_bolt import Ack, App

from bot.directory import Directory
from bot.domain import GROUP_ID, USER_ID, Action, Actor, AppDetails, UnassignOutcome, UnassignPreview
from bot.errors import DirectoryLoading, LicensingError
from bot.names import fold
from handlers.slack import ui
from handlers.slack.deps import Deps
from handlers.slack.features.catalog import OPEN_UNASSIGN
from handlers.slack.i18n import N_, _, ngettext
from handlers.slack.mentions import resolve_mentions, split_app_and_mentions
from handlers.slack.router import Invocation, Subcommand, on_details_button, user_of

PICK = "unassign_pick"
CONFIRM = "unassign_confirm"
ASSIGNEES = "assignees"  # the picker's block id
ASSIGNEES_ACTION = "unassign_assignees"  # its action id, which also names its options requests
MAX_PICKED = 100  # keeps the dialog's private_metadata well inside Slack's 3,000 characters


# ------------------------------------------------------------------ assignees as options
def assignee_options(details: AppDetails, directory: Directory, query: str = "") -> list[dict[str, Any]]:
    """Every current assignee, users then groups; "user:U…" / "group:S…" values."""
    options = [ui.option(_user_label(directory, u), f"user:{u}") for u in details.direct_users]
    options += [ui.option(_group_label(directory, g.group_id), f"group:{g.group_id}") for g in details.groups]
    wanted = fold(query.strip().lstrip("@"))
    return [o for o in options if wanted in fold(o["text"]["text"])] if wanted else options


def _user_label(directory: Directory, user_id: str) -> str:
    try:
        user = directory.user(user_id)
    except DirectoryLoading:  # still loading: the id alone
        user = None
    name = (user.real_name or user.name) if user else ""
    return f"👤 {name} ({user_id})" if name else f"👤 {user_id}"


def _group_label(directory: Directory, group_id: str) -> str:
    try:
        group = directory.group(group_id)
    except DirectoryLoading:  # still loading: the id alone
        group = None
    return f"👥 @{group.handle} — {group.name}" if group else f"👥 {group_id}"


class NotAnAssignee(Exception):
    """A picked value that is none of the options we offered (a forged or broken payload)."""


def split_picked(values: list[str]) -> tuple[list[str], list[str]]:
    users, groups = [], []
    for value in values:
        kind, _sep, subject = str(value).partition(":")
        if kind == "user" and USER_ID.match(subject):
            users.append(subject)
        elif kind == "group" and GROUP_ID.match(subject):
            groups.append(subject)
        else:
            raise NotAnAssignee(_('"{value}" is not one of the assignees.').format(value=str(value)[:40]))
    return users, groups


# ------------------------------------------------------------------ views
def picker_view(details: AppDetails, directory: Directory, preselect: Sequence[str] = ()) -> dict[str, Any]:
    app = details.app
    facts = ui.section(f"*{app.name}*: " + counts(app.assigned, app.available, app.total))
    metadata = {"app": app.name}
    options = assignee_options(details, directory)
    if not options:
        text = _("Nobody is assigned *{app}*: there is nothing to unassign.").format(app=app.name)
        return ui.modal(title(), [facts, ui.section(text)], callback_id=PICK, close=_("Close"), metadata=metadata)
    element: dict[str, Any] = {
        "type": "multi_static_select",
        "action_id": ASSIGNEES_ACTION,
        "placeholder": ui.plain(_("Pick users and groups")),
        "max_selected_items": MAX_PICKED,
    }
    if len(options) <= ui.OPTIONS_MAX:
        element["options"] = options
        initial = [o for o in options if o["value"] in preselect]
        if initial:
            element["initial_options"] = initial
    else:  # too many for one list: typeahead over the same assignees
        element.update(type="multi_external_select", min_query_length=0)
    picker = {"type": "input", "block_id": ASSIGNEES, "label": ui.plain(_("Users and groups")), "element": element,
              "hint": ui.plain(_("Users licensed through a group keep their license unless you pick the group."))}
    return ui.modal(title(), [facts, picker], callback_id=PICK, submit=_("Next"), metadata=metadata)


def title() -> str:
    return _("Unassign licenses")


def counts(assigned: int, available: int, total: int) -> str:
    return _("{assigned} assigned / {available} available / {total} total").format(
        assigned=assigned, available=available, total=total)


def named(users: Sequence[str], groups: Sequence[str]) -> str:
    return ", ".join([f"<@{u}>" for u in users] + [ui.group_ref(g) for g in groups])


def confirm_view(preview: UnassignPreview) -> dict[str, Any]:
    app = preview.app
    frees = len(preview.frees)
    frees_line = ngettext("This frees *{count} license*", "This frees *{count} licenses*", frees).format(count=frees)
    lines = [
        _("Remove *{app}* from {who}?").format(app=app.name, who=named(preview.users, preview.groups)),
        frees_line + (f": {ui.user_list(preview.frees, 20)}." if frees else "."),
    ]
    if preview.keeps:
        lines.append(ngettext("{who} keeps their license through another assignment.",
                              "{who} keep their license through another assignment.",
                              len(preview.keeps)).format(who=ui.user_list(preview.keeps, 20)))
    after = app.assigned - frees
    lines.append(_("Afterwards: {counts}.").format(counts=counts(after, max(0, app.total - after), app.total)))
    if app.waiting and frees:
        lines.append(_("Freed licenses go to the people waiting for one, oldest first."))
    metadata = {"app": app.name, "users": preview.users, "groups": preview.groups}
    return ui.modal(title(), [ui.section("\n".join(lines))], callback_id=CONFIRM, submit=_("Unassign"),
                    close=_("Cancel"), metadata=metadata)


def done_view(outcome: UnassignOutcome) -> dict[str, Any]:
    app = outcome.app
    lines = [_("*Licenses unassigned* from {who}.").format(who=named(outcome.users, outcome.groups))]
    lines.append(_("Freed: {who}.").format(who=ui.user_list(outcome.freed, 20)))
    if outcome.filled:
        lines.append(_("Given to the people waiting: {who}.").format(who=ui.user_list(outcome.filled, 20)))
    lines.append(f"*{app.name}*: " + counts(app.assigned, app.available, app.total) + ".")
    return ui.summary_modal(_("Licenses unassigned"), "\n".join(lines), callback_id="unassign_done")


def failed_view(error: LicensingError) -> dict[str, Any]:
    """The dialog has no input to hang a field error on: it says what went wrong; "Back" returns to the picker."""
    text = f":warning: {ui.say(error)}\n" + _("Nothing was unassigned.")
    return ui.modal(title(), [ui.section(text)], callback_id="unassign_failed", close=_("Back"))


# ------------------------------------------------------------------ flow
def build_picker(deps: Deps, user_id: str, query: str, mention_words: Sequence[str] = ()) -> dict[str, Any]:
    deps.service.roles.require(Actor(user_id), Action.UNASSIGN)  # the details button comes here unchecked
    details = deps.service.catalog.details(query)
    found = resolve_mentions(list(mention_words), deps.directory) if mention_words else None
    preselect = [f"user:{u}" for u in found.users] + [f"group:{g}" for g in found.groups] if found else []
    return picker_view(details, deps.directory, preselect)


def unassign(inv: Invocation) -> None:
    inv.deps.service.roles.require(inv.actor, Action.UNASSIGN)
    text, mentions = split_app_and_mentions(inv.args)
    name = inv.deps.service.catalog.resolve_name(text)  # unknown or ambiguous: answered now, in the ack
    inv.open_modal(lambda: build_picker(inv.deps, inv.user_id, name, mentions))


SUBCOMMANDS = [
    Subcommand("unassign", "/licenses unassign APP", N_("license, user or global admin"),
               N_("opens “Unassign licenses”"),
               unassign, 40),
]


def register(app: App, deps: Deps) -> None:
    service = deps.service

    on_details_button(app, deps, OPEN_UNASSIGN, build_picker)

    @app.options(ASSIGNEES_ACTION)
    def assignees_typeahead(ack: Ack, body: dict[str, Any]) -> None:
        name = ui.decode_metadata(body.get("view") or {}).get("app")
        try:
            options = assignee_options(service.catalog.details(str(name or "")), deps.directory,
                                       str(body.get("value") or ""))
        except LicensingError:
            options = []
        ack(options=options[: ui.OPTIONS_MAX])

    @app.view(PICK)
    def picked(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        user_id = user_of(body)
        name = str(ui.decode_metadata(view).get("app") or "")
        try:
            users, groups = split_picked(ui.selected_values(view, ASSIGNEES) or [])
            preview = service.assignments.preview_unassign(Actor(user_id), name, users, groups)
        except LicensingError as error:
            ack(**ui.field_errors(ASSIGNEES, ui.say(error)))
            return
        except NotAnAssignee as error:
            ack(**ui.field_errors(ASSIGNEES, str(error)))
            return
        ack(response_action="push", view=confirm_view(preview))

    @app.view(CONFIRM)
    def confirmed(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        data = ui.decode_metadata(view)
        try:
            outcome = service.assignments.unassign(
                Actor(user_of(body)),
                str(data.get("app") or ""),
                _strings(data.get("users")),
                _strings(data.get("groups")),
                idempotency_key=ui.view_key("unassign", view),
            )
        except LicensingError as error:
            ack(response_action="update", view=failed_view(error))
            return
        ack(response_action="update", view=done_view(outcome))

    @app.view_closed(re.compile(r"^unassign_"))
    def closed(ack: Ack) -> None:
        ack()  # closing or "Cancel" changes nothing


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []
