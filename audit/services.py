"""Appending to the hash chain. The only writer of `audit_events`.

hash = HMAC-SHA256(AUDIT_HMAC_KEY, prev_hash + canonical JSON of the row without `id` and
`hash`, `key_id` included). `key_id` names the key (a digest of it, never the key), so that rows
signed before a key rotation verify with the old key (AUDIT_HMAC_OLD_KEYS). Rows written before
the chain was keyed have an empty `key_id` and a plain SHA-256 hash; the keyed row that follows
them (`audit.chain_keyed`, audit migration 0004) seals them.

The chain head is read and the row inserted under one lock per database, held until the
surrounding transaction ends, so two writers can never both extend the same head."""

import functools
import hashlib
import hmac
import json
import math
from contextlib import nullcontext
from datetime import UTC, datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, connections, transaction
from django.utils import timezone

from audit.models import GENESIS_HASH, AuditEvent
from onboarding.events import DomainEvent, defer
from onboarding.redaction import redact, redact_text
from onboarding.request_context import current_request_id, current_via
from packs.canonical import canonical_json

# pg_advisory_xact_lock key of the chain head (any constant no other lock in the project uses).
CHAIN_LOCK_KEY = 0x41554449  # "AUDI"

HASHED_FIELDS = (
    "occurred_at",
    "actor",
    "action",
    "tenant_id",
    "object_type",
    "object_id",
    "domain",
    "version",
    "checksum",
    "summary",
    "details",
    "request_id",
    "prev_hash",
)
_INT64 = 2**63
CHAIN_KEYED_ACTION = "audit.chain_keyed"


class UnknownAuditKey(LookupError):
    pass


def key_id_of(key: str) -> str:
    """A public name for a key: 16 hex digits of an HMAC of a constant, which tells nothing about
    the key itself."""
    return hmac.new(key.encode(), b"audit chain key id", hashlib.sha256).hexdigest()[:16]


def signing_keys() -> dict[str, str]:
    """key id -> key: the current key first, then the old ones still trusted for verification."""
    from django.conf import settings

    return _keys_by_id(settings.AUDIT_HMAC_KEY, tuple(settings.AUDIT_HMAC_OLD_KEYS))


@functools.lru_cache(maxsize=8)
def _keys_by_id(current: str, old: tuple[str, ...]) -> dict[str, str]:
    return {key_id_of(key): key for key in (current, *old)}


def current_key_id() -> str:
    return next(iter(signing_keys()))


class ChainHasher:
    """Computes row hashes. HMAC-SHA256 (RFC 2104) from SHA-256 states that have absorbed each
    key's inner and outer pads once: a row costs two state copies, not a key set-up."""

    def __init__(self, keys: dict[str, str] | None = None):
        keys = signing_keys() if keys is None else keys
        self._pads = {key_id: _hmac_pads(key.encode()) for key_id, key in keys.items()}

    def hash(self, row: Any) -> str:
        return self.hash_content(row_content(row), getattr(row, "key_id", "") or "")

    def hash_content(self, content: dict[str, Any], key_id: str) -> str:
        """The hash of a row given as `row_content` (HASHED_FIELDS, `occurred_at` in ISO 8601).
        `content` gains `key_id` when the row is keyed."""
        if key_id:
            content["key_id"] = key_id
        return self.hash_canonical(content["prev_hash"], canonical_json(content), key_id)

    def hash_canonical(self, prev_hash: str, data: bytes, key_id: str) -> str:
        """The hash of a row whose content (with `key_id` when keyed) is the canonical `data`."""
        if not key_id:
            return hashlib.sha256(prev_hash.encode("ascii") + data).hexdigest()
        pads = self._pads.get(key_id)
        if pads is None:
            raise UnknownAuditKey(key_id)
        inner, outer = pads[0].copy(), pads[1].copy()
        inner.update(prev_hash.encode("ascii"))
        inner.update(data)
        outer.update(inner.digest())
        return outer.hexdigest()


def _hmac_pads(key: bytes) -> tuple[Any, Any]:
    """SHA-256 states after HMAC's key XOR ipad and key XOR opad blocks (RFC 2104, block 64)."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in key))
    outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in key))
    return inner, outer


def audit_append(event: DomainEvent, *, request_id: str | None = None) -> AuditEvent | None:
    """Write one row for `event` inside the caller's transaction (a change and its audit row
    commit or roll back together). Inside `batched_writes` the row is written, with the rest of
    the batch, when the block ends (and None is returned)."""
    if not isinstance(event, DomainEvent):
        raise TypeError(f"audit needs a DomainEvent, got {type(event).__name__}")
    # A credential (a receiver's token in a webhook URL, ...) never reaches the append-only
    # trail, whoever reads it later (onboarding.redaction).
    details = dict(event.details or {})
    via = current_via()
    if via and "via" not in details:
        details["via"] = via  # a management command's change (identity.commands)
    row = AuditEvent(
        actor=event.actor or "",
        action=event.action,
        tenant_id=event.tenant_id or None,
        object_type=event.object_type or "",
        object_id=str(event.object_id or ""),
        domain=event.domain or "",
        version=event.version or "",
        checksum=event.checksum or "",
        summary=redact_text(event.summary or ""),
        details=redact(jsonable(details)),
        request_id=current_request_id() if request_id is None else request_id,
    )
    if defer("audit", _append_rows, row):
        return None
    _append_rows([row])
    return row


def _append_rows(rows: list[AuditEvent]) -> None:
    """Chain `rows` onto the head, in order: one lock, one read of the head, one INSERT per
    thousand rows. Stamped with the time they join the chain, after the lock."""
    with transaction.atomic(savepoint=False):
        _lock_chain_head()
        now = timezone.now()
        prev_hash = (
            AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
            or GENESIS_HASH
        )
        hasher = ChainHasher()
        key_id = current_key_id()
        for row in rows:
            row.occurred_at = now
            row.prev_hash = prev_hash
            row.key_id = key_id
            row.hash = prev_hash = hasher.hash(row)
        if len(rows) == 1:
            rows[0].save()
        else:
            AuditEvent.objects.insert_chained(rows)


def _lock_chain_head() -> None:
    # SQLite needs nothing: its transactions start with BEGIN IMMEDIATE (settings), so writers
    # are already serialised for the whole transaction.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])


def streaming_read(alias: str = "default"):
    """Around a long `iterator()` read. On PostgreSQL a transaction: outside one Django declares
    the server-side cursor WITH HOLD, and PostgreSQL materialises the whole result before the
    first row arrives. Not on SQLite, where it would hold the write lock for the whole read."""
    if connections[alias].vendor == "postgresql":
        return transaction.atomic(using=alias)
    return nullcontext()


def row_content(row: AuditEvent) -> dict[str, Any]:
    content = {name: getattr(row, name) for name in HASHED_FIELDS}
    content["occurred_at"] = iso_utc(row.occurred_at)
    return content


def row_hash(row: Any) -> str:
    """The hash `row` must carry: keyed with the key its `key_id` names (plain SHA-256 for rows
    from before the chain was keyed). UnknownAuditKey when that key is not configured."""
    return ChainHasher().hash(row)


def iso_utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def jsonable(value: Any) -> Any:
    """What the database will give back: plain JSON types. Values jsonb or the canonical writer
    cannot hold exactly (NaN, integers beyond 64 bits) become strings, so that writing an audit
    row never fails on an odd value and the stored row hashes the same as the written one."""
    plain = json.loads(json.dumps(value, cls=_LenientEncoder))
    return _tame(plain)


class _LenientEncoder(DjangoJSONEncoder):
    def default(self, o):
        try:
            return super().default(o)
        except TypeError:
            return str(o)


def _tame(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _tame(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_tame(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, int) and not isinstance(value, bool) and not -_INT64 <= value < _INT64:
        return str(value)
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "\\u0000")
    return value
