"""REST operations on fleet rollouts (DESIGN §16): create (started, 202 awaiting approval, or a
dry-run plan), list, detail, pause, resume, advance, abort, alarm."""

from collections.abc import Callable
from typing import Any

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers
from rest_framework.response import Response

from onboarding.api import (
    JsonObjectField,
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
from onboarding.errors import InvalidInput, finding
from packs.api import VersionField
from rollouts import selectors, services
from rollouts.models import Rollout, RolloutStatus

# --- input ---


class WaveInput(StrictSerializer):
    tenants = serializers.ListField(child=TenantIdField(), required=False, max_length=10000)
    percent = StrictIntegerField(required=False)

    def validate(self, attrs):
        if ("tenants" in attrs) == ("percent" in attrs):
            raise InvalidInput(
                "A wave is either {tenants: [...]} or {percent: n}.",
                code="invalid_wave",
                errors=[finding("invalid_wave", "/waves", "Give tenants or percent, not both.")],
            )
        return attrs


class GuardsInput(StrictSerializer):
    max_divergence_pct = serializers.FloatField(required=False, allow_null=True)
    max_eval_errors = StrictIntegerField(required=False, allow_null=True)


class RolloutInput(StrictSerializer):
    domain = StrictCharField(max_length=200)
    domain_pack_version = VersionField()
    tenants = serializers.ListField(child=TenantIdField(), required=False, max_length=10000)
    all_on_domain = StrictBooleanField(required=False, default=False)
    waves = WaveInput(many=True, max_length=100)
    bake_seconds = StrictIntegerField()
    max_skipped = StrictIntegerField(required=False, allow_null=True)
    auto_rollback = StrictBooleanField(required=False, default=True)
    guards = GuardsInput(required=False)
    # {percent: 1..100, shadow?: bool}, checked by the service (400 `invalid_canary`).
    canary = JsonObjectField(required=False)
    comment = StrictCharField(max_length=2000, required=False, allow_blank=True, default="")
    dry_run = StrictBooleanField(required=False, default=False)


class AbortInput(StrictSerializer):
    reason = StrictCharField(max_length=2000, required=False, allow_blank=True, default="")


class AlarmInput(StrictSerializer):
    reason = StrictCharField(max_length=2000)


# --- output ---


class RolloutTenantOutput(serializers.Serializer):
    tenant_id = serializers.CharField()
    status = serializers.CharField(help_text="PENDING, MOVED, SKIPPED, RESTORED, NOT_RESTORED")
    revision_before = serializers.IntegerField(allow_null=True)
    revision_after = serializers.IntegerField(allow_null=True)
    restored_revision = serializers.IntegerField(allow_null=True)
    skip_reason = serializers.CharField(allow_blank=True)


class WaveOutput(serializers.Serializer):
    index = serializers.IntegerField()
    number = serializers.IntegerField()
    percent = serializers.IntegerField(allow_null=True)
    status = serializers.CharField(help_text="PENDING or APPLIED")
    applied_at = serializers.DateTimeField(allow_null=True)
    moved = serializers.IntegerField()
    skipped = serializers.IntegerField()
    duration_ms = serializers.FloatField(allow_null=True)
    tenants = RolloutTenantOutput(many=True)


class RolloutOutput(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=RolloutStatus.choices)
    domain = serializers.CharField()
    domain_pack_version = serializers.CharField()
    bake_seconds = serializers.IntegerField()
    max_skipped = serializers.IntegerField(allow_null=True)
    auto_rollback = serializers.BooleanField()
    guards = serializers.DictField()
    readings = serializers.DictField(
        help_text="eval_errors, divergence_pct, evaluated, changed (the moved tenants' sample "
        "sets under the configuration they left and the one they run), alarms"
    )
    next_wave_at = serializers.DateTimeField(allow_null=True)
    status_reason = serializers.CharField(allow_blank=True)
    change_request_id = serializers.UUIDField(allow_null=True)
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    comment = serializers.CharField(allow_blank=True)
    counts = serializers.DictField(help_text="Tenants per status")


RolloutPageOutput = page_output("RolloutPageOutput", RolloutOutput)


class RolloutDetailOutput(RolloutOutput):
    waves = WaveOutput(many=True)


def rollout_data(
    rollout: Rollout, *, waves: bool = False, counts: dict[str, int] | None = None
) -> dict[str, Any]:
    """`counts`: the rollout's from selectors.rollouts_counts when a list has them for the whole
    page; read here otherwise."""
    if counts is None:
        counts = selectors.rollout_counts(rollout)
    data = {**services.rollout_summary(rollout), "counts": counts}
    if waves and rollout.canary:
        # While a canary runs: both arms and the live shadow readings (docs/rollouts.md).
        data["canary_arms"] = selectors.canary_arms(rollout)
    if waves:
        data["waves"] = [
            services.wave_data(wave, members) for wave, members in selectors.rollout_waves(rollout)
        ]
    return data


class RolloutFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=RolloutStatus.choices)
    domain = django_filters.CharFilter(max_length=200)

    class Meta:
        model = Rollout
        fields = ["status", "domain"]


# --- views ---


class RolloutListView(RoleApiView):
    @extend_schema(
        operation_id="rollouts_list",
        parameters=[
            OpenApiParameter("status", str, enum=RolloutStatus.values),
            OpenApiParameter("domain", str),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int, description="At most 200."),
        ],
        responses={200: RolloutPageOutput, **problems(400, 401, 403, 404)},
    )
    def get(self, request):
        queryset = filtered(
            RolloutFilter, request, selectors.rollout_list(principal=self.principal)
        )
        paginator = Pagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        counts = selectors.rollouts_counts(page)
        return paginator.get_paginated_response(
            [rollout_data(rollout, counts=counts.get(rollout.pk, {})) for rollout in page]
        )

    @extend_schema(
        operation_id="rollouts_create",
        request=RolloutInput,
        responses={
            201: RolloutDetailOutput,
            200: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="dry_run: the plan, the tenants a check would skip now, and the "
                "impact summed over their samples",
            ),
            202: OpenApiResponse(
                OpenApiTypes.OBJECT, description="{change_request} of kind rollout"
            ),
            **problems(
                400,
                401,
                403,
                404,
                409,
                s400="unknown_domain, unknown_pack_version, tenants_required, "
                "conflicting_fields, duplicate_tenant, tenant_not_on_domain, empty_waves, "
                "empty_wave, mixed_waves, overlapping_waves, tenant_not_in_plan, "
                "tenants_not_in_wave, invalid_percent, percent_sum, invalid_bake_seconds, "
                "invalid_max_skipped, invalid_guard, invalid_canary, unknown_field",
                s409="tenant_in_rollout, pack_deprecated",
            ),
        },
        description="Move tenants to a domain pack version in waves (DESIGN §16). 201 with the "
        "rollout (the worker applies its waves); 202 with a change request (kind rollout) when "
        "four-eyes applies to any of its tenants; `dry_run: true` answers 200 with the plan and "
        "writes nothing.",
    )
    def post(self, request):
        data = valid_input(RolloutInput, request.data)
        if "waves" in data:
            data["waves"] = [dict(wave) for wave in data["waves"]]
        if "guards" in data:
            data["guards"] = dict(data["guards"])
        if "canary" in data:
            data["canary"] = dict(data["canary"])
        outcome = services.rollout_create(principal=self.principal, **data)
        if outcome.status == "preview":
            return Response(outcome.preview)
        if outcome.status == "pending":
            return Response(
                {
                    "change_request": {
                        "id": str(outcome.change_request.pk),
                        "status": outcome.change_request.status,
                        "kind": outcome.change_request.kind,
                    },
                    "rollout": rollout_data(outcome.rollout, waves=True),
                },
                status=202,
            )
        return Response(rollout_data(outcome.rollout, waves=True), status=201)


class RolloutDetailView(RoleApiView):
    @extend_schema(
        operation_id="rollouts_get",
        responses={200: RolloutDetailOutput, **problems(401, 403, 404)},
    )
    def get(self, request, id):
        rollout = selectors.rollout_get(principal=self.principal, rollout_id=id)
        return Response(rollout_data(rollout, waves=True))


_CONTROL_RESPONSES = {
    200: RolloutDetailOutput,
    **problems(
        400,
        401,
        403,
        404,
        409,
        s409="invalid_transition, rollout_finished, rollout_pending_approval",
    ),
}


class EmptyInput(StrictSerializer):
    pass


# The five controls differ only in these class attributes, which also make each subclass's
# OpenAPI operation. No docstring on purpose: drf-spectacular publishes the nearest class
# docstring as the description of an operation that gives none (pause's and resume's).
class RolloutControlView(RoleApiView):
    operation_id: str
    service: Callable[..., Rollout]
    body: type[StrictSerializer] | None = None
    description: str | None = None
    responses: dict[Any, Any] = _CONTROL_RESPONSES

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # extend_schema_view annotates a copy of the inherited post, so each operation keeps its
        # own schema instead of the last subclass's overwriting the shared method's.
        extend_schema_view(
            post=extend_schema(
                operation_id=cls.operation_id,
                request=cls.body,
                responses=cls.responses,
                description=cls.description,
            )
        )(cls)

    def post(self, request, id):
        # No body is an empty one, so an operation without input still refuses unknown fields.
        data = valid_input(self.body or EmptyInput, request.data or {})
        rollout = self.service(principal=self.principal, rollout_id=id, **data)
        return Response(rollout_data(rollout, waves=True))


class RolloutPauseView(RolloutControlView):
    operation_id = "rollouts_pause"
    service = staticmethod(services.rollout_pause)


class RolloutResumeView(RolloutControlView):
    operation_id = "rollouts_resume"
    service = staticmethod(services.rollout_resume)


class RolloutAdvanceView(RolloutControlView):
    operation_id = "rollouts_advance"
    service = staticmethod(services.rollout_advance)
    description = "Skip the rest of the bake time: the next wave is due now."


class RolloutAbortView(RolloutControlView):
    operation_id = "rollouts_abort"
    service = staticmethod(services.rollout_abort)
    body = AbortInput
    description = (
        "Stop for good: moved tenants go back to their previous revision "
        "(ROLLED_BACK) unless the plan has auto_rollback false (CANCELLED)."
    )


class RolloutAlarmView(RolloutControlView):
    operation_id = "rollouts_alarm"
    service = staticmethod(services.rollout_alarm)
    body = AlarmInput
    description = (
        "A monitor's alarm: the rollout halts and (auto_rollback) restores every "
        "moved tenant. 409 rollout_finished on a finished rollout."
    )
