"""Shared DRF plumbing: strict serializers, the principal of a request, pagination."""

from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.pagination import PageNumberPagination
from rest_framework.views import APIView

from onboarding.errors import InvalidInput
from onboarding.inputs import parse_int
from onboarding.principal import Principal, principal_for_request, require_any_role
from onboarding.problems import PROBLEM_CONTENT_TYPE, validation_errors


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not declare: a typo must never be silently ignored."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                {
                    "non_field_errors": [
                        serializers.ErrorDetail("Expected a JSON object.", "wrong_type")
                    ]
                }
            )
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(
                {
                    key: [serializers.ErrorDetail(f"Unknown field {key!r}.", "unknown_field")]
                    for key in unknown
                }
            )
        return super().to_internal_value(data)


class Negotiation(DefaultContentNegotiation):
    def get_accept_list(self, request):
        # An empty Accept header asks for nothing in particular, like a missing one.
        return super().get_accept_list(request) or ["*/*"]

    def select_renderer(self, request, renderers, format_suffix=None):
        # ?format=json is an explicit choice: it wins over a browser's Accept header.
        chosen = format_suffix or request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)
        if chosen:
            renderer = self.filter_renderers(renderers, chosen)[0]
            return renderer, renderer.media_type
        return super().select_renderer(request, renderers, format_suffix)


class ApiView(APIView):
    @property
    def principal(self) -> Principal:
        return principal_for_request(self.request)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        principal_for_request(request)  # X-Tenant-ID mismatch is refused before any work

    def get_content_negotiator(self):
        return Negotiation()


class RoleApiView(ApiView):
    """An operation for principals with a role: authenticated users without one get 403."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        require_any_role(self.principal)


class StrictCharField(serializers.CharField):
    """A JSON string, never a number or a boolean coerced into one."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer, never a string or a boolean coerced into one."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class TenantIdField(StrictCharField):
    """A tenant id in a body. Empty is not an id (400 `invalid_tenant_id`, not `blank`); any
    other string goes to the service, where one that names no tenant is a 404, like a path."""

    default_error_messages = {"invalid_tenant_id": "A tenant id is required, not an empty string."}

    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def run_validation(self, data=serializers.empty):
        if data == "":
            self.fail("invalid_tenant_id")
        return super().run_validation(data)


class StrictChoiceField(serializers.ChoiceField):
    """One of the choices, given as a JSON string."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid_type")
        return super().to_internal_value(data)

    default_error_messages = {"invalid_type": "Expected a string."}


class StrictBooleanField(serializers.BooleanField):
    """A JSON true or false, never "yes" or 1."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


def valid_input(serializer_class, data) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class JsonObjectField(serializers.JSONField):
    """Any JSON object (a pack document): the strict intake already ran on the body."""

    default_error_messages = {"not_a_dict": "Expected a JSON object."}

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("not_a_dict")
        return data


def filtered(filterset_class, request, queryset):
    """Apply a django-filter FilterSet to a queryset; bad filter values are a 400 like any other
    invalid input, with the query parameter as the path."""
    filterset = filterset_class(request.query_params, queryset=queryset, request=request)
    if not filterset.is_valid():
        errors = validation_errors(
            {
                key: [serializers.ErrorDetail(str(m), "invalid_filter") for m in messages]
                for key, messages in filterset.errors.items()
            }
        )
        raise InvalidInput("A query parameter is invalid.", code="invalid_filter", errors=errors)
    return filterset.qs


class FindingSerializer(serializers.Serializer):
    code = serializers.CharField()
    path = serializers.CharField(help_text="JSON Pointer into the submitted body or document.")
    message = serializers.CharField()
    hint = serializers.CharField(required=False)


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details (DESIGN §5)."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField()
    errors = FindingSerializer(many=True)


def problems(*statuses: int, **described: str) -> dict[Any, Any]:
    """OpenAPI responses for error statuses, each answered with application/problem+json."""
    names = {
        400: "Invalid request",
        401: "Authentication required",
        403: "Forbidden",
        404: "Not found",
        409: "Conflict with the current state",
        413: "Payload too large",
        429: "Too many requests (rate_limited, with Retry-After)",
    }
    return {
        (status, PROBLEM_CONTENT_TYPE): OpenApiResponse(
            ProblemSerializer, description=described.get(f"s{status}", names.get(status, ""))
        )
        for status in statuses
    }


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_number(self, request, paginator):
        # DRF answers 404 for page=0, -1 or abc: that is a malformed request, not a missing page.
        # A page past the end stays a 404.
        raw = request.query_params.get(self.page_query_param)
        if raw is None or raw in self.last_page_strings:
            return super().get_page_number(request, paginator)
        return parse_int(raw, path="/page", code="invalid_page", minimum=1)


def page_output(name: str, item: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """The OpenAPI shape of one Pagination page of `item` rows, as component `name`."""
    fields = {
        "count": serializers.IntegerField(),
        "next": serializers.CharField(allow_null=True),
        "previous": serializers.CharField(allow_null=True),
        "results": item(many=True),
    }
    return type(name, (serializers.Serializer,), fields)


def document_common_problems(result, generator, request, public):
    """drf-spectacular postprocessing hook. Every operation refuses a NUL in any query parameter
    with 400 `invalid_filter` (StorableInputMiddleware), so every operation documents a 400
    problem."""
    problem = {
        "description": "Invalid request",
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            operation.get("responses", {}).setdefault("400", problem)
    return result
