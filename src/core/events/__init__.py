"""Provisioning events: the models (one per detail-type), the rules that turn DynamoDB stream
records into events, and the ordered, retried publishing of a batch. Pure: no AWS client and no
environment here; `handlers.events` supplies both."""

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
