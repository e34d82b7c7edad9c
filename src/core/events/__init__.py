"""Provisioning events: the models (one per detail-type), the rules that turn DynamoDB stream
records into events, and the ordered, retried publishing of a batch. Pure: no AWS client and no
environment here; `handlers.events` supplies both."""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.events.models import (
        BY_DETAIL_TYPE,
        EVENT_TYPES,
        EventDetail,
        ProvisioningEvent,
        json_schemas,
        parse_detail,
    )
    from core.events.publisher import Delivery, Destination, EventSink, deliver, put_events_entry
    from core.events.rules import events_for_record

# Loaded on first use (PEP 562): the feed's readers import `core.events.journal` without paying
# for every event model (~0.4 s of a cold start, bench/coldstart.py).
_HOME = {
    "BY_DETAIL_TYPE": "models",
    "EVENT_TYPES": "models",
    "EventDetail": "models",
    "ProvisioningEvent": "models",
    "json_schemas": "models",
    "parse_detail": "models",
    "Delivery": "publisher",
    "Destination": "publisher",
    "EventSink": "publisher",
    "deliver": "publisher",
    "put_events_entry": "publisher",
    "events_for_record": "rules",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"core.events.{home}"), name)


__all__ = [
    "BY_DETAIL_TYPE",
    "EVENT_TYPES",
    "Delivery",
    "Destination",
    "EventDetail",
    "EventSink",
    "ProvisioningEvent",
    "deliver",
    "events_for_record",
    "json_schemas",
    "parse_detail",
    "put_events_entry",
]
