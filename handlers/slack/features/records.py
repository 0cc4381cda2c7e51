"""App records in Slack (billing and global admins): `/licenses add` → "Add an app", the details modal's
"Edit app" → "Edit app", and in it "Retire app" → a confirmation (only when nothing is assigned).

Each field is checked on submit by the core's record rules (bot/app_records.py) and a problem lands on the
field at fault; roles are checked again at submit. Provisioning fields are not here yet.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from slack_bolt import Ack, App

from bot.app_records import NEEDED, AppRecord
from bot.domain import MAX_SEATS, Action, Actor, AppSummary, PurchaseChannel
from bot.errors import LicensingError
from handlers.slack import ui
from handlers.slack.deps import Deps
from handlers.slack.features.details import OPEN_EDIT
from handlers.slack.i18n import N_, _
from handlers.slack.router import Invocation, Subcommand, on_details_button, user_of

ADD = "app_add"  # callback ids
EDIT = "app_edit"
RETIRE = "app_retire"
OPEN_RETIRE = "edit_retire_app"  # the "Retire app" button inside "Edit app"
FIELDS = ("name", "vendor", "seats", "purchased_via", "provider_contact", "install_url", "renewal_date", "notes",
          "low_seat_threshold")  # each the block id and action id of its input


# ------------------------------------------------------------------ pure builders
def _input(block_id: str, label: str, element: dict[str, Any], *, optional: bool = False,
           hint: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "input", "block_id": block_id, "label": ui.plain(label, 2000),
                             "element": {**element, "action_id": block_id}, "optional": optional}
    if hint:
        block["hint"] = ui.plain(hint, 2000)
    return block


def _text(initial: str, max_length: int, *, multiline: bool = False) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "max_length": max_length, "multiline": multiline}
    if initial:
        element["initial_value"] = initial[:max_length]
    return element


def _number(initial: int | None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "number_input", "is_decimal_allowed": False, "min_value": "0",
                               "max_value": str(MAX_SEATS)}
    if initial is not None:
        element["initial_value"] = str(initial)
    return element


def channel_option(channel: PurchaseChannel) -> dict[str, Any]:
    return ui.option(_("Marketplace") if channel == PurchaseChannel.MARKETPLACE else _("Provider"), channel.value)


def record_view(app: AppSummary | None) -> dict[str, Any]:
    """ "Add an app" (app None) or "Edit app" with the app's record filled in: every field of the catalog."""
    channel: dict[str, Any] = {"type": "static_select", "options": [channel_option(c) for c in PurchaseChannel]}
    date: dict[str, Any] = {"type": "datepicker"}
    if app is not None:
        channel["initial_option"] = channel_option(PurchaseChannel(app.purchased_via))
        if app.renewal_date:
            date["initial_date"] = app.renewal_date.isoformat()
    else:
        channel["initial_option"] = channel_option(PurchaseChannel.MARKETPLACE)
    blocks = [
        _input("name", _("Name"), _text(app.name if app else "", 200)),
        _input("vendor", _("Vendor"), _text(app.vendor if app else "", 200), optional=True),
        _input("seats", _("Total licenses"), _number(app.total if app else None),
               hint=_("At least {count}, the licenses assigned now.").format(count=app.assigned) if app else None),
        _input("purchased_via", _("Purchased via"), channel),
        _input("provider_contact", _("Provider contact"), _text(app.provider_contact if app else "", 500),
               optional=True, hint=_("An email, a web address or a phone number.")),
        _input("install_url", _("Install URL"), _text(app.install_url if app else "", 2000), optional=True,
               hint=_("Starts with https://")),
        _input("renewal_date", _("Renewal date"), date, optional=True),
        _input("notes", _("Notes"), _text(app.notes if app else "", 3000, multiline=True), optional=True),
        _input("low_seat_threshold", _("Low-seat warning"), _number(app.low_seat_threshold if app else None),
               optional=True, hint=_("Alerts go out when available licenses fall to this number. Empty: 10% of the "
                                    "licenses, rounded up, at least 1.")),
    ]
    if app is None:
        return ui.modal(_("Add an app"), blocks, callback_id=ADD, submit=_("Add"))
    if app.assigned or app.waiting:
        blocks.append(ui.context(_("To retire this app, unassign it from everyone first.")))
    else:
        blocks.append(ui.actions([ui.button(_("Retire app"), OPEN_RETIRE, app.name, style="danger")],
                                 block_id="edit_actions"))
    return ui.modal(_("Edit app"), blocks, callback_id=EDIT, submit=_("Save"), metadata={"app": app.name})


def retire_view(app: AppSummary) -> dict[str, Any]:
    text = _("Retire *{app}*? It leaves every list and picker; its audit log stays.").format(app=ui.escape(app.name))
    return ui.modal(_("Retire app"), [ui.section(text)], callback_id=RETIRE, submit=_("Retire"),
                    metadata={"app": app.name})


def done_view(title: str, text: str) -> dict[str, Any]:
    return ui.summary_modal(title, text, callback_id="app_record_done")


# ------------------------------------------------------------------ reading a submitted form
def record_from(view: dict[str, Any]) -> AppRecord:
    """The form as a record: every field given (an emptied optional one clears); pydantic checks each."""
    values: dict[str, Any] = {}
    for field in FIELDS:
        value = ui.selected_values(view, field, field)
        if isinstance(value, str):
            value = value.strip()
        if field in ("seats", "low_seat_threshold") and isinstance(value, str) and 0 < len(value) < 12:
            try:
                value = int(value)
            except ValueError:
                pass  # left as text: pydantic says "a whole number" on the field
        if value in ("", None):
            if field in ("name", "seats", "purchased_via"):
                continue  # required: missing, said on the field
            value = None  # emptied: cleared
        values[field] = value
    return AppRecord.model_validate(values)


def problem_text(problem: dict[str, Any]) -> str:
    kind = problem["type"]
    if kind == "missing":
        return _("Fill this in.")
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return _("A whole number, please.")
    if kind == "greater_than_equal":
        return _("At least 0.")
    if kind == "less_than_equal":
        return _("At most {maximum:,}.").format(maximum=MAX_SEATS)
    if kind == "url_scheme":
        return _("Must start with https:// or http://")
    if kind == "string_too_long":
        return _("Too long.")
    if kind in ("string_too_short",):
        return _("Fill this in.")
    return str(problem.get("msg") or _("Not valid."))[:150]


def field_errors(error: ValidationError) -> dict[str, Any]:
    errors: dict[str, str] = {}
    for problem in error.errors():
        block = str(problem["loc"][0]) if problem["loc"] else "name"
        errors.setdefault(block if block in FIELDS else "name", problem_text(dict(problem)))
    return {"response_action": "errors", "errors": errors}


def error_block(error: LicensingError) -> str:
    return {"total": "seats", "name": "name"}.get(error.field or "", "name")


# ------------------------------------------------------------------ flows
def add_command(inv: Invocation) -> None:
    inv.deps.service.roles.require(inv.actor, Action.EDIT_APPS)  # refused now, before a modal opens
    inv.open_modal(lambda: record_view(None))


def edit_view_for(deps: Deps, user_id: str, query: str) -> dict[str, Any]:
    return record_view(deps.service.records.record_of(Actor(user_id), query))  # checks the role


def submit_add(deps: Deps, actor: Actor, view: dict[str, Any]) -> dict[str, Any]:
    try:
        record = record_from(view)
    except ValidationError as error:
        return field_errors(error)
    missing = {f: _("Fill this in.") for f in NEEDED if f not in record.model_fields_set}
    if missing:
        return {"response_action": "errors", "errors": missing}
    try:
        app = deps.service.records.create(actor, record, idempotency_key=ui.view_key("app.create", view))
    except LicensingError as error:
        return ui.field_errors(error_block(error), ui.say(error))
    return {"response_action": "update", "view": done_view(_("App added"), _(
        "*{app}* is in the catalog: {total} licenses. `/licenses show {app}` for its details.").format(
        app=ui.escape(app.name), total=app.total))}


def submit_edit(deps: Deps, actor: Actor, view: dict[str, Any]) -> dict[str, Any]:
    name = str(ui.decode_metadata(view).get("app") or "")
    try:
        record = record_from(view)
    except ValidationError as error:
        return field_errors(error)
    try:
        app, changed = deps.service.records.update(actor, name, record,
                                                   idempotency_key=ui.view_key("app.update", view))
    except LicensingError as error:
        return ui.field_errors(error_block(error), ui.say(error))
    what = ", ".join(changed) if changed else _("nothing changed")
    return {"response_action": "update", "view": done_view(_("App saved"), _("*{app}* saved ({what}).").format(
        app=ui.escape(app.name), what=what))}


def submit_retire(deps: Deps, actor: Actor, view: dict[str, Any]) -> dict[str, Any]:
    name = str(ui.decode_metadata(view).get("app") or "")
    try:
        app = deps.service.records.retire(actor, name)
    except LicensingError as error:
        return {"response_action": "update", "view": done_view(_("Retire app"), f":warning: {ui.say(error)}")}
    return {"response_action": "update", "view": done_view(_("App retired"), _(
        "*{app}* is retired: it left every list and picker. Its audit log stays.").format(app=ui.escape(app.name)))}


def retire_view_for(deps: Deps, user_id: str, query: str) -> dict[str, Any]:
    return retire_view(deps.service.records.record_of(Actor(user_id), query))


SUBCOMMANDS = [
    Subcommand("add", "/licenses add", N_("billing or global admin"),
               N_("opens “Add an app”"), add_command, 95),
]


def register(app: App, deps: Deps) -> None:
    on_details_button(app, deps, OPEN_EDIT, edit_view_for)
    on_details_button(app, deps, OPEN_RETIRE, retire_view_for)

    @app.view(ADD)
    def added(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        ack(**submit_add(deps, Actor(user_of(body)), view))

    @app.view(EDIT)
    def edited(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        ack(**submit_edit(deps, Actor(user_of(body)), view))

    @app.view(RETIRE)
    def retired(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        ack(**submit_retire(deps, Actor(user_of(body)), view))
