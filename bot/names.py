"""How people name apps: case-insensitive, quotes optional, spaces folded."""

from __future__ import annotations

QUOTES = ('"', "'", "\u201c", "\u201d", "\u2018", "\u2019")


def name_key(name: str) -> str:
    """The key app names are unique by: spaces folded, case folded."""
    return " ".join(name.split()).casefold()


def clean_app_query(query: str) -> str:
    """Quotes are optional around an app's name: /licenses show "Contoso CRM"."""
    # control characters never reach the database (PostgreSQL refuses NUL) nor the person's screen
    q = " ".join("".join(ch for ch in (query or "") if ch.isprintable() or ch.isspace()).split())
    for quote in QUOTES:
        q = q.strip(quote)
    return q.strip()
