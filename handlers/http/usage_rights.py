"""GET /api/v1/usage-rights?user=<Slack user id or email> with `Authorization: Bearer <the app's token>`:
what Microsoft Graph's usageRights is to AppSource apps (SPEC §8). The core decides (bot/usage_rights.py);
this door reads the request and answers JSON.

200 {"app", "user", "email", "state", "since", "until"}; 401 for a missing, unknown or revoked token; 400
for a missing `user`; 405 for another method. Never a 5xx for anything a client sends; 503 only when
the database does not answer.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from sqlalchemy.exc import OperationalError

from bot.service import LicensingService
from bot.usage_rights import BadToken, UserMissing

log = logging.getLogger("licensebot")

API_PATH = "/api/v1/usage-rights"
MAX_QUERY = 4096  # a longer query string is no question this API asks
StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def usage_rights_app(service: LicensingService) -> WsgiApp:
    def answer(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD"):
            return _json(start_response, 405, {"error": "method_not_allowed"}, [("Allow", "GET, HEAD")])
        token = bearer(str(environ.get("HTTP_AUTHORIZATION") or ""))
        user = query_user(str(environ.get("QUERY_STRING") or ""))
        try:
            rights = service.usage_rights.check(token, user)
        except BadToken:
            return _json(start_response, 401, {"error": "invalid_token"}, [("WWW-Authenticate", 'Bearer')])
        except UserMissing:
            return _json(start_response, 400, {"error": "missing_user",
                                               "detail": "name the person: ?user=<Slack user id or email>"})
        except OperationalError:
            log.warning("usage-rights: the database did not answer")
            return _json(start_response, 503, {"error": "unavailable"})
        except Exception:  # last line of defence: a request never gets a 5xx
            log.exception("usage-rights: answering failed")
            return _json(start_response, 400, {"error": "bad_request"})
        body = _json(start_response, 200, rights.as_json())
        return [] if method == "HEAD" else body

    return answer


def bearer(header: str) -> str | None:
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def query_user(query: str) -> str | None:
    if len(query) > MAX_QUERY:
        return None
    try:
        values = parse_qs(query, keep_blank_values=True, max_num_fields=50, errors="replace")
    except ValueError:  # too many fields
        return None
    found = values.get("user")
    return found[0] if found else None


def _json(start_response: StartResponse, status: int, data: dict[str, Any],
          extra: list[tuple[str, str]] | None = None) -> list[bytes]:
    from http import HTTPStatus

    payload = json.dumps(data, separators=(",", ":")).encode()
    start_response(f"{status} {HTTPStatus(status).phrase}", [
        ("Content-Type", "application/json"), ("Content-Length", str(len(payload))),
        ("Cache-Control", "no-store"), *(extra or []),
    ])
    return [payload]
