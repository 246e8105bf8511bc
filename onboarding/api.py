"""Shared DRF plumbing: strict serializers, the principal of a request, pagination, and the
`door` that lets one path answer JSON to REST clients and pages to browsers (DESIGN §5)."""

from collections.abc import Callable

from django.http import HttpRequest
from django.views.decorators.csrf import csrf_exempt
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.views import APIView

from onboarding.principal import principal_for_request
from tenants.principals import Principal


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


class ApiView(APIView):
    @property
    def principal(self) -> Principal:
        return principal_for_request(self.request)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        principal_for_request(request)  # X-Tenant-ID mismatch is refused before any work


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def wants_html(request: HttpRequest) -> bool:
    if request.GET.get("format") == "json":
        return False
    if request.headers.get("HX-Request"):
        return True
    accept = request.headers.get("Accept", "")
    if not accept:
        return False
    return request.get_preferred_type(["application/json", "text/html"]) == "text/html"


def door(api_view: Callable, page_view: Callable | None = None) -> Callable:
    """One path, two representations. Page views enforce CSRF themselves (csrf_protect);
    the API enforces it for session writes through DRF's SessionAuthentication."""

    @csrf_exempt
    def view(request, *args, **kwargs):
        if page_view is not None and wants_html(request):
            return page_view(request, *args, **kwargs)
        return api_view(request, *args, **kwargs)

    view.api_view = api_view
    view.page_view = page_view
    return view
