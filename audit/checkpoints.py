"""Signed checkpoints of the audit chain (issue 26): where the last `verify_audit` ended.

signature = HMAC-SHA256(audit key named by key_id, "audit checkpoint:<event id>:<event hash>").
A checkpoint whose signature does not match, or whose key is not configured, is refused: the
walk starts from an older valid one (or from the beginning) and `verify_audit` exits 1."""

import hashlib
import hmac

from django.db import transaction

from audit.models import AuditCheckpoint
from audit.services import current_key_id, signing_keys


def checkpoint_signature(*, event_id: int, event_hash: str, key: str) -> str:
    message = f"audit checkpoint:{event_id}:{event_hash}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def checkpoint_is_valid(checkpoint: AuditCheckpoint) -> bool:
    key = signing_keys().get(checkpoint.key_id)
    if key is None:
        return False
    expected = checkpoint_signature(
        event_id=checkpoint.event_id, event_hash=checkpoint.event_hash, key=key
    )
    return hmac.compare_digest(expected, checkpoint.signature)


def audit_checkpoint_create(*, event_id: int, event_hash: str, rows_verified: int):
    key_id = current_key_id()
    signature = checkpoint_signature(
        event_id=event_id, event_hash=event_hash, key=signing_keys()[key_id]
    )
    with transaction.atomic():
        return AuditCheckpoint.objects.create(
            event_id=event_id,
            event_hash=event_hash,
            key_id=key_id,
            signature=signature,
            rows_verified=rows_verified,
        )


def newest_checkpoints(limit: int = 20):
    """The newest checkpoints, newest first (a walk uses the first valid one)."""
    return list(AuditCheckpoint.objects.order_by("-event_id", "-id")[:limit])
