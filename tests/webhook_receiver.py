"""A real HTTP webhook receiver on loopback for the tests: it verifies every delivery's signature
with the `standardwebhooks` library (what a consumer runs) and answers from a script of statuses."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    payload: Any = None
    answered: int = 0


@dataclass
class Receiver:
    secret: str
    statuses: list[int] = field(default_factory=list)  # answered in turn, then 200 for ever
    deliveries: list[Delivery] = field(default_factory=list)
    url: str = ""
    received: threading.Condition = field(default_factory=threading.Condition)
    gate: threading.Event = field(default_factory=threading.Event)  # cleared: answers wait
    first_event_only: bool = False  # `statuses` answer the first event's attempts only

    def __post_init__(self) -> None:
        self.gate.set()

    def record(self, path: str, headers: dict[str, str], body: bytes) -> int:
        self.gate.wait(30)
        try:
            payload = Webhook(self.secret).verify(body, headers)
            verified = True
        except WebhookVerificationError:
            payload, verified = None, False
        with self.received:
            ids = [d.headers.get("webhook-id") for d in self.deliveries[:1]]
            scripted = not self.first_event_only or ids in ([], [headers.get("webhook-id")])
            status = self.statuses.pop(0) if self.statuses and scripted else 200
            self.deliveries.append(Delivery(path, headers, body, verified, payload, status))
            self.received.notify_all()
        return status

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Delivery]:
        with self.received:
            self.received.wait_for(lambda: len(self.deliveries) >= count, timeout)
            return list(self.deliveries)


@contextmanager
def webhook_receiver(
    secret: str, statuses: list[int] | None = None, *, first_event_only: bool = False
) -> Iterator[Receiver]:
    receiver = Receiver(secret, list(statuses or []), first_event_only=first_event_only)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = receiver.record(self.path, dict(self.headers.items()), body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_port}/hooks/scim"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
