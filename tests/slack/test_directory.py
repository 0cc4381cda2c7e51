"""The Slack-backed directory against the fake Slack: caching, bounded lifetime, paging, events, rate limits."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from slack_sdk import WebClient

from bot.errors import DirectoryLoading
from handlers.slack.client import make_client
from handlers.slack.directory import GROUPS_TTL, USERS_PAGE, USERS_TTL, SlackDirectory
from tests.support.fake_slack import FakeSlack

ANN, BOB, CAT = "U00000A1", "U00000A2", "U00000A3"
DESIGN = "SDESIGN1"
V0 = 1_700_000_000  # the fake's first date_update of a group


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def run_now(work: Callable[[], None]) -> None:
    work()


@pytest.fixture
def fake(fake_slack: FakeSlack) -> FakeSlack:
    for user_id, name in ((ANN, "ann"), (BOB, "bob"), (CAT, "cat")):
        fake_slack.add_user(user_id, name=name)
    fake_slack.add_group(DESIGN, "design", "Design team", [ANN, BOB])
    fake_slack.add_group("SENGINE1", "engineering", "Engineering", [CAT])
    return fake_slack


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def directory(fake: FakeSlack, clock: Clock) -> SlackDirectory:
    return SlackDirectory(make_client("xoxb-test-token", fake.url), clock=clock, background=run_now)


def calls(fake: FakeSlack, method: str) -> int:
    return len(fake.calls_to(method))


def test_reads_within_the_lifetime_call_slack_once(fake: FakeSlack, directory: SlackDirectory, clock: Clock) -> None:
    assert directory.group(DESIGN).members == (ANN, BOB)
    for query in ("d", "de", "des", "design", "team", ""):
        directory.search_groups(query)
    assert directory.group_by_handle("@engineering").id == "SENGINE1"
    assert directory.user_by_name("@bob").id == BOB and directory.user(CAT).name == "cat"
    clock.now += GROUPS_TTL - 1
    directory.group(DESIGN)
    assert (calls(fake, "usergroups.list"), calls(fake, "users.list")) == (1, 1)
    assert calls(fake, "usergroups.users.list") == 0
    [listing] = fake.calls_to("usergroups.list")
    assert listing.args["include_users"] in ("1", True)  # members come with the one listing


def test_after_its_lifetime_the_cache_is_renewed(fake: FakeSlack, directory: SlackDirectory, clock: Clock) -> None:
    directory.group(DESIGN)
    directory.user(ANN)
    fake.set_group_members(DESIGN, [CAT])
    fake.add_user("U00000D1", name="dora")
    clock.now += GROUPS_TTL + 1
    assert directory.group(DESIGN).members == (CAT,)
    assert calls(fake, "usergroups.list") == 2
    assert directory.user_by_name("dora") is None  # users live longer
    clock.now += USERS_TTL
    assert directory.user_by_name("dora").id == "U00000D1"
    assert calls(fake, "users.list") == 2


def test_a_stale_read_answers_at_once_and_renews_in_the_background(fake: FakeSlack, clock: Clock) -> None:
    directory = SlackDirectory(make_client("xoxb-test-token", fake.url), clock=clock)  # real background threads
    directory.refresh_groups()
    fake.set_group_members(DESIGN, [CAT])
    fake.delay_next("usergroups.list", 0.5)
    clock.now += GROUPS_TTL + 1
    assert directory.group(DESIGN).members == (ANN, BOB)  # what we had: a keystroke never waits for Slack
    assert directory.group(DESIGN).members == (ANN, BOB)  # one renewal at a time
    fake.wait_for("usergroups.list", count=2, timeout=5)
    for _ in range(100):
        if directory.group(DESIGN).members == (CAT,):
            break
        threading.Event().wait(0.02)
    assert directory.group(DESIGN).members == (CAT,)
    assert calls(fake, "usergroups.list") == 2


def test_users_are_read_page_by_page_with_cursors(fake: FakeSlack, directory: SlackDirectory) -> None:
    ids = fake.add_users(10_000)
    assert directory.refresh_users() == 10_003
    pages = fake.calls_to("users.list")
    assert len(pages) == -(-10_003 // USERS_PAGE)  # 51: one call per page, never one per user
    assert {int(p.args["limit"]) for p in pages} == {USERS_PAGE}
    assert "cursor" not in pages[0].args and all(p.args.get("cursor") for p in pages[1:])
    assert directory.user_by_name(ids[-1].lower()).id == ids[-1]


def test_deleted_users_are_known_and_not_found_by_name(fake: FakeSlack, directory: SlackDirectory) -> None:
    fake.delete_user(BOB)
    assert directory.deleted_user_ids() == [BOB]
    assert directory.user_by_name("bob") is None


def test_a_member_change_at_our_version_is_applied_without_a_call(fake: FakeSlack, directory: SlackDirectory) -> None:
    directory.group(DESIGN)
    group = directory.apply_member_change(DESIGN, [CAT], [ANN], previous=V0, current=V0 + 1)
    assert group.members == (BOB, CAT)
    assert calls(fake, "usergroups.users.list") == 0
    # the same change again (or an older one): our copy is already that new
    assert directory.apply_member_change(DESIGN, [ANN], [], previous=V0 - 1, current=V0).members == (BOB, CAT)
    assert calls(fake, "usergroups.users.list") == 0


def test_a_member_change_we_cannot_place_rereads_that_group(fake: FakeSlack, directory: SlackDirectory) -> None:
    directory.group(DESIGN)
    fake.set_group_members(DESIGN, [ANN, BOB, CAT])  # V0 + 1: an event we never got
    fake.set_group_members(DESIGN, [BOB, CAT])  # V0 + 2
    group = directory.apply_member_change(DESIGN, [], [ANN], previous=V0 + 1, current=V0 + 2)
    assert group.members == (BOB, CAT)
    [call] = fake.calls_to("usergroups.users.list")
    assert call.args["usergroup"] == DESIGN
    assert calls(fake, "usergroups.list") == 1


def test_a_refresh_keeps_an_event_newer_than_the_listing(fake: FakeSlack, directory: SlackDirectory) -> None:
    directory.group(DESIGN)
    directory.apply_member_change(DESIGN, [CAT], [], previous=V0, current=V0 + 5)  # Slack's listing lags
    directory.refresh_groups()
    assert directory.group(DESIGN).members == (ANN, BOB, CAT)


def test_group_events_update_the_cache(fake: FakeSlack, directory: SlackDirectory) -> None:
    directory.group(DESIGN)
    renamed = {"id": DESIGN, "handle": "designers", "name": "Designers", "date_update": V0 + 1, "date_delete": 0,
               "users": [BOB], "user_count": 1}
    directory.put_group(renamed)
    assert directory.group_by_handle("designers").members == (BOB,)
    assert directory.group_by_handle("design") is None
    directory.put_group({**renamed, "date_delete": V0 + 2, "date_update": V0 + 2})
    assert directory.group(DESIGN).disabled and directory.group_by_handle("designers") is None
    assert not any(g.id == DESIGN for g in directory.search_groups(""))
    fake.add_group("SNEW0001", "new", "New group", [ANN])
    created = directory.put_group({"id": "SNEW0001", "handle": "new", "name": "New group", "date_update": V0})
    assert created.members == (ANN,)  # no members in the event: read from Slack
    assert calls(fake, "usergroups.users.list") == 1


def test_a_rate_limited_listing_is_retried(fake: FakeSlack, directory: SlackDirectory) -> None:
    fake.rate_limit_next("usergroups.list", retry_after=1)
    assert directory.group(DESIGN).members == (ANN, BOB)
    assert [c.status for c in fake.calls_to("usergroups.list")] == [429, 200]


def _read_all_at_once(directory: SlackDirectory, readers: int) -> list[tuple[str, float]]:
    """`readers` threads search at once; each says what it got ("loading" or "found") and how long it took."""
    results: list[tuple[str, float]] = []
    start = threading.Barrier(readers)

    def read() -> None:
        start.wait()
        began = time.monotonic()
        try:
            directory.search_groups("d")
            results.append(("found", time.monotonic() - began))
        except DirectoryLoading:
            results.append(("loading", time.monotonic() - began))

    threads = [threading.Thread(target=read) for _ in range(readers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _eventually(check: Callable[[], bool], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


def _loaded(directory: SlackDirectory) -> bool:
    def ready() -> bool:
        try:
            directory.group(DESIGN)
            return True
        except DirectoryLoading:
            return False

    return _eventually(ready)


def test_cold_reads_answer_at_once_and_start_one_load(fake: FakeSlack) -> None:
    """The freeze of issue 10: a slow first listing must hold no reader, and be asked for once."""
    directory = SlackDirectory(make_client("xoxb-test-token", fake.url))  # real background threads
    fake.delay_next("usergroups.list", 1.5)
    results = _read_all_at_once(directory, 20)
    assert {what for what, _ in results} == {"loading"}
    assert max(took for _, took in results) < 0.5
    assert _loaded(directory)
    assert [g.id for g in directory.search_groups("d")] == [DESIGN]
    assert calls(fake, "usergroups.list") == 1


def test_a_rate_limited_first_load_waits_out_retry_after_in_the_background(fake: FakeSlack) -> None:
    """No reader calls Slack again during the backoff; a timer does, once Retry-After has passed."""
    client = WebClient(token="xoxb-test-token", base_url=fake.url, retry_handlers=[])  # the 429 reaches us
    directory = SlackDirectory(client)
    fake.rate_limit_next("usergroups.list", retry_after=2)
    began = time.monotonic()
    with pytest.raises(DirectoryLoading):
        directory.group(DESIGN)
    fake.wait_for("usergroups.list", predicate=lambda c: c.status == 429)
    for _ in range(20):  # readers during the backoff: told at once, no call
        with pytest.raises(DirectoryLoading):
            directory.search_groups("")
    assert [c.status for c in fake.calls_to("usergroups.list")] == [429]
    assert _loaded(directory)
    assert time.monotonic() - began >= 2
    assert [c.status for c in fake.calls_to("usergroups.list")] == [429, 200]


def test_event_work_waits_for_the_first_load(fake: FakeSlack) -> None:
    directory = SlackDirectory(make_client("xoxb-test-token", fake.url))
    fake.delay_next("usergroups.list", 0.5)
    group = directory.apply_member_change(DESIGN, [CAT], [ANN], previous=V0, current=V0 + 1)
    assert group is not None and group.members == (BOB, CAT)
    assert calls(fake, "usergroups.list") == 1


def test_the_typeahead_index_ranks_as_rank_groups() -> None:
    import random

    from bot.directory import Group, rank_groups
    from handlers.slack.directory import GroupIndex

    rng = random.Random(7)
    words = ["design", "Design", "eng", "sales", "des", "ops", "team", "x"]
    groups = [
        Group(f"S{n:06d}", f"{rng.choice(words)}-{rng.randint(0, 50)}", f"{rng.choice(words)} {rng.choice(words)}",
              disabled=rng.random() < 0.1)
        for n in range(400)
    ]
    index = GroupIndex(groups)
    queries = ["", " ", "@des", "des", "DES", "design-1", "team", "eng-", "s", "x-4", "ops des", "nothing", "-"]
    for query in queries:
        for limit in (1, 5, 100, 1000):
            assert index.search(query, limit) == [g.id for g in rank_groups(groups, query, limit)], (query, limit)


def test_a_renamed_group_is_found_by_its_new_handle(fake: FakeSlack, directory: SlackDirectory) -> None:
    assert [g.id for g in directory.search_groups("desi")] == [DESIGN]
    directory.put_group({"id": DESIGN, "handle": "studio", "name": "Studio", "date_update": V0 + 1, "users": [BOB]})
    assert directory.search_groups("desi") == []
    assert [g.members for g in directory.search_groups("stu")] == [(BOB,)]
    directory.apply_member_change(DESIGN, [CAT], [], previous=V0 + 1, current=V0 + 2)
    assert [g.members for g in directory.search_groups("stu")] == [(BOB, CAT)]  # members: always the current ones


def test_a_command_line_directory_waits_for_its_first_load(fake: FakeSlack) -> None:
    """The CLI (licensebot sync, assignments import/export) has no request to keep answering: it waits."""
    directory = SlackDirectory(make_client("xoxb-test-token", fake.url), read_wait=10)
    fake.delay_next("users.list", 0.5)
    assert directory.user_by_name("bob").id == BOB
    assert calls(fake, "users.list") == 1
