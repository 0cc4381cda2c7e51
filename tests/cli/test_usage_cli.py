"""`licensebot usage import FILE.csv` through the installed console script: a good file recorded (a second one
replacing what the first said), a bad one refused whole with one line per problem naming its line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from bot.domain import Actor
from tests.cli.test_bulk_cli import setup_catalog
from tests.cli.test_cli import licensebot, ok
from tests.support.core import snapshot
from tests.support.slack_e2e import service_on

TODAY = dt.date.today()


def days_ago(days: int) -> str:
    return (TODAY - dt.timedelta(days=days)).isoformat()


def assign(url: str, tmp_path: Path) -> None:
    (tmp_path / "assign.csv").write_text("app,user\nContoso CRM,U00000A1\nContoso CRM,U00000A2\nContoso CRM,U00000A3\n")
    ok(licensebot("assignments", "import", str(tmp_path / "assign.csv"), database_url=url))


def test_a_good_file_is_recorded_and_the_next_one_replaces_it(database_url: str, tmp_path: Path) -> None:
    setup_catalog(database_url, tmp_path)
    assign(database_url, tmp_path)
    source = tmp_path / "usage.csv"
    # a BOM, columns in another order, an extra column, a blank line, a prefix of the app's name
    source.write_text(f"\ufeffUser,last_active,App,seat_type\nU00000A1,{days_ago(45)},contoso,pro\n\n"
                      f"U00000A2,{days_ago(3)},Contoso CRM,pro\n", encoding="utf-8")
    out = ok(licensebot("usage", "import", str(source), database_url=database_url))
    assert "Contoso CRM: last activity of 2 user(s) recorded" in out
    with service_on(database_url) as service:
        idle = service.usage.idle("Contoso CRM")
        assert (idle.idle, idle.no_data) == (1, 1)  # A1 idle 45 days; A3 never reported
        assert [e.action for e in service.audit.export(Actor.cli())][-1] == "usage.import"

    source.write_text(f"app,user,last_active\nContoso CRM,U00000A1,{days_ago(1)}\n")  # the vendor's newer truth
    ok(licensebot("usage", "import", str(source), database_url=database_url))
    with service_on(database_url) as service:
        assert service.usage.idle("Contoso CRM").idle == 0


def test_a_bad_file_is_refused_whole_with_one_line_per_problem(sqlite_url: str, tmp_path: Path) -> None:
    setup_catalog(sqlite_url, tmp_path)
    assign(sqlite_url, tmp_path)
    engine = create_engine(sqlite_url)
    before = snapshot(engine)
    source = tmp_path / "usage.csv"
    source.write_text("app,user,last_active\n"
                      f"Contoso CRM,U00000A1,{days_ago(2)}\n"  # fine, and not written either
                      f"Jira,U00000A1,{days_ago(2)}\n"  # unknown app
                      f"Contoso CRM,UNOBODY99,{days_ago(2)}\n"  # unknown user
                      f"Contoso CRM,nobody@example.com,{days_ago(2)}\n"  # unknown email (no directory)
                      "Contoso CRM,U00000A2,27/11/2026\n"  # malformed date
                      f"Contoso CRM,U00000A3,{(TODAY + dt.timedelta(days=2)).isoformat()}\n")  # in the future
    result = licensebot("usage", "import", str(source), database_url=sqlite_url)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[:5] == [
        'licensebot: error: line 3: no app is called "Jira" (did you mean: Contoso CRM, Figma?)',
        "licensebot: error: line 4: unknown person UNOBODY99: not in the database nor in the directory",
        "licensebot: error: line 5: unknown person nobody@example.com: no user has this email in the directory",
        'licensebot: error: line 6: last_active "27/11/2026" is not a date (YYYY-MM-DD)',
        f"licensebot: error: line 7: last_active {(TODAY + dt.timedelta(days=2)).isoformat()} is in the future",
    ]
    assert lines[5].startswith(f"licensebot: error: {source}: refused, 5 problem(s); nothing was written")
    assert len(lines) == 6
    assert snapshot(engine) == before
    engine.dispose()


@pytest.mark.parametrize("header", ["app,user\n", "application,user,last_active\n"])
def test_a_missing_column_is_named(sqlite_url: str, tmp_path: Path, header: str) -> None:
    source = tmp_path / "usage.csv"
    source.write_text(header + "Contoso CRM,U00000A1\n")
    result = licensebot("usage", "import", str(source), database_url=sqlite_url)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    missing = "last_active" if header.startswith("app,") else "app"
    assert lines == [f"licensebot: error: line 1: the column {missing} is missing",
                     "licensebot: error: usage.csv: refused, the header needs the columns app, user and "
                     "last_active; nothing was written"]


@pytest.mark.e2e
def test_emails_are_looked_up_in_slack_s_directory_when_there_is_a_token(sqlite_url: str, tmp_path: Path) -> None:
    from tests.support.fake_slack import FakeSlack

    setup_catalog(sqlite_url, tmp_path)
    assign(sqlite_url, tmp_path)
    source = tmp_path / "usage.csv"
    source.write_text(f"app,user,last_active\nContoso CRM,grace@example.com,{days_ago(40)}\n")
    with FakeSlack() as fake:
        fake.add_user("U00000A1", name="grace", real_name="Grace Hopper")
        slack = {"SLACK_BOT_TOKEN": "xoxb-test-token", "SLACK_API_URL": fake.url}
        out = ok(licensebot("usage", "import", str(source), database_url=sqlite_url, env=slack))
    assert "1 email(s) found in Slack's directory (users.list)" in out
    with service_on(sqlite_url) as service:
        assert service.usage.idle("Contoso CRM").idle == 1
