"""REST operations on change requests (DESIGN §6, §8, §14): activation and rollback (applied,
previewed, pending approval or scheduled), the approvals list, review, approve, reject, cancel,
and the platform settings (switching approval off is a change request)."""

from typing import Any

import django_filters
from drf_spectacular.utils import (
    OpenApiParameter,
    PolymorphicProxySerializer,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.response import Response

from governance import selectors, services
from onboarding import ratelimit
from onboarding.api import (
    FindingSerializer,
    Pagination,
    RoleApiView,
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    StrictSerializer,
    TenantIdField,
    filtered,
    page_output,
    problems,
    valid_input,
)
from packs.api import VersionField
from runtime_config.api import ActivationResultOutput, active_config_data
from runtime_config.models import ChangeRequestStatus, ConfigChangeRequest
from runtime_config.services import KIND_ACCESS, KIND_POLICY, KIND_ROLLOUT, ActivationOutcome
from tenants import selectors as tenant_selectors

# --- input ---


class ActivateInput(StrictSerializer):
    # Like a tenant in the path: an id that names no tenant is a 404, whatever its length.
    tenant_id = TenantIdField()
    domain = StrictCharField(max_length=200, required=False)
    domain_pack_version = VersionField(required=False)
    tenant_pack_version = VersionField(required=False)
    expected_revision = StrictIntegerField(min_value=0, required=False)
    comment = StrictCharField(max_length=2000, required=False, allow_blank=True, default="")
    dry_run = StrictBooleanField(required=False, default=False)
    # Checked by the service: 400 invalid_apply_at, apply_at_in_past, apply_at_too_far.
    apply_at = StrictCharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        help_text="RFC 3339 date-time with an offset, in the future, at most 90 days ahead: "
        "schedule the change (202, status SCHEDULED, or PENDING first when approval applies).",
    )


class RollbackInput(StrictSerializer):
    to_revision = StrictIntegerField(min_value=1, required=False)
    expected_revision = StrictIntegerField(min_value=0, required=False)
    comment = StrictCharField(max_length=2000, required=False, allow_blank=True, default="")
    dry_run = StrictBooleanField(required=False, default=False)


class PlatformSettingsInput(StrictSerializer):
    require_activation_approval = StrictBooleanField(required=False)


class ReviewInput(StrictSerializer):
    comment = StrictCharField(max_length=2000, required=False, allow_blank=True, default="")


# --- output ---


class ChangeRequestOutput(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=ChangeRequestStatus.choices)
    kind = serializers.CharField(help_text="activate, rollback or policy")
    tenant_id = serializers.CharField(
        allow_null=True, help_text="Null for a change of the global setting (kind policy)."
    )
    domain = serializers.CharField(allow_blank=True)
    domain_pack_version = serializers.CharField(allow_null=True)
    domain_pack_checksum = serializers.CharField(allow_null=True)
    tenant_pack_version = serializers.CharField(allow_null=True)
    tenant_pack_checksum = serializers.CharField(allow_null=True)
    base_revision = serializers.IntegerField()
    requested_by = serializers.CharField()
    requested_at = serializers.DateTimeField()
    reviewed_by = serializers.CharField(allow_null=True)
    reviewed_at = serializers.DateTimeField(allow_null=True)
    comment = serializers.CharField(allow_blank=True)
    review_comment = serializers.CharField(allow_blank=True)
    apply_at = serializers.DateTimeField(
        allow_null=True, help_text="When a scheduled change is applied by the worker."
    )
    status_reason = serializers.CharField(
        allow_blank=True,
        help_text="Why the change ended STALE: superseded, revision_moved, or the failing "
        "check (e.g. `pack_deprecated: …`).",
    )
    policy = serializers.DictField(
        allow_null=True,
        help_text="kind policy: the proposed "
        "`{scope: tenant|global, require_activation_approval, from}` (`from`: the policy it "
        "was requested against; approval ends it STALE `policy_moved` if that changed).",
    )


ImpactSideOutput = inline_serializer(
    "ImpactOutcome",
    {
        "severity": serializers.CharField(required=False),
        "playbook": serializers.CharField(allow_null=True, required=False),
        "approval": serializers.BooleanField(required=False),
        "error": serializers.CharField(
            required=False, help_text="Why the sample could not be evaluated under this side"
        ),
    },
    allow_null=True,
)


class ImpactOutput(serializers.Serializer):
    samples = serializers.IntegerField(help_text="Samples found (packs' testSuites + tenant set)")
    evaluated = serializers.IntegerField(help_text="Samples run before the time budget ran out")
    changed = serializers.IntegerField(
        help_text="Samples whose severity, playbook or approval change"
    )
    errors = serializers.IntegerField(help_text="Samples one side could not evaluate")
    partial = serializers.BooleanField(help_text="IMPACT_TIME_BUDGET_MS ran out")
    truncated = serializers.BooleanField(help_text="More changes than `changes` lists")
    changes = inline_serializer(
        "ImpactChange",
        {
            "source": serializers.CharField(),
            "exception_type": serializers.JSONField(),
            "before": ImpactSideOutput,
            "after": ImpactSideOutput,
        },
        many=True,
    )
    sources = inline_serializer(
        "ImpactSources",
        {"packs": serializers.IntegerField(), "tenant": serializers.IntegerField()},
    )


class ChangeRequestDetailOutput(ChangeRequestOutput):
    diff = serializers.DictField(
        allow_null=True, help_text="Effective-config diff (added, removed, changed)"
    )
    impact = ImpactOutput(allow_null=True)


class ChangeRequestResultOutput(serializers.Serializer):
    change_request = ChangeRequestOutput()


class ChangeRequestApprovedOutput(serializers.Serializer):
    change_request = ChangeRequestOutput()
    active_config = ActivationResultOutput()
    revision = serializers.IntegerField(
        allow_null=True, help_text="The revision now active (pass it as `min_revision`)"
    )


class ActivationPreviewOutput(serializers.Serializer):
    dry_run = serializers.BooleanField()
    tenant_id = serializers.CharField()
    outcome = serializers.ChoiceField(
        choices=["apply", "scheduled", "pending_approval", "unchanged", "refused"],
        help_text="What the same request without dry_run would do.",
    )
    changed = serializers.BooleanField()
    valid = serializers.BooleanField()
    problems = serializers.ListField(child=serializers.CharField())
    current = serializers.DictField(allow_null=True)
    proposed = serializers.DictField()
    changes = serializers.ListField(child=serializers.DictField())
    effective_config_diff = serializers.DictField(help_text="added, removed, changed")
    errors = FindingSerializer(many=True)
    warnings = FindingSerializer(many=True)
    requires_approval = serializers.BooleanField()
    apply_at = serializers.DateTimeField(required=False)
    impact = ImpactOutput()


ChangeRequestPageOutput = page_output("ChangeRequestPageOutput", ChangeRequestOutput)


class PlatformSettingsOutput(serializers.Serializer):
    require_activation_approval = serializers.BooleanField(
        help_text="Whether activations of tenants that follow the global setting wait for a "
        "second ADMIN."
    )
    updated_at = serializers.DateTimeField(allow_null=True)
    updated_by = serializers.CharField(allow_blank=True)


def platform_settings_data(row) -> dict:
    return {
        "require_activation_approval": row.require_activation_approval,
        "updated_at": row.updated_at,
        "updated_by": row.updated_by,
    }


def change_request_data(change_request: ConfigChangeRequest) -> dict[str, Any]:
    return services.change_request_snapshot(change_request)


def outcome_response(outcome: ActivationOutcome) -> Response:
    """200 applied or unchanged, 200 preview, 202 pending: the same for activate and rollback."""
    if outcome.status == "preview":
        return Response(outcome.preview)
    if outcome.status in ("pending", "scheduled"):
        return Response({"change_request": change_request_data(outcome.change_request)}, status=202)
    return Response(active_config_data(outcome.config, changed=outcome.changed))


_CHANGE_RESPONSES = {
    200: PolymorphicProxySerializer(
        component_name="ActivationOutcome",
        serializers=[ActivationResultOutput, ActivationPreviewOutput],
        resource_type_field_name=None,
    ),
    202: ChangeRequestResultOutput,
    **problems(
        400,
        401,
        403,
        404,
        409,
        429,
        s400="unknown_pack_version, invalid_version, domain_required, "
        "domain_pack_version_required, unknown_revision, unknown_field, wrong_type, "
        "invalid_apply_at, apply_at_in_past, apply_at_too_far",
        s409="tenant_suspended, pack_deprecated, incompatible_packs, "
        "incompatible_playbook_links, revision_conflict",
    ),
}


# --- views ---


class ActivateView(RoleApiView):
    @extend_schema(
        operation_id="config_activate",
        request=ActivateInput,
        responses=_CHANGE_RESPONSES,
        description="Activate a (domain pack, tenant pack) pair for a tenant. Omitted versions "
        "keep their current value. `dry_run: true` answers 200 with a preview "
        "(ActivationPreviewOutput) and writes nothing. When the approval policy applies, "
        "202 with a PENDING change request. With `apply_at`, 202 with a SCHEDULED change "
        "request (PENDING first when approval applies); the worker applies it then, "
        "re-running every check.",
    )
    def post(self, request):
        data = valid_input(ActivateInput, request.data)
        if data["dry_run"]:
            ratelimit.enforce(request, "impact")  # a preview runs the decision impact
        outcome = services.config_activate(principal=self.principal, **data)
        return outcome_response(outcome)


class RollbackView(RoleApiView):
    @extend_schema(
        operation_id="config_rollback",
        request=RollbackInput,
        responses=_CHANGE_RESPONSES,
        description="Re-activate the pair of an earlier revision (default: the previous one) "
        "through the same checks and approval policy as activation.",
    )
    def post(self, request, tenant_id: str):
        data = valid_input(RollbackInput, request.data)
        if data["dry_run"]:
            ratelimit.enforce(request, "impact")
        outcome = services.config_rollback(principal=self.principal, tenant_id=tenant_id, **data)
        return outcome_response(outcome)


class ChangeRequestFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ChangeRequestStatus.choices)
    tenant_id = django_filters.CharFilter(field_name="tenant_id", max_length=64)

    class Meta:
        model = ConfigChangeRequest
        fields = ["status", "tenant_id"]


class ChangeRequestListView(RoleApiView):
    @extend_schema(
        operation_id="config_changes_list",
        parameters=[
            OpenApiParameter("status", str, enum=ChangeRequestStatus.values),
            OpenApiParameter("tenant_id", str),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int, description="At most 200."),
        ],
        responses={200: ChangeRequestPageOutput, **problems(400, 401, 403, 404)},
    )
    def get(self, request):
        queryset = filtered(
            ChangeRequestFilter, request, selectors.change_request_list(principal=self.principal)
        )
        paginator = Pagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response([change_request_data(cr) for cr in page])


def change_request_detail_data(change_request: ConfigChangeRequest) -> dict[str, Any]:
    return {**change_request_data(change_request), **services.change_request_review(change_request)}


class ChangeRequestDetailView(RoleApiView):
    @extend_schema(
        operation_id="config_changes_get",
        responses={200: ChangeRequestDetailOutput, **problems(401, 403, 404, 429)},
        description="A change request with what its reviewer decides on: `diff`, the "
        "effective-config diff from the configuration at its base revision to its pair, and "
        "`impact`, every sample exception (the packs' testSuites and the tenant's sample set) "
        "whose severity, playbook or approval would change.",
    )
    def get(self, request, id):
        change_request = selectors.change_request_get(
            principal=self.principal, change_request_id=id
        )
        if services.review_computes_impact(change_request):
            ratelimit.enforce(request, "impact")  # a fleet's impact is still computed here
        return Response(change_request_detail_data(change_request))


class ChangeRequestApproveView(RoleApiView):
    @extend_schema(
        operation_id="config_changes_approve",
        request=ReviewInput,
        responses={
            200: PolymorphicProxySerializer(
                component_name="ChangeRequestApproval",
                serializers=[ChangeRequestApprovedOutput, ChangeRequestResultOutput],
                resource_type_field_name=None,
            ),
            202: ChangeRequestResultOutput,
            **problems(
                400,
                401,
                403,
                404,
                409,
                s403="self_approval, admin_required, platform_admin_required",
                s409="not_pending, stale_change_request, and every activation conflict",
            ),
        },
    )
    def post(self, request, id):
        data = valid_input(ReviewInput, request.data)
        change_request, config = services.change_request_approve(
            principal=self.principal, change_request_id=id, **data
        )
        if change_request.kind in (KIND_POLICY, KIND_ACCESS, KIND_ROLLOUT):
            # The policy or access grant is applied, or the rollout started (its worker moves
            # the tenants): no configuration moved here.
            return Response({"change_request": change_request_data(change_request)})
        if change_request.status == ChangeRequestStatus.SCHEDULED:
            # Approved for later: nothing is active yet.
            return Response({"change_request": change_request_data(change_request)}, status=202)
        return Response(
            {
                "change_request": change_request_data(change_request),
                "active_config": active_config_data(config, changed=True),
                # Read-your-writes: pass it as min_revision to the runtime endpoints.
                "revision": config.revision if config else None,
            }
        )


_END_RESPONSES = {
    200: ChangeRequestResultOutput,
    **problems(
        400,
        401,
        403,
        404,
        409,
        s403="self_rejection (reject: the requester cancels instead), not_requester (cancel: "
        "only the requester), admin_required, platform_admin_required",
        s409="not_pending",
    ),
}


class ChangeRequestRejectView(RoleApiView):
    @extend_schema(
        operation_id="config_changes_reject", request=ReviewInput, responses=_END_RESPONSES
    )
    def post(self, request, id):
        return _end_change_request(self, services.change_request_reject, id)


class ChangeRequestCancelView(RoleApiView):
    @extend_schema(
        operation_id="config_changes_cancel", request=ReviewInput, responses=_END_RESPONSES
    )
    def post(self, request, id):
        return _end_change_request(self, services.change_request_cancel, id)


def _end_change_request(view, service, change_request_id) -> Response:
    """Reject or cancel: the same body, the same answer."""
    data = valid_input(ReviewInput, view.request.data)
    change_request = service(principal=view.principal, change_request_id=change_request_id, **data)
    return Response({"change_request": change_request_data(change_request)})


class PlatformSettingsView(RoleApiView):
    @extend_schema(
        operation_id="platform_settings_retrieve",
        responses={200: PlatformSettingsOutput, **problems(401, 403)},
        description="The platform settings row (platform ADMIN). Every process, command and "
        "worker reads it; PACK_ACTIVATION_REQUIRES_APPROVAL only seeds it.",
    )
    def get(self, request):
        row = tenant_selectors.platform_settings_get(principal=self.principal)
        return Response(platform_settings_data(row))

    @extend_schema(
        operation_id="platform_settings_update",
        request=PlatformSettingsInput,
        responses={
            200: PlatformSettingsOutput,
            202: ChangeRequestResultOutput,
            **problems(400, 401, 403),
        },
        description="Switching `require_activation_approval` on applies at once; switching it "
        "off answers 202 with a PENDING change request (`kind: policy`, no tenant) that another "
        "platform ADMIN approves.",
    )
    def patch(self, request):
        data = valid_input(PlatformSettingsInput, request.data)
        change = services.platform_settings_update(principal=self.principal, **data)
        if change.change_request is not None:
            return Response(
                {"change_request": change_request_data(change.change_request)}, status=202
            )
        return Response(platform_settings_data(change.settings))
