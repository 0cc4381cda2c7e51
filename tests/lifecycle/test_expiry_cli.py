"""`licensebot lifecycle run` through the console script expires what is due and says how many (issue 13);
a second run finds nothing left."""

from __future__ import annotations

import datetime as dt
import json

from bot.domain import Actor
from bot.notify import Kind
from tests.cli.test_cli import licensebot
from tests.slack.test_time_limits import read, service_at
from tests.support.catalogs import seed_catalog

CLI = Actor.cli()
USERS = ["U00000A1", "U00000A2", "U00000A3"]


def test_lifecycle_run_expires_what_is_due(sqlite_url: str) -> None:
    seed_catalog(sqlite_url)
    today = dt.datetime.now(dt.UTC).date()
    engine, past = service_at(sqlite_url, days_ago=10)  # given 10 days ago: two ended, one ends in 7 days
    past.assignments.assign(CLI, "Contoso CRM", USERS[:2], until=today - dt.timedelta(days=1))
    past.assignments.assign(CLI, "Contoso CRM", USERS[2:], until=today + dt.timedelta(days=7))
    engine.dispose()

    done = licensebot("lifecycle", "run", database_url=sqlite_url)
    assert done.returncode == 0, done.stderr
    assert "expiry: 2\n" in done.stdout and "expiry-reminders: 1\n" in done.stdout
    again = licensebot("lifecycle", "run", "--json", database_url=sqlite_url)
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert (report["done"]["expiry"], report["done"]["expiry-reminders"], report["failed"]) == (0, 0, {})

    service = read(sqlite_url)
    assert service.catalog.details("Contoso CRM").users == USERS[2:]
    assert [e.targets for e in service.audit.export(CLI) if e.action == "assignment.expire"] == [[u] for u in USERS[:2]]
    kinds = sorted((m.kind, m.recipient) for m in service.outbox.queued())
    assert kinds == sorted([(Kind.ENDED.value, USERS[0]), (Kind.ENDED.value, USERS[1]), (Kind.ENDING.value, USERS[2])])
