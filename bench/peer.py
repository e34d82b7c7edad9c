"""The peer: scim2-server (in-memory storage, default schemas) driven in process through WSGI.

It gets the same users and the same requests as our handlers (`bench.operations`, the operations
marked ``peer``), and its CPU per request is measured the same way (thread time around the call;
it makes no AWS calls, so nothing is excluded). Users are created through its API.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode
from wsgiref.util import setup_testing_defaults

from scim2_server.applications.wsgi import WSGIApplication
from scim2_server.memory import InMemoryStorage
from scim2_server.utils import load_default_provider

from bench.operations import PAGE, PATCH_OP
from bench.seed import user_document, user_name


class Peer:
    def __init__(self, users: int) -> None:
        self.app = WSGIApplication(InMemoryStorage(), load_default_provider())
        self.ids = [
            self.call("POST", "/Users", user_document(user_name(i), i))[1]["id"] for i in range(users)
        ]

    def call(
        self, method: str, path: str, body: Any = None, query: dict[str, str] | None = None
    ) -> tuple[int, Any, float]:
        data = json.dumps(body).encode() if body is not None else b""
        environ: dict[str, Any] = {}
        setup_testing_defaults(environ)
        environ.update(
            REQUEST_METHOD=method,
            PATH_INFO="/v2" + path,
            QUERY_STRING=urlencode(query or {}),
            CONTENT_TYPE="application/scim+json",
            CONTENT_LENGTH=str(len(data)),
        )
        environ["wsgi.input"] = io.BytesIO(data)
        statuses: list[str] = []

        def start_response(status: str, _headers: Any, _exc_info: Any = None) -> Any:
            statuses.append(status)

        start = time.thread_time()
        raw = b"".join(self.app(environ, start_response))
        cpu = time.thread_time() - start
        return int(statuses[0].split()[0]), json.loads(raw) if raw else None, cpu


PeerOperation = Callable[[Peer, int, int], tuple[int, Any, float]]


def _member(peer: Peer, i: int) -> int:
    return (i * 7919) % len(peer.ids)


def _patch(op: dict[str, Any], offset: int) -> PeerOperation:
    def run(p: Peer, i: int, size: int) -> tuple[int, Any, float]:
        body = {"schemas": [PATCH_OP], "Operations": [op | ({"value": f"Given{i}"} if "path" in op else {})]}
        return p.call("PATCH", f"/Users/{p.ids[_member(p, i + offset)]}", body)

    return run


def _put(p: Peer, i: int, size: int) -> tuple[int, Any, float]:
    k = _member(p, i + 1000)
    return p.call("PUT", f"/Users/{p.ids[k]}", user_document(user_name(k), k, displayName=f"Renamed {k}"))


# The same requests as bench.operations sends to our handlers, by operation name.
PEER_OPERATIONS: dict[str, PeerOperation] = {
    "create user": lambda p, i, size: p.call(
        "POST", "/Users", user_document(f"new{i:05d}-{size}@example.com", 900_000 + i, externalId=f"new-{i}")
    ),
    "get user": lambda p, i, size: p.call("GET", f"/Users/{p.ids[_member(p, i)]}"),
    "userName eq": lambda p, i, size: p.call(
        "GET", "/Users", query={"filter": f'userName eq "{user_name(_member(p, i))}"'}
    ),
    "userName eq, no match": lambda p, i, size: p.call(
        "GET", "/Users", query={"filter": f'userName eq "nobody{i}@example.com"'}
    ),
    "PUT user": _put,
    "PATCH replace": _patch({"op": "replace", "path": "name.givenName"}, 2000),
    "PATCH active false": _patch({"op": "replace", "value": {"active": False}}, 3000),
    "list page of 100": lambda p, i, size: p.call(
        "GET", "/Users", query={"startIndex": "1", "count": str(PAGE)}
    ),
}
