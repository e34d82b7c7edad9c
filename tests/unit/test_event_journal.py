"""The event journal (core.events.journal) against moto: order, no gaps, no duplicates, cursors."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from core.errors import BadRequest
from core.events.journal import (
    EVENTS_PER_TRANSACTION,
    SETTLE_SECONDS,
    CursorExpired,
    FeedPage,
    InvalidFeedCursor,
    Journal,
    TypeFilter,
    events_pk,
)
from core.events.models import EventDetail, GroupMemberAdded, GroupRef, MemberRef
from tests.conftest import TABLE_NAME


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def journal(aws: None, clock: Clock) -> Journal:
    return Journal(boto3.client("dynamodb"), TABLE_NAME, 30, now=clock, sleep=lambda _: None)


def event(tenant: str, n: int) -> EventDetail:
    key = hashlib.sha256(f"{tenant}/{n}".encode()).hexdigest()
    base = f"https://api.example.com/v1/scim/v2/{tenant}"
    return GroupMemberAdded(
        idempotency_key=key,
        tenant_id=tenant,
        resource_id="g1",
        occurred_at="2026-12-02T06:00:00Z",
        request_id=f"r{n}",
        token_id="t1",
        changed_attributes=["members"],
        group=GroupRef(value="g1", ref=f"{base}/Groups/g1"),
        member=MemberRef(value=f"u{n}", type="User", ref=f"{base}/Users/u{n}"),
    )


def follow(
    journal: Journal, tenant: str | None, limit: int = 1, after: str | None = None
) -> Iterator[FeedPage]:
    """Every page from `after` until an empty one."""
    while True:
        page = (
            journal.stack_page(after=after, limit=limit)
            if tenant is None
            else journal.tenant_page(tenant, after=after, limit=limit)
        )
        yield page
        if not page.data:
            return
        after = page.next_cursor


def ids(pages: Iterator[FeedPage]) -> list[str]:
    return [e.id for page in pages for e in page.data]


def test_events_come_back_in_order_numbered_from_one_across_pages_of_one(journal: Journal) -> None:
    batch = [event("acme", n) for n in range(5)]
    journal.append(batch)

    pages = list(follow(journal, "acme"))

    assert [e.sequence for p in pages for e in p.data] == [1, 2, 3, 4, 5]
    assert [e.id for p in pages for e in p.data] == [e.idempotency_key for e in batch]
    first = pages[0].data[0]
    assert first.type == "scim.group.member_added"
    assert first.data["member"]["value"] == "u0"
    assert first.to_json().keys() == {"id", "sequence", "type", "time", "tenant_id", "data"}


def test_a_second_reader_from_the_start_sees_the_same_sequence(journal: Journal) -> None:
    journal.append([event("acme", n) for n in range(7)])

    assert ids(follow(journal, "acme", limit=1)) == ids(follow(journal, "acme", limit=3))


def test_a_retried_batch_journals_nothing_twice(journal: Journal) -> None:
    batch = [event("acme", n) for n in range(4)]
    journal.append(batch[:2])

    again = journal.append(batch)  # Lambda retries the batch: the first two are already there

    assert (again.journaled, again.skipped) == (2, 2)
    assert ids(follow(journal, "acme", limit=10)) == [e.idempotency_key for e in batch]


def test_tenants_have_their_own_sequences_and_the_stack_feed_has_all(journal: Journal) -> None:
    journal.append([event("acme", 0), event("beta", 0), event("acme", 1)])

    acme = [e.sequence for p in follow(journal, "acme", 10) for e in p.data]
    beta = [e.sequence for p in follow(journal, "beta", 10) for e in p.data]
    stack = [(e.tenant_id, e.sequence, e.stack_sequence) for p in follow(journal, None) for e in p.data]

    assert acme == [1, 2]
    assert beta == [1]
    assert stack == [("acme", 1, 1), ("beta", 1, 2), ("acme", 2, 3)]


def test_a_large_batch_spans_transactions_without_a_gap(journal: Journal) -> None:
    batch = [event("acme", n) for n in range(EVENTS_PER_TRANSACTION * 2 + 5)]

    appended = journal.append(batch)

    assert appended.transactions == 3
    assert [e.sequence for p in follow(journal, "acme", 200) for e in p.data] == list(
        range(1, len(batch) + 1)
    )


def test_a_batch_of_many_tenants_fits_each_transaction_with_their_counters(journal: Journal) -> None:
    batch = [event(f"t{n % 20}", n) for n in range(100)]  # a stream batch of 20 tenants' changes

    appended = journal.append(batch)

    assert appended.journaled == 100
    for tenant in {e.tenant_id for e in batch}:
        assert [e.sequence for p in follow(journal, tenant, 200) for e in p.data] == [1, 2, 3, 4, 5]
    assert [e.stack_sequence for p in follow(journal, None, 200) for e in p.data] == list(range(1, 101))


def test_a_batch_that_loses_the_race_for_the_numbers_takes_the_next_ones(
    journal: Journal, clock: Clock
) -> None:
    """Two batches (two shards) read the counters at the same time; the second to write re-reads."""
    other = Journal(boto3.client("dynamodb"), TABLE_NAME, 30, now=clock)
    original = journal._read_state
    raced = False

    def read_then_other_batch_commits(events: Any) -> Any:
        nonlocal raced
        state = original(events)
        if not raced:
            raced = True
            other.append([event("acme", 100), event("acme", 101)])
        return state

    journal._read_state = read_then_other_batch_commits  # type: ignore[method-assign]
    appended = journal.append([event("acme", n) for n in range(3)])

    assert appended.conflicts == 1
    events = [e for p in follow(journal, "acme", 200) for e in p.data]
    assert [e.sequence for e in events] == [1, 2, 3, 4, 5]
    assert [e.data["member"]["value"] for e in events] == ["u100", "u101", "u0", "u1", "u2"]
    assert [e.stack_sequence for p in follow(journal, None, 200) for e in p.data] == [1, 2, 3, 4, 5]


def remove(tenant: str, sequence: int) -> None:
    boto3.client("dynamodb").delete_item(
        TableName=TABLE_NAME, Key={"PK": {"S": events_pk(tenant)}, "SK": {"S": f"{sequence:015d}"}}
    )


def test_a_reader_stops_before_a_recent_gap_and_steps_over_an_old_one(journal: Journal, clock: Clock) -> None:
    journal.append([event("acme", n) for n in range(4)])
    remove("acme", 3)  # as if event 3 were not visible yet

    first = journal.tenant_page("acme", after=None, limit=10)
    assert [e.sequence for e in first.data] == [1, 2]
    assert journal.tenant_page("acme", after=first.next_cursor, limit=10).data == []

    clock.now += SETTLE_SECONDS + 1  # now the gap is old: TTL removed event 3, it is not coming
    assert [e.sequence for e in journal.tenant_page("acme", after=first.next_cursor, limit=10).data] == [4]


def test_a_cursor_older_than_the_retention_is_gone(journal: Journal, clock: Clock) -> None:
    journal.append([event("acme", 0)])
    cursor = journal.tenant_page("acme", after=None, limit=1).next_cursor

    clock.now += 29 * 86_400
    journal.tenant_page("acme", after=cursor, limit=1)  # still within the retention
    clock.now += 86_400
    with pytest.raises(CursorExpired) as raised:
        journal.tenant_page("acme", after=cursor, limit=1)
    assert raised.value.status == 410


def test_a_consumer_that_keeps_polling_a_quiet_feed_keeps_a_live_cursor(
    journal: Journal, clock: Clock
) -> None:
    journal.append([event("acme", 0)])
    cursor = journal.tenant_page("acme", after=None, limit=10).next_cursor  # reached the end

    for _ in range(3):  # nothing new for 60 days, polled every 20
        clock.now += 20 * 86_400
        page = journal.tenant_page("acme", after=cursor, limit=10)
        assert page.data == []
        cursor = page.next_cursor

    journal.append([event("acme", 1)])
    assert [e.sequence for e in journal.tenant_page("acme", after=cursor, limit=10).data] == [2]


def test_cursors_are_signed_and_bound_to_their_feed(journal: Journal) -> None:
    journal.append([event("acme", 0), event("beta", 0)])
    acme = journal.tenant_page("acme", after=None, limit=1).next_cursor

    with pytest.raises(InvalidFeedCursor):
        journal.tenant_page("beta", after=acme, limit=1)
    with pytest.raises(InvalidFeedCursor):
        journal.stack_page(after=acme, limit=1)
    # An edited character in the middle (the last base64 character may carry unused bits, so an
    # edit there can decode to the same bytes): always a different signed payload.
    middle = len(acme) // 2
    edited = acme[:middle] + ("B" if acme[middle] == "A" else "A") + acme[middle + 1 :]
    with pytest.raises(InvalidFeedCursor):
        journal.tenant_page("acme", after=edited, limit=1)


def test_an_empty_feed_gives_a_cursor_that_later_finds_the_first_event(journal: Journal) -> None:
    empty = journal.tenant_page("acme", after=None, limit=5)
    assert empty.data == []

    journal.append([event("acme", 0)])

    assert [e.sequence for e in journal.tenant_page("acme", after=empty.next_cursor, limit=5).data] == [1]


def test_types_filter_with_wildcards() -> None:
    types = TypeFilter.parse("scim.user.*, scim.group.member_added")

    assert types.matches("scim.user.created")
    assert types.matches("scim.group.member_added")
    assert not types.matches("scim.group.created")
    assert TypeFilter.parse("").matches("anything")
    with pytest.raises(BadRequest):
        TypeFilter.parse("scim.user.<script>")


def test_a_filtered_page_skips_other_types_and_its_cursor_moves_past_them(journal: Journal) -> None:
    journal.append([event("acme", n) for n in range(3)])

    page = journal.tenant_page("acme", after=None, limit=10, types=TypeFilter.parse("scim.user.*"))

    assert page.data == []
    journal.append([event("acme", 9)])
    rest = journal.tenant_page("acme", after=page.next_cursor, limit=10)
    assert [e.sequence for e in rest.data] == [4]


@pytest.mark.parametrize("limit", [0, 201])
def test_limit_is_bounded(journal: Journal, limit: int) -> None:
    with pytest.raises(BadRequest):
        journal.tenant_page("acme", after=None, limit=limit)
