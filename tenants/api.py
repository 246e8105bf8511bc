"""REST operations on tenants (DESIGN §6): the list and the creation of tenants. A tenant's detail
(with its active configuration) and its changes (rename, approval policy, status) are answered by
console/api.py, which composes the apps that own those parts."""

import django_filters
from django.db.models import Q
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from onboarding.api import (
    Pagination,
    RoleApiView,
    StrictBooleanField,
    StrictCharField,
    StrictSerializer,
    TenantIdField,
    filtered,
    page_output,
    problems,
    valid_input,
)
from tenants import selectors, services
from tenants.models import Tenant, TenantStatus

# --- input ---


class TenantCreateInput(StrictSerializer):
    tenant_id = TenantIdField(help_text="^[A-Za-z0-9][A-Za-z0-9_-]{1,63}$")
    name = StrictCharField(max_length=200)
    require_activation_approval = StrictBooleanField(required=False, allow_null=True, default=None)


# --- output ---


class TenantOutput(serializers.Serializer):
    tenant_id = serializers.CharField()
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=TenantStatus.choices)
    require_activation_approval = serializers.BooleanField(allow_null=True)
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField()
    updated_at = serializers.DateTimeField()


TenantPageOutput = page_output("TenantPageOutput", TenantOutput)


def tenant_data(tenant: Tenant) -> dict:
    return {
        **services.tenant_snapshot(tenant),
        "created_at": tenant.created_at,
        "created_by": tenant.created_by,
        "updated_at": tenant.updated_at,
    }


class TenantFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=TenantStatus.choices)
    search = django_filters.CharFilter(method="filter_search", max_length=200)

    class Meta:
        model = Tenant
        fields = ["status"]

    def filter_search(self, queryset, name, value):
        return queryset.filter(Q(tenant_id__icontains=value) | Q(name__icontains=value))


# --- views ---


class TenantListView(RoleApiView):
    @extend_schema(
        operation_id="tenants_list",
        parameters=[
            OpenApiParameter("status", str, enum=TenantStatus.values),
            OpenApiParameter("search", str, description="Part of the tenant id or name."),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int, description="At most 200."),
        ],
        responses={200: TenantPageOutput, **problems(400, 401, 403, 404)},
    )
    def get(self, request):
        queryset = filtered(TenantFilter, request, selectors.tenant_list(principal=self.principal))
        paginator = Pagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response([tenant_data(t) for t in page])

    @extend_schema(
        operation_id="tenants_create",
        request=TenantCreateInput,
        responses={201: TenantOutput, **problems(400, 401, 403, 409)},
    )
    def post(self, request):
        data = valid_input(TenantCreateInput, request.data)
        tenant = services.tenant_create(principal=self.principal, **data)
        return Response(tenant_data(tenant), status=201)
