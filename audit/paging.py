"""Keyset pages of the audit trail (DESIGN §17), for both doors.

A page is read off an index in the list's order (occurred_at, id), newest first, from the key
of the row where the previous page ended: its cost does not grow with its depth as OFFSET's does.
The key travels in an opaque `cursor`, signed with SECRET_KEY so that a client can neither forge
nor edit one (400 `invalid_cursor`). The filters are not part of the cursor: the same filters
with a cursor walk the filtered list.

`count` is exact up to AUDIT_EXACT_COUNT_LIMIT matching rows (counted with a LIMIT, so it never
costs more than that many index entries); beyond it the planner's estimate stands in
(`count_is_estimate`): `pg_class.reltuples` for the whole table, EXPLAIN's row estimate for a
filtered list. SQLite, which has no estimate, counts exactly."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import connections
from django.db.models import Q, QuerySet

from audit.models import AuditEvent
from onboarding.errors import InvalidInput, finding

_SALT = "audit.cursor"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NEXT, PREVIOUS = "n", "p"


@dataclass(frozen=True)
class Cursor:
    direction: str  # NEXT: rows older than the key; PREVIOUS: rows newer than it
    occurred_at: datetime
    id: int

    def encode(self) -> str:
        micros = (self.occurred_at - _EPOCH) // timedelta(microseconds=1)
        return signing.dumps([self.direction, micros, self.id], salt=_SALT, compress=False)

    @classmethod
    def decode(cls, raw: str) -> "Cursor":
        try:
            direction, micros, pk = signing.loads(raw, salt=_SALT)
            if direction not in (NEXT, PREVIOUS):
                raise ValueError(direction)
            if not all(type(value) is int for value in (micros, pk)) or pk < 1:
                raise ValueError(pk)
            return cls(direction, _EPOCH + timedelta(microseconds=micros), pk)
        except (signing.BadSignature, ValueError, TypeError, OverflowError):
            raise InvalidInput(
                "The cursor is not one this service gave out.",
                code="invalid_cursor",
                errors=[
                    finding(
                        "invalid_cursor",
                        "/cursor",
                        "A cursor is opaque: use the `next` or `previous` link of a page.",
                    )
                ],
            ) from None

    @classmethod
    def at(cls, direction: str, event: AuditEvent) -> str:
        return cls(direction, event.occurred_at, event.pk).encode()


@dataclass
class AuditPage:
    rows: list[AuditEvent]
    next_cursor: str | None
    previous_cursor: str | None
    count: int
    count_is_estimate: bool


def audit_page(events: QuerySet[AuditEvent], *, cursor: str | None, size: int) -> AuditPage:
    """One page of `events` (a filtered `audit_event_list`), `size` rows, newest first."""
    key = Cursor.decode(cursor) if cursor else None
    count, estimated = audit_count(events)
    if key is None:
        rows = list(events.order_by("-occurred_at", "-id")[: size + 1])
        more, rows = len(rows) > size, rows[:size]
        return AuditPage(rows, _cursor(NEXT, rows, more), None, count, estimated)
    if key.direction == NEXT:
        # `occurred_at <= t` bounds the index scan; the OR only sorts out rows at exactly t.
        older = Q(occurred_at__lte=key.occurred_at) & (
            Q(occurred_at__lt=key.occurred_at) | Q(id__lt=key.id)
        )
        rows = list(events.filter(older).order_by("-occurred_at", "-id")[: size + 1])
        more, rows = len(rows) > size, rows[:size]
        return AuditPage(
            rows, _cursor(NEXT, rows, more), _cursor(PREVIOUS, rows, True), count, estimated
        )
    newer = Q(occurred_at__gte=key.occurred_at) & (
        Q(occurred_at__gt=key.occurred_at) | Q(id__gt=key.id)
    )
    rows = list(events.filter(newer).order_by("occurred_at", "id")[: size + 1])
    more, rows = len(rows) > size, rows[:size][::-1]
    return AuditPage(
        rows, _cursor(NEXT, rows, True), _cursor(PREVIOUS, rows, more), count, estimated
    )


def _cursor(direction: str, rows: list[AuditEvent], more: bool) -> str | None:
    if not rows or not more:
        return None
    return Cursor.at(direction, rows[-1] if direction == NEXT else rows[0])


def audit_count(events: QuerySet[AuditEvent]) -> tuple[int, bool]:
    """(count, is_estimate): exact up to AUDIT_EXACT_COUNT_LIMIT, the planner's guess beyond."""
    limit = settings.AUDIT_EXACT_COUNT_LIMIT
    connection = connections[events.db]
    if connection.vendor != "postgresql":
        return events.count(), False
    exact = events.order_by()[: limit + 1].count()
    if exact <= limit:
        return exact, False
    return max(_estimate(events), limit + 1), True


def _estimate(events: QuerySet[AuditEvent]) -> int:
    connection = connections[events.db]
    with connection.cursor() as cursor:
        if not events.query.where:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                [AuditEvent._meta.db_table],
            )
            row = cursor.fetchone()
            if row and row[0] >= 0:  # -1: never analysed
                return int(row[0])
        sql, params = events.order_by().values("id").query.sql_with_params()
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])
