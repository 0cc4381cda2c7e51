"""Admin commands: `/licenses roles [grant|revoke @user ROLE]` and `/licenses audit [APP]`."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.domain import Action, Actor, AuditEntry, Role, RoleBinding
from bot.errors import LicensingError
from bot.names import clean_query
from bot.roles import parse_role
from handlers.slack import ui
from handlers.slack.deps import Deps
from handlers.slack.mentions import BARE_ID, is_mention, resolve_mentions, split_words
from handlers.slack.router import Invocation, Refusal, Subcommand, tell
from handlers.words import role_title

ROLES_USAGE = "`/licenses roles` · `/licenses roles grant @user ROLE` · `/licenses roles revoke @user ROLE`"
AUDIT_SHOWN = 20

# how the audit actions people read most are told: (verb, the word before the people it touched);
# others are shown as their id
ACTION_WORDS = {
    "assign": ("assigned", "to"),
    "unassign": ("unassigned", "from"),
    "seats": ("changed the licenses of", "—"),
    "role.grant": ("granted", "to"),
    "role.revoke": ("revoked", "from"),
    "request.create": ("requested", "for"),
    "request.approve": ("approved a request for", "for"),
    "request.deny": ("denied a request for", "for"),
    "request.expire": ("expired a request for", "for"),
    "app.import": ("imported", "—"),
    "waitlist.fill": ("gave waiting members a license of", "—"),
    "group.join": ("seated a new group member in", "—"),
    "group.leave": ("removed a group member from", "—"),
    "group.disabled": ("removed a disabled group from", "—"),
    "user.removed": ("removed a deleted user from", "—"),
}


# ------------------------------------------------------------------ roles
def roles(inv: Invocation) -> None:
    words = split_words(inv.args)
    verb = words[0].lower() if words else "list"
    if verb == "list" and len(words) <= 1:
        inv.reply(roles_text(inv.deps.service.roles.bindings(inv.actor)))
        return
    if verb not in ("grant", "revoke"):
        raise Refusal(f"Use {ROLES_USAGE}.")
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
        raise Refusal(f"Name one person and one role, e.g. `/licenses roles grant @ann license-admin`. "
                      f"Roles: {', '.join(r.value for r in Role)}.")
    return mentions, parse_role(others[0])


def _is_plain_name(word: str) -> bool:
    """`@ann`, as typed, rather than Slack's escaped `<@U123|ann>` or a bare id."""
    return word.startswith("@") and not BARE_ID.match(word[1:])


def change_role(deps: Deps, actor_id: str, verb: str, mentions: list[str], role: Role) -> str:
    found = resolve_mentions(mentions, deps.directory)
    if found.groups:
        raise Refusal("Roles go to people, not to user groups: mention one person.")
    if not found.users:
        raise Refusal(f"I can't find anyone called {', '.join(found.unknown)[:80]} in this workspace.")
    user_id = found.users[0]
    roles = deps.service.roles
    if verb == "grant":
        changed = roles.grant(Actor(actor_id), user_id, role, known_only=True)  # ids the workspace has
        return f"<@{user_id}> is now {_title(role)}." if changed else f"<@{user_id}> already is {_title(role)}."
    changed = roles.revoke(Actor(actor_id), user_id, role)
    return f"<@{user_id}> is no longer {_title(role)}." if changed else f"<@{user_id}> was not {_title(role)}."


def _change_role_later(inv: Invocation, verb: str, mentions: list[str], role: Role) -> None:
    try:
        text = change_role(inv.deps, inv.user_id, verb, mentions, role)
    except LicensingError as error:
        text = f":warning: {ui.say(error)}"
    except Refusal as refusal:
        text = f":warning: {refusal}"
    tell(inv.deps, inv.user_id, inv.channel_id, inv.respond, text)


def _title(role: Role) -> str:
    return f"{role_title(role)} (`{role.value}`)"


def roles_text(bindings: list[RoleBinding]) -> str:
    if not bindings:
        return "Nobody holds a role yet. A global admin grants one with `/licenses roles grant @user ROLE`."
    lines = ["*Roles*"]
    for role in Role:
        holders = [b for b in bindings if b.role == role.value]
        if holders:
            names = ", ".join(f"<@{b.user_id}>" + (" (from settings)" if b.granted_at is None else "")
                              for b in holders)
            lines.append(f"• *{role.value}*: {names}")
    lines.append(f"_Change them with {ROLES_USAGE}._")
    return "\n".join(lines)


# ------------------------------------------------------------------ audit
def audit(inv: Invocation) -> None:
    query = clean_query(inv.args) or None  # quoted or not, like every sub-command
    entries = inv.deps.service.audit.latest(inv.actor, query, limit=AUDIT_SHOWN)
    inv.reply(*audit_blocks(entries, query))


def audit_blocks(entries: list[AuditEntry], query: str | None) -> tuple[str, list[dict[str, Any]]]:
    app = entries[0].app if query and entries else query
    scope = f" of {app}" if app else ""
    if not entries:
        text = f"The audit log{scope} is empty."
        return text, [ui.section(text)]
    lines = [audit_line(e) for e in entries]
    heading = f"*Audit log{scope}*: the latest {len(entries)} entries, newest first"
    blocks = [ui.section(heading)]
    blocks += [ui.section("\n".join(lines[i : i + 5])) for i in range(0, len(lines), 5)]  # ≤ 3,000 characters each
    blocks.append(ui.context("Everything, as CSV or JSON lines: `licensebot audit export`"))
    return heading + "\n" + "\n".join(lines), blocks


def audit_line(entry: AuditEntry) -> str:
    who = "the operator (CLI)" if entry.via == "cli" else f"<@{entry.actor}>"
    verb, before_targets = ACTION_WORDS.get(entry.action, (f"`{entry.action}`", "—"))
    line = f"• {entry.at:%Y-%m-%d %H:%M} UTC — {who} {verb}"
    if entry.app:
        line += f" *{entry.app}*"
    line += _detail(entry)
    targets = [_ref(t) for t in entry.targets]
    if targets:
        shown = ", ".join(targets[:10]) + (f" and {len(targets) - 10} more" if len(targets) > 10 else "")
        line += f" {before_targets} {shown}"
    if entry.total is not None:
        line += f" ({entry.assigned} assigned / {entry.available} available / {entry.total} total)"
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
    Subcommand("roles", "/licenses roles [grant|revoke @user ROLE]", "global admin; listing: any admin", "manage roles",
               roles, 100),
    Subcommand("audit", "/licenses audit [APP]", "admins", "the latest audit entries", audit, 110),
]


def register(app: App, deps: Deps) -> None:
    """Subcommands only."""
