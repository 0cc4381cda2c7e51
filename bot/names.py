"""How people name things: apps, groups and people match whatever the case, the accents and the Unicode
form ("editeur", "EDITEUR" and a decomposed "É" all find "Éditeur Café Crème"); quotes optional; spaces folded.

`fold` is the one comparison key every door uses (commands, typeaheads, the CLI): compare `fold(a)` with
`fold(b)`, never `.lower()`.
"""

from __future__ import annotations

import unicodedata

QUOTES = ('"', "'", "\u201c", "\u201d", "\u2018", "\u2019", "\u00ab", "\u00bb")


def fold(text: str) -> str:
    """The matching key of a name: compatibility-decomposed (NFKD), combining marks stripped, case-folded,
    recomposed (NFKC), spaces folded. "Équipe  Ventes", "equipe ventes" and "E\u0301QUIPE VENTES" fold alike."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(unicodedata.normalize("NFKC", bare.casefold()).split())


def name_key(name: str) -> str:
    """The key app names are unique by: spaces folded, case folded (accents kept: "Cafe" and "Café" may be
    two apps; matching still finds both with `fold`)."""
    return " ".join(name.split()).casefold()


def clean_query(query: str) -> str:
    """What a person typed, ready to match: control characters dropped, spaces folded, the quotes around it
    removed (quoted names behave the same in every command: "Contoso CRM", “Contoso CRM”, 'Contoso CRM')."""
    # control characters never reach the database (PostgreSQL refuses NUL) nor the person's screen
    q = " ".join("".join(ch for ch in (query or "") if ch.isprintable() or ch.isspace()).split())
    for quote in QUOTES:
        q = q.strip(quote)
    return q.strip()


clean_app_query = clean_query
