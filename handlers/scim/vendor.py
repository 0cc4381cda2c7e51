"""`ScimVendor`: bot/provisioning.py's `Vendor` over a vendor's SCIM 2.0 endpoint, with scim2-client (httpx2
engine) and scim2-models: no hand-built SCIM JSON.

activate: a user is looked up by `externalId eq "<Slack id>"`, then `userName eq "<email>"`; created with
`userName` = email, `externalId`, `displayName`, `name`, a primary email and `active: true`; or set
active with a PATCH (a PUT of the whole user when the vendor refuses PATCH). deactivate: PATCH `active:
false`, or DELETE. Each answer is classified: `Done`, `Again` (429 with its Retry-After, 5xx, 408, a
lost connection, a timeout) or `Refused` (any other 4xx, with the vendor's `detail`).

The bearer token is sent in the Authorization header and nowhere else: never logged, never in a reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_client.errors import RequestNetworkException, SCIMClientException
from scim2_models import (
    Email,
    ListResponse,
    Name,
    PatchOp,
    PatchOperation,
    SCIMException,
    ScimProvider,
    SearchRequest,
    User,
)

from bot.provisioning import Again, Done, Person, Refused, VendorResult, VendorUser

log = logging.getLogger("licensebot")

TIMEOUT = 5.0  # seconds per request: a provisioning message is a few requests, well inside its outbox lease
PAGE = 200  # users per page when listing (reconcile)
DEFAULT_RETRY_AFTER = 5.0
T = TypeVar("T")


class ScimVendor:
    def __init__(self, scim_url: str, token: str, *, timeout: float = TIMEOUT) -> None:
        self._token = token
        self.http = httpx2.Client(
            base_url=scim_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}", "Accept": "application/scim+json"},
            timeout=timeout,
            follow_redirects=False,
        )
        self.scim = SyncSCIMClient(self.http, provider=ScimProvider(models=[User]))
        self.calls = 0  # requests made (the benchmark reads it)

    def close(self) -> None:
        self.http.close()

    # ------------------------------------------------------------------ Vendor
    def activate(self, person: Person) -> VendorResult:
        return self._guard(lambda: self._activate(person))

    def deactivate(self, person: Person, *, delete: bool) -> VendorResult:
        return self._guard(lambda: self._deactivate(person, delete))

    def users(self) -> list[VendorUser] | Again | Refused:
        return self._guard(self._users)

    # ------------------------------------------------------------------ the requests
    def _activate(self, person: Person) -> Done:
        found = self._find(person)
        if found is None:
            if not person.email:
                raise _NoEmail()
            created = self._call(lambda: self.scim.create(_new_user(person)))
            return Done(str(getattr(created, "id", "") or "") or None)
        if found.active is not True:
            self._set_active(found, True)
        return Done(found.id)

    def _deactivate(self, person: Person, delete: bool) -> Done:
        found = self._find(person)
        if found is None:
            return Done()  # nothing at the vendor: nothing to take away
        if delete:
            self._call(lambda: self.scim.delete(User, found.id))
        elif found.active is not False:
            self._set_active(found, False)
        return Done(found.id)

    def _users(self) -> list[VendorUser]:
        users: list[VendorUser] = []
        start = 1
        while True:
            search: Any = SearchRequest(start_index=start, count=PAGE)
            page = self._call(lambda s=search: self.scim.query(User, query_parameters=s))  # type: ignore[misc]
            resources = list(getattr(page, "resources", None) or [])
            for user in resources:
                users.append(VendorUser(str(user.id), str(user.user_name or ""), user.external_id,
                                        user.active is not False))
            total = int(getattr(page, "total_results", 0) or 0)
            start += len(resources)
            if not resources or start > total:
                return users

    def _find(self, person: Person) -> Any:
        """The vendor's user for this person: by externalId (the Slack id), else by userName (the email)."""
        filters = []
        if person.user_id:
            filters.append(f'externalId eq "{_quoted(person.user_id)}"')
        if person.email:
            filters.append(f'userName eq "{_quoted(person.email)}"')
        for scim_filter in filters:
            found = self._call(lambda f=scim_filter: self.scim.query(  # type: ignore[misc]
                User, query_parameters=SearchRequest(filter=f, count=2)))
            if isinstance(found, ListResponse) and found.resources:
                return found.resources[0]
        return None

    def _set_active(self, user: Any, active: bool) -> None:
        operation = PatchOperation[User[Any]].model_validate({"op": "replace", "path": "active", "value": active})
        patch = PatchOp[User[Any]].model_validate({"Operations": [operation]})
        try:
            self._call(lambda: self.scim.modify(User, user.id, patch))
        except SCIMException as error:
            if _status(error) not in (405, 501):
                raise
            user.active = active  # the vendor has no PATCH: replace the whole user
            self._call(lambda: self.scim.replace(user))

    def _call(self, request: Callable[[], T]) -> T:
        self.calls += 1
        return request()

    def _guard(self, work: Callable[[], T]) -> T | Again | Refused:
        try:
            return work()
        except _NoEmail:
            return Refused("the user has no email in Slack: the vendor needs one as userName")
        except RequestNetworkException as error:
            return Again(_scrub(f"no answer from the SCIM endpoint ({_cause(error)})", self._token))
        except (SCIMException, SCIMClientException) as error:
            status = _status(error)
            detail = _scrub(_detail(error, status), self._token)
            if status == 429:
                return Again(detail, _retry_after(error) or DEFAULT_RETRY_AFTER)
            if status is None or status >= 500 or status == 408:
                return Again(detail, _retry_after(error))
            return Refused(detail)
        except httpx2.HTTPError as error:  # below scim2-client: a transport error it did not wrap
            return Again(_scrub(f"no answer from the SCIM endpoint ({type(error).__name__})", self._token))


class _NoEmail(Exception):
    pass


def _new_user(person: Person) -> User[Any]:
    display = person.real_name or person.display_name or person.email
    return User(
        user_name=person.email,
        external_id=person.user_id,
        display_name=display,
        name=Name(formatted=display, given_name=display.split(" ", 1)[0] or None,
                  family_name=display.split(" ", 1)[1] if " " in display else None),
        emails=[Email(value=person.email, primary=True, type=Email.Type.work)],
        active=True,
    )


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _status(error: Exception) -> int | None:
    status = getattr(error, "status", None)
    if isinstance(status, int):
        return status
    source = getattr(error, "source", None)
    code = getattr(source, "status_code", None)
    return int(code) if isinstance(code, int) else None


def _retry_after(error: Exception) -> float | None:
    headers = getattr(getattr(error, "source", None), "headers", None)
    value = headers.get("retry-after") if headers is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _detail(error: Exception, status: int | None) -> str:
    scim_error = getattr(error, "error", None)
    detail = getattr(scim_error, "detail", None) or str(error) or type(error).__name__
    return f"HTTP {status}: {detail}" if status else str(detail)


def _cause(error: Exception) -> str:
    cause = error.__cause__
    return type(cause).__name__ if cause is not None else "network error"


def _scrub(text: str, token: str) -> str:
    """A reason is stored and shown to admins: the token must never be in it, whatever the vendor echoed."""
    return text.replace(token, "[token]") if token else text


def scim_vendor(scim_url: str, token: str) -> ScimVendor:
    """bot/provisioning.py's VendorFactory."""
    return ScimVendor(scim_url, token)
