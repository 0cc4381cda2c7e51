"""`licensebot` (SPEC §3), each run its own process (see `licensebot` below), against the test database: the
catalog, roles and audit round trip, and bad input that exits 2 with one line and writes nothing."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.directory import Group, InMemoryDirectory
from bot.service import LicensingService
from storage.db import make_engine
from storage.uow import UnitOfWorkFactory
from tests.support.cli_runner import clean_env, run_cli
from tests.support.core import A1, A2, A3, ADMIN, DESIGN, add_app, snapshot, sync_members

LICENSEBOT = shutil.which("licensebot", path=str(Path(sys.executable).parent)) or shutil.which("licensebot")

CATALOG = """\
apps:
  - name: Contoso CRM
    vendor: Contoso Ltd
    seats: 3
    purchased_via: marketplace
    provider_contact: sales@contoso.example
    install_url: https://contoso.example/install
    renewal_date: 2027-03-01
  - name: Fabrikam Design
    vendor: Fabrikam
    seats: 5
    purchased_via: provider
    provider_contact: reseller@fabrikam.example
"""
SUMMARY_KEYS = {"name", "vendor", "purchased_via", "seats", "assigned", "available"}


def licensebot(
    *args: str, database_url: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Runs the command line in its own process with only the settings given (none inherited from this
    shell): forked from a process that has imported it once (tests/support/cli_runner.py)."""
    return run_cli(args, cli_env(database_url, env), cwd)


def cli_env(database_url: str, env: dict[str, str] | None = None) -> dict[str, str]:
    return clean_env(DATABASE_URL=database_url, **(env or {}))


def test_the_installed_console_script_runs_the_commands(sqlite_url: str, tmp_path: Path) -> None:
    """The entry point itself, in a plain subprocess; every other test here runs the same `main` forked
    (tests/support/cli_runner.py), which must answer alike."""
    assert LICENSEBOT, "the licensebot console script is not installed"
    catalog = tmp_path / "catalog.yml"
    catalog.write_text(CATALOG)
    imported, listed = (subprocess.run([LICENSEBOT, *argv], env=cli_env(sqlite_url), capture_output=True,
                                       text=True, timeout=60)
                        for argv in (["apps", "import", str(catalog)], ["apps", "list", "--json"]))
    assert (imported.returncode, imported.stderr) == (0, "")
    assert (listed.returncode, listed.stderr) == (0, "")
    assert [app["name"] for app in json.loads(listed.stdout)] == ["Contoso CRM", "Fabrikam Design"]
    forked = licensebot("apps", "list", "--json", database_url=sqlite_url)
    assert (forked.returncode, forked.stdout, forked.stderr) == (0, listed.stdout, "")


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    return result.stdout


def assert_one_line_error(result: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("licensebot") and fragment in lines[0], lines[0]


# ------------------------------------------------------------------ round trip
def test_import_list_show_roles_and_audit_round_trip(database_url: str, tmp_path: Path) -> None:
    catalog = tmp_path / "apps.yml"
    catalog.write_text(CATALOG)

    assert ok(licensebot("apps", "import", str(catalog), database_url=database_url)).splitlines() == [
        "created    Contoso CRM",
        "created    Fabrikam Design",
        "imported 2 apps: 2 created, 0 updated, 0 unchanged",
    ]
    assert "unchanged  Contoso CRM" in ok(licensebot("apps", "import", str(catalog), database_url=database_url))

    # licenses given through the service, as the bot would: the CLI shows them
    engine = make_engine(database_url)
    directory = InMemoryDirectory([Group(DESIGN, "design", "Design team", (A1, A2))])
    service = LicensingService(UnitOfWorkFactory(engine), directory, global_admins=[ADMIN.user_id])
    service.assignments.assign(ADMIN, "Contoso CRM", ["UDIRECT1"], [DESIGN])
    sync_members(service, directory, DESIGN, [A1, A2, A3])  # full: A3 waits
    engine.dispose()

    apps = json.loads(ok(licensebot("apps", "list", "--json", database_url=database_url)))
    assert [set(a) >= SUMMARY_KEYS for a in apps] == [True, True]
    assert [{k: a[k] for k in SUMMARY_KEYS} for a in apps] == [
        {"name": "Contoso CRM", "vendor": "Contoso Ltd", "purchased_via": "marketplace", "seats": 3, "assigned": 3,
         "available": 0},
        {"name": "Fabrikam Design", "vendor": "Fabrikam", "purchased_via": "provider", "seats": 5, "assigned": 0,
         "available": 5},
    ]

    shown = json.loads(ok(licensebot("apps", "show", '"contoso crm"', "--json", database_url=database_url)))
    assert {k: shown[k] for k in SUMMARY_KEYS} == {k: apps[0][k] for k in SUMMARY_KEYS}
    assert (shown["users"], shown["groups"], shown["waiting"]) == ([A1, A2, "UDIRECT1"], [DESIGN], [A3])
    assert "licenses:       3 assigned, 0 available, 3 total" in ok(
        licensebot("apps", "show", "contoso", database_url=database_url)
    )

    env = {"LICENSEBOT_GLOBAL_ADMINS": "UENVADM1"}
    assert ok(licensebot("roles", "grant", "ULICADM9", "license-admin", database_url=database_url)) == (
        "granted license-admin to ULICADM9\n"
        "note: ULICADM9 was not checked against the Slack workspace (the CLI has no directory); "
        "`/licenses roles grant @user ROLE` in Slack checks it\n"
    )
    roles = json.loads(ok(licensebot("roles", "list", "--json", database_url=database_url, env=env)))
    assert [(r["user_id"], r["role"], r["granted_by"]) for r in roles] == [
        ("UENVADM1", "global-admin", "LICENSEBOT_GLOBAL_ADMINS"),
        ("ULICADM9", "license-admin", "cli"),
    ]
    assert ok(licensebot("roles", "revoke", "ULICADM9", "license-admin", database_url=database_url)) == (
        "revoked license-admin from ULICADM9\n"
    )
    assert json.loads(ok(licensebot("roles", "list", "--json", database_url=database_url))) == []

    csv_rows = list(csv.DictReader(io.StringIO(ok(licensebot("audit", "export", database_url=database_url)))))
    jsonl = ok(licensebot("audit", "export", "--format", "jsonl", database_url=database_url))
    entries = [json.loads(line) for line in jsonl.splitlines()]
    expected = [  # the second import changed nothing: not audited
        ("cli", "cli", "app.import", "Contoso CRM", []),
        ("cli", "cli", "app.import", "Fabrikam Design", []),
        (ADMIN.user_id, "slack", "assign", "Contoso CRM", ["UDIRECT1", DESIGN, A1, A2]),
        (ADMIN.user_id, "slack", "group.join", "Contoso CRM", [DESIGN, A3]),
        ("cli", "cli", "role.grant", None, ["ULICADM9"]),
        ("cli", "cli", "role.revoke", None, ["ULICADM9"]),
    ]
    assert [(e["actor"], e["via"], e["action"], e["app"], e["targets"]) for e in entries] == expected
    assert [(r["actor"], r["via"], r["action"], r["app"] or None, r["targets"].split()) for r in csv_rows] == expected
    assert [(e["seats"], e["assigned"], e["available"]) for e in entries[2:4]] == [(3, 3, 0), (3, 3, 0)]
    now = dt.datetime.now(dt.UTC)
    for row, entry in zip(csv_rows, entries, strict=True):
        assert row["at"] == entry["at"] and row["action"] == entry["action"]
        at = dt.datetime.fromisoformat(entry["at"])
        assert entry["at"].endswith("Z") and at.utcoffset() == dt.timedelta(0)
        assert now - dt.timedelta(minutes=5) < at <= now


def test_an_empty_database_url_means_licensebot_db_in_the_current_directory(tmp_path: Path) -> None:
    (tmp_path / "apps.yml").write_text(CATALOG)

    ok(licensebot("apps", "import", "apps.yml", database_url="", cwd=tmp_path))
    listed = json.loads(ok(licensebot("apps", "list", "--json", database_url="", cwd=tmp_path)))

    assert [a["name"] for a in listed] == ["Contoso CRM", "Fabrikam Design"]
    assert (tmp_path / "licensebot.db").is_file()
    engine = make_engine(f"sqlite:///{tmp_path / 'licensebot.db'}")
    try:
        assert [a.name for a in LicensingService(UnitOfWorkFactory(engine), InMemoryDirectory()).catalog.list_apps()] == [
            "Contoso CRM",
            "Fabrikam Design",
        ]
    finally:
        engine.dispose()


# ------------------------------------------------------------------ bad input
def catalog_entry(name: str = "Figma", seats: object = 5, via: str = "marketplace", extra: str = "") -> str:
    return f"  - name: {name}\n    seats: {seats}\n    purchased_via: {via}\n{extra}"


BAD_CATALOGS = {
    "yaml syntax error": ("apps:\n  - name: Figma\n   seats: 5\n", "apps.yml: YAML error at line 3"),
    "unknown key": ("apps:\n" + catalog_entry(extra="    colour: blue\n"), 'unknown key "colour"'),
    "negative seats": ("apps:\n" + catalog_entry(seats=-1), '"seats": Input should be greater than or equal to 0'),
    "fractional seats": ("apps:\n" + catalog_entry(seats="12.5"), '"seats" must be a whole number'),
    "seats in words": ("apps:\n" + catalog_entry(seats="ten"), 'entry 1 ("Figma"): "seats" must be a whole number'),
    "missing name": ("apps:\n  - seats: 5\n    purchased_via: marketplace\n", 'entry 1: "name" is missing'),
    "unknown purchased_via": ("apps:\n" + catalog_entry(via="reseller"), '"purchased_via" must be marketplace or provider'),
    "impossible date": ("apps:\n" + catalog_entry(extra="    renewal_date: 2027-02-30\n"), "YAML error at line 5"),
    "duplicate names": (
        "apps:\n" + catalog_entry("Figma") + catalog_entry("FIGMA"),
        'entry 2 ("FIGMA"): the same name as entry 1',
    ),
    # the first entry is valid and new: it must not be written either
    "seats below assigned": (
        "apps:\n" + catalog_entry("Figma") + catalog_entry("contoso crm", seats=2),
        'entry 2 ("contoso crm"): 2 seats is below the 3 assigned; unassign 1 first',
    ),
    "a line break in a bad entry's name": ('apps:\n  - name: "Fig\\nma"\n    seats: -1\n    purchased_via: marketplace\n',
                                           '"seats": Input should be'),
}

BAD_COMMANDS = {
    "unknown role": (["roles", "grant", "UTARGET1", "superuser"], 'Unknown role "superuser"'),
    "malformed user id": (["roles", "revoke", "alice", "license-admin"], '"alice" is not a Slack user id'),
    "unknown app": (["apps", "show", "Photoshop"], 'No app is called "Photoshop"'),
    "ambiguous app": (["apps", "show", "contoso", "--json"], '"contoso" matches several apps: Contoso CRM, Contoso Mail'),
    "missing file": (["apps", "import", "{tmp}/nope.yml"], "cannot read {tmp}/nope.yml: No such file or directory"),
    "a directory for a file": (["apps", "import", "{tmp}"], "cannot read {tmp}: Is a directory"),
    "not UTF-8": (["apps", "import", "{tmp}/latin1.yml"], "cannot read {tmp}/latin1.yml"),
    "unknown command": (["apps", "frobnicate"], "invalid choice: 'frobnicate'"),
    "unknown export format": (["audit", "export", "--format", "xml"], "invalid choice: 'xml'"),
}


@pytest.fixture
def seeded(service: LicensingService) -> LicensingService:
    """Contoso CRM with 3 of 10 seats assigned, and Contoso Mail."""
    add_app(service, "Contoso CRM", 10)
    add_app(service, "Contoso Mail", 10)
    service.assignments.assign(ADMIN, "Contoso CRM", ["UHOLDER1", "UHOLDER2", "UHOLDER3"])
    return service


@pytest.mark.parametrize("case", list(BAD_CATALOGS))
def test_a_bad_catalog_exits_2_with_one_line_and_writes_nothing(
    seeded: LicensingService, engine: Engine, database_url: str, tmp_path: Path, case: str
) -> None:
    text, message = BAD_CATALOGS[case]
    (tmp_path / "apps.yml").write_text(text)
    before = snapshot(engine)

    result = licensebot("apps", "import", str(tmp_path / "apps.yml"), database_url=database_url)

    assert_one_line_error(result, message)
    assert result.stdout == ""
    assert snapshot(engine) == before


@pytest.mark.parametrize("case", list(BAD_COMMANDS))
def test_a_bad_command_exits_2_with_one_line_and_writes_nothing(
    seeded: LicensingService, engine: Engine, database_url: str, tmp_path: Path, case: str
) -> None:
    args, message = BAD_COMMANDS[case]
    (tmp_path / "latin1.yml").write_bytes("apps:\n  - name: Caf\u00e9\n".encode("latin-1"))
    before = snapshot(engine)

    result = licensebot(*(a.format(tmp=tmp_path) for a in args), database_url=database_url)

    assert_one_line_error(result, message.format(tmp=tmp_path))
    assert snapshot(engine) == before


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("LICENSEBOT_GLOBAL_ADMINS", "alice", 'LICENSEBOT_GLOBAL_ADMINS: "alice" is not a Slack user id'),
        ("LICENSEBOT_REQUEST_TTL_HOURS", "soon", "LICENSEBOT_REQUEST_TTL_HOURS"),
        ("LICENSEBOT_LOG_FORMAT", "xml", 'LICENSEBOT_LOG_FORMAT: "xml" is not a log format (text or json)'),
    ],
)
def test_a_malformed_setting_exits_2_naming_it(tmp_path: Path, setting: str, value: str, message: str) -> None:
    result = licensebot("apps", "list", database_url="", cwd=tmp_path, env={setting: value})

    assert_one_line_error(result, message)
    assert not (tmp_path / "licensebot.db").exists()
