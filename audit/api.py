"""GET /admin/audit: the audit trail as paginated JSON, or streamed as CSV (`?format=csv`)."""

import csv
import io
from collections.abc import Iterator

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from audit.models import AuditEvent
from audit.paging import audit_page
from audit.selectors import audit_event_get, audit_event_list, parse_audit_filters
from audit.services import HASHED_FIELDS, iso_utc, streaming_read
from onboarding.api import RoleApiView, problems
from onboarding.errors import InvalidInput, NotFound, finding
from onboarding.inputs import parse_int
from packs.canonical import canonical_json

COLUMNS = ("id", *HASHED_FIELDS, "hash")
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
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
        "cursor", OpenApiTypes.STR, description="opaque: the `next` or `previous` of a page"
    ),
    OpenApiParameter("page_size", OpenApiTypes.INT, description=f"1 to {MAX_PAGE_SIZE}"),
    OpenApiParameter(
        "format", OpenApiTypes.STR, enum=["json", "csv"], description="csv streams every match"
    ),
]


class AuditPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    count_is_estimate = serializers.BooleanField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = AuditEventSerializer(many=True)


class AuditEventListView(RoleApiView):
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
        responses={200: AuditPageSerializer, **problems(400, 401, 403, 404)},
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
        params = request.query_params
        _refuse_offset_pages(params.get("page"))
        size = PAGE_SIZE
        if params.get("page_size"):
            size = min(parse_int(params["page_size"], path="/page_size", minimum=1), MAX_PAGE_SIZE)
        page = audit_page(events, cursor=params.get("cursor") or None, size=size)
        url = remove_query_param(request.build_absolute_uri(), "page")
        return Response(
            {
                "count": page.count,
                "count_is_estimate": page.count_is_estimate,
                "next": _link(url, page.next_cursor),
                "previous": _link(url, page.previous_cursor),
                "results": [event_as_dict(event) for event in page.rows],
            }
        )


def _link(url: str, cursor: str | None) -> str | None:
    return replace_query_param(url, "cursor", cursor) if cursor else None


def _refuse_offset_pages(raw: str | None) -> None:
    """The list pages by cursor; `page=1` (the first page) is still understood."""
    if raw is None or raw == "1":
        return
    parse_int(raw, path="/page", code="invalid_page", minimum=1)
    raise InvalidInput(
        "The audit list pages by cursor: follow the `next` link instead of asking for a page.",
        code="invalid_page",
        errors=[finding("invalid_page", "/page", "Use `cursor` (the `next` link of a page).")],
    )


class AuditEventDetailView(RoleApiView):
    @extend_schema(
        operation_id="audit_events_retrieve",
        responses={200: AuditEventSerializer, **problems(401, 403, 404)},
    )
    def get(self, request, event_id: int):
        event = audit_event_get(principal=self.principal, event_id=event_id)
        if event is None:
            raise NotFound(f"Audit event {event_id} not found.", code="audit_event_not_found")
        return Response(event_as_dict(event))
