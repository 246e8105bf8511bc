"""REST operations on tenants (DESIGN §6): parse, call a service or selector, render."""

import django_filters
from django.db.models import Q
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from governance import services as governance_services
from governance.api import ChangeRequestResultOutput, change_request_data
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
from runtime_config.api import ActiveConfigOutput, active_config_data
from runtime_config.selectors import active_config_get
from tenants import selectors, services
from tenants.models import Tenant, TenantStatus

# --- input ---


class TenantCreateInput(StrictSerializer):
    tenant_id = TenantIdField(help_text="^[A-Za-z0-9][A-Za-z0-9_-]{1,63}$")
    name = StrictCharField(max_length=200)
    require_activation_approval = StrictBooleanField(required=False, allow_null=True, default=None)


class TenantUpdateInput(StrictSerializer):
    name = StrictCharField(max_length=200, required=False)
    require_activation_approval = StrictBooleanField(required=False, allow_null=True)


class TenantStatusInput(StrictSerializer):
    # Any other string, blank or long, is the service's 400 invalid_status (DESIGN §6).
    status = StrictCharField(
        allow_blank=True, trim_whitespace=False, help_text="ACTIVE or SUSPENDED"
    )
    reason = StrictCharField(max_length=1000, required=False, allow_blank=True, default="")


# --- output ---


class TenantOutput(serializers.Serializer):
    tenant_id = serializers.CharField()
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=TenantStatus.choices)
    require_activation_approval = serializers.BooleanField(allow_null=True)
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField()
    updated_at = serializers.DateTimeField()


class TenantDetailOutput(TenantOutput):
    active_config = ActiveConfigOutput(allow_null=True)


TenantPageOutput = page_output("TenantPageOutput", TenantOutput)


def tenant_data(tenant: Tenant) -> dict:
    return {
        **services.tenant_snapshot(tenant),
        "created_at": tenant.created_at,
        "created_by": tenant.created_by,
        "updated_at": tenant.updated_at,
    }


def tenant_detail_data(principal, tenant: Tenant) -> dict:
    config = active_config_get(principal=principal, tenant_id=tenant.tenant_id)
    return {**tenant_data(tenant), "active_config": active_config_data(config)}


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


class TenantDetailView(RoleApiView):
    @extend_schema(
        operation_id="tenants_retrieve",
        responses={200: TenantDetailOutput, **problems(401, 403, 404)},
    )
    def get(self, request, tenant_id: str):
        tenant = selectors.tenant_get(principal=self.principal, tenant_id=tenant_id)
        return Response(tenant_detail_data(self.principal, tenant))

    @extend_schema(
        operation_id="tenants_update",
        request=TenantUpdateInput,
        responses={
            200: TenantDetailOutput,
            202: ChangeRequestResultOutput,
            **problems(400, 401, 403, 404),
        },
        description="Rename a tenant and/or set its approval policy (null: follow the global "
        "setting). Strengthening applies at once; switching approval off for a tenant it "
        "applies to answers 202 with a PENDING change request (`kind: policy`) that a second "
        "ADMIN (platform, or of this tenant) approves. A rename in the same body applies now.",
    )
    def patch(self, request, tenant_id: str):
        data = valid_input(TenantUpdateInput, request.data)
        change = governance_services.tenant_update(
            principal=self.principal, tenant_id=tenant_id, **data
        )
        if change.change_request is not None:
            return Response(
                {"change_request": change_request_data(change.change_request)}, status=202
            )
        return Response(tenant_detail_data(self.principal, change.tenant))


class TenantStatusView(RoleApiView):
    @extend_schema(
        operation_id="tenants_status_update",
        request=TenantStatusInput,
        responses={200: TenantDetailOutput, **problems(400, 401, 403, 404)},
    )
    def patch(self, request, tenant_id: str):
        data = valid_input(TenantStatusInput, request.data)
        tenant = services.tenant_set_status(principal=self.principal, tenant_id=tenant_id, **data)
        return Response(tenant_detail_data(self.principal, tenant))
