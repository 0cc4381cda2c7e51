"""Reading `/licenses` text: an app name (quotes optional) followed by user and group mentions.

Slack escapes mentions as `<@U123|name>` and `<!subteam^S123|@handle>`; people also type them plain
(`@name`, `@handle`), which we look up in the cached directory.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from bot.directory import Directory

USER_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
GROUP_MENTION = re.compile(r"^<!subteam\^(S[A-Z0-9]+)(?:\|[^>]*)?>$")
BARE_ID = re.compile(r"^([UWS][A-Z0-9]{2,30})$")
MAX_TEXT = 4000  # longer command text is refused whole: no legitimate use needs it


@dataclass
class Mentions:
    users: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def split_words(text: str) -> list[str]:
    """Words, keeping quoted phrases together; an unbalanced quote is taken literally."""
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def is_mention(word: str) -> bool:
    return word.startswith(("<@", "<!subteam^", "@"))


def split_app_and_mentions(text: str) -> tuple[str, list[str]]:
    """`"Contoso CRM" @ann <!subteam^S1|@design>` → ("Contoso CRM", ["@ann", "<!subteam^S1|@design>"])."""
    words = split_words(text)
    app_words: list[str] = []
    rest: list[str] = []
    for index, word in enumerate(words):
        if is_mention(word):
            rest = words[index:]
            break
        app_words.append(word)
    return " ".join(app_words), rest


def resolve_mentions(words: list[str], directory: Directory) -> Mentions:
    found = Mentions()
    for word in words:
        if m := USER_MENTION.match(word):
            _add(found.users, m.group(1))
        elif m := GROUP_MENTION.match(word):
            _add(found.groups, m.group(1))
        elif m := BARE_ID.match(word.lstrip("@")):
            _add(found.groups if m.group(1).startswith("S") else found.users, m.group(1))
        elif word.startswith("@") and len(word) > 1:
            name = word[1:]
            group = directory.group_by_handle(name)
            user = None if group else directory.user_by_name(name)
            if group is not None:
                _add(found.groups, group.id)
            elif user is not None:
                _add(found.users, user.id)
            else:
                found.unknown.append(word)
        else:
            found.unknown.append(word)
    return found


def _add(items: list[str], value: str) -> None:
    if value not in items:
        items.append(value)
