"""GET /admin/audit: the audit trail as paginated JSON, or streamed as CSV (`?format=csv`)."""

import csv
import io
from collections.abc import Iterator

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers

from audit.models import AuditEvent
from audit.selectors import audit_event_list, parse_audit_filters
from audit.services import HASHED_FIELDS, iso_utc, streaming_read
from onboarding.api import Pagination, RoleApiView, problems
from onboarding.errors import InvalidInput, finding
from packs.canonical import canonical_json

COLUMNS = ("id", *HASHED_FIELDS, "hash")
CSV_CHUNK_ROWS = 500  # rows per piece of the response
FETCH_CHUNK_ROWS = 2000  # rows per database round trip (a server-side cursor on PostgreSQL)
# A spreadsheet would run a cell starting with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def event_as_dict(event: AuditEvent) -> dict:
    row = {name: getattr(event, name) for name in COLUMNS}
    row["occurred_at"] = iso_utc(event.occurred_at)
    return row


def csv_rows(events: QuerySet[AuditEvent]) -> Iterator[str]:
    """The CSV text in pieces of CSV_CHUNK_ROWS rows: memory stays flat however many rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    with streaming_read(events.db):
        rows = events.values_list(*COLUMNS).iterator(chunk_size=FETCH_CHUNK_ROWS)
        for count, values in enumerate(rows, start=1):
            writer.writerow(_csv_cells(values))
            if count % CSV_CHUNK_ROWS == 0:
                yield _drain(buffer)
    yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


_OCCURRED_AT = COLUMNS.index("occurred_at")
_DETAILS = COLUMNS.index("details")


def _csv_cells(values: tuple) -> list[str]:
    cells = ["" if value is None else str(value) for value in values]
    cells[_OCCURRED_AT] = iso_utc(values[_OCCURRED_AT])
    cells[_DETAILS] = canonical_json(values[_DETAILS]).decode("utf-8")
    return ["'" + cell if cell.startswith(_FORMULA_START) else cell for cell in cells]


class AuditEventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    occurred_at = serializers.DateTimeField()
    actor = serializers.CharField()
    action = serializers.CharField()
    tenant_id = serializers.CharField(allow_null=True)
    object_type = serializers.CharField()
    object_id = serializers.CharField()
    domain = serializers.CharField()
    version = serializers.CharField()
    checksum = serializers.CharField()
    summary = serializers.CharField()
    details = serializers.JSONField()
    request_id = serializers.CharField()
    prev_hash = serializers.CharField()
    hash = serializers.CharField()


_FILTER_PARAMS = [
    OpenApiParameter(name, OpenApiTypes.STR, description=f"exact {name}")
    for name in ("tenant_id", "action", "actor", "object_type", "domain", "version")
] + [
    OpenApiParameter("since", OpenApiTypes.DATETIME, description="ISO 8601, inclusive"),
    OpenApiParameter("until", OpenApiTypes.DATETIME, description="ISO 8601, exclusive"),
    OpenApiParameter(
        "format", OpenApiTypes.STR, enum=["json", "csv"], description="csv streams every match"
    ),
]


class AuditEventListView(RoleApiView):
    pagination_class = Pagination

    def perform_content_negotiation(self, request, force=False):
        # `format` is DRF's URL format override, which would answer 404 to anything but json.
        # Here it selects JSON or the CSV stream (written by `get` itself), any other value is a
        # 400, and every error on the way is rendered as problem+json.
        if request.query_params.get("format") not in (None, "json"):
            renderer = self.get_renderers()[0]
            return renderer, renderer.media_type
        return super().perform_content_negotiation(request, force)

    @extend_schema(
        operation_id="audit_events_list",
        parameters=_FILTER_PARAMS,
        responses={200: AuditEventSerializer(many=True), **problems(400, 401, 403, 404)},
    )
    def get(self, request):
        output = request.query_params.get("format") or "json"
        if output not in ("json", "csv"):
            raise InvalidInput(
                f"format must be json or csv, not {output!r}.",
                code="invalid_filter",
                errors=[finding("invalid_filter", "/format", "Expected json or csv.")],
            )
        filters = parse_audit_filters(request.query_params)
        events = audit_event_list(principal=self.principal, **filters)
        if output == "csv":
            response = StreamingHttpResponse(csv_rows(events), content_type="text/csv")
            response["Content-Disposition"] = 'attachment; filename="audit-events.csv"'
            return response
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(events, request, view=self)
        return paginator.get_paginated_response([event_as_dict(event) for event in page])
