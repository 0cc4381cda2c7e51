"""The errors of the license life cycle (issue 13: time-limited licenses), beside bot/errors.py (kept under
400 lines): a code, the facts, and the input (`field`) they are about; never a sentence."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from bot.errors import InvalidInput


class UntilInPast(InvalidInput):
    """An end date before today (UTC): a license "until" a day is valid through that day."""

    code = "until-in-past"
    field = "until"

    def __init__(self, until: dt.date, today: dt.date) -> None:
        super().__init__(until=until, today=today)
        self.until = until
        self.today = today


class InvalidDuration(InvalidInput):
    """A request's "For how long" that is not one of the offered durations."""

    code = "invalid-duration"
    field = "duration"

    def __init__(self, value: str, allowed: Sequence[int]) -> None:
        super().__init__(value=value, allowed=list(allowed))
        self.value = value
        self.allowed = list(allowed)
