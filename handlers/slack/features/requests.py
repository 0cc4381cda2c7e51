"""Requests and approvals: `/licenses request APP` → a reason (optional) → a direct message to every approver
with "Approve" and "Deny" → the decision, told to the requester and shown on every approver's copy.

The submit files the request inside the ack (one transaction, so a duplicate is answered on the form);
the messages to approvers go out after it. Clicks are acked at once and decided in the background: the
service re-checks the clicker's role and decides with a conditional update, so a double click, a retried
delivery or two approvers at once decide once, and the loser is told who decided. Expiry and reminders
run on a schedule inside `serve` and from `licensebot requests expire` (handlers/cli). The messages to
approvers and requesters are the core's notices, written to the outbox with the change and sent by
handlers/slack/notifier.py with the builders below, each in its reader's language.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.domain import Actor, Rights
from bot.errors import LicensingError, NotEnoughLicenses
from bot.paging import Page
from bot.requests import APPROVED, DENIED, LicenseRequest, Sweep
from handlers.slack import i18n, ui
from handlers.slack.deps import Deps, repeat
from handlers.slack.features.catalog import REQUEST_FROM_DETAILS, install_blocks
from handlers.slack.features.durations import DURATION_BLOCK, chosen_duration, duration_input, duration_line
from handlers.slack.i18n import N_, _, ngettext
from handlers.slack.router import Invocation, Subcommand, on_details_button, open_modal, tell, user_of

log = logging.getLogger("licensebot")

REQUEST_CALLBACK = "license_request"
DENY_CALLBACK = "license_request_deny"
APPROVE_ACTION = "request_approve"
DENY_ACTION = "request_deny"
REASON_BLOCK = "reason"
APP_BLOCK = "app"  # the app picker of a request opened from the Home tab
APP_PICKER = "request_app_picker"
SWEEP_SECONDS = 60  # how often `serve` looks for overdue requests; reminders and expiry are due in hours
LISTED = 20  # pending requests a page of `/licenses requests` (two blocks each, of Slack's 50)
REQUESTS_PAGE = "requests_page"  # its "Previous" / "Next": requests_page_previous, requests_page_next


# ------------------------------------------------------------------ pure builders
def reason_input(placeholder: str) -> dict[str, Any]:
    """The optional "Reason" of a request and of a denial."""
    return {
        "type": "input",
        "block_id": REASON_BLOCK,
        "optional": True,
        "label": ui.plain(_("Reason")),
        "element": {"type": "plain_text_input", "action_id": REASON_BLOCK, "multiline": True, "max_length": 1000,
                    "placeholder": ui.plain(placeholder)},
    }


def request_view(app_name: str, more_time: str = "") -> dict[str, Any]:
    """`more_time`: the license's current end, when its holder asks for more time (issue 13)."""
    reason = reason_input(_("What do you need it for? (optional)"))
    asking = _("You are asking for a license of *{app}*.").format(app=app_name) if not more_time else _(
        "You are asking for more time with *{app}* (your license ends on {date}).").format(app=app_name, date=more_time)
    blocks = [ui.section(asking + " " + _(WHO_DECIDES)), duration_input(), reason]
    return ui.modal(_("Request a license"), blocks, callback_id=REQUEST_CALLBACK, submit=_("Request"),
                    metadata={"app": app_name})


WHO_DECIDES = N_("The approvers (license, user and global admins) get your request; you get a message when one of "
                 "them decides.")


def request_picker_view(apps: list[str]) -> dict[str, Any]:
    """The request modal opened from the Home tab: the app is chosen here. A static menu up to Slack's 100
    options; past that a typeahead (external_select) answered from the catalog."""
    element: dict[str, Any] = {"type": "static_select", "action_id": APP_PICKER,
                               "placeholder": ui.plain(_("Choose an app")),
                               "options": [ui.option(name, name) for name in apps[: ui.OPTIONS_MAX]]}
    if len(apps) > ui.OPTIONS_MAX or not apps:
        element = {"type": "external_select", "action_id": APP_PICKER, "min_query_length": 0,
                   "placeholder": ui.plain(_("Type an app's name"))}
    picker = {"type": "input", "block_id": APP_BLOCK, "label": ui.plain(_("App")), "element": element}
    blocks = [ui.section(_(WHO_DECIDES)), picker, duration_input(),
              reason_input(_("What do you need it for? (optional)"))]
    return ui.modal(_("Request a license"), blocks, callback_id=REQUEST_CALLBACK, submit=_("Request"), metadata={})


def deny_view(request: LicenseRequest) -> dict[str, Any]:
    reason = reason_input(_("Told to the requester (optional)"))
    blocks = [ui.section(_("Deny {user}'s request for *{app}*?").format(
        user=ui.user_ref(request.requester), app=request.app.name)), reason]
    return ui.modal(_("Deny request"), blocks, callback_id=DENY_CALLBACK, submit=_("Deny"),
                    metadata={"request": request.id})


def decision_buttons(request: LicenseRequest) -> dict[str, Any]:
    return ui.actions([
        ui.button(_("Approve"), APPROVE_ACTION, str(request.id), style="primary"),
        ui.button(_("Deny"), DENY_ACTION, str(request.id), style="danger"),
    ], block_id=f"request_{request.id}")


def approval_message(request: LicenseRequest) -> tuple[str, list[dict[str, Any]]]:
    """An approver's copy: who asks for which app, why, the seats available, "Approve" and "Deny" — or,
    once decided, the outcome and who decided."""
    app = request.app
    asks = _("{user} asks for a license of *{app}*.").format(user=ui.user_ref(request.requester), app=app.name)
    reason = (_("*Reason:* {reason}").format(reason=ui.escape(request.reason)) if request.reason
              else "_" + _("No reason given.") + "_")
    blocks = [ui.section(asks), ui.section(reason + "\n" + duration_line(request.duration_days))]
    if request.pending:
        seats = _("*Licenses:* {available} available of {total}").format(
            available=i18n.number(app.available), total=i18n.number(app.total))
        if not app.available:
            seats += " — " + _("none left: add licenses before approving, or deny")
        blocks.append(ui.section(seats))
        blocks.append(decision_buttons(request))
        blocks.append(ui.context(_("Request #{id} · expires {when}").format(
            id=request.id, when=ui.slack_date(request.expires_at))))
        available = ngettext("{count} license available.", "{count} licenses available.", app.available)
        return f"{asks} " + available.format(count=i18n.number(app.available)), blocks
    outcome = outcome_line(request)
    blocks.append(ui.section(outcome))
    blocks.append(ui.context(_("Request #{id}").format(id=request.id)))
    return f"{asks} {outcome}", blocks


def outcome_line(request: LicenseRequest) -> str:
    when = f" {ui.slack_date(request.decided_at)}" if request.decided_at else ""
    who = ui.user_ref(request.decided_by or "")
    if request.status == APPROVED:
        return ":white_check_mark: " + _("*Approved* by {user}").format(user=who) + when
    if request.status == DENIED:
        reason = "\n" + _("*Reason:* {reason}").format(reason=ui.escape(request.note)) if request.note else ""
        return ":no_entry_sign: " + _("*Denied* by {user}").format(user=who) + when + reason
    return ":hourglass: " + ngettext("*Expired*: nobody decided within {count} hour.",
                                     "*Expired*: nobody decided within {count} hours.",
                                     request.ttl_hours).format(count=request.ttl_hours)


def requester_note(request: LicenseRequest) -> tuple[str, list[dict[str, Any]]]:
    """What the requester is told about the outcome."""
    app = request.app
    who = ui.user_ref(request.decided_by or "")
    if request.status == APPROVED:
        text = ":white_check_mark: " + _("Your request for *{app}* was approved by {user}: the license is "
                                         "yours.").format(app=app.name, user=who)
        if request.duration_days is not None:  # issue 13: a time-limited license
            text += "\n" + duration_line(request.duration_days)
        blocks = [ui.section(text)]
        if app.install_url:
            blocks.extend(install_blocks(app)[1])
        return text, blocks
    if request.status == DENIED:
        text = ":no_entry_sign: " + _("Your request for *{app}* was denied by {user}.").format(app=app.name, user=who)
        if request.note:
            text += "\n" + _("*Reason:* {reason}").format(reason=ui.escape(request.note))
    else:
        text = ":hourglass: " + ngettext(
            "Your request for *{app}* expired: no approver decided within {count} hour. "
            "Ask again with `/licenses request {app}`.",
            "Your request for *{app}* expired: no approver decided within {count} hours. "
            "Ask again with `/licenses request {app}`.", request.ttl_hours).format(
            app=app.name, count=request.ttl_hours)
    return text, [ui.section(text)]


def no_seat_note(request: LicenseRequest, error: NotEnoughLicenses, rights: Rights | None = None) -> str:
    """To the approver whose "Approve" found no seat left: what they can do about it (a command only if they
    may run it: a license admin is told to ask a billing admin)."""
    app = request.app
    if app.is_marketplace and rights is not None and rights.change_seats:
        way = _("Add licenses with `/licenses seats {app}`, then approve again; or deny the request.").format(
            app=app.name)
    elif app.is_marketplace:
        way = _("Ask a billing admin to add licenses, then approve again; or deny the request.")
    else:
        way = _("{app} was bought through its provider: contact {contact} for more licenses, or deny the "
                "request.").format(app=app.name, contact=app.provider_contact or _("the provider"))
    return f":warning: {ui.say(error)}. " + _(
        "{user} did not get *{app}* and the request is still pending.").format(
        user=ui.user_ref(request.requester), app=app.name) + f" {way}"


def unreached_note(request: LicenseRequest, asked: int) -> str:
    """To the requester when none of the `asked` approvers got a copy."""
    if not asked:
        text = _("Your request for *{app}* is filed, but nobody else can approve it yet. It stays pending; "
                 "approvers see it with `/licenses requests`.")
    else:
        text = _("Your request for *{app}* is filed, but I could not reach the approvers on Slack. It stays "
                 "pending; approvers see it with `/licenses requests`.")
    return ":warning: " + text.format(app=request.app.name)


def reminder_text(request: LicenseRequest) -> str:
    return ":alarm_clock: " + _("Reminder: {user} is still waiting for a license of *{app}*. The request expires "
                                "{when} unless someone decides.").format(
        user=ui.user_ref(request.requester), app=request.app.name, when=ui.slack_date(request.expires_at))


def pending_list(page: Page[LicenseRequest]) -> tuple[str, list[dict[str, Any]]]:
    """One page of `/licenses requests`: 20 requests, oldest first, and "Previous" / "Next" past that."""
    if not page.items:
        text = _("No pending requests.")
        return text, [ui.section(text)]
    head = _("*Pending requests* ({count}), oldest first").format(count=i18n.number(page.total))
    blocks: list[dict[str, Any]] = [ui.section(head)]
    for request in page.items:
        reason = f"\n>{ui.escape(request.reason)[:300]}" if request.reason else ""
        blocks.append(ui.section(_("#{id} {who} asks for *{app}* ({available} available) · {when}").format(
            id=request.id, who=ui.user_ref(request.requester), app=ui.escape(request.app.name),
            available=i18n.number(request.app.available), when=ui.slack_date(request.created_at)) + reason))
        blocks.append(decision_buttons(request))
    blocks += ui.pager(page, REQUESTS_PAGE, {})
    text = _("Pending requests:") + "\n" + "\n".join(f"#{r.id} <@{r.requester}>: {r.app.name}" for r in page.items)
    return text, blocks


def requests_page_clicked(deps: Deps, body: dict[str, Any], respond: Respond) -> None:
    """ "Next" / "Previous" under `/licenses requests`: another page, for an approver still (after the ack)."""
    state = ui.pager_state(body)
    if not state:
        return
    user_id = user_of(body)
    try:
        page = deps.service.requests.pending_page(Actor(user_id), state["p"], LISTED)
    except LicensingError as error:
        tell(deps, user_id, None, respond, f":warning: {ui.say(error)}")
        return
    text, blocks = pending_list(page)
    respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=True)


def start_sweeper(deps: Deps, stop: threading.Event) -> None:
    """Expiry and reminders inside `serve`: now, then every SWEEP_SECONDS until `stop` is set. Several
    processes may sweep at once: each request expires, and is reminded of, once (conditional updates).
    The people concerned are told through the outbox (handlers/slack/notifier.py)."""
    actor = Actor(deps.bot_user_id or "licensebot")

    def sweep(_first: bool) -> None:
        swept: Sweep = deps.service.requests.sweep(actor)
        if swept.expired or swept.reminded:
            log.info("requests: %d expired, %d reminded", len(swept.expired), len(swept.reminded))

    repeat(stop, SWEEP_SECONDS, "request-sweep", sweep)


# ------------------------------------------------------------------ deciding (after the ack)
def approve_clicked(deps: Deps, user_id: str, request_id: int, respond: Respond | None, from_list: bool) -> None:
    requests = deps.service.requests
    try:
        request = requests.approve(Actor(user_id), request_id)
    except NotEnoughLicenses as error:
        request = requests.get(request_id)
        rights = deps.service.roles.rights(user_id, request.app.name)
        tell(deps, user_id, None, respond, no_seat_note(request, error, rights))
        return
    except LicensingError as error:
        tell(deps, user_id, None, respond, f":warning: {ui.say(error)}")
        return
    if from_list:  # the click came from `/licenses requests`, which no update reaches
        tell(deps, user_id, None, respond, f"<@{request.requester}>: {outcome_line(request)}")
    deps.after_change(user_id)  # e.g. the approver's Home tab, where the click may have come from


def _request_id(body: dict[str, Any]) -> int | None:
    value = str(((body.get("actions") or [{}])[0]).get("value") or "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else None


# ------------------------------------------------------------------ subcommands
def request_command(inv: Invocation) -> None:
    app_name = inv.deps.service.requests.check_can_request(inv.user_id, inv.args)  # a duplicate is told now
    inv.open_modal(lambda: request_view(app_name))


def requests_command(inv: Invocation) -> None:
    inv.reply(*pending_list(inv.deps.service.requests.pending_page(inv.actor, 1, LISTED)))


SUBCOMMANDS = [
    Subcommand("request", "/licenses request APP", N_("everyone"),
               N_("files a request for approval"), request_command, 70),
    Subcommand("requests", "/licenses requests", N_("approvers"),
               N_("the pending requests, oldest first"),
               requests_command, 80),
]


def register(app: App, deps: Deps) -> None:
    requests = deps.service.requests
    deps.on_start.append(lambda stop: start_sweeper(deps, stop))

    # a plain user's "Request a license" in the details modal: the request form pushed over it
    on_details_button(app, deps, REQUEST_FROM_DETAILS,
                      lambda deps, user_id, name: request_view(requests.check_can_request(user_id, name)))

    @app.view(REQUEST_CALLBACK)
    def submit_request(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        picked = "app" not in ui.decode_metadata(view)  # opened from the Home tab: the app is chosen in the form
        chosen = ui.selected_values(view, APP_BLOCK) if picked else ui.decode_metadata(view).get("app")
        app_name = str(chosen or "")
        reason = ui.selected_values(view, REASON_BLOCK) or ""
        if picked and not app_name.strip():
            ack(**ui.field_errors(APP_BLOCK, _("Choose an app.")))
            return
        try:
            request = requests.create(Actor(user_of(body)), app_name, str(reason), duration_days=chosen_duration(view),
                                      idempotency_key=ui.view_key("request", view))
        except LicensingError as error:
            if error.field in ("reason", "duration"):
                ack(**ui.field_errors(REASON_BLOCK if error.field == "reason" else DURATION_BLOCK, ui.say(error)))
            elif picked and error.field == "app":  # unknown, or already held or asked for: said under the picker
                ack(**ui.field_errors(APP_BLOCK, ui.say(error)))
            else:
                ack(response_action="update", view=ui.summary_modal(_("Request not sent"),
                                                                                 f":warning: {ui.say(error)}"))
            return
        ack(response_action="update", view=ui.summary_modal(
            _("Request sent"), _("Your request for *{app}* is with the approvers. You get a message when one of "
                                 "them decides.").format(app=request.app.name)))
        deps.after_change(user_of(body))

    @app.options(APP_PICKER)
    def request_app_options(ack: Ack, body: dict[str, Any]) -> None:
        query = str(body.get("value") or "")[:200]  # searched in the database: every app, by folded name or vendor
        ack(options=[ui.option(n, n) for n in deps.service.catalog.find_apps(query, ui.OPTIONS_MAX)])

    @app.action(re.compile(f"^{REQUESTS_PAGE}_(previous|next)$"))
    def requests_paged(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        deps.later(requests_page_clicked, deps, body, respond)

    @app.action(APPROVE_ACTION)
    def approve(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        request_id = _request_id(body)
        if request_id is None:
            return  # not a button of ours
        from_list = bool((body.get("container") or {}).get("is_ephemeral"))
        deps.later(approve_clicked, deps, user_of(body), request_id, respond, from_list)

    @app.action(DENY_ACTION)
    def deny(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        request_id = _request_id(body)
        if request_id is None:
            return
        user_id = user_of(body)
        # the modal opens only for an approver of a pending request; the submit checks both again
        deps.later(open_modal, deps, str(body.get("trigger_id") or ""),
                   lambda: deny_view(requests.deciding(Actor(user_id), request_id)), user_id, None, respond,
                   since=time.monotonic())

    @app.view(DENY_CALLBACK)
    def submit_denial(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        request_id = ui.decode_metadata(view).get("request")
        reason = ui.selected_values(view, REASON_BLOCK) or ""
        if isinstance(request_id, bool) or not isinstance(request_id, int) or not 0 < request_id < 2**63:
            # not an id we wrote (10**30 overflowed the database's integer): a broken or forged form
            ack(response_action="update", view=ui.summary_modal(_("Not denied"),
                                                                             ":warning: " + _("This form is broken.")))
            return
        try:
            request = requests.deny(Actor(user_of(body)), request_id, str(reason))
        except LicensingError as error:
            if error.field == "reason":
                ack(**ui.field_errors(REASON_BLOCK, ui.say(error)))
            else:
                ack(response_action="update", view=ui.summary_modal(_("Not denied"), f":warning: {ui.say(error)}"))
            return
        ack(response_action="update", view=ui.summary_modal(
            _("Request denied"), _("{user}'s request for *{app}* is denied; they are told.").format(
                user=ui.user_ref(request.requester), app=request.app.name)))
        deps.after_change(user_of(body))
