"""The Home tab: its builder at size (pure), then the flows end to end — opened, a request filed from it, an
approval decided from it, both people's Homes refreshed — and a plain user's "Request a license" in details."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from bot.directory import InMemoryDirectory
from bot.domain import Actor, AppSummary, HeldLicense, SourceKind
from bot.requests import PENDING, LicenseRequest
from bot.service import LicensingService
from handlers.slack.features.home import BAR_CELLS, HomeData, home_view, usage_bar
from storage.db import make_engine
from storage.uow import UnitOfWorkFactory
from tests.support import slack_signing as slack
from tests.support.bot_process import BotProcess
from tests.support.catalogs import seed_catalog
from tests.support.fake_slack import FakeSlack, checks
from tests.support.slack_e2e import button_labels, input_block, opened, submit, texts

NOW = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
ANN, APPROVER, OUTSIDER = "U00000A1", "ULICADM1", "UOUTSID1"


# ------------------------------------------------------------------ the builder, from plain values
def summary(name: str, total: int = 10, assigned: int = 4, waiting: int = 0, renewal: dt.date | None = None,
            install_url: str = "https://vendor.example/install") -> AppSummary:
    return AppSummary(name=name, vendor="Vendor", purchased_via="marketplace", total=total, assigned=assigned,
                      waiting=waiting, provider_contact="sales@vendor.example", install_url=install_url,
                      renewal_date=renewal, notes="")


def pending(i: int, app: AppSummary, requester: str = ANN) -> LicenseRequest:
    return LicenseRequest(id=i, app=app, requester=requester, reason="for the Q4 audit " * 3, status=PENDING,
                          created_at=NOW, expires_at=NOW + dt.timedelta(hours=72), decided_by=None,
                          decided_at=None, note="")


def all_pages(data: HomeData) -> list[dict[str, Any]]:
    pages = [home_view(data, 0)]
    while "Next" in button_labels(pages[-1]):
        pages.append(home_view(data, len(pages)))
        assert len(pages) < 50
    return pages


def test_the_usage_bar_has_ten_cells_and_the_counts() -> None:
    assert usage_bar(12, 20) == "▰▰▰▰▰▰▱▱▱▱ 12 / 20"
    assert usage_bar(20, 20) == "▰" * BAR_CELLS + " 20 / 20"
    assert usage_bar(0, 0) == "▱" * BAR_CELLS + " 0 / 0"
    assert usage_bar(1, 500).startswith("▰▱")  # one license in use never looks like none


def test_a_plain_users_home_shows_their_licenses_the_install_link_and_request() -> None:
    crm, design = summary("Contoso CRM"), summary("Fabrikam Design", install_url="")
    data = HomeData(ANN, held=[HeldLicense("Contoso CRM", True, [(SourceKind.USER, ANN)]),
                               HeldLicense("Fabrikam Design", False, [(SourceKind.GROUP, "S0DESIGN")])],
                    apps=[crm, design], pending=[pending(7, summary("Northwind BI"))])
    view = home_view(data)
    assert checks.view_errors(view, "home") == []
    shown = texts(view)
    assert "Your licenses" in shown and "*Contoso CRM* (assigned to you)" in shown
    assert "waiting: not enough licenses" in shown and "<!subteam^S0DESIGN>" in shown
    assert "Northwind BI" in shown and "waiting for an approver" in shown
    assert button_labels(view) == ["Request a license"]
    install = [b["accessory"] for b in view["blocks"] if b.get("accessory")]
    assert [(b["text"]["text"], b["url"]) for b in install] == [("Install this product",
                                                                 "https://vendor.example/install")]
    assert "Every app" not in shown and "Pending approvals" not in shown  # admins only


def test_an_admins_home_at_size_is_paged_and_nothing_is_lost() -> None:
    today = NOW.date()
    apps = [summary(f"App {i:03d} " + "x" * 180, total=20, assigned=20 if i % 10 == 0 else 12,
                    waiting=3 if i % 10 == 0 else 0, renewal=today + dt.timedelta(days=i)) for i in range(300)]
    approvals = [pending(i, apps[i % len(apps)], requester=f"U{i:010d}") for i in range(1, 61)]
    data = HomeData(APPROVER, held=[], apps=apps, pending=[], admin=True, approvals=approvals, today=today)
    pages = all_pages(data)
    assert len(pages) > 1
    for number, view in enumerate(pages):
        assert checks.view_errors(view, "home") == [], number
        assert len(view["blocks"]) <= 100
        for block in view["blocks"]:
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= 3000 and "…" not in block["text"]["text"]
            if block["type"] == "actions" and block.get("block_id", "").startswith("request_"):
                assert view["blocks"][view["blocks"].index(block) - 1]["type"] == "section"
        labels = button_labels(view)
        assert ("Previous" in labels) == (number > 0) and ("Next" in labels) == (number < len(pages) - 1)
    everything = "\n".join(texts(view) for view in pages)
    assert all(a.name in everything for a in apps)  # every app, none cut
    assert all(f"#{r.id} <@{r.requester}>" in everything for r in approvals)
    assert everything.count("Approve") == 60
    assert "▰▰▰▰▰▰▱▱▱▱ 12 / 20" in everything and "*App 000 " in everything
    alerts = everything.split("*Alerts*")[1].split("Renewals in the next")[0]
    assert "0 of 20 available (alert at 2) · 3 waiting" in alerts  # full with people waiting
    assert alerts.count(":warning:") == 30  # the apps at their threshold (2 of 20), no other
    renewals = everything.split("Renewals in the next 90 days")[1]
    assert "App 090" in renewals and "App 091" not in renewals.split("Pending approvals")[0]


# ------------------------------------------------------------------ end to end
@pytest.fixture
def db(sqlite_url: str) -> Iterator[LicensingService]:
    engine = make_engine(sqlite_url)
    seed_catalog(sqlite_url)
    service = LicensingService(UnitOfWorkFactory(engine), InMemoryDirectory())
    service.roles.grant(Actor.cli(), APPROVER, "license-admin")
    yield service
    engine.dispose()


@pytest.fixture
def bot(fake_slack: FakeSlack, sqlite_url: str, db: LicensingService) -> Iterator[BotProcess]:
    for user_id in (ANN, APPROVER, OUTSIDER):
        fake_slack.add_user(user_id)
    with BotProcess(fake_slack, sqlite_url) as process:
        yield process


def open_home(bot: BotProcess, user_id: str) -> dict[str, Any]:
    before = len(published(bot.fake, user_id))
    status, _ = bot.event({"type": "app_home_opened", "user": user_id, "channel": "D0HOME", "tab": "home",
                           "event_ts": "1700000000.000100"}, event_id=f"EvHome{user_id}{before}")
    assert status == 200
    return home_of(bot.fake, user_id, before + 1)


def published(fake: FakeSlack, user_id: str) -> list[Any]:
    return [c for c in fake.calls_to("views.publish") if c.args.get("user_id") == user_id]


def home_of(fake: FakeSlack, user_id: str, count: int) -> dict[str, Any]:
    call = fake.wait_for("views.publish", count, predicate=lambda c: c.args.get("user_id") == user_id)[-1]
    assert call.response.get("ok"), call.response
    return fake.views[call.response["view"]["id"]]


def home_showing(fake: FakeSlack, user_id: str, text: str) -> dict[str, Any]:
    """The first Home published for `user_id` that shows `text` (refreshes run after the ack)."""
    call = fake.wait_for("views.publish", 1, predicate=lambda c: c.args.get("user_id") == user_id
                         and text in texts(c.args.get("view") or {}))[0]
    return dict(call.args["view"])


@pytest.mark.e2e
def test_a_request_filed_and_approved_from_the_home_tab(bot: BotProcess, db: LicensingService) -> None:
    fake = bot.fake
    home = open_home(bot, ANN)
    assert "You hold no licenses yet." in texts(home) and "Every app" not in texts(home)

    # "Request a license" opens the request form with an app picker
    before = len(fake.calls_to("views.open"))
    status, _ = bot.interact(slack.button_click_payload(home, "Request a license", user_id=ANN))
    assert status == 200
    form = opened(fake, "views.open", before)
    picker = input_block(form, "App")["element"]
    assert [o["value"] for o in picker["options"]] == ["Contoso CRM", "Fabrikam Design"]
    status, ack = submit(bot, form, ANN)  # nothing chosen: said under the picker, nothing filed
    assert ack == {"response_action": "errors", "errors": {"app": "Choose an app."}}
    assert db.requests.pending_of(ANN) == []
    status, ack = submit(bot, form, ANN, {"App": "Contoso CRM", "Reason": "the Q4 audit"})
    assert status == 200 and ack["response_action"] == "update" and ack["view"]["title"]["text"] == "Request sent"
    [request] = db.requests.pending_of(ANN)
    home_showing(fake, ANN, "waiting for an approver")  # refreshed after the change: the request shows

    # the approver's Home lists it with "Approve", which works from there
    admin_home = open_home(bot, APPROVER)
    assert "Pending approvals (1)" in texts(admin_home) and "0 / 5" in texts(admin_home)
    fake.wait_for("chat.postMessage", 1, predicate=lambda c: c.args.get("channel") == APPROVER)
    status, _ = bot.interact(slack.button_click_payload(admin_home, "Approve", user_id=APPROVER))
    assert status == 200
    fake.wait_for("chat.postMessage", 1, predicate=lambda c: c.args.get("channel") == ANN
                  and "approved" in str(c.args.get("text")))
    assert db.requests.get(request.id).status == "approved"
    assert db.catalog.holds(ANN, "Contoso CRM")
    refreshed = home_showing(fake, APPROVER, "1 / 5")
    assert "Pending approvals" not in texts(refreshed)
    # told by DM, so their open Home shows the license and its link
    ann_after = home_showing(fake, ANN, "*Contoso CRM* (assigned to you)")
    assert "Install this product" in [b["accessory"]["text"]["text"] for b in ann_after["blocks"]
                                      if b.get("accessory")]


@pytest.mark.e2e
def test_a_plain_user_asks_from_the_details_modal(bot: BotProcess, db: LicensingService) -> None:
    fake = bot.fake
    before = len(fake.calls_to("views.open"))
    assert bot.command("show Contoso CRM", user_id=OUTSIDER)[0] == 200
    details = opened(fake, "views.open", before)
    assert button_labels(details) == ["Request a license"]
    admin_before = len(fake.calls_to("views.open"))
    bot.command("show Contoso CRM", user_id=APPROVER)
    assert "Request a license" not in button_labels(opened(fake, "views.open", admin_before))

    pushes = len(fake.calls_to("views.push"))
    bot.interact(slack.button_click_payload(details, "Request a license", user_id=OUTSIDER))
    form = opened(fake, "views.push", pushes)
    assert "*Contoso CRM*" in texts(form)
    status, ack = submit(bot, form, OUTSIDER, {"Reason": None})
    assert status == 200 and ack["view"]["title"]["text"] == "Request sent"
    assert [r.app.name for r in db.requests.pending_of(OUTSIDER)] == ["Contoso CRM"]


@pytest.mark.e2e
def test_the_messages_tab_publishes_nothing(bot: BotProcess) -> None:
    status, _ = bot.event({"type": "app_home_opened", "user": ANN, "channel": "D0HOME", "tab": "messages"},
                          event_id="EvMessagesTab")
    assert status == 200
    open_home(bot, OUTSIDER)  # a later Home is published: the event above had its turn
    assert published(bot.fake, ANN) == []


@pytest.mark.e2e
def test_an_admins_change_refreshes_the_holders_open_home(bot: BotProcess, db: LicensingService) -> None:
    """Assigned or unassigned by someone else, with no DM about it: the open Home shows it all the same."""
    fake = bot.fake
    assert "You hold no licenses yet." in texts(open_home(bot, ANN))
    before = len(fake.calls_to("views.open"))
    assert bot.command(f"assign Contoso CRM <@{ANN}>", user_id=APPROVER)[0] == 200
    status, ack = submit(bot, opened(fake, "views.open", before), APPROVER)
    assert status == 200 and db.catalog.holds(ANN, "Contoso CRM")
    home_showing(fake, ANN, "*Contoso CRM* (assigned to you)")
    assert not [c for c in fake.calls_to("chat.postMessage") if c.args.get("channel") == ANN]

    db.assignments.unassign(Actor(APPROVER), "Contoso CRM", [ANN])  # another process: this one cannot know
    count = len(published(fake, ANN))
    before = len(fake.calls_to("views.open"))
    assert bot.command(f"assign Contoso CRM <@{OUTSIDER}>", user_id=APPROVER)[0] == 200
    submit(bot, opened(fake, "views.open", before), APPROVER)
    assert db.catalog.holds(OUTSIDER, "Contoso CRM")
    open_home(bot, APPROVER)  # queued after any refresh the commit queued, on the same background lane
    assert len(published(fake, ANN)) == count  # OUTSIDER's seat is not ANN's change: no publish for ANN
    assert published(fake, OUTSIDER) == []  # and OUTSIDER never opened their Home here: nothing to refresh
