"""`licensebot apps import` with `low_seat_threshold`, good and bad; `apps show` says where the low-license
alert is; LICENSEBOT_ALERTS_CHANNEL is checked at start-up; and a CLI change that crosses the threshold writes
its alert into the outbox, for `serve` to deliver (through the console script, on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from bot.service import LicensingService
from storage.models import OutboxRow
from tests.cli.test_cli import assert_one_line_error, licensebot, ok
from tests.support.core import snapshot

CATALOG = """\
apps:
  - name: Contoso CRM
    seats: 25
    purchased_via: marketplace
  - name: Fabrikam Design
    seats: 5
    purchased_via: provider
    low_seat_threshold: 2
"""


def test_a_threshold_imported_is_shown_and_a_default_one_is_said(database_url: str, tmp_path: Path) -> None:
    (tmp_path / "apps.yml").write_text(CATALOG)
    ok(licensebot("apps", "import", str(tmp_path / "apps.yml"), database_url=database_url))
    shown = ok(licensebot("apps", "show", "Fabrikam", "--json", database_url=database_url))
    assert json.loads(shown)["low_seat_threshold"] == 2
    assert "alert at 2 available or fewer\n" in ok(licensebot("apps", "show", "Fabrikam", database_url=database_url))
    default = ok(licensebot("apps", "show", "Contoso CRM", database_url=database_url))
    assert "alert at 3 available or fewer (default: 10% of the licenses, at least 1)" in default  # 25: 2.5 up
    assert json.loads(ok(licensebot("apps", "show", "Contoso", "--json", database_url=database_url)))[
        "low_seat_threshold"] is None
    # null clears it again
    (tmp_path / "clear.yml").write_text("apps:\n  - name: Fabrikam Design\n    low_seat_threshold: null\n")
    ok(licensebot("apps", "import", str(tmp_path / "clear.yml"), database_url=database_url))
    assert "alert at 1 available or fewer (default" in ok(licensebot("apps", "show", "Fabrikam",
                                                                     database_url=database_url))


@pytest.mark.parametrize(("value", "message"), [
    ("-1", '"low_seat_threshold": Input should be greater than or equal to 0'),
    ("two", '"low_seat_threshold" must be a whole number'),
    ("2.5", '"low_seat_threshold" must be a whole number'),
    ("1000001", '"low_seat_threshold": Input should be less than or equal to 1000000'),
])
def test_a_bad_threshold_exits_2_with_one_line_and_writes_nothing(
        service: LicensingService, engine: Engine, database_url: str, tmp_path: Path, value: str, message: str) -> None:
    (tmp_path / "apps.yml").write_text(CATALOG.replace("low_seat_threshold: 2", f"low_seat_threshold: {value}"))
    before = snapshot(engine)
    result = licensebot("apps", "import", str(tmp_path / "apps.yml"), database_url=database_url)
    assert_one_line_error(result, 'entry 2 ("Fabrikam Design"): ' + message)
    assert snapshot(engine) == before


def test_an_import_that_lowers_seats_to_the_threshold_queues_one_alert_to_the_channel(
        service: LicensingService, engine: Engine, database_url: str, tmp_path: Path) -> None:
    (tmp_path / "apps.yml").write_text(CATALOG)
    ok(licensebot("apps", "import", str(tmp_path / "apps.yml"), database_url=database_url))
    (tmp_path / "fewer.yml").write_text("apps:\n  - name: Contoso CRM\n    seats: 1\n")
    env = {"LICENSEBOT_ALERTS_CHANNEL": "CALERTS01"}
    for _ in range(2):  # the same file twice: still one crossing
        ok(licensebot("apps", "import", str(tmp_path / "fewer.yml"), database_url=database_url, env=env))
    with engine.connect() as conn:
        rows = conn.execute(select(OutboxRow.recipient, OutboxRow.facts).where(OutboxRow.kind == "alert"))
        alerts = [(recipient, facts["alert"]) for recipient, facts in rows]
    assert alerts == [("CALERTS01", "low")]


@pytest.mark.parametrize("channel", ["general", "U0123ABCD", "D0123ABCD", "#alerts"])
def test_an_alerts_channel_that_is_no_channel_id_stops_with_one_line(sqlite_url: str, channel: str) -> None:
    result = licensebot("apps", "list", database_url=sqlite_url, env={"LICENSEBOT_ALERTS_CHANNEL": channel})
    assert_one_line_error(result, "LICENSEBOT_ALERTS_CHANNEL")
    assert "is not a Slack channel id (C… or G…)" in result.stderr
