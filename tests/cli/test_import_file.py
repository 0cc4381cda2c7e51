"""`licensebot apps import FILE [--dry-run]` (SPEC §5) through the console script: a partial file keeps
what it leaves out, null clears, a dry run prints created / updated (fields) / unchanged and writes nothing,
and every error line names the file."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from tests.cli.test_cli import CATALOG, assert_one_line_error, licensebot, ok
from tests.support.core import snapshot

PARTIAL = """\
apps:
  - name: Contoso CRM
    seats: 4
  - name: Fabrikam Design
    renewal_date: null
    install_url: null
  - name: Northwind
    seats: 2
    purchased_via: marketplace
"""


def test_a_dry_run_prints_each_change_and_writes_nothing(database_url: str, engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "apps.yml").write_text(CATALOG)
    (tmp_path / "partial.yml").write_text(PARTIAL)
    ok(licensebot("apps", "import", str(tmp_path / "apps.yml"), database_url=database_url))
    before = snapshot(engine)

    out = ok(licensebot("apps", "import", "--dry-run", str(tmp_path / "partial.yml"), database_url=database_url))

    assert out.splitlines() == [
        "updated    Contoso CRM (seats)",
        "unchanged  Fabrikam Design",  # nothing to clear: it had no renewal date nor install URL
        "created    Northwind",
        "dry run, nothing written: 3 apps: 1 created, 1 updated, 1 unchanged",
    ]
    assert snapshot(engine) == before


def test_a_partial_import_keeps_vendor_install_url_and_renewal_date(database_url: str, tmp_path: Path) -> None:
    (tmp_path / "apps.yml").write_text(CATALOG)
    (tmp_path / "partial.yml").write_text(PARTIAL)
    ok(licensebot("apps", "import", str(tmp_path / "apps.yml"), database_url=database_url))

    out = ok(licensebot("apps", "import", str(tmp_path / "partial.yml"), database_url=database_url))

    assert out.splitlines()[-1] == "imported 3 apps: 1 created, 1 updated, 1 unchanged"
    shown = ok(licensebot("apps", "show", "contoso crm", "--json", database_url=database_url))
    assert '"vendor": "Contoso Ltd"' in shown and '"install_url": "https://contoso.example/install"' in shown
    assert '"renewal_date": "2027-03-01"' in shown and '"seats": 4' in shown


def test_every_error_line_names_the_file(database_url: str, engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "apps.yml").write_text(CATALOG)
    ok(licensebot("apps", "import", str(tmp_path / "apps.yml"), database_url=database_url))
    before = snapshot(engine)
    cases = {
        "new.yml": ("apps:\n  - name: Brand New\n    seats: 2\n",
                    'new.yml: entry 1 ("Brand New"): a new app needs "purchased_via"'),
        "twice.yml": ("apps:\n  - name: Contoso CRM\n  - name: CONTOSO crm\n",
                      'twice.yml: entry 2 ("CONTOSO crm"): the same name as entry 1'),
        "bad.yml": ("apps:\n  - name: Contoso CRM\n    seats: many\n", 'bad.yml: entry 1 ("Contoso CRM"): "seats"'),
    }
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text)
        for args in (["apps", "import", str(tmp_path / name)], ["apps", "import", "--dry-run", str(tmp_path / name)]):
            assert_one_line_error(licensebot(*args, database_url=database_url), message)
    assert snapshot(engine) == before
