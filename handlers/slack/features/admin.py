"""Admin commands: `/licenses roles [grant|revoke @user ROLE]` and `/licenses audit [APP]`."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.domain import Action, Actor, AuditEntry, Role, RoleBinding
from bot.errors import LicensingError
from bot.names import clean_query
from bot.roles import parse_role
from handlers.slack import i18n, ui
from handlers.slack.deps import Deps
from handlers.slack.i18n import N_, _, ngettext
from handlers.slack.mentions import BARE_ID, is_mention, resolve_mentions, split_words
from handlers.slack.router import Invocation, Refusal, Subcommand, tell
from handlers.words import role_title

ROLES_USAGE = "`/licenses roles` · `/licenses roles grant @user ROLE` · `/licenses roles revoke @user ROLE`"
AUDIT_SHOWN = 20

# how the audit actions people read most are told: (verb, the word before the people it touched);
# others are shown as their id
# (both marked for translation, translated when shown: `_(verb)`)
TO, FROM, FOR, NONE = N_("to"), N_("from"), N_("for"), "—"
ACTION_WORDS = {
    "assign": (N_("assigned"), TO),
    "unassign": (N_("unassigned"), FROM),
    "seats": (N_("changed the licenses of"), NONE),
    "role.grant": (N_("granted"), TO),
    "role.revoke": (N_("revoked"), FROM),
    "request.create": (N_("requested"), FOR),
    "request.approve": (N_("approved a request for"), FOR),
    "request.deny": (N_("denied a request for"), FOR),
    "request.expire": (N_("expired a request for"), FOR),
    "app.import": (N_("imported"), NONE),
    "waitlist.fill": (N_("gave waiting members a license of"), NONE),
    "group.join": (N_("seated a new group member in"), NONE),
    "group.leave": (N_("removed a group member from"), NONE),
    "group.disabled": (N_("removed a disabled group from"), NONE),
    "user.removed": (N_("removed a deleted user from"), NONE),
    "assignment.expire": (N_("ended a time-limited license of"), FOR),
}


# ------------------------------------------------------------------ roles
def roles(inv: Invocation) -> None:
    words = split_words(inv.args)
    verb = words[0].lower() if words else "list"
    if verb == "list" and len(words) <= 1:
        inv.reply(roles_text(inv.deps.service.roles.bindings(inv.actor)))
        return
    if verb not in ("grant", "revoke"):
        raise Refusal(_("Use {usage}.").format(usage=ROLES_USAGE))
    mentions, role = parse_role_change(words[1:])
    inv.deps.service.roles.require(inv.actor, Action.GRANT_ROLES if verb == "grant" else Action.REVOKE_ROLES)
    if not any(_is_plain_name(word) for word in mentions):
        inv.reply(change_role(inv.deps, inv.user_id, verb, mentions, role))
        return
    # a plain @name is looked up in the workspace directory, which may have to page through Slack first
    inv.ack()
    inv.deps.later(_change_role_later, inv, verb, mentions, role)


def parse_role_change(words: list[str]) -> tuple[list[str], Role]:
    """`@ann billing-admin` (either order) → (["@ann"], Role.BILLING_ADMIN); one person, one role."""
    mentions = [w for w in words if is_mention(w) or BARE_ID.match(w)]
    others = [w for w in words if w not in mentions]
    if len(mentions) != 1 or len(others) != 1:
        raise Refusal(_("Name one person and one role, e.g. `/licenses roles grant @ann license-admin`. "
                        "Roles: {roles}.").format(roles=", ".join(r.value for r in Role)))
    return mentions, parse_role(others[0])


def _is_plain_name(word: str) -> bool:
    """`@ann`, as typed, rather than Slack's escaped `<@U123|ann>` or a bare id."""
    return word.startswith("@") and not BARE_ID.match(word[1:])


def change_role(deps: Deps, actor_id: str, verb: str, mentions: list[str], role: Role) -> str:
    found = resolve_mentions(mentions, deps.directory)
    if found.groups:
        raise Refusal(_("Roles go to people, not to user groups: mention one person."))
    if not found.users:
        raise Refusal(_("I can't find anyone called {names} in this workspace.").format(
            names=", ".join(found.unknown)[:80]))
    user_id = found.users[0]
    roles = deps.service.roles
    if verb == "grant":
        changed = roles.grant(Actor(actor_id), user_id, role, known_only=True)  # ids the workspace has
        said = _("{user} is now {role}.") if changed else _("{user} already is {role}.")
        return said.format(user=ui.user_ref(user_id), role=_title(role))
    changed = roles.revoke(Actor(actor_id), user_id, role)
    said = _("{user} is no longer {role}.") if changed else _("{user} was not {role}.")
    return said.format(user=ui.user_ref(user_id), role=_title(role))


def _change_role_later(inv: Invocation, verb: str, mentions: list[str], role: Role) -> None:
    try:
        text = change_role(inv.deps, inv.user_id, verb, mentions, role)
    except LicensingError as error:
        text = f":warning: {ui.say(error)}"
    except Refusal as refusal:
        text = f":warning: {refusal}"
    tell(inv.deps, inv.user_id, inv.channel_id, inv.respond, text)


def _title(role: Role) -> str:
    return f"{role_title(role, i18n.tr())} (`{role.value}`)"


def roles_text(bindings: list[RoleBinding]) -> str:
    if not bindings:
        return _("Nobody holds a role yet. A global admin grants one with `/licenses roles grant @user ROLE`.")
    lines = [_("*Roles*")]
    for role in Role:
        holders = [b for b in bindings if b.role == role.value]
        if holders:
            names = ", ".join(f"<@{b.user_id}>" + (" " + _("(from settings)") if b.granted_at is None else "")
                              for b in holders)
            lines.append(f"• *{role.value}*: {names}")
    lines.append("_" + _("Change them with {usage}.").format(usage=ROLES_USAGE) + "_")
    return "\n".join(lines)


# ------------------------------------------------------------------ audit
def audit(inv: Invocation) -> None:
    query = clean_query(inv.args) or None  # quoted or not, like every sub-command
    entries = inv.deps.service.audit.latest(inv.actor, query, limit=AUDIT_SHOWN)
    inv.reply(*audit_blocks(entries, query))


def audit_blocks(entries: list[AuditEntry], query: str | None) -> tuple[str, list[dict[str, Any]]]:
    app = entries[0].app if query and entries else query
    if not entries:
        text = (_("The audit log of {app} is empty.").format(app=ui.escape(app)) if app
                else _("The audit log is empty."))
        return text, [ui.section(text)]
    lines = [audit_line(e) for e in entries]
    count = len(entries)
    heading = (ngettext("*Audit log of {app}*: the latest entry", "*Audit log of {app}*: the latest {count} entries, "
                        "newest first", count).format(app=ui.escape(app), count=count) if app else
               ngettext("*Audit log*: the latest entry", "*Audit log*: the latest {count} entries, newest first",
                        count).format(count=count))
    blocks = [ui.section(heading)]
    blocks += [ui.section("\n".join(lines[i : i + 5])) for i in range(0, len(lines), 5)]  # ≤ 3,000 characters each
    blocks.append(ui.context(_("Everything, as CSV or JSON lines: `licensebot audit export`")))
    return heading + "\n" + "\n".join(lines), blocks


def audit_line(entry: AuditEntry) -> str:
    who = _("the operator (CLI)") if entry.via == "cli" else f"<@{entry.actor}>"
    if entry.via == "lifecycle":  # the timed work of `serve` or `licensebot lifecycle run` (bot/expiry.py)
        who = _("Licensebot (scheduled)")
    words = ACTION_WORDS.get(entry.action)
    verb, before_targets = (_(words[0]), _(words[1])) if words else (f"`{entry.action}`", NONE)
    line = f"• {i18n.date(entry.at)} {entry.at:%H:%M} UTC — {who} {verb}"
    if entry.app:
        line += f" *{entry.app}*"
    line += _detail(entry)
    targets = [_ref(t) for t in entry.targets]
    if targets:
        more = " " + _("and {count} more").format(count=len(targets) - 10) if len(targets) > 10 else ""
        shown = ", ".join(targets[:10]) + more
        line += f" {before_targets} {shown}"
    if entry.total is not None:
        line += " (" + _("{assigned} assigned / {available} available / {total} total").format(
            assigned=entry.assigned, available=entry.available, total=entry.total) + ")"
    return ui.shorten(line, 580)


def _detail(entry: AuditEntry) -> str:
    detail = entry.detail or {}
    if entry.action == "seats" and "before" in detail:
        return f": {detail['before']} → {detail.get('after')}"
    if entry.action in ("role.grant", "role.revoke") and detail.get("role"):
        return f" `{detail['role']}`"
    return ""


def _ref(target: str) -> str:
    return ui.group_ref(target) if target.startswith("S") else f"<@{target}>"


SUBCOMMANDS = [
    Subcommand("roles", "/licenses roles [grant|revoke @user ROLE]", N_("global admin; listing: any admin"),
               N_("manage roles"), roles, 100),
    Subcommand("audit", "/licenses audit [APP]", N_("admins"), N_("the latest audit entries"), audit, 110),
]


def register(app: App, deps: Deps) -> None:
    """Subcommands only."""
