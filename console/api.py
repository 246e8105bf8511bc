"""REST operations that compose several apps (DESIGN §6): a tenant with its active
configuration (runtime_config), renamed and its approval policy changed (governance: a weakening
answers 202 with a change request), and its status (tenants)."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from governance.api import ChangeRequestResultOutput, change_request_data
from governance.services import tenant_update
from onboarding.api import (
    RoleApiView,
    StrictBooleanField,
    StrictCharField,
    StrictSerializer,
    problems,
    valid_input,
)
from runtime_config.api import ActiveConfigOutput, active_config_data
from runtime_config.selectors import active_config_get
from tenants import selectors, services
from tenants.api import TenantOutput, tenant_data
from tenants.models import Tenant

# --- input ---


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


class TenantDetailOutput(TenantOutput):
    active_config = ActiveConfigOutput(allow_null=True)


def tenant_detail_data(principal, tenant: Tenant) -> dict:
    config = active_config_get(principal=principal, tenant_id=tenant.tenant_id)
    return {**tenant_data(tenant), "active_config": active_config_data(config)}


# --- views ---


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
        change = tenant_update(principal=self.principal, tenant_id=tenant_id, **data)
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
