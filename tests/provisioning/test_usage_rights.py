"""SPEC §8 on SQLite and PostgreSQL: the usage-rights API's answers and refusals, through its WSGI door."""

from __future__ import annotations

import io
import json
import random
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bot.directory import InMemoryDirectory, User
from bot.service import LicensingService
from handlers.http.usage_rights import usage_rights_app
from storage.models import AppTokenRow
from tests.support.core import A1, A2, A3, ADMIN, B1, DESIGN, add_app


@pytest.fixture
def api(service: LicensingService, directory: InMemoryDirectory) -> LicensingService:
    for user_id, name in ((A1, "alice"), (A2, "arthur"), (A3, "anna"), (B1, "bruno")):
        directory.put_user(User(user_id, name, name.title(), email=f"{name}@example.com"))
    add_app(service, "Contoso CRM", 2)
    add_app(service, "Fabrikam", 5)
    directory.set_members(DESIGN, [A1, A2])
    service.assignments.assign(ADMIN, "Contoso CRM", groups=[DESIGN])
    directory.set_members(DESIGN, [A1, A2, A3])  # A3 joins: no seat left, waits
    group = directory.group(DESIGN)
    assert group is not None
    service.membership.apply_group(ADMIN, group)
    return service


def call(service: LicensingService, query: str | None = None, token: str | None = None, *,
         method: str = "GET", headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    environ: dict[str, Any] = {"REQUEST_METHOD": method, "PATH_INFO": "/api/v1/usage-rights",
                               "QUERY_STRING": query or "", "wsgi.input": io.BytesIO()}
    if token is not None:
        environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    environ.update(headers or {})
    status: list[str] = []
    body = b"".join(usage_rights_app(service)(environ, lambda s, h: status.append(s)))
    return int(status[0].split()[0]), json.loads(body) if body else {}


def test_active_waiting_and_none_with_times(api: LicensingService) -> None:
    token = api.usage_rights.issue(ADMIN, "Contoso CRM")
    code, seated = call(api, f"user={A1}", token)
    assert code == 200 and seated["state"] == "active" and seated["app"] == "Contoso CRM"
    assert seated["user"] == A1 and seated["email"] == "alice@example.com" and seated["until"] is None
    assert seated["since"].endswith("Z")
    assert call(api, f"user={A3}", token)[1]["state"] == "waiting"
    by_email = call(api, "user=ARTHUR%40example.com", token)[1]
    assert (by_email["user"], by_email["state"]) == (A2, "active")
    assert call(api, f"user={B1}", token)[1] == {"app": "Contoso CRM", "user": B1, "email": "bruno@example.com",
                                                 "state": "none", "since": None, "until": None}
    unknown = call(api, "user=nobody@example.com", token)
    assert unknown == (200, {"app": "Contoso CRM", "user": None, "email": "nobody@example.com", "state": "none",
                             "since": None, "until": None})


def test_refusals(api: LicensingService) -> None:
    token = api.usage_rights.issue(ADMIN, "Contoso CRM")
    assert call(api, f"user={A1}")[0] == 401
    assert call(api, f"user={A1}", "lbt_1_" + "x" * 43)[0] == 401
    assert call(api, f"user={A1}", token[:-1] + ("A" if token[-1] != "A" else "B"))[0] == 401
    assert call(api, f"user={A1}", headers={"HTTP_AUTHORIZATION": token})[0] == 401  # no "Bearer"
    assert call(api, "", token) == (400, {"error": "missing_user",
                                          "detail": "name the person: ?user=<Slack user id or email>"})
    assert call(api, "user=", token)[0] == 400
    assert call(api, f"user={A1}", token, method="POST")[0] == 405


def test_a_token_answers_for_its_own_app_only(api: LicensingService) -> None:
    fabrikam = api.usage_rights.issue(ADMIN, "Fabrikam")
    assert call(api, f"user={A1}", fabrikam)[1]["state"] == "none"  # A1 holds Contoso CRM, not Fabrikam
    assert call(api, f"user={A1}", fabrikam)[1]["app"] == "Fabrikam"
    assert call(api, f"user={A1}&app=Contoso+CRM", fabrikam)[1]["app"] == "Fabrikam"


def test_revoke_and_only_a_hash_is_stored(api: LicensingService, engine: Engine) -> None:
    first, second = api.usage_rights.issue(ADMIN, "Contoso CRM"), api.usage_rights.issue(ADMIN, "Contoso CRM")
    other = api.usage_rights.issue(ADMIN, "Fabrikam")
    with engine.connect() as conn:
        stored = [r.token_hash for r in conn.execute(select(AppTokenRow))]
    assert len(stored) == 3 and not any(t.split("_")[-1] in h for t in (first, second) for h in stored)
    assert api.usage_rights.revoke(ADMIN, "Contoso CRM") == 2
    assert call(api, f"user={A1}", first)[0] == 401 and call(api, f"user={A1}", second)[0] == 401
    assert call(api, f"user={A1}", other)[0] == 200


def test_hostile_queries_and_headers_never_get_a_5xx(api: LicensingService) -> None:
    token = api.usage_rights.issue(ADMIN, "Contoso CRM")
    rng = random.Random(12)
    nasty = ["%", "%zz", "%00", "\x00", "'; DROP TABLE apps; --", "é", "%C3%A9", "%FF%FE", "user", "&&&",
             "user=%E2%80%AE", "user=" + "a" * 5000, "user=U" + "9" * 40, "user=@", "user=a@b@c", "=",
             "user=%0d%0aX-Injected:1", "user[]=1", "user=" + "%25" * 300]
    for n in range(300):
        query = rng.choice(nasty) if n % 2 else "&".join(
            rng.choice(["user=", "u=", "", "user=" + rng.choice(nasty)]) + rng.choice(nasty) for _ in range(3))
        header = rng.choice([f"Bearer {token}", "Bearer", "bearer  " + token, "Basic abc", "Bearer lbt_99999_" +
                             "x" * 43, "Bearer lbt_" + "9" * 30 + "_" + "y" * 43, "Bearer \x00", ""])
        code, _ = call(api, query, headers={"HTTP_AUTHORIZATION": header})
        assert code < 500, (query, header)
