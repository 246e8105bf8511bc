"""The payload every domain signal carries, so one audit receiver can record any of them."""

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DomainEvent:
    action: str  # e.g. "tenant.created" (DESIGN §10)
    actor: str  # the acting username
    summary: str  # one human line
    tenant_id: str | None = None
    object_type: str = ""
    object_id: str = ""
    domain: str = ""
    version: str = ""
    checksum: str = ""
    details: dict[str, Any] = field(default_factory=dict)


def send_event(signal, sender, event: DomainEvent) -> None:
    """Send inside the caller's transaction; receivers write in that same transaction."""
    signal.send(sender=sender, event=event)
