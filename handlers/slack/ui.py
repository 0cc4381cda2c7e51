"""Small Block Kit pieces shared by the features. Pure functions: dicts in, dicts out, no Slack calls."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from slack_sdk.models.views import View

from bot.errors import LicensingError
from bot.paging import Page
from handlers.slack import i18n
from handlers.slack.i18n import _
from handlers.words import error_text

TITLE_MAX = 24
METADATA_MAX = 3000
OPTIONS_MAX = 100
SECTION_MAX = 3000  # characters of a section's text


def plain(text: str, limit: int = 3000) -> dict[str, Any]:
    return {"type": "plain_text", "text": shorten(text, limit), "emoji": True}


def mrkdwn(text: str, limit: int = 3000) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": shorten(text, limit)}


def shorten(text: str, limit: int) -> str:
    text = text or " "
    return text if len(text) <= limit else text[: limit - 1] + "…"


def section(text: str, accessory: dict[str, Any] | None = None, block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "section", "text": mrkdwn(text)}
    if accessory:
        block["accessory"] = accessory
    if block_id:
        block["block_id"] = block_id
    return block


def sections(lines: list[str], limit: int = SECTION_MAX, *, head: str = "") -> list[dict[str, Any]]:
    """Lines packed into as few sections as fit, each line whole: a mention or a name is never cut in half
    (every line must fit a section by itself: its builder bounds it)."""
    blocks: list[dict[str, Any]] = []
    chunk = head
    for line in lines:
        joined = f"{chunk}\n{line}" if chunk else line
        if len(joined) > limit and chunk:
            blocks.append(section(chunk))
            joined = line
        chunk = joined
    if chunk:
        blocks.append(section(chunk))
    return blocks


def pager(page: Page[Any], action_prefix: str, state: dict[str, Any]) -> list[dict[str, Any]]:
    """ "21–40 of 151" and the "Previous" / "Next" buttons of a paged list (none when it fits one page).
    Each button carries the page it leads to and the list's `state` (e.g. its filter) as JSON."""
    if page.total <= page.size:
        return []
    where = _("{first}–{last} of {total}").format(first=i18n.number(page.first), last=i18n.number(page.last),
                                                  total=i18n.number(page.total))
    buttons = []
    if page.has_previous:
        buttons.append(button(_("Previous"), f"{action_prefix}_previous",
                              json.dumps({**state, "p": page.number - 1}, separators=(",", ":"))))
    if page.has_next:
        buttons.append(button(_("Next"), f"{action_prefix}_next",
                              json.dumps({**state, "p": page.number + 1}, separators=(",", ":"))))
    return [context(where), actions(buttons, block_id=f"{action_prefix}_pager")]


def pager_state(body: dict[str, Any]) -> dict[str, Any]:
    """What a "Previous" / "Next" button carries: {"p": page, …}; {} for anything else."""
    value = ((body.get("actions") or [{}])[0] or {}).get("value")
    try:
        data = json.loads(value) if isinstance(value, str) and len(value) <= 2000 else {}
    except ValueError:
        return {}
    if not isinstance(data, dict) or not isinstance(data.get("p"), int) or not 0 < data["p"] < 1_000_000:
        return {}
    return data


def context(text: str, block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "context", "elements": [mrkdwn(text)]}
    if block_id:
        block["block_id"] = block_id
    return block


def divider() -> dict[str, Any]:
    return {"type": "divider"}


def button(
    text: str,
    action_id: str,
    value: str | None = None,
    *,
    url: str | None = None,
    style: str | None = None,
) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "button", "text": plain(text, 75), "action_id": action_id}
    if value is not None:
        element["value"] = value[:2000]
    if url:
        element["url"] = url[:3000]
    if style:
        element["style"] = style
    return element


def actions(elements: list[dict[str, Any]], block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "actions", "elements": elements[:25]}
    if block_id:
        block["block_id"] = block_id
    return block


def option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text, 75), "value": value[:150]}


def modal(
    title: str,
    blocks: list[dict[str, Any]],
    *,
    callback_id: str,
    submit: str | None = None,
    close: str | None = None,
    metadata: dict[str, Any] | None = None,
    external_id: str | None = None,
    clear_on_close: bool = False,
) -> dict[str, Any]:
    """A modal view, checked against Slack's limits by slack_sdk before it leaves."""
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(shorten(title, TITLE_MAX), TITLE_MAX),
        "close": plain(close or i18n._("Cancel"), 24),
        "blocks": blocks[:100],
        "private_metadata": encode_metadata(metadata or {}),
    }
    if submit:
        view["submit"] = plain(submit, 24)
    if external_id:
        view["external_id"] = external_id
    if clear_on_close:
        view["clear_on_close"] = True
    View(**view).validate_json()  # raises SlackObjectFormationError on a broken view: a bug, caught in tests
    return view


def encode_metadata(data: dict[str, Any]) -> str:
    text = json.dumps(data, separators=(",", ":"))
    if len(text) > METADATA_MAX:
        raise ValueError(f"private_metadata would be {len(text)} characters (Slack allows {METADATA_MAX})")
    return text


def decode_metadata(view: dict[str, Any]) -> dict[str, Any]:
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def view_key(action: str, view: dict[str, Any]) -> str | None:
    """An idempotency key for one submit of one view: its id, and its hash, which stays the same until the
    view is updated. A double submit or a retried delivery acts once."""
    view_id = view.get("id")
    if not isinstance(view_id, str) or not view_id:
        return None
    return f"{action}:{view_id}:{view.get('hash') or ''}"


def escape(text: str) -> str:
    """Text a person typed, shown as it is: no mentions, links or @channel smuggled into mrkdwn."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_date(moment: dt.datetime) -> str:
    """A date each reader sees in their own time zone; the fallback is UTC."""
    # Slack writes the date in each reader's language; the words around its tokens are ours
    tokens = _("{date_short_pretty} at {time}")
    return f"<!date^{int(moment.timestamp())}^{tokens}|{i18n.date(moment)} {moment:%H:%M} UTC>"


def user_list(user_ids: list[str], limit: int = 30) -> str:
    shown = ", ".join(user_ref(u) for u in user_ids[:limit])
    more = len(user_ids) - limit
    if not user_ids:
        return i18n._("none")
    return shown + (" " + i18n._("and {count} more").format(count=more) if more > 0 else "")


def user_ref(user_id: str) -> str:
    return f"<@{user_id}>"


def group_ref(group_id: str) -> str:
    return f"<!subteam^{group_id}>"


class MentionNames:
    """People and groups as Slack mentions: each reader sees the names in their own client."""

    def user(self, user_id: str) -> str:
        return user_ref(user_id)

    def group(self, group_id: str) -> str:
        return group_ref(group_id)


MENTIONS = MentionNames()


def say(error: LicensingError) -> str:
    """One of the core's errors, as the current Slack reader reads it, in their language."""
    return error_text(error, MENTIONS, i18n.tr())


def summary_modal(title: str, text: str, *, callback_id: str = "summary") -> dict[str, Any]:
    """The last screen of a flow: what happened, and "Close"."""
    return modal(title, [section(text)], callback_id=callback_id, close=i18n._("Close"), clear_on_close=True)


def field_errors(block_id: str, message: str) -> dict[str, Any]:
    """An ack body that puts a message under one input of the submitted modal."""
    return {"response_action": "errors", "errors": {block_id: shorten(message, 150)}}


def selected_values(view: dict[str, Any], block_id: str, action_id: str | None = None) -> Any:
    """What a person chose in one input of a submitted view; None when the input is absent or empty."""
    block = ((view.get("state") or {}).get("values") or {}).get(block_id) or {}
    if not isinstance(block, dict):
        return None
    state = block.get(action_id or block_id) or next(iter(block.values()), None)
    if not isinstance(state, dict):
        return None
    kind = state.get("type")
    if kind in ("multi_users_select",):
        return state.get("selected_users") or []
    if kind in ("multi_static_select", "multi_external_select"):
        return [o.get("value") for o in state.get("selected_options") or [] if isinstance(o, dict)]
    if kind == "datepicker":
        return state.get("selected_date")
    if kind in ("static_select", "external_select"):
        selected = state.get("selected_option")
        return selected.get("value") if isinstance(selected, dict) else None
    return state.get("value")
