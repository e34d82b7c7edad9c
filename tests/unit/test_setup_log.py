"""The setup page's provisioning log at a real tenant's size (issue 17, docs/setup-page.md).

Given a tenant whose audit trail holds thousands of records, when its IT admin reads the log from
a setup session, page after page, then: each page is one Query (newest first, bounded to the last
30 days by its key condition), errors-only examines at most 1,000 records per page and still finds
an error among the oldest by following cursors, and a cursor is honoured only for the session's own
tenant: another tenant's or a malformed one is a 400, never data.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from core.audit import AuditRecord
from core.setup_desk import LOG_PAGE
from core.store.audit_table import ERRORS_EXAMINED, AuditTable
from handlers import aws_clients
from scimctl.admin import Admin
from tests.conftest import TABLE_NAME
from tests.unit import management_calls
from tests.unit.setup_calls import Answer, call, redeem

RECORDS = 2_400
FAR_FUTURE_TTL = 4_102_444_800


@pytest.fixture
def tenants(admin: Admin) -> tuple[str, str]:
    admin.create_tenant("acme", "Acme")
    admin.create_tenant("globex", "Globex")
    return "acme", "globex"


@dataclass
class AuditCalls:
    """The audit client's DynamoDB calls (the log reads through it) and each Query's ScannedCount."""

    names: list[str] = field(default_factory=list)
    scanned: list[int] = field(default_factory=list)

    def clear(self) -> None:
        self.names.clear()
        self.scanned.clear()


@pytest.fixture
def audit_calls(aws: None) -> AuditCalls:
    calls = AuditCalls()
    client = aws_clients.audit_dynamodb()
    client.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.names.append(model.name))
    client.meta.events.register(
        "after-call.dynamodb.Query", lambda parsed, **_: calls.scanned.append(parsed["ScannedCount"])
    )
    return calls


def session_for(tenant: str) -> str:
    made = management_calls.call("POST", f"/tenants/{tenant}/setup-links", {})
    assert made.status == 201, made.text
    opened = redeem(made.body["url"])
    assert opened.status == 201, opened.text
    assert opened.cookie is not None
    return opened.cookie


def at(ago: timedelta) -> str:
    return (datetime.now(UTC) - ago).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def record(tenant: str, n: int, ago: timedelta, status: int = 201, **extra: Any) -> AuditRecord:
    return AuditRecord(
        tenant_id=tenant,
        at=at(ago),
        request_id=f"r{n:05d}",
        token_id=f"{tenant}.0123456789abcdef",
        method="POST",
        resource_type="User",
        resource_id=f"u{n}",
        status=status,
        **extra,
    )


def put(records: list[AuditRecord]) -> None:
    AuditTable(boto3.client("dynamodb"), TABLE_NAME).put(records, FAR_FUTURE_TTL)


def big_trail(tenant: str, error_at: int) -> None:
    """RECORDS successes, one a second back from an hour ago, the `error_at`-th oldest a 409; and
    an error 31 days old, outside the log's window."""
    put(
        [
            record(
                tenant,
                n,
                timedelta(hours=1, seconds=RECORDS - n),
                status=409 if n == error_at else 201,
                scim_type="uniqueness" if n == error_at else None,
                detail="userName is taken" if n == error_at else None,
            )
            for n in range(RECORDS)
        ]
        + [record(tenant, RECORDS, timedelta(days=31), status=400, scim_type="invalidValue")]
    )


def read_log(cookie: str, *, errors: bool, cursor: str | None = None) -> Answer:
    query = ({"errors": "1"} if errors else {}) | ({"cursor": cursor} if cursor is not None else {})
    return call("GET", "/setup/api/log", cookie=cookie, query=query or None)


def follow(cookie: str, audit_calls: AuditCalls, *, errors: bool) -> list[dict[str, Any]]:
    """Every page, by cursor: each one Query of at most ERRORS_EXAMINED (or LOG_PAGE) items."""
    pages: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        audit_calls.clear()
        answer = read_log(cookie, errors=errors, cursor=cursor)
        assert answer.status == 200, answer.text
        assert audit_calls.names == ["Query"], audit_calls.names
        examined = ERRORS_EXAMINED if errors else LOG_PAGE
        assert audit_calls.scanned[0] <= examined
        assert answer.body["examined"] == audit_calls.scanned[0]
        assert answer.body["examined_limit"] == examined
        assert answer.body["window_days"] == 30
        assert len(answer.body["data"]) <= LOG_PAGE
        pages.append(answer.body)
        cursor = answer.body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 100, "the cursor never ends"


def test_errors_only_finds_an_error_among_the_oldest_by_following_cursors(
    tenants: tuple[str, str], audit_calls: AuditCalls, dynamodb_calls: list[str]
) -> None:
    big_trail("acme", error_at=2)
    cookie = session_for("acme")
    first = read_log(cookie, errors=True)
    # The newest 1,000 records hold no error: an empty page that says to go on.
    assert (first.body["data"], first.body["examined"]) == ([], ERRORS_EXAMINED)
    assert first.body["next_cursor"] is not None
    dynamodb_calls.clear()
    pages = follow(cookie, audit_calls, errors=True)
    # 2,402 records in the window (the trail and this session's link), 1,000 a page at most.
    assert [p["examined"] for p in pages] == [1_000, 1_000, 402]
    found = [row for p in pages for row in p["data"]]
    assert [(r["resource_id"], r["status"], r["scim_type"], r["outcome"]) for r in found] == [
        ("u2", 409, "uniqueness", "failure")
    ]
    # The table's own calls stay the session's and the tenant's GetItems, page after page.
    assert dynamodb_calls == ["GetItem", "GetItem"] * len(pages)


def test_the_whole_log_pages_by_fifty_newest_first_within_30_days(
    tenants: tuple[str, str], audit_calls: AuditCalls
) -> None:
    big_trail("acme", error_at=2)
    cookie = session_for("acme")
    pages = follow(cookie, audit_calls, errors=False)
    rows = [row for p in pages for row in p["data"]]
    assert len(rows) == RECORDS + 2  # the 31-day-old error is outside the window; + the link's two
    assert [len(p["data"]) for p in pages[:-1]] == [LOG_PAGE] * (len(pages) - 1)
    times = [r["at"] for r in rows]
    assert times == sorted(times, reverse=True)
    assert len({(r["at"], r["resource_id"]) for r in rows}) == len(rows)  # no row twice
    assert rows[-1]["resource_id"] == "u0"
    assert "invalidValue" not in json.dumps(rows)


def test_an_errors_page_with_more_than_fifty_matches_goes_on_after_the_last_it_shows(
    tenants: tuple[str, str], audit_calls: AuditCalls
) -> None:
    # 300 records, every other one a failure: 150 errors within the first 1,000 examined.
    put([record("acme", n, timedelta(seconds=300 - n), status=201 if n % 2 else 400) for n in range(300)])
    cookie = session_for("acme")
    pages = follow(cookie, audit_calls, errors=True)
    assert [len(p["data"]) for p in pages] == [50, 50, 50]
    ids = [row["resource_id"] for p in pages for row in p["data"]]
    assert ids == [f"u{n}" for n in range(298, -1, -2)]  # every error once, newest first


# -- the cursor: the session's tenant only --------------------------------------------------------
def forge(key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def test_a_cursor_of_another_tenant_is_refused_and_shows_nothing_of_it(tenants: tuple[str, str]) -> None:
    put([record("globex", n, timedelta(minutes=n + 1)) for n in range(LOG_PAGE + 5)])
    put([record("acme", n, timedelta(minutes=n + 1)) for n in range(LOG_PAGE + 5)])
    globex, acme = session_for("globex"), session_for("acme")
    theirs = read_log(globex, errors=False).body["next_cursor"]
    assert theirs is not None
    ours = read_log(acme, errors=False).body["next_cursor"]
    assert read_log(acme, errors=False, cursor=ours).status == 200
    sort_key = json.loads(base64.urlsafe_b64decode(ours + "=" * (-len(ours) % 4)))["SK"]
    forged = (forge({"PK": "T#globex#AUDIT", "SK": sort_key}), forge({"PK": "T#globex", "SK": "~"}))
    for cursor in (theirs, *forged):
        for errors in (False, True):
            answer = read_log(acme, errors=errors, cursor=cursor)
            assert answer.status == 400, answer.text
            assert answer.headers["Content-Type"] == "application/problem+json"
            assert "cursor" in answer.body["detail"]
            assert "globex" not in answer.text


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not a cursor!",
        "A" * 2_000,
        "bm90IGpzb24",  # "not json"
        "_-8",  # bytes that are not UTF-8
        forge(["T#acme#AUDIT", "x"]),
        forge({"PK": "T#acme#AUDIT"}),
        forge({"PK": "T#acme#AUDIT", "SK": 5}),
        forge({"PK": "T#acme#AUDIT", "SK": ""}),
        forge({"PK": "T#acme#AUDIT", "SK": "x" * 600}),
        forge({"PK": "T#acme#AUDIT", "SK": "x", "IndexName": "GSI1"}),
        forge({"PK": "T#acme", "SK": "TOKEN#"}),  # the tenant's own other items: not the log's
    ],
)
def test_a_malformed_cursor_is_a_clear_400(tenants: tuple[str, str], cursor: str) -> None:
    answer = read_log(session_for("acme"), errors=False, cursor=cursor)
    assert answer.status == 400, answer.text
    assert answer.body["detail"] == "cursor: not a cursor of this provisioning log (reload the page)"


def test_a_cursor_older_than_the_window_ends_the_log_without_a_read(
    tenants: tuple[str, str], audit_calls: AuditCalls
) -> None:
    put([record("acme", n, timedelta(days=31, minutes=n)) for n in range(3)])
    cookie = session_for("acme")
    audit_calls.clear()
    stale = forge({"PK": "T#acme#AUDIT", "SK": at(timedelta(days=30, minutes=1))})
    answer = read_log(cookie, errors=False, cursor=stale)
    assert answer.status == 200, answer.text
    assert (answer.body["data"], answer.body["next_cursor"]) == ([], None)
    assert audit_calls.names == []
