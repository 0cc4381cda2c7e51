"""The app record modals ("Add an app", "Edit app", "Retire app") built from plain values: Slack's limits,
the words the flows promise, every catalog field, and problems read back onto their fields."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import ValidationError
from slack_sdk.models.views import View

from handlers.slack.features import records
from tests.slack.test_builders import LONG_NAME, app, button_texts, title
from tests.support import slack_payloads as slack
from tests.support.fake_slack import checks

LABELS = ["Name", "Vendor", "Total licenses", "Purchased via", "Provider contact", "Install URL", "Renewal date",
          "Notes", "Low-seat warning"]


def labels(view: dict[str, Any]) -> list[str]:
    return [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]


@pytest.mark.parametrize(("view", "expected_title", "submit", "buttons"), [
    pytest.param(records.record_view(None), "Add an app", "Add", [], id="add"),
    pytest.param(records.record_view(app(assigned=0)), "Edit app", "Save", ["Retire app"], id="edit-unassigned"),
    pytest.param(records.record_view(app(assigned=3)), "Edit app", "Save", [], id="edit-assigned"),
    pytest.param(records.record_view(app(LONG_NAME, assigned=0, notes="n" * 5000)), "Edit app", "Save",
                 ["Retire app"], id="edit-longest"),
])
def test_record_modals_have_every_field_and_pass_slack_validation(view: dict[str, Any], expected_title: str,
                                                                  submit: str, buttons: list[str]) -> None:
    View(**view).validate_json()
    assert checks.view_errors(view, "modal") == []
    assert (title(view), title(view, "submit")) == (expected_title, submit)
    assert labels(view) == LABELS
    assert button_texts(view["blocks"]) == buttons


def test_retire_confirmation_names_the_app() -> None:
    view = records.retire_view(app(LONG_NAME))
    View(**view).validate_json()
    assert (title(view), title(view, "submit"), title(view, "close")) == ("Retire app", "Retire", "Cancel")


def test_an_edit_form_reads_back_as_the_record_it_shows() -> None:
    shown = app(notes="EU tenant")
    view = records.record_view(shown)
    view = {**view, "state": {"values": slack.view_state(view, {})}}
    record = records.record_from(view)
    assert (record.name, record.vendor, record.seats, record.purchased_via.value if record.purchased_via else None,
            record.provider_contact, record.install_url, record.notes) == (
        shown.name, shown.vendor, shown.total, shown.purchased_via, shown.provider_contact, shown.install_url,
        "EU tenant")
    assert record.renewal_date == shown.renewal_date == dt.date(2026, 1, 31)
    assert record.model_fields_set >= {"vendor", "renewal_date", "low_seat_threshold", "notes"}  # all given


@pytest.mark.parametrize(("answers", "errors"), [
    ({"Total licenses": "-3"}, {"seats": "At least 0."}),
    ({"Total licenses": "12.5"}, {"seats": "A whole number, please."}),
    ({"Install URL": "javascript:alert(1)"}, {"install_url": "Must start with https:// or http://"}),
    ({"Low-seat warning": "99999999"}, {"low_seat_threshold": "At most 1,000,000."}),
    ({"Low-seat warning": "-1"}, {"low_seat_threshold": "At least 0."}),
    ({"Low-seat warning": "2.5"}, {"low_seat_threshold": "A whole number, please."}),
    ({"Name": "x" * 201}, {"name": "Too long."}),
])
def test_problems_land_on_their_fields(answers: dict[str, str], errors: dict[str, str]) -> None:
    view = records.record_view(app())
    view = {**view, "state": {"values": slack.view_state(view, answers)}}
    with pytest.raises(ValidationError) as caught:
        records.record_from(view)
    assert records.field_errors(caught.value) == {"response_action": "errors", "errors": errors}
