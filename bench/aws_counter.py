"""Count DynamoDB requests and items read through botocore's events (moto reports no real capacity)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class DynamoCounter:
    calls: Counter[str] = field(default_factory=Counter)
    items_read: int = 0

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-call.dynamodb.*", self._before)
        client.meta.events.register("after-call.dynamodb.*", self._after)

    def reset(self) -> None:
        self.calls.clear()
        self.items_read = 0

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def _before(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def _after(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        if "Items" in parsed:
            self.items_read += len(parsed["Items"])
        elif "Item" in parsed:
            self.items_read += 1
        elif "Responses" in parsed and model.name == "BatchGetItem":
            self.items_read += sum(len(v) for v in parsed["Responses"].values())
