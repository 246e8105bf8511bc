"""Shared DRF plumbing: strict serializers, the principal of a request, pagination."""

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
