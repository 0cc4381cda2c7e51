"""Every `/licenses` sub-command (but assign and request) against `licensebot serve`, over signed HTTP.

Read-only commands share one bot (module scope) seeded with a holder, a billing admin, a license admin
and a second "Contoso" app; commands that change roles get a fresh bot each.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.directory import Group
from tests.support.bot_process import GLOBAL_ADMIN, BotProcess
from tests.support.catalogs import SAMPLE_CATALOG, seed_catalog
from tests.support.fake_slack import FakeSlack
from tests.support.slack_e2e import CLI, audit_log, button_labels, everything, open_view, service_on, texts

pytestmark = pytest.mark.e2e

HOLDER = "UHOLDER1"
GROUPIE = "UGROUPI1"
BILLING = "UBILLADM"
LICENSER = "ULICADM1"
NOBODY = "UNOBODY1"
DESIGN = Group("SDESIGN1", "design", "Design team", (GROUPIE,))
EXTRA_APP = """
  - name: Contoso Mail
    vendor: Contoso Ltd
    seats: 2
    purchased_via: marketplace
"""


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    url = f"sqlite:///{tmp_path_factory.mktemp('commands') / 'licensebot.db'}"
    seed_catalog(url, SAMPLE_CATALOG + EXTRA_APP)
    with service_on(url, [DESIGN]) as service:
        service.assignments.assign(CLI, "Contoso CRM", [HOLDER], [DESIGN.id])
        service.roles.grant(CLI, BILLING, "billing-admin")
        service.roles.grant(CLI, LICENSER, "license-admin")
    with FakeSlack() as fake:
        fake.add_group(DESIGN.id, DESIGN.handle, DESIGN.name, DESIGN.members)
        with BotProcess(fake, url) as bot:
            yield bot


def reply(bot: BotProcess, text: str, user_id: str = GLOBAL_ADMIN) -> str:
    """The ephemeral answer a command gives inside its ack."""
    status, ack = bot.command(text, user_id=user_id)
    assert status == 200, (status, ack)
    assert isinstance(ack, dict) and ack.get("response_type") == "ephemeral", ack
    return ack["text"] + "\n" + texts(ack.get("blocks") or [])


# ------------------------------------------------------------------ everyone
@pytest.mark.parametrize("text", ["", "list", "LIST"])
def test_list_shows_assigned_available_total(shared: BotProcess, text: str) -> None:
    answer = reply(shared, text, NOBODY)
    assert "*Contoso CRM* — 2 assigned / 3 available / 5 total" in answer
    assert "*Fabrikam Design* — 0 assigned / 3 available / 3 total" in answer


def test_show_opens_the_details_with_the_buttons_an_admin_may_use(shared: BotProcess) -> None:
    view = open_view(shared, 'show "contoso crm"')
    assert view["title"]["text"] == "Contoso CRM"
    shown = texts(view)
    assert "Contoso Ltd" in shown and "2 assigned / 3 available / 5 total" in shown and "Mar 1, 2027" in shown
    assert f"<@{HOLDER}>" in shown and "<!subteam^SDESIGN1>" in shown
    assert button_labels(view) == ["See all 3 assignees", "Assign licenses", "Unassign licenses",
                                   "Reclaim licenses", "Add or remove licenses", "Install this product", "Edit app"]


@pytest.mark.parametrize(
    ("user_id", "app", "buttons"),
    [
        (NOBODY, "contoso crm", ["See all 3 assignees", "Request a license"]),
        (HOLDER, "contoso crm", ["See all 3 assignees", "Install this product"]),
        (LICENSER, "contoso crm", ["See all 3 assignees", "Assign licenses", "Unassign licenses",
                                   "Reclaim licenses", "Install this product"]),
        (BILLING, "contoso crm", ["See all 3 assignees", "Add or remove licenses", "Install this product",
                                  "Edit app"]),
        (BILLING, "fabrikam", ["Contact provider", "Install this product", "Edit app"]),
    ],
)
def test_show_hides_the_buttons_a_person_may_not_use(shared: BotProcess, user_id: str, app: str,
                                                     buttons: list[str]) -> None:
    assert button_labels(open_view(shared, f"show {app}", user_id)) == buttons


def test_an_unknown_app_gets_candidates(shared: BotProcess) -> None:
    answer = reply(shared, "show Contso CRM", NOBODY)
    assert 'No app is called "Contso CRM"' in answer and "Contoso CRM" in answer


def test_an_ambiguous_prefix_lists_the_matches(shared: BotProcess) -> None:
    answer = reply(shared, "show contoso", NOBODY)
    assert "matches several apps" in answer and "Contoso CRM" in answer and "Contoso Mail" in answer


def test_install_gives_the_link_to_admins_and_holders_and_points_others_to_request(shared: BotProcess) -> None:
    for user_id in (GLOBAL_ADMIN, HOLDER, GROUPIE):
        status, ack = shared.command("install contoso crm", user_id=user_id)
        assert "redirected to the vendor's site" in ack["text"]
        [button] = [e for b in ack["blocks"] if b["type"] == "actions" for e in b["elements"]]
        assert button["text"]["text"] == "Install this product" and button["url"] == "https://contoso.example/install"
    assert "/licenses request Contoso CRM" in reply(shared, "install contoso crm", NOBODY)


def test_mine_lists_my_licenses_and_their_source(shared: BotProcess) -> None:
    assert "*Contoso CRM* (assigned to you)" in reply(shared, "mine", HOLDER)
    assert "*Contoso CRM* (through <!subteam^SDESIGN1>)" in reply(shared, "mine", GROUPIE)
    assert "You hold no licenses" in reply(shared, "mine", NOBODY)


def test_help_lists_every_sub_command(shared: BotProcess) -> None:
    answer = reply(shared, "help", NOBODY)
    for usage in ("/licenses list", "/licenses show APP", "/licenses unassign APP", "/licenses seats APP",
                  "/licenses install APP", "/licenses mine", "/licenses roles", "/licenses audit [APP]",
                  "/licenses help"):
        assert f"`{usage}" in answer, usage


def test_an_unknown_sub_command_gets_the_help(shared: BotProcess) -> None:
    answer = reply(shared, "frobnicate contoso", NOBODY)
    assert "I don't know `/licenses frobnicate`" in answer and "/licenses help" in answer


# ------------------------------------------------------------------ admins only: refused at the command
@pytest.mark.parametrize(
    ("text", "user_id", "refusal"),
    [
        ("unassign contoso crm", NOBODY, "You need to be a license, user or global admin"),
        ("unassign contoso crm", BILLING, "to unassign licenses"),
        ("seats contoso crm", NOBODY, "You need to be a billing or global admin"),
        ("seats contoso crm", LICENSER, "to add or remove licenses"),
        ("roles", NOBODY, "You need to be an admin to list roles"),
        ("roles grant <@UNEW0001|new> billing-admin", LICENSER, "You need to be a global admin to grant roles"),
        ("roles revoke <@UBILLADM|bill> billing-admin", BILLING, "You need to be a global admin to revoke roles"),
        ("audit", NOBODY, "You need to be an admin to read the audit log"),
    ],
)
def test_a_person_without_the_role_is_refused_at_the_command(shared: BotProcess, text: str, user_id: str,
                                                            refusal: str) -> None:
    opened_before = len(shared.fake.calls_to("views.open"))
    before = everything(shared.database_url)
    assert refusal in reply(shared, text, user_id)
    assert len(shared.fake.calls_to("views.open")) == opened_before
    assert everything(shared.database_url) == before


def test_seats_of_a_provider_app_answers_with_the_provider_contact(shared: BotProcess) -> None:
    status, ack = shared.command("seats fabrikam", user_id=BILLING)
    assert "contact the provider" in ack["text"].lower() and "reseller@fabrikam.example" in ack["text"]
    [button] = [e for b in ack["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert button["text"]["text"] == "Contact provider" and button["url"] == "mailto:reseller@fabrikam.example"


def test_unassign_and_seats_name_an_unknown_app_in_the_ack(shared: BotProcess) -> None:
    assert 'No app is called "Nope"' in reply(shared, "unassign Nope")
    assert 'No app is called "Nope"' in reply(shared, "seats Nope")
    assert "Name an app" in reply(shared, "seats")


# ------------------------------------------------------------------ roles and audit
def test_roles_lists_who_holds_which_role_to_any_admin(shared: BotProcess) -> None:
    answer = reply(shared, "roles", LICENSER)
    assert f"*global-admin*: <@{GLOBAL_ADMIN}> (from settings)" in answer
    assert f"*billing-admin*: <@{BILLING}>" in answer and f"*license-admin*: <@{LICENSER}>" in answer


def test_audit_shows_the_latest_entries_readably(shared: BotProcess) -> None:
    answer = reply(shared, "audit", BILLING)
    assert "Audit log*: the latest" in answer
    assert f"the operator (CLI) assigned *Contoso CRM* to <@{HOLDER}>, <!subteam^SDESIGN1>" in answer
    assert f"granted `billing-admin` to <@{BILLING}>" in answer
    scoped = reply(shared, "audit contoso crm", BILLING)
    assert "Audit log of Contoso CRM" in scoped and "Fabrikam" not in scoped
    assert 'No app is called "Nope"' in reply(shared, "audit Nope")


@pytest.fixture
def roles_bot(fake_slack: FakeSlack, sqlite_url: str) -> Iterator[BotProcess]:
    seed_catalog(sqlite_url)
    fake_slack.add_user("U0ANN001", "ann", "Ann Example")
    with BotProcess(fake_slack, sqlite_url) as bot:
        yield bot


def roles_of(url: str, user_id: str) -> set[str]:
    with service_on(url) as service:
        return {r.value for r in service.roles.of(user_id)}


def test_roles_grant_and_revoke_with_an_escaped_mention(roles_bot: BotProcess) -> None:
    url = roles_bot.database_url
    assert "<@U0ANN001> is now a billing admin (`billing-admin`)" in reply(roles_bot, "roles grant <@U0ANN001|ann> billing-admin")
    assert roles_of(url, "U0ANN001") == {"billing-admin"}
    assert "already is a billing admin" in reply(roles_bot, "roles grant <@U0ANN001|ann> Billing")
    assert "is no longer a billing admin" in reply(roles_bot, "roles revoke billing-admin <@U0ANN001|ann>")
    assert roles_of(url, "U0ANN001") == set()
    grants = [e for e in audit_log(url) if e["action"] in ("role.grant", "role.revoke")]
    assert [(e["action"], e["actor"], e["targets"]) for e in grants] == [
        ("role.grant", GLOBAL_ADMIN, ["U0ANN001"]), ("role.revoke", GLOBAL_ADMIN, ["U0ANN001"])]


def test_roles_grant_with_a_plain_mention_answers_after_the_lookup(roles_bot: BotProcess) -> None:
    status, ack = roles_bot.command("roles grant @ann license-admin")
    assert status == 200 and ack is None  # answered after the ack: the directory may page through Slack
    [answer] = roles_bot.fake.wait_for("response_url")
    assert answer.args["text"] == "<@U0ANN001> is now a license admin (`license-admin`)."
    assert roles_of(roles_bot.database_url, "U0ANN001") == {"license-admin"}


def test_roles_grant_to_someone_unknown_changes_nothing(roles_bot: BotProcess) -> None:
    before = everything(roles_bot.database_url)
    roles_bot.command("roles grant @nobody-here license-admin")
    [answer] = roles_bot.fake.wait_for("response_url")
    assert "I can't find anyone called @nobody-here in this workspace" in answer.args["text"]
    assert everything(roles_bot.database_url) == before


def test_a_role_goes_only_to_an_id_the_workspace_has(roles_bot: BotProcess) -> None:
    """Issue 10, defect 12: a role granted to an id unknown to the workspace is refused, and says why."""
    before = everything(roles_bot.database_url)
    assert "Nobody with the id U0NOPE123 is in this workspace." in reply(roles_bot, "roles grant <@U0NOPE123> license-admin")
    assert everything(roles_bot.database_url) == before


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("roles grant <@U0ANN001|ann> overlord", 'Unknown role "overlord"'),
        ("roles grant <@U0ANN001|ann>", "Name one person and one role"),
        ("roles grant <@U0ANN001|ann> <@U0BOB001|bob> billing", "Name one person and one role"),
        ("roles promote <@U0ANN001|ann> billing", "/licenses roles grant @user ROLE"),
        ("roles grant <!subteam^SDESIGN1|@design> billing", "Roles go to people, not to user groups"),
    ],
)
def test_a_malformed_role_change_gets_a_clear_answer_and_changes_nothing(roles_bot: BotProcess, text: str,
                                                                          answer: str) -> None:
    before = everything(roles_bot.database_url)
    assert answer in reply(roles_bot, text)
    assert everything(roles_bot.database_url) == before


def test_revoking_a_global_admin_from_settings_is_explained(roles_bot: BotProcess) -> None:
    assert "through LICENSEBOT_GLOBAL_ADMINS" in reply(roles_bot, f"roles revoke <@{GLOBAL_ADMIN}> global-admin")
