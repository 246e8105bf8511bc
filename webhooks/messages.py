"""The bytes a webhook sends and their signature (DESIGN §14): `{id, type, occurred_at,
tenant_id, data}`, signed per the Standard Webhooks specification."""

import json
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

from webhooks.models import WebhookEvent


def event_body(outbox: WebhookEvent) -> bytes:
    """The exact bytes sent (and signed): `{id, type, occurred_at, tenant_id, data}`."""
    payload = {
        "id": outbox.id,
        "type": outbox.type,
        "occurred_at": outbox.occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "tenant_id": outbox.tenant_id,
        "data": outbox.data,
    }
    # ASCII only: any character (a lone surrogate in a user's comment included) travels escaped.
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("ascii")


def signature_headers(secret: str, message_id: str, body: bytes, at: datetime) -> dict[str, str]:
    """Standard Webhooks headers, signed by the `standardwebhooks` library."""
    at = at.astimezone(UTC).replace(microsecond=0)
    signature = Webhook(secret).sign(message_id, at, body.decode("utf-8"))
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }
