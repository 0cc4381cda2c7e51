"""`licensebot assignments import|export`, `audit export` with filters, `backup` and `--version`, through the
installed console script in a subprocess (SPEC §11)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sqlite3
from pathlib import Path

import pytest

from tests.cli.test_cli import assert_one_line_error, licensebot, ok
from tests.support.core import snapshot

CATALOG = """\
apps:
  - name: Contoso CRM
    seats: 3
    purchased_via: marketplace
  - name: Figma
    seats: 1
    purchased_via: marketplace
"""
FUTURE = (dt.date.today() + dt.timedelta(days=30)).isoformat()


def setup_catalog(database_url: str, tmp_path: Path) -> None:
    (tmp_path / "catalog.yml").write_text(CATALOG)
    ok(licensebot("apps", "import", str(tmp_path / "catalog.yml"), database_url=database_url))
    for user in ("U00000A1", "U00000A2", "U00000A3"):  # people the database knows: they hold a role
        ok(licensebot("roles", "grant", user, "user-admin", database_url=database_url))


def export(database_url: str, *args: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(ok(licensebot("assignments", "export", *args, database_url=database_url)))))


def test_import_export_round_trip(database_url: str, tmp_path: Path) -> None:
    setup_catalog(database_url, tmp_path)
    source = tmp_path / "in.csv"
    # a spreadsheet's BOM, columns in another order, an extra column, a blank line
    source.write_text(f"\ufeffUser,App,until,comment\nU00000A1,contoso crm,{FUTURE},x\n\nU00000A2,Contoso CRM,,\n"
                      "U00000A3,Figma,,\n", encoding="utf-8")

    dry = ok(licensebot("assignments", "import", str(source), "--dry-run", database_url=database_url))
    assert "would seat 3 user(s) (dry run: nothing was written)" in dry
    assert export(database_url) == []

    out = ok(licensebot("assignments", "import", str(source), database_url=database_url))
    assert "Contoso CRM: 2 seated, 0 already held; 2 of 3 assigned" in out
    assert "Figma: 1 seated, 0 already held; 1 of 1 assigned" in out

    rows = export(database_url)
    assert list(rows[0]) == ["app", "user_id", "name", "email", "source", "since", "until", "provisioning"]
    assert [(r["app"], r["user_id"], r["source"], r["until"], r["provisioning"]) for r in rows] == [
        ("Contoso CRM", "U00000A1", "direct", FUTURE, "none"),
        ("Contoso CRM", "U00000A2", "direct", "", "none"),
        ("Figma", "U00000A3", "direct", "", "none"),
    ]
    assert [r["user_id"] for r in export(database_url, "--app", "figma")] == ["U00000A3"]
    lines = ok(licensebot("assignments", "export", "--format", "jsonl", database_url=database_url)).splitlines()
    assert [json.loads(line)["user_id"] for line in lines] == ["U00000A1", "U00000A2", "U00000A3"]

    # the export is an import file: imported back, it changes nothing
    (tmp_path / "export.csv").write_text(ok(licensebot("assignments", "export", database_url=database_url)))
    again = ok(licensebot("assignments", "import", str(tmp_path / "export.csv"), database_url=database_url))
    assert "seated 0 user(s)" in again
    assert export(database_url) == rows


def test_a_refused_file_lists_each_problem_on_its_line_exits_2_and_writes_nothing(
    database_url: str, tmp_path: Path
) -> None:
    setup_catalog(database_url, tmp_path)
    source = tmp_path / "in.csv"
    source.write_text("app,user\nContoso CRM,U00000A1\nFigma,U00000A1\nFigma,U00000A2\nJira,U00000A3\n"
                      "Contoso CRM,someone@example.com\nContoso CRM,UNOBODY99\n")
    from storage.db import make_engine

    engine = make_engine(database_url)
    before = snapshot(engine)

    result = licensebot("assignments", "import", str(source), database_url=database_url)

    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        'licensebot: error: line 5: no app is called "Jira" (did you mean: Contoso CRM, Figma?)',
        "licensebot: error: line 6: unknown person someone@example.com: no user has this email in the directory",
        "licensebot: error: line 7: unknown person UNOBODY99: not in the database nor in the directory",
        "licensebot: error: Figma: not enough licenses: 2 needed, 1 available",
        f"licensebot: error: {source}: refused, 4 problem(s); nothing was written (people looked up in: no directory "
        "(set SLACK_BOT_TOKEN to look people up in Slack))",
    ]
    assert snapshot(engine) == before
    engine.dispose()


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("name,person\nContoso CRM,U00000A1\n", "the header needs the columns app and user (missing: app, user)"),
        ("app,user\n", "no rows to import"),
        (b"app,user\n\xff\xfe\n", "cannot read"),
    ],
)
def test_a_file_that_is_not_an_assignments_csv_is_one_line(
    sqlite_url: str, tmp_path: Path, content: str | bytes, fragment: str
) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(content if isinstance(content, bytes) else content.encode())
    assert_one_line_error(licensebot("assignments", "import", str(source), database_url=sqlite_url), fragment)
    assert_one_line_error(licensebot("assignments", "import", str(tmp_path / "missing.csv"), database_url=sqlite_url),
                          "cannot read")


@pytest.mark.e2e
def test_emails_are_looked_up_in_slack_s_directory_when_there_is_a_token(sqlite_url: str, tmp_path: Path) -> None:
    from tests.support.fake_slack import FakeSlack

    setup_catalog(sqlite_url, tmp_path)
    source = tmp_path / "in.csv"
    source.write_text("app,user\nContoso CRM,grace@example.com\nContoso CRM,UHOPPER01\n")
    with FakeSlack() as fake:
        fake.add_user("UGRACE001", name="grace", real_name="Grace Hopper")
        fake.add_user("UHOPPER01", name="hopper", real_name="Hopper")
        slack = {"SLACK_BOT_TOKEN": "xoxb-test-token", "SLACK_API_URL": fake.url}

        out = ok(licensebot("assignments", "import", str(source), database_url=sqlite_url, env=slack))
        assert "1 email(s) found in Slack's directory (users.list)" in out
        rows = list(csv.DictReader(io.StringIO(ok(licensebot("assignments", "export", database_url=sqlite_url,
                                                              env=slack)))))
    assert [(r["user_id"], r["name"], r["email"]) for r in rows] == [
        ("UGRACE001", "Grace Hopper", "grace@example.com"), ("UHOPPER01", "Hopper", "hopper@example.com")]


def test_audit_export_filters_by_day_app_and_actor_with_a_readable_detail(sqlite_url: str, tmp_path: Path) -> None:
    setup_catalog(sqlite_url, tmp_path)
    (tmp_path / "in.csv").write_text("app,user\nFigma,U00000A1\n")
    ok(licensebot("assignments", "import", str(tmp_path / "in.csv"), database_url=sqlite_url))
    today = dt.datetime.now(dt.UTC).date()

    def audit(*args: str) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO(ok(licensebot("audit", "export", *args, database_url=sqlite_url)))))

    assert [r["action"] for r in audit("--app", "figma")] == ["app.import", "assign"]
    [assign] = audit("--app", "Figma", "--actor", "cli", "--since", str(today), "--until", str(today))[1:]
    assert assign["detail"] == "users=U00000A1; seated=U00000A1; via=import"
    assert audit("--since", str(today + dt.timedelta(days=1))) == []
    assert audit("--until", str(today - dt.timedelta(days=1))) == []
    assert audit("--actor", "U00000A1") == []
    assert_one_line_error(licensebot("audit", "export", "--since", "yesterday", database_url=sqlite_url),
                          '--since "yesterday" is not a date (YYYY-MM-DD)')
    assert_one_line_error(licensebot("audit", "export", "--since", "2026-02-02", "--until", "2026-02-01",
                                     database_url=sqlite_url), "--until 2026-02-01 is before --since 2026-02-02")
    assert_one_line_error(licensebot("audit", "export", "--actor", "bob", database_url=sqlite_url),
                          '"bob" is not a Slack user id')


def test_version_and_backup(sqlite_url: str, tmp_path: Path) -> None:
    result = licensebot("--version", database_url=sqlite_url)
    assert (result.returncode, result.stdout.strip()) == (0, "licensebot 0.1.0")

    setup_catalog(sqlite_url, tmp_path)
    target = tmp_path / "copy.db"
    assert "backed up the database to" in ok(licensebot("backup", str(target), database_url=sqlite_url))
    with sqlite3.connect(target) as copy:
        assert sorted(r[0] for r in copy.execute("SELECT name FROM apps")) == ["Contoso CRM", "Figma"]
    assert_one_line_error(licensebot("backup", str(target), database_url=sqlite_url), "already exists")
    assert_one_line_error(licensebot("backup", str(tmp_path / "nowhere" / "x.db"), database_url=sqlite_url),
                          "no directory")
    assert_one_line_error(licensebot("backup", str(tmp_path / "x.db"), database_url=f"sqlite:///{tmp_path}/none.db"),
                          "no SQLite database at")
    assert_one_line_error(licensebot("backup", str(tmp_path / "x.db"), database_url="postgresql://u@127.0.0.1:1/db"),
                          "back it up with pg_dump")
    assert not (tmp_path / "x.db").exists()
