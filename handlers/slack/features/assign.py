"""Assigning licenses: `/licenses assign APP [@user…] [@group…]` → "Assign licenses" → "Licenses assigned".

The group picker is a typeahead served from the cached directory: never a Slack call per keystroke.
The submit runs the assignment inside the ack (it is one database transaction) so errors land on the
field that caused them and success replaces the modal with its summary.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk.errors import SlackApiError

from bot.directory import Group
from bot.domain import Action, Actor, AssignOutcome, AssignPreview
from bot.errors import DirectoryLoading, LicensingError, NotEnoughLicenses, PermissionDenied
from handlers.slack import i18n, ui
from handlers.slack.deps import Deps
from handlers.slack.features.catalog import OPEN_ASSIGN
from handlers.slack.i18n import N_, _, ngettext
from handlers.slack.mentions import resolve_mentions, split_app_and_mentions
from handlers.slack.router import Invocation, Refusal, Subcommand, on_details_button, user_of

log = logging.getLogger("licensebot")

CALLBACK = "assign_licenses"
APP_BLOCK = "app"
USERS_BLOCK = "users"
GROUPS_BLOCK = "groups"
GROUPS_ACTION = "groups"
UNTIL_BLOCK = "until"  # issue 13: the optional last day of the assignments a submit makes
APPS_ACTION = "app"
MAX_INITIAL = 100  # Slack's cap on a multi-select's initial values
LOADING = "loading"  # the value of the typeahead's only option while the directory loads (no group id)


# ------------------------------------------------------------------ pure builders
def group_option(group: Group) -> dict[str, Any]:
    label = f"@{group.handle}" + (f" ({group.name})" if group.name and group.name != group.handle else "")
    return ui.option(label, group.id)


def assign_view(
    app_name: str | None,
    *,
    users: list[str] = (),  # type: ignore[assignment]
    groups: list[Group] = (),  # type: ignore[assignment]
    app_names: list[str] = (),  # type: ignore[assignment]
    notes: list[str] = (),  # type: ignore[assignment]
    until: str | None = None,
) -> dict[str, Any]:
    """The "Assign licenses" modal. An app picker only when no app was named; "Until": an optional end date
    (ISO, as the datepicker gives it)."""
    blocks: list[dict[str, Any]] = []
    if app_name is None:
        # every app as a menu up to Slack's 100 options; past that (or when none was given) a typeahead,
        # so no app is ever left out of the picker
        picker: dict[str, Any] = {"type": "static_select", "action_id": APPS_ACTION,
                                  "placeholder": ui.plain(_("Choose an app")),
                                  "options": [ui.option(n, n) for n in app_names]}
        if not app_names or len(app_names) > ui.OPTIONS_MAX:
            picker = {"type": "external_select", "action_id": APPS_ACTION, "min_query_length": 0,
                      "placeholder": ui.plain(_("Choose an app"))}
        blocks.append({"type": "input", "block_id": APP_BLOCK, "label": ui.plain(_("App")), "element": picker,
                       "dispatch_action": True})
    else:
        blocks.append(ui.section(f"*{app_name}*"))
    users_element: dict[str, Any] = {"type": "multi_users_select", "action_id": USERS_BLOCK,
                                     "placeholder": ui.plain(_("Choose people"))}
    if users:
        users_element["initial_users"] = list(users)[:MAX_INITIAL]
    blocks.append({"type": "input", "block_id": USERS_BLOCK, "optional": True, "label": ui.plain(_("Users")),
                   "element": users_element, "dispatch_action": True})
    groups_element: dict[str, Any] = {"type": "multi_external_select", "action_id": GROUPS_ACTION,
                                      "min_query_length": 0,
                                      "placeholder": ui.plain(_("Type a group's handle or name"))}
    if groups:
        groups_element["initial_options"] = [group_option(g) for g in list(groups)[:MAX_INITIAL]]
    # dispatch_action: each pick is sent to us at once, to show its impact before submit
    blocks.append({"type": "input", "block_id": GROUPS_BLOCK, "optional": True, "label": ui.plain(_("Groups")),
                   "element": groups_element, "dispatch_action": True})
    blocks.append(until_input(until))
    for note in notes:
        blocks.append(ui.context(note))
    metadata = {"app": app_name} if app_name else {}
    return ui.modal(_("Assign licenses"), blocks, callback_id=CALLBACK, submit=_("Assign"), metadata=metadata)


def until_input(until: str | None = None) -> dict[str, Any]:
    """ "Until": the license ends after this day (none: it stays until someone unassigns it)."""
    element: dict[str, Any] = {"type": "datepicker", "action_id": UNTIL_BLOCK,
                               "placeholder": ui.plain(_("No end date"))}
    if until:
        element["initial_date"] = until
    return {"type": "input", "block_id": UNTIL_BLOCK, "optional": True, "label": ui.plain(_("Until")),
            "element": element,
            "hint": ui.plain(_("The licenses end after this day. Leave it empty for licenses without an end."))}


def impact_note(preview: AssignPreview, handles: dict[str, str], users: int) -> str | None:
    """What the picks would take, e.g. "design: 12 members, 9 new seats; 7 available — 2 short"."""
    if not preview.groups and not users:
        return None
    parts = [f"{handles.get(g.group_id, g.group_id)}: " + members(g.members) + ", " + new_seats(g.new_seats)
             for g in preview.groups]
    if users or len(preview.groups) > 1:
        parts.append(_("{seats} in all").format(seats=new_seats(preview.new_seats)))
    note = "; ".join(parts) + "; " + _("{count} available").format(count=i18n.number(preview.app.available))
    return note + (" — " + _("{count} short").format(count=preview.short) if preview.short else "")


def members(count: int) -> str:
    return ngettext("{count} member", "{count} members", count).format(count=count)


def new_seats(count: int) -> str:
    return ngettext("{count} new seat", "{count} new seats", count).format(count=count)


def assigned_summary(outcome: AssignOutcome) -> dict[str, Any]:
    app = outcome.app
    lines = [f"*{app.name}*"]
    if outcome.users:
        lines.append(_("Users") + ": " + ui.user_list(outcome.users))
    if outcome.groups:
        lines.append(_("Groups") + ": " + ", ".join(ui.group_ref(g) for g in outcome.groups))
    line = ngettext("{count} new license assigned", "{count} new licenses assigned", len(outcome.seated))
    line = line.format(count=len(outcome.seated))
    if outcome.already_held:
        line += "; " + ngettext("{count} already held one", "{count} already held one",
                                len(outcome.already_held)).format(count=len(outcome.already_held))
    lines.append(line + ".")
    if outcome.until:
        lines.append(_("Until {date}: the licenses end after that day.").format(
            date=i18n.date(dt.date.fromisoformat(outcome.until))))
    lines.append(_("Now {assigned} assigned / {available} available / {total} total.").format(
        assigned=app.assigned, available=app.available, total=app.total))
    return ui.summary_modal(_("Licenses assigned"), "\n".join(lines), callback_id="assign_done")


# ------------------------------------------------------------------ command and buttons
def assign_command(inv: Invocation) -> None:
    service = inv.deps.service
    service.roles.require(inv.actor, Action.ASSIGN)
    app_query, mention_words = split_app_and_mentions(inv.args)
    app_name = service.catalog.resolve_name(app_query) if app_query else None
    mentions = resolve_mentions(mention_words, inv.deps.directory)
    if mentions.unknown:
        raise Refusal(_("I don't know {names}. Mention people as @name and groups as @handle.").format(
            names=", ".join(m[:40] for m in mentions.unknown[:10])))
    directory = inv.deps.directory
    found = {gid: directory.group(gid) for gid in mentions.groups}
    unknown = [gid for gid, g in found.items() if g is None or g.disabled]
    if unknown:  # named, never silently dropped
        raise Refusal(_("I can't find the user group {groups} in this workspace (or it is disabled).").format(
            groups=", ".join(ui.group_ref(gid) for gid in unknown[:10])))
    groups = [g for g in found.values() if g is not None]
    app_names = [] if app_name else service.catalog.find_apps("", ui.OPTIONS_MAX + 1)
    inv.open_modal(lambda: assign_view(app_name, users=mentions.users, groups=groups, app_names=app_names))


def assign_view_for(deps: Deps, user_id: str, app_query: str) -> dict[str, Any]:
    """The modal for one app, for someone allowed to assign (the details button comes here unchecked)."""
    deps.service.roles.require(Actor(user_id), Action.ASSIGN)
    return assign_view(deps.service.catalog.resolve_name(app_query))


SUBCOMMANDS = [
    Subcommand("assign", "/licenses assign APP [@user…] [@group…]", N_("license, user or global admin"),
               N_("opens “Assign licenses”, prefilled with the mentions"), assign_command, 30),
]


def register(app: App, deps: Deps) -> None:
    on_details_button(app, deps, OPEN_ASSIGN, assign_view_for)

    @app.options(GROUPS_ACTION)
    def group_options(ack: Ack, payload: dict[str, Any]) -> None:
        query = str(payload.get("value") or "")[:100]
        try:
            groups = deps.directory.search_groups(query, ui.OPTIONS_MAX)
        except DirectoryLoading:  # never wait for Slack in a keystroke: say so, in the list itself
            ack(options=[ui.option(_("Still loading the groups: try again in a moment"), LOADING)])
            return
        ack(options=[group_option(g) for g in groups])

    @app.options(APPS_ACTION)
    def app_options(ack: Ack, payload: dict[str, Any]) -> None:
        query = str(payload.get("value") or "")[:200]
        ack(options=[ui.option(n, n) for n in deps.service.catalog.find_apps(query, ui.OPTIONS_MAX)])

    def in_assign_view(body: dict[str, Any]) -> bool:
        return (body.get("view") or {}).get("callback_id") == CALLBACK

    def picks_changed(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        deps.later(show_impact, deps, body)

    for action_id in (GROUPS_ACTION, USERS_BLOCK, APPS_ACTION):  # the inputs with dispatch_action
        app.action(action_id, matchers=[in_assign_view])(picks_changed)

    @app.view(CALLBACK)
    def submit(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        user_id = user_of(body)
        ack(**submit_assignment(deps, Actor(user_id), view))


def show_impact(deps: Deps, body: dict[str, Any]) -> None:
    """Redraws the modal with what the current picks would take (after the ack). Read-only, yet only
    for those who may assign: the counts are not for everyone's eyes."""
    view = body.get("view") or {}
    actor = Actor(user_of(body))
    if not view.get("id") or not deps.service.roles.may(actor, Action.PREVIEW_ASSIGNMENT):
        return
    named = ui.decode_metadata(view).get("app")
    app_name = named or ui.selected_values(view, APP_BLOCK)
    users = ui.selected_values(view, USERS_BLOCK) or []
    group_ids = ui.selected_values(view, GROUPS_BLOCK, GROUPS_ACTION) or []
    groups = [known_group(deps, g) for g in group_ids]  # the cache: no Slack call
    note = None
    if app_name:
        try:
            preview = deps.service.assignments.preview(actor, str(app_name), users, group_ids)
            note = impact_note(preview, {g.id: g.handle for g in groups}, len(users))
        except PermissionDenied:
            return  # the counts are not for everyone's eyes: the modal stays as it is
        except LicensingError as error:
            note = f":warning: {ui.say(error)}"
    app_names = [] if named else deps.service.catalog.find_apps("", ui.OPTIONS_MAX + 1)
    until = ui.selected_values(view, UNTIL_BLOCK)
    new_view = assign_view(named, users=users, groups=groups, app_names=app_names, notes=[note] if note else [],
                           until=until if isinstance(until, str) else None)
    try:
        deps.views.views_update(view_id=view["id"], hash=view.get("hash"), view=new_view)
    except SlackApiError as error:
        reason = error.response.get("error") if error.response is not None else "no answer"
        if reason == "hash_conflict":  # the person changed the modal meanwhile; their newer pick redraws it
            return
        log.warning("views.update of the assign modal failed: %s", reason)
    except Exception as error:  # noqa: BLE001 - a timeout (2 s, deps.views): the modal keeps its last picture
        log.warning("views.update of the assign modal failed: %s: %s", type(error).__name__, error)


def known_group(deps: Deps, group_id: str) -> Group:
    """The group as the cache has it; only its id while the directory is still loading or does not know it."""
    try:
        return deps.directory.group(group_id) or Group(group_id, group_id, "")
    except DirectoryLoading:
        return Group(group_id, group_id, "")


def submit_assignment(deps: Deps, actor: Actor, view: dict[str, Any]) -> dict[str, Any]:
    """Runs the assignment; returns the ack: the summary, or errors on the field at fault."""
    metadata = ui.decode_metadata(view)
    app_name = metadata.get("app") or ui.selected_values(view, APP_BLOCK)
    users = ui.selected_values(view, USERS_BLOCK) or []
    groups = ui.selected_values(view, GROUPS_BLOCK, GROUPS_ACTION) or []
    if not app_name:
        return ui.field_errors(APP_BLOCK, _("Choose an app."))
    if not users and not groups:
        return ui.field_errors(USERS_BLOCK, _("Pick at least one user or group."))
    if LOADING in groups:  # the typeahead's "still loading" line, picked
        return ui.field_errors(GROUPS_BLOCK, ui.say(DirectoryLoading()))
    picked = ui.selected_values(view, UNTIL_BLOCK)
    try:
        until = dt.date.fromisoformat(picked) if picked else None
    except (TypeError, ValueError):  # never from Slack's datepicker: a forged form
        return ui.field_errors(UNTIL_BLOCK, _("Choose a date."))
    key = ui.view_key("assign", view)
    try:
        outcome = deps.service.assignments.assign(actor, str(app_name), users, groups, until=until,
                                                  idempotency_key=key)
    except NotEnoughLicenses as error:
        return ui.field_errors(GROUPS_BLOCK if groups else USERS_BLOCK, ui.say(error))
    except LicensingError as error:
        block = {"groups": GROUPS_BLOCK, "until": UNTIL_BLOCK,
                 "app": APP_BLOCK if not metadata.get("app") else USERS_BLOCK}.get(error.field or "", USERS_BLOCK)
        return ui.field_errors(block, ui.say(error))
    return {"response_action": "update", "view": assigned_summary(outcome)}
