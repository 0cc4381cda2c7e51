"""A request's "For how long" (issue 13): 7, 30 or 90 days, or permanently (the default). Pure builders,
shared by the request modal (handlers/slack/features/requests.py) and the approvers' copies."""

from __future__ import annotations

from typing import Any

from bot.requests import DURATIONS
from handlers.slack import ui
from handlers.slack.i18n import _, ngettext

DURATION_BLOCK = "duration"
PERMANENT = "permanent"


def duration_words(days: int | None) -> str:
    if days is None:
        return _("Permanently")
    return ngettext("{count} day", "{count} days", days).format(count=days)


def duration_input() -> dict[str, Any]:
    """ "For how long": a menu, "Permanently" chosen."""
    options = [ui.option(duration_words(d), str(d)) for d in DURATIONS] + [ui.option(duration_words(None), PERMANENT)]
    element = {"type": "static_select", "action_id": DURATION_BLOCK, "options": options,
               "initial_option": options[-1]}
    return {"type": "input", "block_id": DURATION_BLOCK, "label": ui.plain(_("For how long")), "element": element,
            "hint": ui.plain(_("Once approved, the license ends after this time."))}


def chosen_duration(view: dict[str, Any]) -> int | None:
    """The days chosen (None: permanently); -1 for a value none of ours (a forged form: the core refuses it
    with a clear error on the field)."""
    value = ui.selected_values(view, DURATION_BLOCK)
    if value is None or value == PERMANENT:
        return None
    text = str(value)
    return int(text) if text.isascii() and text.isdigit() and len(text) < 6 else -1


def duration_line(days: int | None) -> str:
    """The approver's copy: how long the license lasts once approved."""
    return _("*For how long:* {duration}").format(duration=duration_words(days))
