"""The catalog file of `licensebot apps import` (SPEC §3): parsed whole, every entry checked, and a bad
entry named in one line. Pure parsing: the database side is in tests/core/test_catalog.py and test_cli.py."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest

from bot.domain import PurchaseChannel
from handlers.cli.catalog_file import CatalogFileError, parse_catalog

SPEC_EXAMPLE = """\
apps:
  - name: Contoso CRM
    vendor: Contoso Ltd
    seats: 25
    purchased_via: marketplace      # or: provider
    provider_contact: sales@contoso.example
    install_url: https://contoso.example/install
    renewal_date: 2027-03-01        # optional
  - name: "  Fabrikam Design "
    seats: 0
    purchased_via: provider
"""


def entry(**fields: object) -> str:
    """A one-entry catalog (Contoso CRM, 25 seats, marketplace) with these fields changed; None leaves one out."""
    values = {"name": "Contoso CRM", "seats": 25, "purchased_via": "marketplace", **fields}
    return "apps:\n  -\n" + "".join(f"    {key}: {value}\n" for key, value in values.items() if value is not None)


def test_the_spec_example_parses_with_defaults_for_what_is_left_out() -> None:
    crm, fabrikam = parse_catalog(SPEC_EXAMPLE)

    assert crm.as_json() == {
        "name": "Contoso CRM",
        "vendor": "Contoso Ltd",
        "seats": 25,
        "purchased_via": "marketplace",
        "provider_contact": "sales@contoso.example",
        "install_url": "https://contoso.example/install",
        "renewal_date": "2027-03-01",
        "notes": "",
        "provisioning": None,
    }
    assert crm.renewal_date == dt.date(2027, 3, 1)
    assert (fabrikam.name, fabrikam.seats, fabrikam.purchased_via) == ("Fabrikam Design", 0, PurchaseChannel.PROVIDER)
    assert (fabrikam.vendor, fabrikam.install_url, fabrikam.renewal_date) == ("", "", None)


def test_an_empty_list_of_apps_is_valid() -> None:
    assert parse_catalog("apps: []\n") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (entry(seats="-1"), 'catalog: entry 1 ("Contoso CRM"): "seats": Input should be greater than or equal to 0'),
        (entry(seats="12.5"), 'catalog: entry 1 ("Contoso CRM"): "seats" must be a whole number'),
        (entry(seats="ten"), 'catalog: entry 1 ("Contoso CRM"): "seats" must be a whole number'),
        (entry(seats='"12"'), 'catalog: entry 1 ("Contoso CRM"): "seats" must be a whole number'),
        (entry(seats="true"), 'catalog: entry 1 ("Contoso CRM"): "seats" must be a whole number'),
        (entry(seats="1000001"), 'catalog: entry 1 ("Contoso CRM"): "seats": Input should be less than or equal to'),
        (entry(seats=None), 'catalog: entry 1 ("Contoso CRM"): "seats" is missing'),
        (entry(name=None), 'catalog: entry 1: "name" is missing'),
        (entry(name='""'), 'catalog: entry 1 (""): "name": String should have at least 1 character'),
        (entry(purchased_via="reseller"), 'catalog: entry 1 ("Contoso CRM"): "purchased_via" must be marketplace or provider'),
        (entry(purchased_via=None), 'catalog: entry 1 ("Contoso CRM"): "purchased_via" is missing'),
        (entry(colour="blue"), 'catalog: entry 1 ("Contoso CRM"): unknown key "colour"'),
        (entry(install_url="ftp://x.example"), '("Contoso CRM"): "install_url": must start with https:// or http://'),
        (entry(renewal_date="2027-13-01"), 'catalog: YAML error at line 6, column 19: "2027-13-01" is not a valid date'),
        (entry(renewal_date="soon"), '("Contoso CRM"): "renewal_date": Input should be a valid date'),
        ("apps:\n  - just a string\n", 'catalog: "apps.0": Input should be a valid dictionary'),
        ("apps: []\nextra: 1\n", 'catalog: unknown key "extra"'),
        ("apps: nope\n", 'catalog: "apps": Input should be a valid list'),
        ("", 'catalog: expected a mapping with a list under "apps"'),
        ("- name: x\n", 'catalog: expected a mapping with a list under "apps"'),
        ("apps:\n  - name: [unclosed\n", "catalog: YAML error at line 3, column 1"),
        ("apps:\n  - name: a\n   seats: 1\n", "catalog: YAML error at line 3, column 4"),
    ],
)
def test_a_bad_catalog_is_refused_with_one_line_naming_the_entry(text: str, message: str) -> None:
    with pytest.raises(CatalogFileError) as caught:
        parse_catalog(text)

    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_first_bad_entry_is_named_by_position_and_name() -> None:
    text = textwrap.dedent(
        """\
        apps:
          - {name: Contoso CRM, seats: 10, purchased_via: marketplace}
          - {name: Figma, seats: 5, purchased_via: marketplace}
          - {name: Zoom, seats: many, purchased_via: marketplace}
          - {name: Slack, seats: -1, purchased_via: marketplace}
        """
    )
    with pytest.raises(CatalogFileError, match=r'^apps\.yml: entry 3 \("Zoom"\): "seats" must be a whole number$'):
        parse_catalog(text, source="apps.yml")
