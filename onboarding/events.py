"""The payload every domain signal carries, so one audit receiver can record any of them."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
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


# A bulk operation (a rollout's wave: one event per tenant, a thousand at a time) would otherwise
# pay each receiver's own round trips once per event. Receivers able to write many events
# together (the audit trail, the webhook outbox) hand their work to `defer` while a
# `batched_writes` block is open; the block writes it, in order, when it ends, still inside the
# caller's transaction. Any other receiver runs at once, as always.
_batch: ContextVar[dict[str, tuple[Callable[[list], None], list]] | None] = ContextVar(
    "domain_event_batch", default=None
)


@contextmanager
def batched_writes() -> Iterator[None]:
    if _batch.get() is not None:
        yield  # an enclosing block writes everything when it ends
        return
    buffers: dict[str, tuple[Callable[[list], None], list]] = {}
    token = _batch.set(buffers)
    try:
        yield
    finally:
        _batch.reset(token)
    # Not reached when the block raised: the caller's transaction rolls back, nothing to write.
    for write, items in buffers.values():
        write(items)


def defer(key: str, write: Callable[[list], None], item: Any) -> bool:
    """Inside `batched_writes`: queue `item` for `write(items)` at the end of the block and
    answer True. Outside: answer False (the caller writes at once)."""
    buffers = _batch.get()
    if buffers is None:
        return False
    buffers.setdefault(key, (write, []))[1].append(item)
    return True
