"""The errors of usage and reclaims (issue 13): codes and facts, no words (handlers/words.py says them).
Beside bot/errors.py, whose classes they extend."""

from __future__ import annotations

import datetime as dt

from bot.errors import InvalidInput, LicensingError


class InvalidIdleDays(InvalidInput):
    """`idle DAYS` that is not a whole number of days from 1 to MAX_IDLE_DAYS."""

    code = "invalid-idle-days"
    field = "idle"

    def __init__(self, value: str, maximum: int) -> None:
        super().__init__(value=value, maximum=maximum)
        self.value = value
        self.maximum = maximum


class ReclaimOpen(LicensingError):
    """One open reclaim per app: this one ends at `ends_at`."""

    code = "reclaim-open"

    def __init__(self, app: str, ends_at: dt.datetime) -> None:
        super().__init__(app=app, ends_at=ends_at)
        self.app = app
        self.ends_at = ends_at


class NobodyToAsk(LicensingError):
    """No direct holder of the app (idle at least `idle_days`, when given); `group_holders` hold it only
    through a group and are never asked."""

    code = "nobody-to-ask"

    def __init__(self, app: str, idle_days: int | None, group_holders: int) -> None:
        super().__init__(app=app, idle_days=idle_days, group_holders=group_holders)
        self.app = app
        self.idle_days = idle_days
        self.group_holders = group_holders


class AskGone(LicensingError):
    """The question a button answers does not exist (any more)."""

    code = "reclaim-ask-gone"


class NotYourAsk(LicensingError):
    """Someone other than the holder asked (`user_id`) clicked the holder's button."""

    code = "not-your-ask"

    def __init__(self, user_id: str, app: str) -> None:
        super().__init__(user_id=user_id, app=app)
        self.user_id = user_id
        self.app = app


class AskAnswered(LicensingError):
    """A second answer, or an answer after the reclaim ended: `state` is how it stands (kept, released,
    no-answer: released at the deadline; asked: the reclaim ended some other way)."""

    code = "reclaim-ask-answered"

    def __init__(self, app: str, state: str, ended: bool) -> None:
        super().__init__(app=app, state=state, ended=ended)
        self.app = app
        self.state = state
        self.ended = ended
