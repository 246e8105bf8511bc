"""REST operations on a tenant's sample set (DESIGN §14 *Decision impact*)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import UnsupportedMediaType
from rest_framework.parsers import BaseParser
from rest_framework.response import Response

from impact import selectors, services
from onboarding.api import RoleApiView, problems

MEDIA_TYPES = ("application/x-ndjson", "application/jsonl", "text/plain")


class _LinesParser(BaseParser):
    """The body as bytes: the service reads the lines (impact.samples), so that both doors and
    every line get the same checks."""

    def parse(self, stream, media_type=None, parser_context=None):
        return stream.read() if stream is not None else b""


class NdjsonParser(_LinesParser):
    media_type = "application/x-ndjson"


class JsonlParser(_LinesParser):
    media_type = "application/jsonl"


class TextLinesParser(_LinesParser):
    media_type = "text/plain"


_META = {
    "tenant_id": serializers.CharField(),
    "count": serializers.IntegerField(),
    "checksum": serializers.CharField(
        allow_null=True, help_text="SHA-256 of the canonical JSON of the samples"
    ),
    "uploaded_by": serializers.CharField(allow_null=True),
    "uploaded_at": serializers.DateTimeField(allow_null=True),
}
SampleSetMetaOutput = inline_serializer("SampleSetMeta", _META)
SampleSetOutput = inline_serializer(
    "SampleSet",
    {
        **_META,
        "samples": inline_serializer(
            "Sample",
            {"exception_type": serializers.CharField(), "payload": serializers.DictField()},
            many=True,
        ),
    },
)


def _meta(data: dict) -> dict:
    return {key: data[key] for key in _META}


class SampleSetView(RoleApiView):
    parser_classes = [NdjsonParser, JsonlParser, TextLinesParser]

    @extend_schema(
        operation_id="tenant_samples_get",
        responses={200: SampleSetOutput, **problems(401, 403, 404)},
        description="The tenant's sample exceptions for decision impact, in upload order "
        "(an empty set when none was uploaded).",
    )
    def get(self, request, tenant_id: str):
        return Response(selectors.sample_set_get(principal=self.principal, tenant_id=tenant_id))

    @extend_schema(
        operation_id="tenant_samples_put",
        request={media: OpenApiTypes.STR for media in MEDIA_TYPES},
        examples=[
            OpenApiExample(
                "Two samples",
                value='{"exception_type": "CASH_BREAK", "payload": {"amount": 1200}}\n'
                '{"exception_type": "POSITION_BREAK", "payload": {"desk": "EQ"}}\n',
                request_only=True,
                media_type="application/x-ndjson",
            )
        ],
        responses={
            200: SampleSetMetaOutput,
            **problems(
                400,
                401,
                403,
                404,
                413,
                415,
                s400="invalid_samples (each finding names `/lines/<n>`), too_many_samples",
            ),
        },
        description="Replace the tenant's whole sample set: JSON Lines (application/x-ndjson, "
        "application/jsonl or text/plain), at most IMPACT_MAX_SAMPLES (10,000) lines, each "
        "exactly `{exception_type, payload}` with payload an object. Blank lines are skipped; "
        "an empty body empties the set. A refused upload changes nothing.",
    )
    def put(self, request, tenant_id: str):
        media = (request.content_type or "").split(";")[0].strip().lower()
        if media not in MEDIA_TYPES:
            raise UnsupportedMediaType(media or "none")
        data = request.data if isinstance(request.data, bytes) else b""
        sample_set = services.sample_set_replace(
            principal=self.principal, tenant_id=tenant_id, data=data
        )
        return Response(
            {
                "tenant_id": sample_set.tenant_id,
                "count": sample_set.count,
                "checksum": sample_set.checksum,
                "uploaded_by": sample_set.uploaded_by,
                "uploaded_at": sample_set.uploaded_at,
            }
        )
