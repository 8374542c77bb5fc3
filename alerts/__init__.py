"""alerts room: digests built from the warehouse, rendered safely, delivered once through apprise."""
from __future__ import annotations

from alerts.build import build_digest, digest_id
from alerts.destinations import Destination, parse_destination, parse_destinations
from alerts.dispatch import DigestRun, DigestSettings, PlannedDelivery, deliver, plan_deliveries, preview_digest, send_digests
from alerts.errors import AlertsError, DestinationError, SinceError, UnknownFormat
from alerts.ledger import Delivery, destination_history, record_deliveries
from alerts.model import Copy, Digest, DigestCounts, FailingSource, Story, StoryItem
from alerts.render import FORMATS, JSON_SCHEMA, digest_document, render, subject
from alerts.since import parse_since

__all__ = [
    "FORMATS", "JSON_SCHEMA", "AlertsError", "Copy", "Delivery", "Destination", "DestinationError", "Digest",
    "DigestCounts", "DigestRun", "DigestSettings", "FailingSource", "PlannedDelivery", "SinceError", "Story",
    "StoryItem", "UnknownFormat", "build_digest", "deliver", "destination_history", "digest_document", "digest_id",
    "parse_destination", "parse_destinations", "parse_since", "plan_deliveries", "preview_digest",
    "record_deliveries", "render", "send_digests", "subject",
]
