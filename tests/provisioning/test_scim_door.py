"""handlers/scim: how the SCIM door classifies a vendor's answers, over real HTTP. The real scim2-server
answers well; the answers it never gives (429 with Retry-After, 503, a 409 with a detail, no PATCH, a
detail echoing the token) come from a small vendor stand-in on loopback that records what it was sent."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bot.provisioning import Again, Done, Person, Refused
from handlers.scim.vendor import ScimVendor
from tests.support.scim_server import TOKEN, ScimServer

ANN = Person("U00000A1", "ann@example.com", "ann", "Ann Example")
SCIM_JSON = "application/scim+json"


class Vendor(ThreadingHTTPServer):
    """Answers each request with the next scripted (status, body, headers); records (method, path, body)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.script: list[tuple[int, dict[str, Any] | None, dict[str, str]]] = []
        self.seen: list[tuple[str, str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v2"


class Handler(BaseHTTPRequestHandler):
    server: Vendor

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        self.server.seen.append((self.command, self.path, body))
        status, payload, headers = self.server.script.pop(0) if self.server.script else (500, None, {})
        raw = json.dumps(payload).encode() if payload is not None else b""
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", SCIM_JSON)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _answer

    def log_message(self, *args: Any) -> None:
        pass


def error(status: int, detail: str, scim_type: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": str(status),
                            "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    return body


def listing(*users: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": len(users),
            "itemsPerPage": len(users), "startIndex": 1, "Resources": list(users)}


def user(active: bool) -> dict[str, Any]:
    return {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "v-1", "userName": "ann@example.com",
            "externalId": "U00000A1", "active": active, "meta": {"resourceType": "User"}}


@pytest.fixture
def vendor() -> Iterator[Vendor]:
    server = Vendor()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_429_is_retried_after_the_vendors_retry_after(vendor: Vendor) -> None:
    vendor.script = [(429, error(429, "slow down"), {"Retry-After": "42"})]
    assert ScimVendor(vendor.url, TOKEN).activate(ANN) == Again("HTTP 429: slow down", 42.0)


def test_5xx_and_no_answer_are_retried(vendor: Vendor) -> None:
    vendor.script = [(503, error(503, "maintenance"), {})]
    result = ScimVendor(vendor.url, TOKEN).activate(ANN)
    assert isinstance(result, Again) and "503" in result.error
    vendor.script = [(502, None, {})]  # a proxy's bare 502
    assert isinstance(ScimVendor(vendor.url, TOKEN).activate(ANN), Again)
    down = ScimVendor("http://127.0.0.1:1/v2", TOKEN).activate(ANN)
    assert isinstance(down, Again) and "no answer" in down.error


def test_a_conflict_fails_at_once_with_the_vendors_detail(vendor: Vendor) -> None:
    vendor.script = [(200, listing(), {}), (200, listing(), {}), (409, error(409, "seat cap reached", "uniqueness"), {})]
    assert ScimVendor(vendor.url, TOKEN).activate(ANN) == Refused("HTTP 409: seat cap reached")
    created = vendor.seen[-1]
    assert created[0] == "POST" and created[1] == "/v2/Users"
    assert created[2]["userName"] == "ann@example.com" and created[2]["externalId"] == "U00000A1"
    assert created[2]["active"] is True and created[2]["emails"][0] == {"value": "ann@example.com", "primary": True,
                                                                         "type": "work"}


def test_a_vendor_without_patch_gets_the_whole_user(vendor: Vendor) -> None:
    vendor.script = [(200, listing(user(False)), {}), (501, error(501, "PATCH is not supported"), {}),
                     (200, user(True), {})]
    assert ScimVendor(vendor.url, TOKEN).activate(ANN) == Done("v-1")
    assert [(m, p) for m, p, _ in vendor.seen[1:]] == [("PATCH", "/v2/Users/v-1"), ("PUT", "/v2/Users/v-1")]
    assert vendor.seen[2][2]["active"] is True


def test_a_detail_echoing_the_token_never_carries_it(vendor: Vendor) -> None:
    vendor.script = [(403, error(403, f"token {TOKEN} may not write users"), {})]
    result = ScimVendor(vendor.url, TOKEN).activate(ANN)
    assert isinstance(result, Refused) and TOKEN not in result.detail and "[token]" in result.detail


def test_a_user_without_email_cannot_be_created(scim: ScimServer) -> None:
    result = ScimVendor(scim.url, TOKEN).activate(Person("U00000Z9"))
    assert isinstance(result, Refused) and "no email" in result.detail


def test_against_scim2_server_lookups_and_deactivation(scim: ScimServer) -> None:
    vendor = ScimVendor(scim.url, TOKEN)
    created = vendor.activate(ANN)
    assert isinstance(created, Done) and created.vendor_id
    assert vendor.activate(ANN) == Done(created.vendor_id)  # found by externalId: not created twice
    renamed = Person("U00000A1", "ann.new@example.com", "ann")
    assert vendor.deactivate(renamed, delete=False) == Done(created.vendor_id)
    assert [u.active for u in vendor.users()] == [False]  # type: ignore[union-attr]
    assert vendor.deactivate(Person("UNOBODY1", "nobody@example.com"), delete=True) == Done()
    assert isinstance(ScimVendor(scim.url, "wrong").users(), Refused)


def test_the_vendor_these_tests_use_is_a_sane_scim_server(scim: ScimServer) -> None:
    """scim2-tester's checks of RFC 7643/7644 on the scim2-server every provisioning test talks to."""
    from scim2_tester import Status, check_server

    results = check_server(scim.client(), resource_types=["User"])
    assert len(results) > 50
    assert [(r.title, r.reason) for r in results if r.status not in (Status.SUCCESS, Status.SKIPPED)] == []
