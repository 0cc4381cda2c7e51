"""Helpers for the end-to-end Slack tests: drive modals as Slack would, read the database the bot writes.

The database is read through the real service on the bot's own URL: what a later `licensebot apps show`
would print, without a subprocess per check.
"""

from __future__ import annotations

import copy
import itertools
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bot.app_records import AppRecord
from bot.directory import Group, InMemoryDirectory
from bot.domain import Actor
from bot.service import LicensingService
from storage.db import make_engine
from storage.uow import UnitOfWorkFactory
from tests.support import slack_signing as slack
from tests.support.bot_process import GLOBAL_ADMIN, BotProcess
from tests.support.fake_slack import FakeSlack

CLI = Actor.cli()
_pushed = itertools.count(1)


@contextmanager
def service_on(url: str, groups: list[Group] = ()) -> Iterator[LicensingService]:  # type: ignore[assignment]
    engine = make_engine(url)
    try:
        yield LicensingService(UnitOfWorkFactory(engine), InMemoryDirectory(groups))
    finally:
        engine.dispose()


WAITLIST_APP = "Northwind Pass"
_waitlists = itertools.count(1)


def join_waitlist(url: str, users: list[str], app: str = WAITLIST_APP) -> None:
    """`users` join a group licensed to `app` (created with no seats if new) while no seat is free: they wait."""
    group = Group(f"SWAIT{next(_waitlists):04d}", "waiters", "Waiters", ())
    with service_on(url, [group]) as service:
        if app not in [a.name for a in service.catalog.list_apps()]:
            service.catalog.import_apps(CLI, [AppRecord(name=app, seats=0, purchased_via="marketplace")])
        service.assignments.assign(CLI, app, groups=[group.id])
        directory = service.directory
        assert isinstance(directory, InMemoryDirectory)
        directory.set_members(group.id, users)
        joined = directory.group(group.id)
        assert joined is not None
        service.membership.apply_group(CLI, joined)


def seat_waiters(url: str, users: list[str], app: str = WAITLIST_APP) -> None:
    """`users` wait for a seat of `app`, then the app gets as many more seats and they are seated in one
    transaction: one DM each goes into the outbox, as in real use."""
    join_waitlist(url, users, app)
    with service_on(url) as service:
        service.assignments.set_seats(CLI, app, service.catalog.app(app).total + len(users))


def app_state(url: str, app: str = "Contoso CRM") -> dict[str, Any]:
    """What `licensebot apps show APP --json` prints."""
    with service_on(url) as service:
        return service.catalog.details(app).as_json()


def audit_log(url: str) -> list[dict[str, Any]]:
    with service_on(url) as service:
        return [entry.as_json() for entry in service.audit.export(CLI)]


def everything(url: str) -> tuple[Any, ...]:
    """Every app's state, the roles and the audit log: equal before and after means nothing changed."""
    with service_on(url) as service:
        apps = [service.catalog.details(a.name).as_json() for a in service.catalog.list_apps()]
        roles = [b.as_json() for b in service.roles.bindings(CLI)]
    return apps, roles, audit_log(url)


def open_view(bot: BotProcess, text: str, user_id: str = GLOBAL_ADMIN) -> dict[str, Any]:
    """Runs a modal-opening command; returns the view as Slack stored it (with its id and hash)."""
    fake = bot.fake
    before = len(fake.calls_to("views.open"))
    status, ack = bot.command(text, user_id=user_id)
    assert status == 200 and not ack, f"/licenses {text} answered {status} {ack!r} instead of opening a modal"
    return opened(fake, "views.open", before)


def opened(fake: FakeSlack, method: str, before: int, timeout: float = 5.0) -> dict[str, Any]:
    call = fake.wait_for(method, before + 1, timeout=timeout)[-1]
    assert call.response.get("ok"), f"{method} failed: {call.response}"
    return call.response["view"]


def submit(bot: BotProcess, view: dict[str, Any], user_id: str = GLOBAL_ADMIN,
           answers: dict[str, Any] | None = None) -> tuple[int, Any]:
    payload = slack.view_submission_payload(view, user_id, slack.view_state(view, answers or {}))
    return bot.interact(payload)


def pushed(ack: Any) -> dict[str, Any]:
    """The view a `response_action: push` put on the stack, with the id and hash Slack would give it."""
    assert isinstance(ack, dict) and ack.get("response_action") == "push", f"expected a push, got {ack!r}"
    view = copy.deepcopy(ack["view"])
    view.update(id=f"VPUSHED{next(_pushed):04d}", hash=f"1700000000.{secrets.token_hex(4)}")
    return view


def texts(view_or_blocks: Any) -> str:
    """Every visible text of a view or a list of blocks, one string: what a person reads."""
    blocks = view_or_blocks.get("blocks", []) if isinstance(view_or_blocks, dict) else view_or_blocks
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks)
    return "\n".join(found)


def input_block(view: dict[str, Any], label: str) -> dict[str, Any]:
    for block in view.get("blocks", []):
        if block.get("type") == "input" and block["label"]["text"] == label:
            return block
    raise LookupError(f"no input labelled {label!r}")


def button_labels(view: dict[str, Any]) -> list[str]:
    return [e["text"]["text"] for b in view.get("blocks", []) if b.get("type") == "actions"
            for e in b["elements"] if e.get("type") == "button"]
