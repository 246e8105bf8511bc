"""Reads of the audit trail, scoped by the principal (DESIGN §4): a tenant-bound principal sees
its tenants' events only; platform principals see everything (narrowed by X-Tenant-ID)."""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_date, parse_datetime

from audit.models import AuditEvent
from onboarding.errors import InvalidInput, finding
from tenants.access import require_any_role
from tenants.principals import Principal

EXACT_FILTERS = ("tenant_id", "action", "actor", "object_type", "domain", "version")
TIME_FILTERS = ("since", "until")
FILTERS = EXACT_FILTERS + TIME_FILTERS


def parse_audit_filters(params: Mapping[str, str]) -> dict[str, Any]:
    """Query parameters → filters for `audit_event_list`. Blank values mean "no filter" (an
    empty form field); a time that is not ISO 8601 is a 400 `invalid_filter`."""
    filters: dict[str, Any] = {}
    for name in EXACT_FILTERS:
        value = (params.get(name) or "").strip()
        if "\x00" in value:  # PostgreSQL refuses NUL in text; such a value matches nothing
            raise _invalid(name, value, "A filter value cannot contain a NUL character.")
        if value:
            filters[name] = value
    for name in TIME_FILTERS:
        value = (params.get(name) or "").strip()
        if value:
            filters[name] = _parse_time(name, value)
    return filters


def _parse_time(name: str, value: str) -> datetime:
    try:
        moment = parse_datetime(value)
        if moment is None:
            day = parse_date(value)
            moment = datetime(day.year, day.month, day.day) if day else None
        if moment is not None:
            # Normalised here: an offset that pushes the time past year 1 or 9999 is a 400.
            moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        moment = None
    if moment is None:
        raise _invalid(
            name,
            value,
            f"Not an ISO 8601 date-time: {value!r}.",
            "e.g. 2026-01-31 or 2026-01-31T12:00:00Z (no zone means UTC)",
        )
    return moment


def _invalid(name: str, value: str, message: str, hint: str | None = None) -> InvalidInput:
    return InvalidInput(
        f"Query parameter {name} is invalid: {value!r}.",
        code="invalid_filter",
        errors=[finding("invalid_filter", f"/{name}", message, hint)],
    )


def _version_matches(version: str) -> Q:
    """A pack version: the row's own `version` (a pack, or the domain pack of an activation) or
    the tenant pack version an activation or a change request names in its details."""
    return (
        Q(version=version)
        | Q(details__after__tenant_pack_version=version)
        | Q(details__change_request__tenant_pack_version=version)
    )


def audit_event_list(
    *,
    principal: Principal,
    tenant_id: str | None = None,
    action: str | None = None,
    actor: str | None = None,
    object_type: str | None = None,
    domain: str | None = None,
    version: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEvent]:
    """Newest first. `since` is inclusive, `until` exclusive."""
    require_any_role(principal)
    events = AuditEvent.objects.all()
    visible = principal.visible_tenant_ids()
    if visible is not None:
        events = events.filter(tenant_id__in=visible)
    exact = {
        "tenant_id": tenant_id,
        "action": action,
        "actor": actor,
        "object_type": object_type,
        "domain": domain,
    }
    events = events.filter(**{name: value for name, value in exact.items() if value})
    if version:
        events = events.filter(_version_matches(version))
    if since is not None:
        events = events.filter(occurred_at__gte=since)
    if until is not None:
        events = events.filter(occurred_at__lt=until)
    return events.order_by("-occurred_at", "-id")


def audit_event_get(*, principal: Principal, event_id: int) -> AuditEvent | None:
    """One event the principal may see, or None (unknown and invisible answer alike: 404)."""
    return audit_event_list(principal=principal).filter(pk=event_id).first()
