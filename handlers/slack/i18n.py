"""The words the Slack door shows, in the reader's language (English or French).

Every visible string is written in English inside `_()` (or `ngettext()`); the French is in
`handlers/slack/locales/fr/LC_MESSAGES/licensebot.po`, read once with Babel. Who is reading is a context
variable: a middleware sets it for the person who sent a request (by their Slack locale), and
`speaking(locale)` sets it around a message rendered for someone else (an approver's DM, an alert), so
builders never take a language argument. Background lanes copy the context, so work after the ack
speaks the same language as the ack.

Sub-command keywords, ids and the CLI stay English.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gettext
import io
from collections.abc import Iterator
from contextvars import ContextVar
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

DOMAIN = "licensebot"
LOCALES_DIR = Path(__file__).parent / "locales"
SUPPORTED = ("en", "fr")
DEFAULT = "en"

_reader: ContextVar[str] = ContextVar("licensebot_locale", default=DEFAULT)
_default = [DEFAULT]  # LICENSEBOT_DEFAULT_LOCALE, set once at start-up


def supported(tag: str | None) -> str | None:
    """`fr-FR`, `fr_CA`, `FR` → "fr"; a language we do not speak → None."""
    language = (tag or "").strip().replace("_", "-").split("-", 1)[0].lower()
    return language if language in SUPPORTED else None


def set_default(tag: str) -> None:
    _default[0] = supported(tag) or DEFAULT


def default() -> str:
    return _default[0]


def current() -> str:
    return _reader.get()


@contextlib.contextmanager
def speaking(tag: str | None) -> Iterator[str]:
    """Renders what follows in `tag`'s language (the default one when we do not speak it)."""
    locale = supported(tag) or default()
    token = _reader.set(locale)
    try:
        yield locale
    finally:
        _reader.reset(token)


def use(tag: str | None) -> str:
    """Sets the reader for the rest of this context (a request's middleware does this)."""
    locale = supported(tag) or default()
    _reader.set(locale)
    return locale


@cache
def translations(locale: str) -> gettext.NullTranslations:
    """The catalog of one language, compiled in memory from its .po file (English: the ids themselves)."""
    po = LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if locale == DEFAULT or not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as source:
        catalog = read_po(source, locale=locale, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def tr() -> gettext.NullTranslations:
    """The current reader's translations (for handlers/words.py, which takes them as an argument)."""
    return translations(current())


def _(message: str) -> str:
    return translations(current()).gettext(message)


def N_(message: str) -> str:
    """Marks a constant for extraction (its French is in the catalog); it is translated where it is shown,
    with `_(CONSTANT)`, in the reader's language of that moment."""
    return message


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """The same English in another role, e.g. a modal's title that French must say shorter than its button."""
    return translations(current()).pgettext(context, message)


# CLDR's medium date and decimal number of the two languages we speak, as Babel formats them
# (tests/slack/test_i18n.py compares every day of a year and a range of numbers with Babel's own answer).
# Written out because Babel's CLDR data, loaded on the first date shown, stays in `serve` for good:
# 3.7 MiB, the largest thing a modal added to its memory (issue 16).
_MONTHS = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "fr": ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."),
}
_SEPARATORS = {"en": str.maketrans({",": ",", ".": "."}), "fr": str.maketrans({",": "\u202f", ".": ","})}
_THOUSANDTH = Decimal("0.001")


def date(day: dt.date) -> str:
    """A date as the reader writes it: "Mar 1, 2027" / "1 mars 2027"."""
    locale = current()
    month = _MONTHS[locale][day.month - 1]
    return f"{day.day} {month} {day.year}" if locale == "fr" else f"{month} {day.day}, {day.year}"


def number(value: int | float) -> str:
    """A number with the reader's separators: 1,000 / 1 000 (at most three decimals, as CLDR's pattern)."""
    if isinstance(value, int):
        if -1000 < value < 1000:
            return str(value)  # the same in every language we speak: the Home tab shows hundreds of these
        text = f"{value:,}"
    else:
        text = f"{Decimal(repr(value)).quantize(_THOUSANDTH, ROUND_HALF_EVEN):,f}".rstrip("0").rstrip(".")
        text = "0" if text in ("-0", "") else text
    return text.translate(_SEPARATORS[current()])
