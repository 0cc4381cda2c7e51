"""The usage-rights API's core (SPEC §8): per-app tokens, and whether a person may use the app.

A token is `lbt_<id>_<secret>`: the id finds its row, the secret is compared with the stored SHA-256 in
constant time (hmac.compare_digest). Only the hash is stored; the token is shown once, when issued. A
token answers for its own app only: the app comes from the token, never from the request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

from bot.domain import USER_ID, Action, Actor
from bot.kernel import Kernel
from storage.uow import UnitOfWork

PREFIX = "lbt_"
_TOKEN = re.compile(r"^lbt_([0-9]{1,18})_([A-Za-z0-9_-]{20,100})$")
_DUMMY = hashlib.sha256(b"never a token").hexdigest()
MAX_USER = 320  # an email address is at most 320 characters


class BadToken(Exception):
    """Missing, unknown or revoked: 401."""


class UserMissing(Exception):
    """No `user` in the query: 400."""


@dataclass(frozen=True)
class UsageRights:
    app: str
    user: str | None
    email: str | None
    state: str  # active | waiting | none
    since: dt.datetime | None
    until: dt.datetime | None

    def as_json(self) -> dict[str, Any]:
        return {
            "app": self.app, "user": self.user, "email": self.email, "state": self.state,
            "since": _iso(self.since), "until": _iso(self.until),
        }


def _iso(when: dt.datetime | None) -> str | None:
    return None if when is None else when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class UsageRightsService:
    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel

    def issue(self, actor: Actor, query: str) -> str:
        """A new token for the app (its others stay valid); shown once, stored as a hash."""
        secret = secrets.token_urlsafe(32)
        with self.k.uow(write=True) as uow:
            self.k.require(uow, actor, Action.EDIT_APPS)
            row = self.k.resolve(uow, query)
            token_id = uow.tokens.add(row.id, _hash(secret), self.k.now())
            self.k.audit(uow, actor, "app.token", row, [], {"token": token_id})
            uow.commit()
        return f"{PREFIX}{token_id}_{secret}"

    def revoke(self, actor: Actor, query: str) -> int:
        """Revokes every token of the app; how many were valid."""
        with self.k.uow(write=True) as uow:
            self.k.require(uow, actor, Action.EDIT_APPS)
            row = self.k.resolve(uow, query)
            gone = uow.tokens.revoke_all(row.id, self.k.now())
            self.k.audit(uow, actor, "app.token.revoke", row, [], {"revoked": gone})
            uow.commit()
        return gone

    def app_of(self, token: str | None) -> str:
        """The name of the app the token answers for; BadToken unless it is a valid, unrevoked token."""
        with self.k.uow(lone_read=True) as uow:
            app_id = self._authenticate(uow, token)
            app = uow.apps.get(app_id)
            if app is None:
                raise BadToken()
            return app.name

    @staticmethod
    def _authenticate(uow: UnitOfWork, token: str | None) -> int:
        match = _TOKEN.match(token or "")
        row = uow.tokens.get(int(match.group(1))) if match else None
        expected = row.token_hash if row is not None else _DUMMY
        presented = _hash(match.group(2)) if match else _hash(token or "")
        valid = hmac.compare_digest(expected, presented)  # the same work whether the id exists or not
        if not valid or row is None or row.revoked_at is not None:
            raise BadToken()
        return row.app_id

    def check(self, token: str | None, user: str | None) -> UsageRights:
        """The answer for the token's app about `user` (a Slack user id or an email)."""
        if user is not None:
            user = user.strip()[:MAX_USER]
        with self.k.uow(lone_read=True) as uow:
            app_id = self._authenticate(uow, token)
            if not user:
                raise UserMissing()
            user_id, email = self._who(user)
            found = uow.provisioning.rights(app_id, user_id)
        if found is None:
            raise BadToken()  # the app went with its tokens
        app, since, waiting = found
        if since is not None:
            return UsageRights(app, user_id, email, "active", since, None)
        if waiting is not None:
            return UsageRights(app, user_id, email, "waiting", waiting, None)
        return UsageRights(app, user_id, email, "none", None, None)

    def _who(self, user: str) -> tuple[str | None, str | None]:
        """(Slack id, email) of the person named by id or email; an unknown person has no id."""
        if USER_ID.match(user):
            known = self.k.directory.user(user)
            return user, (known.email or None) if known is not None else None
        if "@" in user:
            known = self.k.directory.user_by_email(user)
            if known is not None and not known.deleted:
                return known.id, known.email or user
            return None, user
        return None, None
